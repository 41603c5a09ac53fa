"""Operating characteristics of the rollout statistics: a matrix of seeded simulations.

Each :class:`Case` is one row: a single judgement, a canary or a champion-challenger run, the
versions' behaviour, the requests per window and the target (at most ``alpha`` for a candidate at
or inside its tolerance, at least a power for a regression). :func:`calibration_matrix` runs each
case ``runs`` times, run ``r`` of case ``k`` from its own stream ``Seeds(seed).numpy(
"calibration/<k>/<r>")``, in batches that a ``map`` (``builtins.map``, a process pool's, a Dask
client's) spreads out; the rows are the same whatever the map and the batch size. Each
:class:`Row` has the observed rate with its Clopper-Pearson interval.

The canary judged here is the calibrated one: steps at 20% and 50% of traffic, three 10-second
windows of analysis each, p95 latency allowed +5% and the error rate allowed x1.25, ``alpha =
0.05`` for the whole canary; champion-challenger compares two arms over 30 windows at 95%.
"""

from __future__ import annotations

import builtins
import enum
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
from scipy.stats import binomtest

from harness.rollout.canary import Analysis, CanaryConfig, CanaryFlow, CanaryPhase, SetWeight
from harness.rollout.champion import Allocation, ChampionChallengerConfig, ChampionChallengerFlow
from harness.rollout.contract import Flow, Outcome
from harness.rollout.simulate import LatencyShape, VersionModel, synthetic_window
from harness.seeding import Seeds
from harness.slo import SLO
from harness.stats import (
    Classification,
    Counts,
    EffectSize,
    JudgeConfig,
    MetricConfig,
    SequentialConfig,
    judge_metric,
)

__all__ = [
    "ALPHA",
    "CASES",
    "SEED",
    "Batch",
    "Bound",
    "CanarySetup",
    "Case",
    "ChampionSetup",
    "Row",
    "Target",
    "calibration_matrix",
    "clopper_pearson",
    "format_matrix",
    "run_batch",
    "tail_sigma",
]

ALPHA = 0.05
"""The level every calibrated flow and judgement is configured with."""

SEED = 20261203
"""The benchmark's seed (the slow tests use others)."""


class Bound(enum.Enum):
    """Whether a rate must stay at most, or reach at least, its target."""

    AT_MOST = "<="
    AT_LEAST = ">="


@dataclass(frozen=True, slots=True)
class Target:
    """``rate <= value`` or ``rate >= value``."""

    bound: Bound
    value: float

    def met(self, events: int, runs: int) -> bool:
        """True unless the 95% Clopper-Pearson interval lies wholly on the wrong side (binomial slack)."""
        low, high = clopper_pearson(events, runs)
        return low <= self.value if self.bound is Bound.AT_MOST else high >= self.value

    def __str__(self) -> str:
        return f"{self.bound.value} {self.value:g}"


def clopper_pearson(events: int, runs: int) -> tuple[float, float]:
    """The exact 95% interval of a rate (scipy's ``binomtest(...).proportion_ci(method="exact")``)."""
    ci = binomtest(events, runs).proportion_ci(confidence_level=0.95, method="exact")
    return float(ci.low), float(ci.high)


def tail_sigma(sigma: float, p95_factor: float) -> float:
    """The log-normal sigma with the same median whose p95 is ``p95_factor`` times that of ``sigma``."""
    return sigma + math.log(p95_factor) / 1.6448536269514722


# -- runners: one simulated run each, True when the event counted happened --------------------


def _judge_run(
    rng: np.random.Generator,
    *,
    metric: MetricConfig,
    candidate: VersionModel,
    baseline: VersionModel,
    n: int,
    counts: bool,
) -> bool:
    if counts:
        x = Counts(int(rng.binomial(n, candidate.error_rate)), n)
        y = Counts(int(rng.binomial(n, baseline.error_rate)), n)
        result = judge_metric(metric, x, y, alpha=ALPHA)
    else:
        result = judge_metric(
            metric, candidate.latencies(rng, n), baseline.latencies(rng, n), alpha=ALPHA, shift=False
        )
    return result.classification in (Classification.HIGH, Classification.LOW)


