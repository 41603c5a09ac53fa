"""Pass/fail thresholds on load results, written as k6 writes them: ``p99 < 300ms``, ``error_rate < 1%``.

A threshold names a metric, a comparison and a limit. Latency metrics (``p50``, ``p90``, ``p95``,
``p99``, ``p99.9``, ``max``, ``mean``; prefix ``service_`` for service time instead of the
coordinated-omission-corrected latency) are durations and carry their unit (``us``, ``ms``, ``s``,
``m``; see :mod:`harness.units`): a bare ``p99 < 300`` is refused with the fix (k6 reads it as
milliseconds, which is why it is ambiguous). ``error_rate`` and ``dropped_rate`` take a fraction
(``0.01``) or a percentage (``1%``);
``rps`` is achieved requests per second. ``abort_on_fail`` stops a running load test as soon as the
threshold fails, after ``delay`` seconds of grace (k6's ``abortOnFail`` / ``delayAbortEval``).
A failed evaluation raises :class:`ThresholdsFailed`; the CLI exits with :data:`EXIT_THRESHOLDS`.
Outcomes show the observed value in the unit the threshold was written in (``p99 < 1ms: observed
11.82ms``).

Exit codes of a load run, beside the CLI's 0 (passed), 2 (usage error) and 3 (internal error):
:data:`EXIT_THRESHOLDS` (99, as k6) when a threshold failed; :data:`EXIT_DRIVER_BOUND` (95) when
the measurement is not valid because the driver itself was late or out of CPU; and
:data:`EXIT_NO_SUCCESS` (96) when no request succeeded. The latter two stay clear of the codes
k6 gives other meanings (97-110).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from harness._checks import non_negative
from harness.errors import Finding, InvalidConfig
from harness.units import DURATION_UNITS, DurationError, duration_seconds, in_unit

__all__ = [
    "EXIT_DRIVER_BOUND",
    "EXIT_NO_SUCCESS",
    "EXIT_THRESHOLDS",
    "LATENCY_METRICS",
    "Comparison",
    "Threshold",
    "ThresholdOutcome",
    "ThresholdReport",
    "ThresholdsFailed",
    "evaluate_thresholds",
]

EXIT_THRESHOLDS = 99
"""Exit code of a load run whose thresholds failed (the same as k6's)."""
EXIT_DRIVER_BOUND = 95
"""Exit code of a load run that is not valid: the driver was late or out of CPU, so it measured itself."""
EXIT_NO_SUCCESS = 96
"""Exit code of a load run in which no request succeeded (every one failed, or none completed)."""

_LATENCY = ("p50", "p90", "p95", "p99", "p99.9", "max", "mean")
LATENCY_METRICS: frozenset[str] = frozenset(_LATENCY) | frozenset(f"service_{m}" for m in _LATENCY)
_RATIO_METRICS = frozenset({"error_rate", "dropped_rate"})
_COUNT_METRICS = frozenset({"rps", "requests", "errors"})
_ALL = LATENCY_METRICS | _RATIO_METRICS | _COUNT_METRICS
_PATTERN = re.compile(
    r"^\s*([a-z_][a-z0-9_.]*)\s*(<=|>=|==|!=|<|>)\s*([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)\s*([a-zµ%]*)\s*$"
)


class Comparison(Enum):
    """The comparison a threshold makes between observed value and limit."""

    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    EQ = "=="
    NE = "!="

    @property
    def test(self) -> Callable[[float, float], bool]:
        """The comparison as a function ``(observed, limit) -> bool``."""
        ops: dict[Comparison, Callable[[float, float], bool]] = {
            Comparison.LT: operator.lt,
            Comparison.LE: operator.le,
            Comparison.GT: operator.gt,
            Comparison.GE: operator.ge,
            Comparison.EQ: operator.eq,
            Comparison.NE: operator.ne,
        }
        return ops[self]


@dataclass(frozen=True, slots=True, kw_only=True)
class Threshold:
    """``metric comparison limit``; latencies in seconds, rates as fractions."""

    metric: str
    comparison: Comparison
    limit: float
    abort_on_fail: bool = False
    delay: float = 0.0
    text: str = ""
    unit: str = ""  # as written: "ms", "%"..., or "" (latencies are then shown in a fitting unit)

    def __post_init__(self) -> None:
        if self.metric not in _ALL:
            raise InvalidConfig(
                f"{self.metric!r} is not a threshold metric; valid: {', '.join(sorted(_ALL))}.",
                field="metric",
                value=self.metric,
            )
        non_negative("limit", self.limit, "latencies in seconds, rates as fractions")
        non_negative("delay", self.delay, "grace before abort_on_fail may stop a run", unit="seconds")

    @classmethod
    def parse(cls, text: str, *, abort_on_fail: bool = False, delay: float = 0.0) -> Threshold:
        """Parse ``"p99 < 300ms"``, ``"error_rate < 1%"``, ``"rps >= 500"``."""
        match = _PATTERN.match(text.lower()) if isinstance(text, str) else None
        if match is None:
            raise InvalidConfig(
                f"threshold {text!r} is not 'metric op value[unit]'; write for example 'p99 < 300ms' "
                "or 'error_rate < 1%'.",
                field="threshold",
                value=text,
            )
        metric, op, number, unit = match.groups()
        if metric not in _ALL:
            raise InvalidConfig(
                f"{metric!r} is not a threshold metric; valid: {', '.join(sorted(_ALL))}.",
                field="metric",
                value=metric,
            )
        limit = _scale(metric, number, unit, text)
        return cls(
            metric=metric,
            comparison=Comparison(op),
            limit=limit,
            abort_on_fail=abort_on_fail,
            delay=delay,
            text=text.strip(),
            unit=unit,
        )

    def check(self, metrics: Mapping[str, float]) -> ThresholdOutcome:
        """Compare this threshold with ``metrics`` (as given by a result's ``metrics()``)."""
        observed = float(metrics[self.metric])
        return ThresholdOutcome(
            threshold=self, observed=observed, passed=self.comparison.test(observed, self.limit)
        )

    def show(self, value: float) -> str:
        """``value`` of this threshold's metric in the unit it was written in: ``11.82ms``, ``2.5%``."""
        if self.metric in LATENCY_METRICS:
            unit = self.unit if self.unit in DURATION_UNITS else _fitting_unit(value)
            return f"{in_unit(value, unit):.4g}{unit}"
        if self.unit == "%":
            return f"{value * 100:.4g}%"
        return f"{value:.6g}"

    def __str__(self) -> str:
        return self.text or f"{self.metric} {self.comparison.value} {self.show(self.limit)}"


def _fitting_unit(seconds: float) -> str:
    if seconds < 1e-3:
        return "us"
    return "ms" if seconds < 1.0 else "s"


def _scale(metric: str, number: str, unit: str, text: str) -> float:
    if metric in LATENCY_METRICS:
        if unit == "" or unit in DURATION_UNITS:
            return _latency(number + unit, text)
        allowed = "a time unit: us, ms, s or m"
    elif metric in _RATIO_METRICS:
        if unit == "%":
            return float(number) / 100.0
        if unit == "":
            return float(number)
        allowed = "a fraction (0.01) or a percentage (1%)"
    else:
        if unit == "":
            return float(number)
        allowed = "no unit"
    raise InvalidConfig(
        f"threshold {text!r}: unit {unit!r} does not fit {metric!r}; use {allowed}.",
        field="threshold",
        value=text,
    )


def _latency(value: str, text: str) -> float:
    try:
        return duration_seconds(value, bare_unit="ms")
    except DurationError as exc:
        raise InvalidConfig(f"threshold {text!r}: {exc}", field="threshold", value=text) from None


@dataclass(frozen=True, slots=True)
class ThresholdOutcome:
    """One threshold's verdict and the value it saw."""

    threshold: Threshold
    observed: float
    passed: bool

    def describe(self) -> str:
        """``p99 < 300ms: observed 412ms (FAILED)``: the value in the threshold's unit, and the verdict."""
        mark = "ok" if self.passed else "FAILED"
        return f"{self.threshold}: observed {self.threshold.show(self.observed)} ({mark})"


@dataclass(frozen=True, slots=True)
class ThresholdReport:
    """Every threshold's outcome; ``passed`` when all passed."""

    outcomes: tuple[ThresholdOutcome, ...]

    @property
    def passed(self) -> bool:
        """True when no threshold failed."""
        return all(o.passed for o in self.outcomes)

    @property
    def failed(self) -> tuple[ThresholdOutcome, ...]:
        """The outcomes that failed."""
        return tuple(o for o in self.outcomes if not o.passed)

    @property
    def exit_code(self) -> int:
        """0 when every threshold passed, :data:`EXIT_THRESHOLDS` otherwise."""
        return 0 if self.passed else EXIT_THRESHOLDS

    def raise_for_failures(self) -> None:
        """Raise :class:`ThresholdsFailed` if any threshold failed."""
        if not self.passed:
            raise ThresholdsFailed(self)


class ThresholdsFailed(Finding):
    """A load run crossed at least one of its thresholds."""

    exit_code = EXIT_THRESHOLDS

    def __init__(self, report: ThresholdReport) -> None:
        lines = "; ".join(o.describe() for o in report.failed)
        first = report.failed[0]
        super().__init__(
            f"load thresholds failed: {lines}", observed=first.observed, limit=first.threshold.limit
        )
        self.report = report


def evaluate_thresholds(
    thresholds: Iterable[Threshold | str], metrics: Mapping[str, float]
) -> ThresholdReport:
    """Check every threshold (``Threshold`` or text) against ``metrics``."""
    parsed = [t if isinstance(t, Threshold) else Threshold.parse(t) for t in thresholds]
    return ThresholdReport(tuple(t.check(metrics) for t in parsed))
