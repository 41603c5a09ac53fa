"""The scenario file format: a pydantic model of what to run, under which faults, expecting what.

Every model forbids unknown fields, so a misspelt key is an error that names it. In a file every
duration carries its unit (``500ms``, ``30s``, ``5m``, ``1h``; see :mod:`harness.units`): a bare
``30`` is refused with the fix. Built from Python, a duration is a float of seconds. ``harness
scenarios schema`` prints the JSON Schema of :class:`Scenario`.
"""

from __future__ import annotations

import enum
import math
import re
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
from harness.scenario.templates import DEPENDENCY_PARTS, TemplateError, check_template, template_names
from harness.units import DURATION_PATTERN, duration_seconds, format_duration

__all__ = [
    "EXPERIMENT_GROUPS",
    "LIVE_ONLY_FAULT_KINDS",
    "MAX_DURATION",
    "MAX_RATE",
    "SHADOW_SECONDARY",
    "SIMULATED_DEPENDENCY_FAULTS",
    "TEXT_CONTEXT",
    "AbortSpec",
    "AsgiSpec",
    "CallableSpec",
    "CanarySpec",
    "ChampionSpec",
    "DependencyKind",
    "DependencySpec",
    "Duration",
    "Expectations",
    "ExperimentSpec",
    "FaultSpec",
    "FlowKind",
    "FlowSpec",
    "Fraction",
    "HttpMethod",
    "HttpSpec",
    "LatencySpec",
    "LineageEntry",
    "LiveSpec",
    "ModelSpec",
    "OutcomeExpectations",
    "ReadySpec",
    "RequestKind",
    "ResilienceSpec",
    "ResponseCheck",
    "ResponseSpec",
    "RollbackSpec",
    "Scenario",
    "ScenarioFaultKind",
    "ServiceSpec",
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


def _percent(value: Any) -> Any:
    """``"5%"`` -> 0.05; numbers pass through (a fraction: ``0.05``)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        return float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a fraction; write for example 5% or 0.05") from None


Fraction = Annotated[
    float,
    BeforeValidator(_percent),
    Field(ge=0.0, le=1.0),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 1},
                {"type": "string", "pattern": r"^\s*\d+(\.\d*)?\s*%\s*$"},
            ],
            "examples": ["5%", 0.05],
        }
    ),
]
"""A fraction in [0, 1], written ``0.05`` or ``5%``."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


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
    """A version over HTTP (live mode only): running at ``url``, or a ``service`` the harness starts."""

    url: str | None = Field(default=None, pattern=r"^https?://")
    """Attach to a version already running at this URL (never started or stopped by the harness)."""
    service: str | None = Field(default=None, min_length=1, max_length=100)
    """The entry of ``services:`` that runs this version; one instance is started per traffic group."""
    vars: dict[str, str] = Field(default_factory=dict, max_length=100)
    """Values for ``${vars.NAME}`` in the service's command and environment (``{version: good}``)."""

    @model_validator(mode="after")
    def _url_or_service(self) -> HttpSpec:
        if (self.url is None) == (self.service is None):
            raise ValueError("an http version needs exactly one of url (attach) or service (start it)")
        if self.vars and self.service is None:
            raise ValueError("vars fill a service's templates; an http version with a url has none")
        return self


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


class HttpMethod(enum.StrEnum):
    """An HTTP request method."""

    GET = "GET"
    HEAD = "HEAD"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"
    OPTIONS = "OPTIONS"

    @property
    def has_body(self) -> bool:
        """Whether requests of this method carry the payload as a JSON body."""
        return self in (HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH)


JsonScalar = str | int | float | bool | None


class ResponseCheck(_Spec):
    """Checks on a live response, k6-style: status, JSON fields, a substring. All given must hold."""

    model_config = ConfigDict(populate_by_name=True)

    status: list[Annotated[int, Field(ge=100, le=599)]] | None = Field(
        default=None, min_length=1, max_length=50
    )
    """The statuses that count as success (default: any status below 400)."""
    json_fields: dict[str, JsonScalar] = Field(default_factory=dict, alias="json", max_length=100)
    """Fields the JSON body must hold, by dotted path (``{ok: true, "order.state": paid}``)."""
    contains: str | None = Field(default=None, min_length=1, max_length=10_000)
    """A substring the body must contain."""


class RequestKind(_Spec):
    """One kind of request in the traffic mix.

    ``method``, ``path`` and ``headers`` are what an HTTP or ASGI version receives (the payload is
    the JSON body of methods that carry one; ``{name}`` in the path is filled from the request).
    ``payload`` names a polyfactory factory (``"harness.examples.factories:CheckoutRequestFactory"``)
    whose ``build()`` makes each request's payload, seeded from the run. ``latency_factor``
    scales a model version's latency for this kind (a search costs more than a ping).
    """

    name: str = Field(min_length=1, max_length=100)
    """The kind's name (reports and journals count requests per kind)."""
    weight: float = Field(default=1.0, gt=0.0, le=1e6)
    """Relative share of this kind in the mix."""
    payload: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
    """A polyfactory factory ``"package.module:Factory"`` building each request's payload, seeded."""
    latency_factor: float = Field(default=1.0, gt=0.0, le=1000.0)
    """Simulated mode: multiplies a model version's latency for this kind."""
    method: HttpMethod = HttpMethod.GET
    """Live HTTP versions: the request method. GET, HEAD and DELETE send the payload's fields as the
    query string; POST, PUT and PATCH send the payload as a JSON body."""
    path: str | None = Field(default=None, pattern=r"^/", max_length=2000)
    """Live HTTP versions: the path requested on the version (default: the version's URL as given)."""
    headers: dict[str, str] = Field(default_factory=dict, max_length=100)
    """Live HTTP versions: extra request headers."""
    check: ResponseCheck | None = None
    """Live HTTP versions: what a successful response looks like; a response failing it is an error.
    Without a check, a status below 400 is a success."""


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

    ``outage``, ``errors``, ``latency`` and ``brownout`` act in every mode; ``corrupt`` on a model
    or callable. ``readonly``, ``oom`` and ``drop`` act on a simulated Redis dependency, ``reset``
    and ``timeout`` on a simulated dependency (see :mod:`harness.runtime.redis` and
    :mod:`harness.runtime.http`) or through the live fault proxy, ``bandwidth`` and ``slicer``
    through the live fault proxy only. A kind no mode carries out on a target is refused at load;
    one the chosen mode cannot is refused before the run (:mod:`harness.scenario.modes`).
    """

    OUTAGE = "outage"
    ERRORS = "errors"
    LATENCY = "latency"
    BROWNOUT = "brownout"
    CORRUPT = "corrupt"
    READONLY = "readonly"
    OOM = "oom"
    DROP = "drop"
    BANDWIDTH = "bandwidth"
    RESET = "reset"
    TIMEOUT = "timeout"
    SLICER = "slicer"


class DependencyKind(enum.StrEnum):
    """What protocol a dependency speaks (its address is written accordingly)."""

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


_MODEL_FAULTS = frozenset(
    {
        ScenarioFaultKind.OUTAGE,
        ScenarioFaultKind.ERRORS,
        ScenarioFaultKind.LATENCY,
        ScenarioFaultKind.BROWNOUT,
        ScenarioFaultKind.CORRUPT,
    }
)
LIVE_ONLY_FAULT_KINDS = frozenset(
    {
        ScenarioFaultKind.BANDWIDTH,
        ScenarioFaultKind.RESET,
        ScenarioFaultKind.TIMEOUT,
        ScenarioFaultKind.SLICER,
    }
)
"""Fault kinds the live fault proxy's toxics carry out; on a version they need live mode."""
_LIVE_DEPENDENCY_FAULTS = (
    frozenset(
        {
            ScenarioFaultKind.OUTAGE,
            ScenarioFaultKind.ERRORS,
            ScenarioFaultKind.LATENCY,
            ScenarioFaultKind.BROWNOUT,
        }
    )
    | LIVE_ONLY_FAULT_KINDS
)
SIMULATED_DEPENDENCY_FAULTS = {
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
"""What the real-code engine's simulated dependencies can suffer, by kind (:mod:`harness.runtime`)."""


class FaultSpec(_Spec):
    """A window of trouble: ``kind`` hits ``target`` (a version or dependency) at ``at`` for ``duration``.

    In live mode a fault on a dependency is carried out by the fault proxy between each traffic
    group and that dependency: ``outage`` refuses and drops connections, ``errors`` and ``reset``
    reset them (each connection with probability ``rate``), ``latency`` delays data (plus
    ``jitter``), ``brownout`` does both, ``bandwidth`` throttles to ``bandwidth`` KB/s,
    ``timeout`` stops data and closes the connection after ``timeout`` (0: holds it), ``slicer``
    cuts data into small delayed pieces.
    """

    kind: ScenarioFaultKind
    """What the fault does."""
    target: str = Field(min_length=1, max_length=200)
    """A version or a dependency."""
    at: Duration
    """When the fault starts, from the start of the run."""
    duration: Duration
    """How long it lasts."""
    rate: Probability = 1.0
    """The share of requests (simulated) or connections (live proxy) it hits."""
    latency: Duration = 0.0
    """Added latency, for ``latency`` and ``brownout``."""
    jitter: Duration = 0.0
    """Live: random extra latency up to this much (seeded per connection), for latency and brownout."""
    bandwidth: float | None = Field(default=None, gt=0.0, le=1e9)
    """Live: kilobytes per second, for ``bandwidth``."""
    timeout: Duration = 0.0
    """Live: for ``timeout``, close the connection after this long without data (0: hold it open)."""
    groups: list[str] | None = Field(default=None, min_length=1, max_length=100)
    """The traffic groups whose path to the target gets the fault: versions by name, or ``control``
    and ``experiment`` in an experiment flow. Default: every group."""

    @model_validator(mode="after")
    def _kind_fields(self) -> FaultSpec:
        kind = self.kind
        if kind is ScenarioFaultKind.BANDWIDTH and self.bandwidth is None:
            raise ValueError("a bandwidth fault needs bandwidth (kilobytes per second), e.g. bandwidth: 64")
        if self.bandwidth is not None and kind is not ScenarioFaultKind.BANDWIDTH:
            raise ValueError(f"bandwidth is for kind bandwidth, not {kind.value}")
        if self.jitter and kind not in (ScenarioFaultKind.LATENCY, ScenarioFaultKind.BROWNOUT):
            raise ValueError(f"jitter is for kinds latency and brownout, not {kind.value}")
        if self.timeout and kind is not ScenarioFaultKind.TIMEOUT:
            raise ValueError(f"timeout is for kind timeout, not {kind.value}")
        if self.groups is not None and len(set(self.groups)) != len(self.groups):
            raise ValueError(f"groups {self.groups} name a group more than once")
        return self


_DEPENDENCY_URL = {
    DependencyKind.REDIS: (r"^rediss?://[^/:]+:\d+(/\d*)?$", "redis://127.0.0.1:6379/0"),
    DependencyKind.HTTP: (r"^https?://[^/:]+:\d+(/.*)?$", "http://127.0.0.1:9100"),
    DependencyKind.TCP: (r"^(tcp://)?[^/:]+:\d+$", "127.0.0.1:5432"),
}


class DependencySpec(_Spec):
    """Something the versions call (a Redis, a downstream API, any TCP server), named by faults and templates.

    In live mode it is real: attach to a running one by ``url``, or name the entry of ``services:``
    that starts it. The harness puts one fault proxy per traffic group in front of it and hands each
    group its proxy's address through ``${deps.NAME.url|host|port}``.

    In simulated mode (callable and ASGI versions) a ``redis`` dependency is a fresh fakeredis
    server per run and an ``http`` one is served in memory by ``simulate``; ``latency`` is each
    call's latency on virtual time, drawn from the run's seed.
    """

    kind: DependencyKind
    """The protocol: redis, http or tcp."""
    url: str | None = Field(default=None, max_length=2000)
    """Live: the address of a running dependency (``redis://127.0.0.1:6379/0``, ``http://127.0.0.1:9100``,
    ``127.0.0.1:5432`` for tcp)."""
    service: str | None = Field(default=None, min_length=1, max_length=100)
    """Live: the entry of ``services:`` that provides it (a shared service, started once)."""
    latency: LatencySpec | None = None
    """Simulated: each call's latency on virtual time."""
    simulate: SimulateSpec | None = None
    """Simulated: what serves an http dependency (a model, an ASGI app or a callable)."""

    @model_validator(mode="after")
    def _address(self) -> DependencySpec:
        if self.simulate is not None and self.kind is not DependencyKind.HTTP:
            raise ValueError(f"simulate serves http dependencies; a {self.kind.value} dependency has none")
        if self.url is not None and self.service is not None:
            raise ValueError("a dependency has a url (attach) or a service (start it), not both")
        if self.url is not None:
            pattern, example = _DEPENDENCY_URL[self.kind]
            if re.match(pattern, self.url) is None:
                raise ValueError(
                    f"url {self.url!r} is not a {self.kind.value} address with host and port; "
                    f"write for example {example}"
                )
        return self


class ReadySpec(_Spec):
    """How the harness knows a started service is ready: an HTTP path answering below 400, or an open port."""

    http: str | None = Field(default=None, pattern=r"^/", max_length=2000)
    """A path to GET on the service (``/health``) until it answers with a status below 400."""
    tcp: bool = False
    """Ready once the service's port accepts a connection."""
    timeout: Duration = 10.0
    """How long to wait before the run fails with the service's log tail."""

    @model_validator(mode="after")
    def _one_probe(self) -> ReadySpec:
        if (self.http is None) == (not self.tcp):
            raise ValueError("ready needs exactly one of http: /path or tcp: true")
        if self.timeout <= 0:
            raise ValueError("ready.timeout must be > 0, for example 10s")
        return self


class ServiceSpec(_Spec):
    """A process of the system under test that live mode starts (``command``) or attaches to (``url``).

    A started service is a template: one instance per traffic group that uses it (each with that
    group's ``${port}`` and dependency addresses), or one for all when ``shared`` (a dependency
    server). Its output goes to a log file in the report folder; it is stopped on every exit path.
    """

    command: list[Annotated[str, Field(max_length=10_000)]] | None = Field(
        default=None, min_length=1, max_length=1000
    )
    """The program and its arguments (no shell); may use ``${port}``, ``${group}``, ``${version}``,
    ``${vars.NAME}`` and ``${deps.NAME.url|host|port}``."""
    url: str | None = Field(default=None, pattern=r"^[a-z]+://[^/:]+:\d+", max_length=2000)
    """Attach to a service already running here; it is never started or stopped by the harness."""
    env: dict[str, Annotated[str, Field(max_length=10_000)]] = Field(default_factory=dict, max_length=1000)
    """Environment variables added to the harness's own; values may use the same placeholders."""
    cwd: str | None = Field(default=None, max_length=4096)
    """The working directory, relative to the current one (default: the current one)."""
    ready: ReadySpec | None = None
    """The readiness probe (default for a started service: its port accepts connections, 10 s)."""
    stop_timeout: Duration = 5.0
    """How long a stopped service may take to exit after SIGTERM before it is killed."""
    shared: bool = False
    """One instance for every group (a dependency server such as redis-server) instead of one per group."""

    @model_validator(mode="after")
    def _command_or_url(self) -> ServiceSpec:
        if (self.command is None) == (self.url is None):
            raise ValueError("a service needs exactly one of command (start it) or url (attach to it)")
        if self.url is not None and (self.env or self.cwd is not None or self.shared):
            raise ValueError("env, cwd and shared are for started services; an attached one (url) has none")
        if self.command is not None and "port" not in self.placeholders():
            raise ValueError(
                "a started service must listen on ${port} (in command or env), so the harness "
                "knows its address, e.g. [redis-server, --port, '${port}']"
            )
        return self

    def texts(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Every templated text with its location: command items, then env values."""
        out: list[tuple[tuple[str | int, ...], str]] = [
            (("command", i), item) for i, item in enumerate(self.command or ())
        ]
        out.extend((("env", key), value) for key, value in self.env.items())
        return out

    def placeholders(self) -> set[str]:
        """The names this service's command and environment refer to."""
        return {name for _, text in self.texts() for name in template_names(text)}


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
    EXPERIMENT = "experiment"


EXPERIMENT_GROUPS = ("control", "experiment")
"""The two groups of an experiment flow, both running the stable version."""
SHADOW_SECONDARY = "secondary"
"""Live shadow flows: the group of the second instance of the stable version (noise cancellation)."""


class AbortSpec(_Spec):
    """The user-harm budget of an experiment: the experiment group crossing it aborts the experiment.

    A window's harm counts only when it is demonstrably over budget at the experiment's ``alpha``
    (a one-sided exact binomial test for the error rate, a distribution-free lower confidence
    bound for the p99), so a few unlucky requests in a small group do not abort.
    """

    error_rate: Fraction | None = None
    """The highest error rate users of the experiment group may see (``5%``)."""
    p99: Duration | None = None
    """The highest p99 latency users of the experiment group may see (``800ms``)."""

    @model_validator(mode="after")
    def _some_budget(self) -> AbortSpec:
        if self.error_rate is None and self.p99 is None:
            raise ValueError("abort needs error_rate, p99 or both, for example {error_rate: 5%}")
        return self


class ExperimentSpec(_Spec):
    """A ChAP-style chaos experiment: control and experiment groups of the stable version.

    ``share`` percent of traffic goes to each group; the rest stays on the stable version. Faults
    naming ``groups: [experiment]`` reach only the experiment group's path. After ``windows``
    windows the experiment is judged against the control with the calibrated canary judge (p95
    latency and error rate, within the allowances below); it is aborted at the first window whose
    harm crosses ``abort``: every fault removed, all traffic sent back to the stable version.
    """

    share: float = Field(default=5.0, gt=0.0, le=50.0)
    """Percent of traffic sent to each of the control and experiment groups."""
    windows: int | None = Field(default=None, ge=1, le=100_000)
    """Windows the experiment runs before it is judged (default: every window of the run)."""
    alpha: float = Field(default=0.05, gt=0.0, lt=0.5)
    """Significance level of the judge and of the abort tests."""
    max_latency_increase: float = Field(default=0.1, ge=0.0, le=10.0)
    """The p95 latency increase of experiment over control that still passes (0.1: +10%)."""
    max_error_rate_ratio: float = Field(default=1.25, ge=1.0, le=100.0)
    """The error rate ratio of experiment over control that still passes."""
    abort: AbortSpec = Field(default_factory=lambda: AbortSpec(error_rate=0.05))
    """The harm budget (default: an error rate of 5%)."""


class FlowSpec(_Spec):
    """The flow and its configuration; only the block matching ``kind`` is read."""

    kind: FlowKind = FlowKind.NONE
    """Which flow runs: none, shadow, canary, champion_challenger, rollback or experiment."""
    stable: str = "v1"
    """The version serving users now."""
    candidate: str | None = None
    """The version being rolled out (every flow but experiment needs one)."""
    canary: CanarySpec = Field(default_factory=CanarySpec)
    shadow: ShadowSpec = Field(default_factory=ShadowSpec)
    champion: ChampionSpec = Field(default_factory=ChampionSpec)
    rollback: RollbackSpec = Field(default_factory=RollbackSpec)
    experiment: ExperimentSpec = Field(default_factory=ExperimentSpec)


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
    group: str | None = Field(default=None, min_length=1, max_length=100)
    """Measure only this traffic group (a version, or ``control``/``experiment`` in an experiment
    flow) instead of everything users saw."""

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
    aborted: bool | None = None
    """Experiment flows: whether the experiment was aborted for crossing its harm budget."""
    aborted_within: Duration | None = None
    """Experiment flows: the abort came at most this long after the run started."""
    experiment: Literal["passed", "rejected", "aborted"] | None = None
    """Experiment flows: the verdict (passed: no harm beyond the allowances; rejected: harm
    beyond them but within the abort budget; aborted)."""


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
    """What the versions call, by name (faults and ``${deps.NAME...}`` refer to these names)."""
    traffic: TrafficSpec = Field(default_factory=TrafficSpec)
    faults: list[FaultSpec] = Field(default_factory=list)
    resilience: ResilienceSpec | None = None
    flow: FlowSpec = Field(default_factory=FlowSpec)
    expectations: Expectations = Field(default_factory=Expectations)
    baseline: str | None = None
    live: LiveSpec | None = None
    services: dict[str, ServiceSpec] = Field(default_factory=dict, max_length=100)
    """Live mode: the processes the harness starts or attaches to, by name."""

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
        if self.flow.kind not in (FlowKind.NONE, FlowKind.EXPERIMENT) and self.flow.candidate is None:
            raise ValueError(f"flow.kind={self.flow.kind.value!r} needs flow.candidate")
        self._check_lineage(names)
        self._check_groups(names)
        self._check_services()
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
        """The fault kinds ``target`` can suffer in some mode (:func:`harness.scenario.modes` narrows
        them to what the chosen mode carries out)."""
        declared = self.dependencies.get(target)
        if declared is None:
            return _MODEL_FAULTS | LIVE_ONLY_FAULT_KINDS if target in self.versions else _MODEL_FAULTS
        return SIMULATED_DEPENDENCY_FAULTS[declared.kind] | _LIVE_DEPENDENCY_FAULTS

    @staticmethod
    def model_fault_kinds() -> frozenset[ScenarioFaultKind]:
        """The fault kinds every version and modelled dependency suffers in simulated mode."""
        return _MODEL_FAULTS

    def simulated_fault_kinds(self, target: str) -> frozenset[ScenarioFaultKind]:
        """The fault kinds simulated mode carries out on ``target``."""
        declared = self.dependencies.get(target)
        return _MODEL_FAULTS if declared is None else SIMULATED_DEPENDENCY_FAULTS[declared.kind]

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

    @property
    def groups(self) -> dict[str, str]:
        """Traffic group -> the version it runs, in routing order.

        Every version is its own group, except in an experiment flow: the stable version's users,
        then ``control`` and ``experiment``, both running the stable version.
        """
        if self.flow.kind is FlowKind.EXPERIMENT:
            stable = self.flow.stable
            return {stable: stable, **dict.fromkeys(EXPERIMENT_GROUPS, stable)}
        return {name: name for name in self.versions}

    @property
    def live_groups(self) -> dict[str, str]:
        """The groups live mode runs: :attr:`groups`, and for a shadow flow a second instance of the
        stable version (``secondary``) that gets every mirrored request, for noise cancellation."""
        groups = self.groups
        if self.flow.kind is FlowKind.SHADOW:
            groups[SHADOW_SECONDARY] = self.flow.stable
        return groups

    def _check_groups(self, names: set[str]) -> None:
        """Experiment groups do not shadow versions; faults and probes name known groups."""
        reserved = {FlowKind.EXPERIMENT: EXPERIMENT_GROUPS, FlowKind.SHADOW: (SHADOW_SECONDARY,)}
        if self.flow.kind in reserved:
            for group in reserved[self.flow.kind]:
                if group in names:
                    raise _located(
                        ("versions", group),
                        f"{group!r} is a group of the {self.flow.kind.value} flow; "
                        "give the version another name",
                        group,
                    )
        groups = sorted(self.groups)
        for i, fault in enumerate(self.faults):
            for j, group in enumerate(fault.groups or ()):
                if group not in groups:
                    raise _located(
                        ("faults", i, "groups", j),
                        f"{group!r} is not a traffic group; groups: {groups}",
                        group,
                    )
        for i, probe in enumerate(self.expectations.steady_state):
            if probe.group is not None and probe.group not in groups:
                raise _located(
                    ("expectations", "steady_state", i, "group"),
                    f"{probe.group!r} is not a traffic group; groups: {groups}",
                    probe.group,
                )

    def _check_services(self) -> None:
        """Versions and dependencies name declared services; every service is used; templates resolve."""
        services = sorted(self.services)
        users: dict[str, list[str]] = {name: [] for name in self.services}
        for name, dep in self.dependencies.items():
            if dep.service is None:
                continue
            where = ("dependencies", name, "service")
            spec = self.services.get(dep.service)
            if spec is None:
                raise _located(where, f"{dep.service!r} is not a service; services: {services}", dep.service)
            if spec.command is not None and not spec.shared:
                raise _located(
                    where,
                    f"a dependency's service is started once for every group: mark services.{dep.service} "
                    "shared: true",
                    dep.service,
                )
            users[dep.service].append(f"dependency {name}")
        for name, version in self.versions.items():
            service = version.http.service if version.http is not None else None
            if service is None:
                continue
            if service not in self.services:
                raise _located(
                    ("versions", name, "http", "service"),
                    f"{service!r} is not a service; services: {services}",
                    service,
                )
            users[service].append(f"version {name}")
        for name, used_by in users.items():
            if not used_by:
                raise _located(
                    ("services", name),
                    f"service {name!r} is used by no version (http: {{service: {name}}}) and no dependency",
                    name,
                )
            self._check_templates(name)

    def _check_templates(self, service: str) -> None:
        """Each placeholder of ``service`` names something every instance of it will have."""
        spec = self.services[service]
        if spec.shared:
            known = {"port"}
        else:
            known = {"port", "group", "version"}
            known |= {f"deps.{d}.{part}" for d in self.dependencies for part in DEPENDENCY_PARTS}
            known |= {f"vars.{v}" for v in self._vars_of(service)}
        for location, text in spec.texts():
            try:
                check_template(text, known)
            except TemplateError as exc:
                hint = " (a shared service has only ${port})" if spec.shared else ""
                raise _located(("services", service, *location), f"{exc}{hint}", text) from None

    def _vars_of(self, service: str) -> set[str]:
        """The ``vars`` every version started from ``service`` defines (the ones all instances have)."""
        sets = [
            set(v.http.vars)
            for v in self.versions.values()
            if v.http is not None and v.http.service == service
        ]
        return set.intersection(*sets) if sets else set()

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
                "traffic": self._compressed_traffic(k),
                "faults": [scaled(f, at=f.at, duration=f.duration) for f in self.faults],
                "flow": flow,
                "expectations": expectations,
            }
        )

    def _compressed_traffic(self, k: float) -> TrafficSpec:
        """The traffic at ``live.rate``, its shape kept: peaks scaled with the rate, times with ``k``."""
        assert self.live is not None
        traffic = self.traffic
        scale = self.live.rate / traffic.rate
        return traffic.model_copy(
            update={
                "rate": self.live.rate,
                "peak": None if traffic.peak is None else traffic.peak * scale,
                "at": traffic.at * k,
                "length": traffic.length * k,
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
