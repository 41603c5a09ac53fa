"""Shadow comparison with Diffy-style noise cancellation, decided by a test on counts.

Every mirrored request yields three responses: the primary, a *secondary* (a second instance of the
primary) and the candidate. Per field, the flow counts how often primary and candidate differ and
how often primary and secondary differ (noise: timestamps, ids, nondeterminism). Both counts come
from the same exchanges, so the test is paired: only the exchanges where the candidate differs and
the secondary does not, or the reverse, carry evidence. A field is a regression when the
candidate's difference rate exceeds the noise rate by more than ``min_difference`` significantly:
Tango's one-sided score test of ``H0: rate(candidate) - rate(noise) <= min_difference``
(:func:`harness.stats.paired_difference_test`; Tango 1998), Bonferroni over the fields, rather than
Diffy's fixed relative/absolute thresholds. Numeric values equal within the tolerances count as
equal; fields matching an ignore pattern are skipped.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from harness._checks import integer, within
from harness.errors import InvalidConfig
from harness.rollout.contract import Action, Decision, Exchange, Outcome, Reason, Window
from harness.stats.proportions import paired_difference_test
from harness.stats.verdict import Verdict

__all__ = ["FieldReport", "ShadowConfig", "ShadowFlow", "flatten"]

_MISSING = object()


def flatten(payload: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(path, leaf) pairs of a JSON-like payload: ``a.b``, ``items[].price`` (list indices folded)."""
    if isinstance(payload, Mapping):
        if not payload:
            yield prefix or "$", {}
        for key, value in payload.items():
            yield from flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(payload, list | tuple):
        yield f"{prefix or '$'}.length", len(payload)
        for i, value in enumerate(payload):
            yield from flatten(value, f"{prefix}[{i}]")
    else:
        yield prefix or "$", payload


