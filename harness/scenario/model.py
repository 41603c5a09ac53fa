"""The scenario file format: a pydantic model of what to run, under which faults, expecting what.

Every model forbids unknown fields, so a misspelt key is an error that names it. In a file every
duration carries its unit (``500ms``, ``30s``, ``5m``, ``1h``; see :mod:`harness.units`): a bare
``30`` is refused with the fix. Built from Python, a duration is a float of seconds. ``harness
scenarios schema`` prints the JSON Schema of :class:`Scenario`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from harness.errors import InvalidConfig
from harness.rollout.lineage import Lineage, LineageNode
from harness.rollout.versions import Lifecycle, Migration, SemVer
from harness.units import DURATION_PATTERN, duration_seconds, format_duration

__all__ = [
    "MAX_DURATION",
    "MAX_RATE",
    "TEXT_CONTEXT",
    "AsgiSpec",
    "CallableSpec",
    "CanarySpec",
    "ChampionSpec",
    "DependencyKind",
    "DependencySpec",
    "Duration",
    "Expectations",
    "FaultSpec",
    "FlowKind",
    "FlowSpec",
    "HttpSpec",
    "LatencySpec",
    "LineageEntry",
    "LiveSpec",
    "ModelSpec",
    "OutcomeExpectations",
    "RequestKind",
    "ResilienceSpec",
    "ResponseSpec",
    "RollbackSpec",
    "Scenario",
    "ScenarioFaultKind",
    "ShadowSpec",
    "SimulateSpec",
    "SteadyStateProbe",
    "TrafficSpec",
    "VersionSpec",
]

MAX_DURATION = 7 * 24 * 3600.0
"""A week of (virtual) time: longer scenarios are almost certainly a typo."""
MAX_RATE = 1_000_000.0
"""Requests per second beyond which a scenario file is rejected as absurd."""

TEXT_CONTEXT: Mapping[str, bool] = MappingProxyType({"text": True})
"""The validation context of a file: ``Scenario.model_validate(data, context=TEXT_CONTEXT)``
refuses durations without a unit (see :mod:`harness.units`)."""


def _from_text(info: ValidationInfo) -> bool:
    return isinstance(info.context, Mapping) and bool(info.context.get("text"))


def _duration(value: Any, info: ValidationInfo) -> float:
    """Seconds: text with a unit (``"500ms"``, ``"30s"``); a float of seconds only from Python."""
    python_seconds = isinstance(value, int | float) and not isinstance(value, bool) and not _from_text(info)
    seconds = float(value) if python_seconds else duration_seconds(value)
    if not 0 <= seconds < math.inf:
        raise ValueError(f"duration {value!r} must be a finite number of seconds >= 0")
    if seconds > MAX_DURATION:
        raise ValueError(
            f"duration {value!r} is longer than a week; scenarios are at most {MAX_DURATION:.0f}s"
        )
    return seconds


Duration = Annotated[
    float,
    BeforeValidator(_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "examples": ["500ms", "30s", "2m"]}),
]
"""A duration: in files text with a unit (``30s``); in Python a float of seconds."""
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _located(location: tuple[str | int, ...], message: str, value: Any) -> ValidationError:
    """A validation error at ``location`` (relative to the model raising it), so the loader names the line."""
    error = PydanticCustomError("invalid_reference", "{message}", {"message": message})
    return ValidationError.from_exception_data(
        "Scenario", [InitErrorDetails(type=error, loc=location, input=value)]
    )


class LatencySpec(_Spec):
    """A latency distribution in seconds, sampled vectorised.

    ``fixed`` (value), ``uniform`` (low, high), ``normal`` (mean, std; clipped at 0) and
    ``lognormal`` (median, sigma: a long tail, p95 = median * exp(1.645 sigma)).
    """

    kind: Literal["fixed", "uniform", "normal", "lognormal"] = "lognormal"
    value: Duration = 0.0
    low: Duration = 0.0
    high: Duration = 0.0
    mean: Duration = 0.0
    std: Duration = 0.0
    median: Duration = 0.05
    sigma: float = Field(default=0.3, ge=0.0, le=5.0)

    @model_validator(mode="after")
    def _check(self) -> LatencySpec:
        if self.kind == "uniform" and self.high < self.low:
            raise ValueError(f"uniform latency: high={self.high} is below low={self.low}; swap them")
        if self.kind == "lognormal" and self.median <= 0:
            raise ValueError("lognormal latency needs median > 0, for example median: 50ms")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` latencies in seconds."""
        if self.kind == "fixed":
            return np.full(n, self.value)
        if self.kind == "uniform":
            return rng.uniform(self.low, self.high, n)
        if self.kind == "normal":
            return np.maximum(rng.normal(self.mean, self.std, n), 0.0)
        return self.median * np.exp(self.sigma * rng.standard_normal(n))

    def scaled(self, factor: float) -> LatencySpec:
        """The same distribution with every latency multiplied by ``factor``."""
        return self.model_copy(
            update={k: getattr(self, k) * factor for k in ("value", "low", "high", "mean", "std", "median")}
        )


