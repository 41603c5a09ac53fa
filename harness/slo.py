"""Service level objectives, error budgets and multi-window multi-burn-rate alerts.

An :class:`SLO` says what fraction of events must be good over a window: error-rate SLOs count a
failed request as bad, latency SLOs also count a request slower than ``latency_threshold``. An
:class:`ErrorBudget` records (time, bad, total) observations, sans-IO (the caller passes ``t``),
and answers how much budget remains and how fast it burns over any trailing window. A
:class:`BurnRateAlerter` applies the SRE workbook's rule: alert when both a long and a short
window burn faster than the rule's rate (1h and 5m at 14.4x, 6h and 30m at 6x, ...), so alerts fire
fast on a real burn and stop soon after it ends.
"""

from __future__ import annotations

import bisect
import enum
import math
from dataclasses import dataclass

from harness._extras import require

require("stats", __name__)

import numpy as np

from harness._checks import invalid, one_of, positive, within
from harness.errors import Finding, InvalidConfig

__all__ = [
    "DEFAULT_BURN_RULES",
    "SLO",
    "BurnAlert",
    "BurnRateAlerter",
    "BurnRateRule",
    "ErrorBudget",
    "SLOKind",
    "SLOStatus",
    "SLOViolated",
    "Severity",
]

HOUR = 3600.0
DAY = 24 * HOUR


class SLOKind(enum.Enum):
    """What makes an event bad."""

    ERROR_RATE = "error_rate"
    LATENCY = "latency"


class Severity(enum.Enum):
    """How an alert is routed."""

    PAGE = "page"
    TICKET = "ticket"


class SLOViolated(Finding):
    """An SLO's compliance fell below its objective."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SLOStatus:
    """Compliance over some events and the share of the error budget left."""

    good: float
    total: float
    compliance: float
    objective: float
    budget_remaining: float

    @property
    def met(self) -> bool:
        """True when compliance reaches the objective (vacuously true without events)."""
        return self.total == 0 or self.compliance >= self.objective


@dataclass(frozen=True, slots=True, kw_only=True)
class SLO:
    """``objective`` of events good over ``window`` seconds (e.g. 99.9% over 30 days)."""

    name: str
    objective: float
    kind: SLOKind = SLOKind.ERROR_RATE
    latency_threshold: float | None = None
    window: float = 30 * DAY

    def __post_init__(self) -> None:
        within(
            "objective",
            self.objective,
            "(0, 1)",
            f"e.g. 0.999 for 99.9% (SLO {self.name!r})",
            what="a fraction",
        )
        object.__setattr__(self, "kind", one_of("kind", self.kind, SLOKind, f"SLO {self.name!r}"))
        if self.kind is SLOKind.LATENCY and not (self.latency_threshold or 0) > 0:
            raise invalid(
                "latency_threshold",
                self.latency_threshold,
                "a positive finite number of seconds for a latency SLO",
                f"e.g. 0.3 for '99% under 300 ms' (SLO {self.name!r})",
            )
        positive("window", self.window, f"the period SLO {self.name!r} is measured over", unit="seconds")

    @classmethod
    def latency_percentile(
        cls, name: str, *, percentile: float, threshold: float, window: float = 30 * DAY
    ) -> SLO:
        """``percentile`` % of requests succeed within ``threshold`` seconds ("p99 under 300 ms")."""
        return cls(
            name=name,
            objective=percentile / 100.0,
            kind=SLOKind.LATENCY,
            latency_threshold=threshold,
            window=window,
        )

    @property
    def error_budget(self) -> float:
        """The allowed fraction of bad events, 1 - objective."""
        return 1.0 - self.objective

    def bad_events(self, *, requests: int, errors: int, latencies: object = None) -> float:
        """Bad events among ``requests``: errors, plus (latency SLO) the slow share of successes.

        ``latencies`` may be a sample of the requests; the slow fraction is scaled to the count.
        """
        if self.kind is SLOKind.ERROR_RATE or latencies is None:
            return float(errors)
        lat = np.asarray(latencies, dtype=np.float64)
        if lat.size == 0:
            return float(errors)
        slow = float(np.count_nonzero(lat > (self.latency_threshold or math.inf))) / lat.size
        return errors + slow * (requests - errors)

    def status(self, *, good: float, total: float) -> SLOStatus:
        """Compliance and remaining budget for ``good`` of ``total`` events."""
        if total < 0 or not 0 <= good <= total:
            raise InvalidConfig(f"good={good!r}, total={total!r}: need 0 <= good <= total.", field="good")
        compliance = good / total if total else 1.0
        remaining = 1.0 - (1.0 - compliance) / self.error_budget
        return SLOStatus(
            good=good,
            total=total,
            compliance=compliance,
            objective=self.objective,
            budget_remaining=remaining,
        )

    def check(self, *, good: float, total: float) -> SLOStatus:
        """:meth:`status`, raising :class:`SLOViolated` when the objective is missed."""
        st = self.status(good=good, total=total)
        if not st.met:
            raise SLOViolated(
                f"SLO {self.name!r} missed: compliance {st.compliance:.5%} < objective {self.objective:.5%}",
                observed=st.compliance,
                limit=self.objective,
            )
        return st


class ErrorBudget:
    """Sans-IO error-budget ledger for one SLO: record observations, query trailing windows."""

    __slots__ = ("_bad", "_t", "_total", "slo")

    def __init__(self, slo: SLO) -> None:
        self.slo = slo
        self._t: list[float] = []
        self._bad: list[float] = [0.0]  # cumulative sums; index i = before observation i
        self._total: list[float] = [0.0]

    def record(self, t: float, *, bad: float, total: float) -> None:
        """Add ``bad`` of ``total`` events observed at time ``t`` (non-decreasing)."""
        if self._t and t < self._t[-1]:
            raise InvalidConfig(
                f"t={t!r} is earlier than the last observation {self._t[-1]!r}; "
                "record observations in time order.",
                field="t",
                value=t,
            )
        if total < 0 or not 0 <= bad <= total:
            raise InvalidConfig(f"bad={bad!r}, total={total!r}: need 0 <= bad <= total.", field="bad")
        self._t.append(t)
        self._bad.append(self._bad[-1] + bad)
        self._total.append(self._total[-1] + total)
        self._prune(t)

    def _prune(self, now: float) -> None:
        """Forget observations older than the SLO window once they are half the ledger."""
        cut = bisect.bisect_right(self._t, now - self.slo.window)
        if cut > len(self._t) // 2:
            del self._t[:cut]
            del self._bad[:cut]
            del self._total[:cut]

    def _sums(self, now: float, window: float) -> tuple[float, float]:
        lo = bisect.bisect_right(self._t, now - window)
        hi = bisect.bisect_right(self._t, now)
        return self._bad[hi] - self._bad[lo], self._total[hi] - self._total[lo]

    def error_rate(self, now: float, window: float) -> float:
        """Bad / total over ``(now - window, now]`` (0 without events)."""
        bad, total = self._sums(now, window)
        return bad / total if total else 0.0

    def burn_rate(self, now: float, window: float) -> float:
        """How many times faster than sustainable the budget burns over the trailing window."""
        return self.error_rate(now, window) / self.slo.error_budget

    def status(self, now: float) -> SLOStatus:
        """Compliance and remaining budget over the SLO's own window ending at ``now``."""
        bad, total = self._sums(now, self.slo.window)
        return self.slo.status(good=total - bad, total=total)

    def remaining(self, now: float) -> float:
        """Share of the error budget left (1 = untouched, 0 = spent, negative = overspent)."""
        return self.status(now).budget_remaining