def _fold(path: str) -> str:
    out, depth = [], 0
    for ch in path:
        if ch == "[":
            depth += 1
            out.append("[]")
        elif ch == "]":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class ShadowConfig:
    """Versions compared, tolerances, ignore rules and the decision rule."""

    primary: str
    candidate: str
    secondary: str = ""
    ignore: tuple[str, ...] = ()
    relative_tolerance: float = 0.0
    absolute_tolerance: float = 0.0
    alpha: float = 0.05
    min_difference: float = 0.01
    min_exchanges: int = 100
    windows: int = 6

    def __post_init__(self) -> None:
        object.__setattr__(self, "ignore", tuple(self.ignore))
        if not self.primary or not self.candidate or self.primary == self.candidate:
            raise InvalidConfig(
                f"primary={self.primary!r} and candidate={self.candidate!r} must be two "
                "different version names.",
                field="candidate",
                value=self.candidate,
            )
        within("relative_tolerance", self.relative_tolerance, "[0, inf]", "0 = exact match")
        within("absolute_tolerance", self.absolute_tolerance, "[0, inf]", "0 = exact match")
        within("alpha", self.alpha, "(0, 0.5)", "the false-alarm rate per field")
        fix = "the smallest excess difference rate that counts"
        within("min_difference", self.min_difference, "[0, 1)", fix, what="a fraction")
        integer("min_exchanges", self.min_exchanges, "exchanges before a field is judged", at_least=1)
        integer("windows", self.windows, "windows the shadow runs", at_least=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldReport:
    """One field's counts and verdict."""

    field: str
    exchanges: int
    candidate_diffs: int
    noise_diffs: int
    candidate_only: int = 0  # exchanges where the candidate differs and the secondary does not
    noise_only: int = 0  # exchanges where the secondary differs and the candidate does not
    p_value: float
    regression: bool

    @property
    def candidate_rate(self) -> float:
        """Share of exchanges where the candidate differed from the primary."""
        return self.candidate_diffs / self.exchanges if self.exchanges else 0.0

    @property
    def noise_rate(self) -> float:
        """Share of exchanges where the secondary differed from the primary."""
        return self.noise_diffs / self.exchanges if self.exchanges else 0.0


class ShadowFlow:
    """Accumulates exchanges window by window; passes or rejects the candidate at the end."""

    def __init__(self, config: ShadowConfig) -> None:
        self.config = config
        self._n: dict[str, int] = {}
        self._cand: dict[str, int] = {}
        self._noise: dict[str, int] = {}
        self._cand_only: dict[str, int] = {}
        self._noise_only: dict[str, int] = {}
        self.exchanges = 0
        self._windows = 0
        self._outcome = Outcome.RUNNING
        self._final: Decision | None = None

    @property
    def weights(self) -> Mapping[str, float]:
        """The primary serves everything; the candidate only sees mirrored traffic."""
        return {self.config.primary: 100.0, self.config.candidate: 0.0}

    @property
    def outcome(self) -> Outcome:
        """RUNNING, PASSED or REJECTED."""
        return self._outcome

    @property
    def terminal(self) -> bool:
        """True once decided."""
        return self._final is not None

    def _ignored(self, path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, pat) for pat in self.config.ignore)

    def _equal(self, a: Any, b: Any) -> bool:
        if (
            isinstance(a, bool)
            or isinstance(b, bool)
            or not isinstance(a, int | float)
            or not isinstance(b, int | float)
        ):
            return bool(a == b) and type(a) is type(b)
        if math.isnan(a) and math.isnan(b):
            return True
        c = self.config
        return math.isclose(a, b, rel_tol=c.relative_tolerance, abs_tol=c.absolute_tolerance)

    def add(self, exchange: Exchange) -> None:
        """Count one exchange's differences per field (each field at most once per exchange)."""
        self.exchanges += 1
        p, s, c = (dict(flatten(x)) for x in (exchange.primary, exchange.secondary, exchange.candidate))
        seen: set[str] = set()
        cand: set[str] = set()
        noise: set[str] = set()
        for path in p.keys() | s.keys() | c.keys():
            name = _fold(path)
            if self._ignored(name):
                continue
            seen.add(name)
            pv = p.get(path, _MISSING)
            if not self._equal(pv, c.get(path, _MISSING)):
                cand.add(name)
            if not self._equal(pv, s.get(path, _MISSING)):
                noise.add(name)
        for counter, names in (
            (self._n, seen),
            (self._cand, cand),
            (self._noise, noise),
            (self._cand_only, cand - noise),
            (self._noise_only, noise - cand),
        ):
            for name in names:
                counter[name] = counter.get(name, 0) + 1

    def report(self) -> tuple[FieldReport, ...]:
        """Per-field counts and verdicts, regressions first then by field name."""
        fields = sorted(self._n)
        level = self.config.alpha / max(len(fields), 1)
        out = []
        for f in fields:
            n, only_c, only_n = self._n[f], self._cand_only.get(f, 0), self._noise_only.get(f, 0)
            p = paired_difference_test(only_c, only_n, n, margin=self.config.min_difference)
            out.append(
                FieldReport(
                    field=f,
                    exchanges=n,
                    candidate_diffs=self._cand.get(f, 0),
                    noise_diffs=self._noise.get(f, 0),
                    candidate_only=only_c,
                    noise_only=only_n,
                    p_value=p,
                    regression=p < level,
                )
            )
        return tuple(sorted(out, key=lambda r: (not r.regression, r.field)))

    def observe(self, window: Window) -> Decision:
        """Count the window's exchanges; decide after ``windows`` windows."""
        if self._final is not None:
            return self._final
        for exchange in window.exchanges:
            self.add(exchange)
        self._windows += 1
        report = self.report()
        reasons = [self._reason(r) for r in report if r.regression or r.candidate_diffs > r.noise_diffs]
        if self._windows < self.config.windows or self.exchanges < self.config.min_exchanges:
            if self._windows >= self.config.windows:
                reasons.append(
                    Reason(
                        metric="shadow",
                        statistic="exchanges",
                        value=float(self.exchanges),
                        threshold=float(self.config.min_exchanges),
                        verdict=Verdict.INCONCLUSIVE,
                        message="waiting for enough exchanges",
                    )
                )
            return Decision(
                action=Action.CONTINUE, weights=self.weights, reasons=tuple(reasons), t=window.end
            )
        failed = any(r.regression for r in report)
        self._outcome = Outcome.REJECTED if failed else Outcome.PASSED
        action = Action.ABORT if failed else Action.COMPLETE
        self._final = Decision(
            action=action, weights=self.weights, reasons=tuple(reasons), terminal=True, t=window.end
        )
        return self._final

    def _reason(self, r: FieldReport) -> Reason:
        level = self.config.alpha / max(len(self._n), 1)
        return Reason(
            metric=r.field,
            statistic="p_value",
            value=r.p_value,
            threshold=level,
            verdict=Verdict.FAIL if r.regression else Verdict.PASS,
            message=f"candidate differs in {r.candidate_diffs}/{r.exchanges}, "
            f"noise {r.noise_diffs}/{r.exchanges}; paired: candidate alone {r.candidate_only}, "
            f"noise alone {r.noise_only}; p = {r.p_value:.3g} that the excess is at most "
            f"{self.config.min_difference:g} (Tango's score test), level {level:.3g}",
        )