@dataclass(frozen=True, slots=True, kw_only=True)
class CanarySetup:
    """A calibrated canary: candidate weights of the steps, the monitor's share of alpha, an SLO."""

    weights: tuple[float, ...] = (20.0, 50.0)
    windows: int = 3
    sequential: float | None = None
    slo: float | None = None

    def flow(self) -> CanaryFlow:
        """A fresh canary with these settings."""
        steps: list[SetWeight | Analysis] = []
        for w in self.weights:
            steps += [SetWeight(w), Analysis(windows=self.windows)]
        judge = JudgeConfig(
            metrics=(
                MetricConfig(name="latency", effect=EffectSize.P95_RATIO, allowed_increase=1.05),
                MetricConfig(name="error_rate", allowed_increase=1.25, min_samples=100),
            ),
            shift_estimate=False,
        )
        return CanaryFlow(
            CanaryConfig(
                baseline="v1",
                candidate="v2",
                steps=tuple(steps),
                judge=judge,
                alpha=ALPHA,
                sequential=None if self.sequential is None else SequentialConfig(alpha=self.sequential),
                slos=() if self.slo is None else (SLO(name="availability", objective=self.slo),),
            )
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ChampionSetup:
    """A champion-challenger run: metric, allocation, windows and a shared trend over them."""

    metric: str = "latency"
    allocation: Allocation = Allocation.FIXED
    windows: int = 30
    trend: float = 0.0  # both arms' latency and error rate grow by this factor over the run

    def flow(self, seed: int) -> ChampionChallengerFlow:
        """A fresh champion-challenger flow; ``seed`` drives its Thompson draws."""
        return ChampionChallengerFlow(
            ChampionChallengerConfig(
                champion="v1",
                challengers=("v2",),
                metric=self.metric,
                confidence=1.0 - ALPHA,
                allocation=self.allocation,
                windows=self.windows,
                min_samples=100,
                seed=seed,
                draws=1000,
            )
        )

    def models(self, models: Mapping[str, VersionModel], window: int) -> dict[str, VersionModel]:
        """Both arms at ``window``: the shared trend scales latency and error rate alike."""
        grow = 1.0 + self.trend * window / max(self.windows - 1, 1)
        return {
            name: replace(m, latency_factor=m.latency_factor * grow, error_rate=min(1.0, m.error_rate * grow))
            for name, m in models.items()
        }


def _reads_latencies(flow: Flow) -> bool:
    """False while a canary is at a step that ignores its window (set weight, pause): no latencies drawn."""
    if not isinstance(flow, CanaryFlow) or flow.phase is not CanaryPhase.PROGRESSING:
        return True
    return isinstance(flow.config.steps[flow.step_index], Analysis)


def _drive(
    flow: Flow, rng: np.random.Generator, requests: int, models: Callable[[int], Mapping[str, VersionModel]]
) -> Flow:
    t = 0.0
    for index in range(1000):
        if flow.outcome is not Outcome.RUNNING:
            break
        w = synthetic_window(
            rng,
            start=t,
            end=t + 10.0,
            requests=requests,
            weights=flow.weights,
            models=models(index),
            latency_sample=None if _reads_latencies(flow) else 0,
        )
        flow.observe(w)
        t += 10.0
    return flow


def _canary_run(
    rng: np.random.Generator, *, setup: CanarySetup, candidate: VersionModel, baseline: VersionModel, n: int
) -> bool:
    models = {"v1": baseline, "v2": candidate}
    flow = _drive(setup.flow(), rng, n, lambda _: models)
    return flow.outcome is Outcome.ROLLED_BACK


def _champion_run(
    rng: np.random.Generator, *, setup: ChampionSetup, candidate: VersionModel, baseline: VersionModel, n: int
) -> bool:
    models = {"v1": baseline, "v2": candidate}
    flow = _drive(setup.flow(int(rng.integers(2**62))), rng, n, partial(setup.models, models))
    return flow.outcome is Outcome.PROMOTED


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """One row of the matrix: what is simulated, what counts as the event, and the target."""

    section: str
    name: str
    requests: int
    event: str
    target: Target | None
    run: Callable[[np.random.Generator], bool] = field(repr=False, compare=False)

    @property
    def key(self) -> str:
        """The stable name of the case's seed streams."""
        return f"{self.section}/{self.name}/{self.requests}".replace(" ", "-")


# -- the matrix --------------------------------------------------------------------------------

BASE = VersionModel()
P95 = MetricConfig(name="latency", effect=EffectSize.P95_RATIO, allowed_increase=1.05, min_samples=1)
ERRORS = MetricConfig(name="error_rate", allowed_increase=1.25, min_samples=1)
AT_MOST_ALPHA = Target(Bound.AT_MOST, ALPHA)


def _judge(
    name: str, n: int, candidate: VersionModel, target: Target | None, *, counts: bool = False
) -> Case:
    run = partial(
        _judge_run, metric=ERRORS if counts else P95, candidate=candidate, baseline=BASE, n=n, counts=counts
    )
    return Case(section="judge", name=name, requests=n, event="flagged", target=target, run=run)


def _canary(
    name: str,
    n: int,
    candidate: VersionModel,
    target: Target | None,
    *,
    setup: CanarySetup = CanarySetup(),
    baseline: VersionModel = BASE,
    section: str = "canary",
) -> Case:
    run = partial(_canary_run, setup=setup, candidate=candidate, baseline=baseline, n=n)
    return Case(section=section, name=name, requests=n, event="rolled back", target=target, run=run)


def _champion(name: str, setup: ChampionSetup, candidate: VersionModel, target: Target | None) -> Case:
    run = partial(_champion_run, setup=setup, candidate=candidate, baseline=BASE, n=3000)
    return Case(section="champion", name=name, requests=3000, event="winner", target=target, run=run)


def _cases() -> tuple[Case, ...]:
    power95, power90 = Target(Bound.AT_LEAST, 0.95), Target(Bound.AT_LEAST, 0.90)
    tail = {f: VersionModel(latency_sigma=tail_sigma(0.5, f)) for f in (1.1, 1.2, 1.3)}
    slow = {f: VersionModel(latency_factor=f) for f in (1.03, 1.05, 1.1, 1.2)}
    pareto = VersionModel(latency_shape=LatencyShape.PARETO, latency_sigma=0.4)
    bimodal = VersionModel(latency_shape=LatencyShape.BIMODAL)
    whole_ms = VersionModel(latency_resolution=0.001)
    monitor = CanarySetup(sequential=0.01)
    cases = [
        _judge("A/A p95, 2,000 vs 2,000", 2000, BASE, AT_MOST_ALPHA),
        _judge("tail-only p95 +20%, 2,000 vs 2,000", 2000, tail[1.2], power90),
        _judge("3% slower, 5% allowed, 10,000 vs 10,000", 10_000, slow[1.03], AT_MOST_ALPHA),
        _judge(
            "error ratio 1.2, 1.25 allowed, 50,000 each",
            50_000,
            VersionModel(error_rate=0.012),
            AT_MOST_ALPHA,
            counts=True,
        ),
    ]
    cases += [_canary("A/A", n, BASE, AT_MOST_ALPHA) for n in (200, 2000, 10_000)]
    cases += [
        _canary("uniform +5% (at the allowance)", 10_000, slow[1.05], AT_MOST_ALPHA),
        _canary("uniform +10%", 2000, slow[1.1], None),
        _canary("uniform +10%", 10_000, slow[1.1], power95),
        _canary("uniform +20%", 2000, slow[1.2], None),
        _canary("uniform +20%", 10_000, slow[1.2], power95),
        _canary("tail-only p95 +10%", 10_000, tail[1.1], None),
        _canary("tail-only p95 +20%", 10_000, tail[1.2], power95),
        _canary("tail-only p95 +30%", 10_000, tail[1.3], power95),
        _canary("3% slower, 5% allowed", 10_000, slow[1.03], AT_MOST_ALPHA),
        _canary("error ratio 1.2, 1.25 allowed", 10_000, VersionModel(error_rate=0.012), AT_MOST_ALPHA),
        _canary("error 1% -> 2%", 10_000, VersionModel(error_rate=0.02), power95),
        _canary("A/A Pareto (tail index 2.5)", 2000, pareto, AT_MOST_ALPHA, baseline=pareto),
        _canary("A/A bimodal (20% at 4x)", 2000, bimodal, AT_MOST_ALPHA, baseline=bimodal),
        _canary("A/A whole milliseconds (ties)", 2000, whole_ms, AT_MOST_ALPHA, baseline=whole_ms),
        _canary("A/A arms 5/95", 10_000, BASE, AT_MOST_ALPHA, setup=CanarySetup(weights=(5.0,))),
        _canary("A/A arms 10/90", 2000, BASE, AT_MOST_ALPHA, setup=CanarySetup(weights=(10.0,))),
        _canary(
            "A/A errors 0.1%, arms 5/95",
            10_000,
            VersionModel(error_rate=0.001),
            AT_MOST_ALPHA,
            baseline=VersionModel(error_rate=0.001),
            setup=CanarySetup(weights=(5.0,)),
        ),
        _canary("A/A errors 1%, arms 10/90", 2000, BASE, AT_MOST_ALPHA, setup=CanarySetup(weights=(10.0,))),
        _canary("A/A SLO 99% met exactly", 10_000, BASE, AT_MOST_ALPHA, setup=CanarySetup(slo=0.99)),
    ]
    seq = "canary+monitor"
    cases += [
        _canary("A/A", 2000, BASE, AT_MOST_ALPHA, setup=monitor, section=seq),
        _canary("A/A", 10_000, BASE, AT_MOST_ALPHA, setup=monitor, section=seq),
        _canary(
            "A/A steps 10/25/50",
            10_000,
            BASE,
            AT_MOST_ALPHA,
            setup=CanarySetup(weights=(10.0, 25.0, 50.0), sequential=0.01),
            section=seq,
        ),
        _canary(
            "A/A steps 10/50/90",
            10_000,
            BASE,
            AT_MOST_ALPHA,
            setup=CanarySetup(weights=(10.0, 50.0, 90.0), sequential=0.01),
            section=seq,
        ),
        _canary("3% slower, 5% allowed", 10_000, slow[1.03], AT_MOST_ALPHA, setup=monitor, section=seq),
        _canary("uniform +10%", 10_000, slow[1.1], power95, setup=monitor, section=seq),
        _canary("tail-only p95 +20%", 10_000, tail[1.2], power95, setup=monitor, section=seq),
        _canary("error 1% -> 2%", 10_000, VersionModel(error_rate=0.02), power95, setup=monitor, section=seq),
    ]
    for metric in ("latency", "error_rate"):
        for allocation in Allocation:
            for trend in (0.0, 1.0):
                setup = ChampionSetup(metric=metric, allocation=allocation, trend=trend)
                what = f"A/A {metric}, {allocation.value}, {'trending' if trend else 'stationary'}"
                cases.append(_champion(what, setup, BASE, AT_MOST_ALPHA))
    better = VersionModel(latency_factor=0.97)
    cases += [
        _champion("latency 3% lower, fixed, trending", ChampionSetup(trend=1.0), better, None),
        _champion(
            "latency 3% lower, thompson, trending",
            ChampionSetup(allocation=Allocation.THOMPSON, trend=1.0),
            better,
            None,
        ),
    ]
    return tuple(cases)


CASES = _cases()
"""The published matrix, in print order."""


# -- running ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Batch:
    """Runs ``first`` to ``first + count - 1`` of one case."""

    case: Case
    seed: int
    first: int
    count: int


def run_batch(batch: Batch) -> tuple[int, float]:
    """Run one batch: how many runs had the event, and the CPU seconds it took."""
    start = time.process_time()
    seeds = Seeds(batch.seed)
    events = sum(
        batch.case.run(seeds.numpy(f"calibration/{batch.case.key}/{r}"))
        for r in range(batch.first, batch.first + batch.count)
    )
    return int(events), time.process_time() - start


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One case's result: events of runs, its interval, the target and whether it is met."""

    case: Case
    events: int
    runs: int
    seconds: float

    @property
    def rate(self) -> float:
        """``events / runs``."""
        return self.events / self.runs

    @property
    def interval(self) -> tuple[float, float]:
        """The 95% Clopper-Pearson interval of the rate."""
        return clopper_pearson(self.events, self.runs)

    @property
    def met(self) -> bool | None:
        """Whether the target is met (binomial slack aside); None without a target."""
        target = self.case.target
        return None if target is None else target.met(self.events, self.runs)


def _batches(cases: Sequence[Case], runs: int, batch: int, seed: int) -> Iterator[Batch]:
    for case in cases:
        for first in range(0, runs, batch):
            yield Batch(case, seed, first, min(batch, runs - first))


def calibration_matrix(
    cases: Sequence[Case] = CASES,
    *,
    runs: int = 1000,
    seed: int = SEED,
    batch: int = 100,
    map: Callable[..., Iterable[Any]] = builtins.map,
) -> list[Row]:
    """Run every case ``runs`` times; ``map(run_batch, batches)`` does the work (in any order)."""
    jobs = list(_batches(cases, runs, batch, seed))
    tally: dict[str, list[float]] = {c.key: [0, 0, 0.0] for c in cases}
    for job, (events, seconds) in zip(jobs, map(run_batch, jobs), strict=True):
        t = tally[job.case.key]
        t[0] += events
        t[1] += job.count
        t[2] += seconds
    return [
        Row(case=c, events=int(tally[c.key][0]), runs=int(tally[c.key][1]), seconds=tally[c.key][2])
        for c in cases
    ]


_COLUMNS = (
    ("section", 15, "<"),
    ("case", 44, "<"),
    ("req/window", 10, ">"),
    ("event", 11, ">"),
    ("runs", 5, ">"),
    ("rate", 6, ">"),
    ("95% CI (Clopper-Pearson)", 24, "<"),
    ("target", 8, "<"),
    ("met", 3, "<"),
    ("cpu s", 6, ">"),
)


def _cells(r: Row) -> tuple[str, ...]:
    low, high = r.interval
    return (
        r.case.section,
        r.case.name,
        f"{r.case.requests:,d}",
        r.case.event,
        str(r.runs),
        f"{r.rate:.3f}",
        f"[{low:.3f}, {high:.3f}]",
        "" if r.case.target is None else str(r.case.target),
        {True: "yes", False: "NO", None: ""}[r.met],
        f"{r.seconds:.1f}",
    )


def format_matrix(rows: Sequence[Row]) -> str:
    """The matrix as a fixed-width table: rate, 95% Clopper-Pearson interval, target, met, CPU seconds."""

    def line(cells: Sequence[str]) -> str:
        return " ".join(f"{c:{align}{width}}" for c, (_, width, align) in zip(cells, _COLUMNS, strict=True))

    head = line([title for title, _, _ in _COLUMNS])
    return "\n".join([head, "-" * len(head), *(line(_cells(r)) for r in rows)])
