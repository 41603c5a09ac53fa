"""The data every rollout flow reads and writes: windows of observations in, decisions out.

A scenario engine (simulated or live) cuts traffic into fixed-length windows and hands each one to
a flow's ``observe(window)``; the flow answers with a :class:`Decision` whose reasons say which
metric, statistic, value and threshold led to it. Everything here is immutable and JSON-friendly
(``to_dict``) so decisions go straight into a journal.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from harness._checks import one_of
from harness.errors import InvalidConfig
from harness.stats.verdict import Verdict

__all__ = [
    "Action",
    "Decision",
    "Exchange",
    "Flow",
    "Outcome",
    "Reason",
    "VersionWindow",
    "Window",
    "parse_enum",
]

FloatArray = npt.NDArray[np.float64]
JSONLike = Any
"""A JSON-like payload: None, bool, int, float, str, lists and str-keyed dicts."""


def parse_enum(kind: type[enum.Enum], value: object, *, field_name: str) -> Any:
    """``kind(value)`` with an error that lists the valid values (``harness._checks.one_of``)."""
    return one_of(field_name, value, kind)


class Action(enum.Enum):
    """What a flow asks its driver to do after a window."""

    CONTINUE = "continue"
    SET_WEIGHT = "set_weight"
    PAUSE = "pause"
    PROMOTE = "promote"
    ROLLBACK = "rollback"
    ABORT = "abort"
    COMPLETE = "complete"


class Outcome(enum.Enum):
    """Where a flow ended (``RUNNING`` while it has not)."""

    RUNNING = "running"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"
    ABORTED = "aborted"
    RETAINED = "retained"
    PASSED = "passed"
    REJECTED = "rejected"
    ROLLED_FORWARD = "rolled_forward"


def _json_number(value: float | None) -> float | str | None:
    if value is None:
        return None
    v = float(value)
    if math.isfinite(v):
        return v
    return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")


def _from_json_number(value: float | str | None) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reason:
    """One piece of evidence behind a decision: ``statistic`` of ``metric`` was ``value`` vs ``threshold``."""

    metric: str
    statistic: str
    value: float | None
    threshold: float | None
    verdict: Verdict
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (non-finite numbers become ``"nan"``/``"inf"`` strings)."""
        return {
            "metric": self.metric,
            "statistic": self.statistic,
            "value": _json_number(self.value),
            "threshold": _json_number(self.threshold),
            "verdict": self.verdict.value,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reason:
        """Inverse of :meth:`to_dict`."""
        return cls(
            metric=str(data["metric"]),
            statistic=str(data["statistic"]),
            value=_from_json_number(data.get("value")),
            threshold=_from_json_number(data.get("threshold")),
            verdict=Verdict(data["verdict"]),
            message=str(data.get("message", "")),
        )


def _frozen_weights(weights: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType({str(k): float(v) for k, v in weights.items()})


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """A flow's answer to one window: an action, the target weights (percent) and why.

    ``terminal`` is true exactly when the flow has finished; it decides nothing afterwards.
    """

    action: Action
    weights: Mapping[str, float]
    reasons: tuple[Reason, ...] = ()
    terminal: bool = False
    t: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", _frozen_weights(self.weights))
        object.__setattr__(self, "reasons", tuple(self.reasons))

    @property
    def failed(self) -> tuple[Reason, ...]:
        """The reasons whose verdict is FAIL."""
        return tuple(r for r in self.reasons if r.verdict is Verdict.FAIL)

    def explain(self) -> str:
        """One line per reason: why the flow did what it did."""
        lines = [f"{self.action.value} weights={dict(self.weights)}"]
        lines.extend(
            f"  {r.verdict.value}: {r.metric} {r.statistic}={r.value!r} threshold={r.threshold!r}"
            + (f" ({r.message})" if r.message else "")
            for r in self.reasons
        )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict for journals and reports."""
        return {
            "action": self.action.value,
            "weights": dict(sorted(self.weights.items())),
            "reasons": [r.to_dict() for r in self.reasons],
            "terminal": self.terminal,
            "t": self.t,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        """Inverse of :meth:`to_dict`."""
        return cls(
            action=Action(data["action"]),
            weights=dict(data["weights"]),
            reasons=tuple(Reason.from_dict(r) for r in data.get("reasons", ())),
            terminal=bool(data.get("terminal", False)),
            t=data.get("t"),
        )


def _as_array(name: str, value: object) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 1:
        raise InvalidConfig(
            f"{name} must be a 1-D array of numbers; got shape {arr.shape}. Flatten it with np.ravel.",
            field=name,
            value=arr.shape,
        )
    return arr


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionWindow:
    """One version's observations in one window.

    ``latencies`` (seconds) may be a sample of the window's requests; ``metrics`` holds extra named
    per-request (or per-sample) arrays such as ``"cpu"`` or ``"score"``.
    """

    requests: int
    errors: int = 0
    latencies: FloatArray = field(default_factory=lambda: np.empty(0, dtype=np.float64))
    metrics: Mapping[str, FloatArray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.requests < 0 or not 0 <= self.errors <= self.requests:
            raise InvalidConfig(
                f"requests={self.requests!r}, errors={self.errors!r}: need 0 <= errors <= requests.",
                field="errors",
                value=self.errors,
            )
        object.__setattr__(self, "latencies", _as_array("latencies", self.latencies))
        metrics = {str(k): _as_array(f"metrics[{k!r}]", v) for k, v in self.metrics.items()}
        object.__setattr__(self, "metrics", MappingProxyType(metrics))

    @property
    def error_rate(self) -> float:
        """errors / requests (NaN without requests)."""
        return self.errors / self.requests if self.requests else math.nan

    def values(self, metric: str) -> FloatArray:
        """The sample array of ``metric``: ``"latency"`` or a name in ``metrics``."""
        if metric == "latency":
            return self.latencies
        try:
            return self.metrics[metric]
        except KeyError:
            return np.empty(0, dtype=np.float64)


@dataclass(frozen=True, slots=True, kw_only=True)
class Exchange:
    """One mirrored request's three responses, for shadow comparison (Diffy's triple).

    ``secondary`` is a second instance of the primary, so primary-vs-secondary differences are noise.
    """

    primary: JSONLike
    secondary: JSONLike
    candidate: JSONLike
    request_id: str | None = None
    endpoint: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """Observations for ``[start, end)`` seconds of run time, per version, plus shadow exchanges."""

    start: float
    end: float
    versions: Mapping[str, VersionWindow] = field(default_factory=dict)
    exchanges: Sequence[Exchange] = ()

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and math.isfinite(self.end)) or self.end < self.start:
            raise InvalidConfig(
                f"window start={self.start!r}, end={self.end!r}: need finite start <= end.",
                field="end",
                value=self.end,
            )
        object.__setattr__(self, "versions", MappingProxyType(dict(self.versions)))
        object.__setattr__(self, "exchanges", tuple(self.exchanges))

    @property
    def duration(self) -> float:
        """end - start, in seconds."""
        return self.end - self.start

    def version(self, name: str) -> VersionWindow:
        """The observations of version ``name`` (an empty window when it saw no traffic)."""
        return self.versions.get(name) or VersionWindow(requests=0)


@runtime_checkable
class Flow(Protocol):
    """A sans-IO rollout controller: it reads windows and returns decisions, nothing else."""

    @property
    def weights(self) -> Mapping[str, float]:
        """Current traffic split in percent per version."""
        ...

    @property
    def outcome(self) -> Outcome:
        """``RUNNING`` until the flow reaches a terminal state."""
        ...

    def observe(self, window: Window) -> Decision:
        """Judge one window and say what to do next."""
        ...