@dataclass(frozen=True, slots=True, kw_only=True)
class BurnRateRule:
    """Alert when both windows burn at least ``burn_rate`` times the sustainable rate."""

    long_window: float
    short_window: float
    burn_rate: float
    severity: Severity = Severity.PAGE

    def __post_init__(self) -> None:
        if not 0 < self.short_window < self.long_window:
            raise invalid(
                "short_window",
                self.short_window,
                f"in (0, long_window={self.long_window!r})",
                "the workbook uses 1/12 of the long window",
            )
        positive("burn_rate", self.burn_rate, "14.4 pages on 2% of a 30-day budget in an hour")


DEFAULT_BURN_RULES: tuple[BurnRateRule, ...] = (
    BurnRateRule(long_window=HOUR, short_window=5 * 60, burn_rate=14.4, severity=Severity.PAGE),
    BurnRateRule(long_window=6 * HOUR, short_window=30 * 60, burn_rate=6.0, severity=Severity.PAGE),
    BurnRateRule(long_window=DAY, short_window=2 * HOUR, burn_rate=3.0, severity=Severity.TICKET),
    BurnRateRule(long_window=3 * DAY, short_window=6 * HOUR, burn_rate=1.0, severity=Severity.TICKET),
)
"""The SRE workbook's recommended multi-window multi-burn-rate rules for a 30-day SLO."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BurnAlert:
    """One rule's evaluation: both burn rates and whether it fires."""

    rule: BurnRateRule
    long_burn: float
    short_burn: float
    firing: bool


class BurnRateAlerter:
    """Evaluates multi-window burn-rate rules against an :class:`ErrorBudget`."""

    __slots__ = ("budget", "rules")

    def __init__(self, budget: ErrorBudget, rules: tuple[BurnRateRule, ...] = DEFAULT_BURN_RULES) -> None:
        if not rules:
            raise InvalidConfig(
                "rules is empty; pass at least one BurnRateRule (or the defaults).", field="rules"
            )
        self.budget = budget
        self.rules = tuple(rules)

    def evaluate(self, now: float) -> tuple[BurnAlert, ...]:
        """Every rule's state at ``now``."""
        out = []
        for rule in self.rules:
            long_burn = self.budget.burn_rate(now, rule.long_window)
            short_burn = self.budget.burn_rate(now, rule.short_window)
            firing = long_burn >= rule.burn_rate and short_burn >= rule.burn_rate
            out.append(BurnAlert(rule=rule, long_burn=long_burn, short_burn=short_burn, firing=firing))
        return tuple(out)

    def firing(self, now: float) -> tuple[BurnAlert, ...]:
        """Only the rules that fire at ``now``."""
        return tuple(a for a in self.evaluate(now) if a.firing)