class ResponseSpec(_Spec):
    """How a model version's responses look, for shadow comparison and state checks.

    ``fields`` are constant values; ``noisy`` fields differ on every response (timestamps,
    request ids), so they differ between two instances of the same version too. ``diff`` makes a
    field take another value in a fraction of responses (a subtle behaviour change).
    """

    fields: dict[str, str | int | float | bool] = Field(default_factory=lambda: {"status": "ok"})  # type: ignore[arg-type]
    noisy: list[str] = Field(default_factory=list)
    diff: dict[str, tuple[str | int | float | bool, Probability]] = Field(default_factory=dict)


class ModelSpec(_Spec):
    """A simulated version: latency, error rate, capacity with queueing, warm-up, per-request metrics."""

    latency: LatencySpec = Field(default_factory=LatencySpec)
    error_rate: Probability = 0.0
    capacity: float | None = Field(default=None, gt=0.0, le=MAX_RATE)
    warmup: Duration = 0.0
    warmup_factor: float = Field(default=3.0, ge=1.0, le=100.0)
    metrics: dict[str, tuple[float, float]] = Field(default_factory=dict)
    dependencies: list[str] = Field(default_factory=list)
    response: ResponseSpec = Field(default_factory=ResponseSpec)
    corrupts_state: Probability = 0.0

    @field_validator("metrics")
    @classmethod
    def _metric_params(cls, value: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for name, (_mean, std) in value.items():
            if std < 0:
                raise ValueError(f"metric {name!r}: std={std} must be >= 0; write [mean, std]")
        return value


_TARGET = r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$"
_EXCEPTION = r"^[A-Za-z_][\w.]*(:[A-Za-z_][\w.]*)?$"


class CallableSpec(_Spec):
    """A version implemented by Python code: a factory ``"package.module:make"``.

    ``make(rng, clock)`` (or ``make(rng, clock, deps)``, ``deps`` mapping each dependency name to
    its address) returns the handler, called with one request dict per request; it may be sync or
    async. ``env`` is set in ``os.environ`` for the run (``${deps.NAME.url}`` is replaced by the
    dependency's address). ``failures`` lists the exceptions that are the service failing
    (builtins by name, others as ``package.module:Class``); by default every exception is, except
    a ``TypeError``/``KeyError``/``AttributeError``/``ImportError`` raised in the factory's own
    module, which stops the run as a broken adapter (see :mod:`harness.runtime.failures`).
    """

    target: str = Field(pattern=_TARGET)
    env: dict[str, str] = Field(default_factory=dict)
    failures: list[Annotated[str, Field(pattern=_EXCEPTION)]] = Field(default_factory=list)


class AsgiSpec(_Spec):
    """A version that is an ASGI 3 application ``"package.module:app"`` (Starlette, FastAPI...).

    Simulated mode runs it in process on virtual time: its lifespan at the start and end of the
    run, one task per request. ``env`` is set in ``os.environ`` before the app is imported (its
    package is imported afresh for each run), with ``${deps.NAME.url}`` replaced by the dependency's
    address. A 5xx response, or an exception out of the app, is a failed request.
    """

    app: str = Field(pattern=_TARGET)
    env: dict[str, str] = Field(default_factory=dict)
    failures: list[Annotated[str, Field(pattern=_EXCEPTION)]] = Field(default_factory=list)


class HttpSpec(_Spec):
    """A version reached over HTTP (live mode only)."""

    url: str = Field(pattern=r"^https?://")


class VersionSpec(_Spec):
    """One version of the system under test: exactly one of model, callable, asgi or http."""

    model: ModelSpec | None = None
    callable: CallableSpec | None = None
    asgi: AsgiSpec | None = None
    http: HttpSpec | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> VersionSpec:
        given = [k for k in ("model", "callable", "asgi", "http") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a version needs exactly one of model, callable, asgi or http; got {given or 'none'}"
            )
        return self

    @property
    def real_code(self) -> bool:
        """Whether the version runs the user's code (callable or ASGI app) rather than a model."""
        return self.callable is not None or self.asgi is not None


class RequestKind(_Spec):
    """One kind of request in the traffic mix.

    ``method``, ``path`` and ``headers`` are what an HTTP or ASGI version receives (the payload is
    the JSON body of methods that carry one; ``{name}`` in the path is filled from the request).
    ``payload`` names a polyfactory factory (``"harness.examples.factories:CheckoutRequestFactory"``)
    whose ``build()`` makes each request's payload, seeded from the run. ``latency_factor``
    scales a model version's latency for this kind (a search costs more than a ping).
    """

    name: str = Field(min_length=1, max_length=100)
    weight: float = Field(default=1.0, gt=0.0, le=1e6)
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    path: str = Field(default="/", pattern=r"^/", max_length=2000)
    headers: dict[str, str] = Field(default_factory=dict)
    payload: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
    latency_factor: float = Field(default=1.0, gt=0.0, le=1000.0)


class TrafficSpec(_Spec):
    """Open-model traffic: a request rate that may step, ramp or spike over the run, and a request mix."""

    rate: float = Field(default=100.0, gt=0.0, le=MAX_RATE)
    profile: Literal["constant", "ramp", "step", "spike", "diurnal"] = "constant"
    peak: float | None = Field(default=None, gt=0.0, le=MAX_RATE)
    at: Duration = 0.0
    length: Duration = 0.0
    mix: list[RequestKind] = Field(default_factory=list, max_length=100)

    @field_validator("mix")
    @classmethod
    def _unique_kinds(cls, value: list[RequestKind]) -> list[RequestKind]:
        names = [k.name for k in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"request kinds {dupes} appear more than once in traffic.mix")
        return value

    def rate_at(self, t: float, duration: float) -> float:
        """Requests per second at time ``t`` of a run of ``duration`` seconds."""
        peak = self.peak if self.peak is not None else self.rate
        if self.profile == "constant":
            return self.rate
        if self.profile == "ramp":
            return self.rate + (peak - self.rate) * min(1.0, t / duration if duration else 1.0)
        if self.profile == "step":
            return peak if t >= self.at else self.rate
        if self.profile == "spike":
            return peak if self.at <= t < self.at + self.length else self.rate
        phase = 2 * math.pi * (t / duration if duration else 0.0)
        return self.rate + (peak - self.rate) * 0.5 * (1 - math.cos(phase))


class ScenarioFaultKind(enum.StrEnum):
    """What a scenario fault does to the requests that reach its target.

    ``readonly``, ``oom`` and ``drop`` act on a simulated Redis dependency, ``reset`` on a
    simulated HTTP dependency, ``timeout`` on either (see :mod:`harness.runtime.redis` and
    :mod:`harness.runtime.http`); an engine refuses a kind it cannot carry out on a target.
    """

    OUTAGE = "outage"
    ERRORS = "errors"
    LATENCY = "latency"
    BROWNOUT = "brownout"
    CORRUPT = "corrupt"
    READONLY = "readonly"
    OOM = "oom"
    DROP = "drop"
    RESET = "reset"
    TIMEOUT = "timeout"


class DependencyKind(enum.StrEnum):
    """What kind of service a dependency is."""

    REDIS = "redis"
    HTTP = "http"
    TCP = "tcp"


class SimulateSpec(_Spec):
    """What serves a simulated HTTP dependency: exactly one of a model, an ASGI app or a callable.

    A ``callable`` target is a factory ``make(rng, clock) -> handler`` whose handler takes a request
    dict (``method``, ``path``, ``query``, ``headers``, ``json``) and returns a JSON body, or a
    ``(status, body)`` pair (see :func:`harness.runtime.handler_server`).
    """

    model: ModelSpec | None = None
    asgi: AsgiSpec | None = None
    callable: CallableSpec | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SimulateSpec:
        given = [k for k in ("model", "asgi", "callable") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"simulate needs exactly one of model, asgi or callable; got {given or 'none'}")
        return self


class DependencySpec(_Spec):
    """A service the versions call, by name: faults target it, ``${deps.NAME.url}`` addresses it.

    In simulated mode a ``redis`` dependency is a fresh fakeredis server per run and an ``http``
    one is served in memory by ``simulate``; ``latency`` is each call's latency on virtual time,
    drawn from the run's seed.
    """

    kind: DependencyKind
    latency: LatencySpec | None = None
    simulate: SimulateSpec | None = None

    @model_validator(mode="after")
    def _simulated(self) -> DependencySpec:
        if self.simulate is not None and self.kind is not DependencyKind.HTTP:
            raise ValueError(f"simulate serves http dependencies; a {self.kind.value} dependency has none")
        return self


_VERSION_FAULTS = frozenset(
    {
        ScenarioFaultKind.OUTAGE,
        ScenarioFaultKind.ERRORS,
        ScenarioFaultKind.LATENCY,
        ScenarioFaultKind.BROWNOUT,
        ScenarioFaultKind.CORRUPT,
    }
)
_DEPENDENCY_FAULTS = {
    DependencyKind.REDIS: frozenset(
        {
            ScenarioFaultKind.OUTAGE,
            ScenarioFaultKind.ERRORS,
            ScenarioFaultKind.LATENCY,
            ScenarioFaultKind.BROWNOUT,
            ScenarioFaultKind.READONLY,
            ScenarioFaultKind.OOM,
            ScenarioFaultKind.DROP,
            ScenarioFaultKind.TIMEOUT,
        }
    ),
    DependencyKind.HTTP: frozenset(
        {
            ScenarioFaultKind.OUTAGE,
            ScenarioFaultKind.ERRORS,
            ScenarioFaultKind.LATENCY,
            ScenarioFaultKind.BROWNOUT,
            ScenarioFaultKind.RESET,
            ScenarioFaultKind.TIMEOUT,
        }
    ),
    DependencyKind.TCP: frozenset(
        {
            ScenarioFaultKind.OUTAGE,
            ScenarioFaultKind.LATENCY,
            ScenarioFaultKind.RESET,
            ScenarioFaultKind.TIMEOUT,
        }
    ),
}


class FaultSpec(_Spec):
    """A window of trouble: ``kind`` hits ``target`` (a version or dependency) at ``at`` for ``duration``."""

    kind: ScenarioFaultKind
    target: str = Field(min_length=1, max_length=200)
    at: Duration
    duration: Duration
    rate: Probability = 1.0
    latency: Duration = 0.0


class ResilienceSpec(_Spec):
    """The resilience layer in front of a dependency: breaker, retry with budget, fallback."""

    dependency: str = Field(min_length=1)
    breaker_failure_rate: float = Field(default=0.5, gt=0.0, le=1.0)
    breaker_window: int = Field(default=50, ge=1, le=100_000)
    breaker_minimum_calls: int = Field(default=20, ge=1)
    breaker_open_for: Duration = 10.0
    breaker_half_open_calls: int = Field(default=3, ge=1)
    retry_attempts: int = Field(default=1, ge=1, le=20)
    retry_budget: float | None = Field(default=None, gt=0.0, le=10.0)
    fallback_latency: Duration | None = None
    fallback_error_rate: Probability = 0.0
    dependency_capacity: float | None = Field(default=None, gt=0.0, le=MAX_RATE)


class CanarySpec(_Spec):
    """Canary steps and analysis thresholds (see ``harness.rollout.CanaryFlow``)."""

    steps: list[float] = Field(default_factory=lambda: [5.0, 25.0, 50.0, 100.0])
    analysis_windows: int = Field(default=3, ge=1, le=1000)
    alpha: float = Field(default=0.05, gt=0.0, lt=0.5)
    max_latency_increase: float = Field(default=0.05, ge=0.0, le=10.0)
    max_error_rate_ratio: float = Field(default=1.25, ge=1.0, le=100.0)
    consecutive_error_limit: int = Field(default=4, ge=0, le=1000)

    @field_validator("steps")
    @classmethod
    def _steps(cls, value: list[float]) -> list[float]:
        if not value:
            raise ValueError("a canary needs at least one step, for example [10, 50, 100]")
        if any(not 0 < s <= 100 for s in value) or value != sorted(value):
            raise ValueError(f"canary steps {value} must be increasing percentages in (0, 100]")
        return value


class ShadowSpec(_Spec):
    """Mirror to the candidate; compare responses with noise cancellation."""

    mirror_fraction: Probability = 1.0
    alpha: float = Field(default=0.01, gt=0.0, lt=0.5)
    ignore: list[str] = Field(default_factory=list)
    min_exchanges: int = Field(default=200, ge=1)
    windows: int = Field(default=6, ge=1, le=10_000)
    max_exchanges_per_window: int = Field(default=300, ge=1, le=100_000)


class ChampionSpec(_Spec):
    """Champion-challenger: split, compare an outcome metric, promote only on a significant win."""

    metric: str = "latency"
    direction: Literal["lower", "higher"] = "lower"
    split: float = Field(default=50.0, gt=0.0, lt=100.0)
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    min_samples: int = Field(default=1000, ge=10)
    windows: int = Field(default=10, ge=1, le=10_000)


class LineageEntry(_Spec):
    """One version in a rollback's lineage: its semantic version, parents, lifecycle and migrations.

    ``reason`` says why it is in its lifecycle (it is quoted when the rollback passes it over).
    """

    version: str = Field(min_length=1, max_length=100)
    parents: list[str] = Field(default_factory=list, max_length=20)
    lifecycle: Literal["experimental", "production", "quarantine"] = "experimental"
    migrations: list[Literal["data", "config"]] = Field(default_factory=list)
    reason: str = Field(default="", max_length=500)

    @field_validator("version", mode="before")
    @classmethod
    def _semver(cls, value: Any) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # YAML reads 1.2 as a number; say what a version looks like instead
        if not isinstance(value, str):
            raise ValueError(f"version {value!r} must be a string such as '1.2.0'")
        try:
            return str(SemVer.parse(value))
        except InvalidConfig as exc:
            raise ValueError(str(exc)) from None

    def node(self, name: str) -> LineageNode:
        """The lineage node named ``name``."""
        return LineageNode(
            id=name,
            semver=SemVer.parse(self.version),
            parents=tuple(self.parents),
            lifecycle=Lifecycle(self.lifecycle),
            migrations=frozenset(Migration(m) for m in self.migrations),
            note=self.reason,
        )


class RollbackSpec(_Spec):
    """Deploy the candidate, validate state, roll back (restoring a backup) when validation fails.

    With a ``lineage`` (version names -> their versions, parents and lifecycle), the rollback
    chooses its target from it, the newest production ancestor of the candidate reachable without
    a breaking step, and says why it passed over the others; ``flow.stable`` is not the target then.
    """

    validate_after: Duration = 30.0
    max_corrupt_fraction: Probability = 0.0
    records: int = Field(default=1000, ge=1, le=1_000_000)
    verify_windows: int = Field(default=2, ge=0, le=1000)
    max_error_rate: Probability = 0.02
    lineage: dict[str, LineageEntry] | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _parents_known(self) -> RollbackSpec:
        if self.lineage is None:
            return self
        for name, entry in self.lineage.items():
            for i, parent in enumerate(entry.parents):
                if parent not in self.lineage:
                    raise _located(
                        ("lineage", name, "parents", i),
                        f"parent {parent!r} of {name!r} is not in the lineage; known: {sorted(self.lineage)}",
                        parent,
                    )
        try:
            self.lineage_graph()
        except InvalidConfig as exc:
            raise _located(("lineage",), exc.message, None) from None
        return self

    def lineage_graph(self) -> Lineage | None:
        """The lineage as a :class:`~harness.rollout.Lineage` (None without one)."""
        if self.lineage is None:
            return None
        return Lineage(entry.node(name) for name, entry in self.lineage.items())


class FlowKind(enum.StrEnum):
    """Which rollout flow a scenario runs."""

    NONE = "none"
    SHADOW = "shadow"
    CANARY = "canary"
    CHAMPION_CHALLENGER = "champion_challenger"
    ROLLBACK = "rollback"


class FlowSpec(_Spec):
    """The flow and its configuration; only the block matching ``kind`` is read."""

    kind: FlowKind = FlowKind.NONE
    stable: str = "v1"
    candidate: str | None = None
    canary: CanarySpec = Field(default_factory=CanarySpec)
    shadow: ShadowSpec = Field(default_factory=ShadowSpec)
    champion: ChampionSpec = Field(default_factory=ChampionSpec)
    rollback: RollbackSpec = Field(default_factory=RollbackSpec)


_LATENCY_PROBES = frozenset({"p50", "p95", "p99"})


class SteadyStateProbe(_Spec):
    """A Chaos Toolkit-style steady-state probe: a metric of the user-facing traffic within a tolerance.

    ``max``/``min`` of a latency metric (``p50``, ``p95``, ``p99``) are durations (``max: 300ms``);
    ``error_rate`` takes a fraction (``max: 0.02``) and ``requests`` a count.
    ``phase`` is ``before`` (before the first fault), ``during`` (while any fault is active),
    ``after`` (after the last fault ends, skipping ``settle`` seconds) or ``always``.
    """

    name: str = Field(min_length=1)
    metric: Literal["error_rate", "p50", "p95", "p99", "requests"]
    max: float | None = None
    min: float | None = None
    phase: Literal["before", "during", "after", "always"] = "always"
    settle: Duration = 0.0

    @field_validator("max", "min", mode="before")
    @classmethod
    def _latency_bound(cls, value: Any, info: ValidationInfo) -> Any:
        """A latency bound is a duration (``max: 300ms``); other metrics' bounds are plain numbers."""
        if value is None or info.data.get("metric") not in _LATENCY_PROBES:
            return value
        return _duration(value, info)

    @field_serializer("max", "min", when_used="json")
    def _latency_text(self, value: float | None) -> float | str | None:
        if value is None or self.metric not in _LATENCY_PROBES:
            return value
        return format_duration(value)

    @model_validator(mode="after")
    def _bounds(self) -> SteadyStateProbe:
        if self.max is None and self.min is None:
            raise ValueError(f"steady-state probe {self.name!r} needs max or min")
        if self.max is not None and self.min is not None and self.min > self.max:
            raise ValueError(f"steady-state probe {self.name!r}: min={self.min} exceeds max={self.max}")
        return self


class OutcomeExpectations(_Spec):
    """What the flow must end with."""

    promoted: bool | None = None
    rolled_back: bool | None = None
    rolled_back_within: Duration | None = None
    rolled_back_to: str | None = None
    winner: str | None = None
    no_winner: bool | None = None
    detected_fields: list[str] | None = None
    clean_fields: list[str] | None = None
    max_user_error_rate: Probability | None = None
    state_restored: bool | None = None
    max_retry_ratio: float | None = Field(default=None, ge=0.0)
    breaker_opened: bool | None = None


class Expectations(_Spec):
    """Steady state, SLOs and the flow's outcome."""

    steady_state: list[SteadyStateProbe] = Field(default_factory=list)
    outcome: OutcomeExpectations = Field(default_factory=OutcomeExpectations)


class LiveSpec(_Spec):
    """How the scenario runs in live mode, where real time is precious: the run is compressed.

    Every duration of the scenario (the run, the windows, fault windows, validation delays and
    time bounds in expectations) is multiplied by ``window / scenario.window``, so a live run has
    the same number of windows, the same decisions at the same window, and faults at the same
    point of the run. Traffic runs at ``rate`` requests per second.
    """

    window: Duration = 2.0
    rate: float = Field(default=100.0, gt=0.0, le=20_000.0)
    connections: int = Field(default=64, ge=1, le=10_000)

    @field_validator("window")
    @classmethod
    def _window(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("live.window must be > 0, for example 2s")
        return value


class Scenario(_Spec):
    """A declarative chaos scenario."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][\w.-]*$")
    description: str = Field(min_length=1, max_length=500)
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)
    duration: Duration
    window: Duration = 10.0
    versions: dict[str, VersionSpec]
    dependencies: dict[Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{0,62}$")], DependencySpec] = (
        Field(default_factory=dict, max_length=100)
    )
    traffic: TrafficSpec = Field(default_factory=TrafficSpec)
    faults: list[FaultSpec] = Field(default_factory=list)
    resilience: ResilienceSpec | None = None
    flow: FlowSpec = Field(default_factory=FlowSpec)
    expectations: Expectations = Field(default_factory=Expectations)
    baseline: str | None = None
    live: LiveSpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if self.duration <= 0:
            raise ValueError("duration must be > 0, for example duration: 10m")
        if not 0 < self.window <= self.duration:
            raise ValueError(f"window={self.window}s must be in (0, duration={self.duration}s]")
        if self.duration / self.window > 100_000:
            raise ValueError("more than 100,000 windows; use a longer window")
        names = set(self.versions)
        if not names:
            raise ValueError("versions: declare at least one version, for example v1: {model: {}}")
        for role in ("stable", "candidate"):
            ref = getattr(self.flow, role)
            if ref is not None and ref not in names:
                raise ValueError(f"flow.{role}={ref!r} is not a declared version; versions: {sorted(names)}")
        if self.flow.kind is not FlowKind.NONE and self.flow.candidate is None:
            raise ValueError(f"flow.kind={self.flow.kind.value!r} needs flow.candidate")
        self._check_lineage(names)
        dependencies = {
            d for v in self.versions.values() if v.model is not None for d in v.model.dependencies
        }
        self._check_faults(names, dependencies)
        if self.live is not None and self.duration * self.live.window / self.window > 3600:
            raise ValueError(
                f"live mode would run {self.duration * self.live.window / self.window:.0f}s; "
                "shorten live.window or the scenario (live runs are at most an hour)"
            )
        if self.resilience is not None and self.resilience.dependency not in dependencies:
            raise ValueError(
                f"resilience.dependency={self.resilience.dependency!r} is not a dependency of any version; "
                f"known: {sorted(dependencies)}"
            )
        return self

    def _check_faults(self, names: set[str], modelled: set[str]) -> None:
        """Every fault targets a version or a dependency, within the run, with a kind it can suffer."""
        clash = sorted(names & set(self.dependencies))
        if clash:
            raise ValueError(f"{clash} name both a version and a dependency; rename one")
        targets = names | modelled | set(self.dependencies)
        for index, fault in enumerate(self.faults):
            if fault.target not in targets:
                raise ValueError(
                    f"fault target {fault.target!r} is neither a version nor a dependency; "
                    f"known: {sorted(targets)}"
                )
            if fault.at >= self.duration:
                raise ValueError(f"fault on {fault.target!r} starts at {fault.at}s, after the run ends")
            self._check_fault_kind(index, fault)

    def fault_kinds(self, target: str) -> frozenset[ScenarioFaultKind]:
        """The fault kinds ``target`` can suffer: a version's, or those of a declared dependency's kind."""
        declared = self.dependencies.get(target)
        return _VERSION_FAULTS if declared is None else _DEPENDENCY_FAULTS[declared.kind]

    def _check_fault_kind(self, index: int, fault: FaultSpec) -> None:
        """A fault's kind must be one its target can suffer (a version, or a dependency of a kind)."""
        declared = self.dependencies.get(fault.target)
        allowed = self.fault_kinds(fault.target)
        if fault.kind not in allowed:
            what = "a version" if declared is None else f"a {declared.kind.value} dependency"
            if declared is None and fault.target not in self.versions:
                what = "a modelled dependency"
            raise _located(
                ("faults", index, "kind"),
                f"{fault.kind.value!r} cannot act on {fault.target!r} ({what}); "
                f"valid: {', '.join(sorted(k.value for k in allowed))}",
                fault.kind.value,
            )

    @property
    def real_code(self) -> bool:
        """Whether any version runs the user's code (callable or ASGI app)."""
        return any(v.real_code for v in self.versions.values())

    def _check_lineage(self, names: set[str]) -> None:
        """A rollback lineage includes the candidate, and every possible target serves traffic."""
        target = self.expectations.outcome.rolled_back_to
        if target is not None and target not in names:
            raise _located(
                ("expectations", "outcome", "rolled_back_to"),
                f"{target!r} is not a declared version; versions: {sorted(names)}",
                target,
            )
        lineage = self.flow.rollback.lineage
        if lineage is None or self.flow.kind is not FlowKind.ROLLBACK:
            return
        if self.flow.candidate not in lineage:
            raise _located(
                ("flow", "rollback", "lineage"),
                f"the lineage must include the candidate {self.flow.candidate!r}; it has {sorted(lineage)}",
                None,
            )
        for name, entry in lineage.items():
            if entry.lifecycle == "production" and name not in names:
                raise _located(
                    ("flow", "rollback", "lineage", name, "lifecycle"),
                    f"{name!r} is in production, so a rollback may go to it: declare it under versions",
                    name,
                )

    def compressed(self) -> Scenario:
        """The scenario as live mode runs it: the ``live`` timing, every time scaled to match."""
        if self.live is None:
            raise ValueError("no live section")
        k = self.live.window / self.window

        def scaled(model: BaseModel, **fields: float | None) -> Any:
            return model.model_copy(update={n: (None if v is None else v * k) for n, v in fields.items()})

        flow = self.flow.model_copy(
            update={"rollback": scaled(self.flow.rollback, validate_after=self.flow.rollback.validate_after)}
        )
        outcome = self.expectations.outcome
        expectations = self.expectations.model_copy(
            update={
                "outcome": scaled(outcome, rolled_back_within=outcome.rolled_back_within),
                "steady_state": [scaled(p, settle=p.settle) for p in self.expectations.steady_state],
            }
        )
        return self.model_copy(
            update={
                "duration": self.duration * k,
                "window": self.live.window,
                "traffic": self.traffic.model_copy(update={"rate": self.live.rate, "profile": "constant"}),
                "faults": [scaled(f, at=f.at, duration=f.duration) for f in self.faults],
                "flow": flow,
                "expectations": expectations,
            }
        )

    @property
    def fault_span(self) -> tuple[float, float] | None:
        """(first fault start, last fault end), or None without faults."""
        if not self.faults:
            return None
        return min(f.at for f in self.faults), max(f.at + f.duration for f in self.faults)


def __getattr__(name: str) -> Any:
    """``parse_duration`` moved to :mod:`harness.units` (importable here, with a warning, for one release)."""
    if name == "parse_duration":
        import warnings

        from harness.units import parse_duration

        warnings.warn(
            "harness.scenario.model.parse_duration is deprecated; use harness.units.parse_duration "
            "(text must carry a unit: '30s', not 30).",
            DeprecationWarning,
            stacklevel=2,
        )
        return parse_duration
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
