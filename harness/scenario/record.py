"""What a scenario run records, in the same shape in both engines, and the result built from it.

The journal (fault windows, every window's per-version aggregates, the flow's decisions, the
expectations), what users saw per window, and the decisions themselves. Both the simulated and
the live engine fill one :class:`RunRecord` and finish it into a
:class:`~harness.scenario.result.RunResult`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from harness._version import __version__
from harness.journal import Journal
from harness.mode import Mode
from harness.rollout.contract import Decision
from harness.scenario.dependency import DependencyStats
from harness.scenario.expectations import UserWindow, check_expectations, journal_expectations
from harness.scenario.faults import fault_timeline
from harness.scenario.flows import FlowOutcome
from harness.scenario.model import Scenario
from harness.scenario.result import RunResult, VersionPoint
from harness.scenario.services import Outcomes

__all__ = ["LATENCY_SAMPLE", "USER_SAMPLE_BUDGET", "RunRecord", "thin", "user_sample_size"]

FloatArray = npt.NDArray[np.float64]

LATENCY_SAMPLE = 20_000
"""At most this many latencies per version and window are kept for judges and probes."""
USER_SAMPLE_BUDGET = 4_000_000
"""At most about this many latencies of what users saw are kept over a whole run (32 MB).

Each window keeps :func:`user_sample_size` of them, so a run of 100,000 windows keeps 100 per
window instead of 20,000 (16 GB); steady-state probes weight each window's sample by the requests
it stands for (:mod:`harness.scenario.expectations`). Runs of up to 200 windows keep 20,000.
"""
_MIN_USER_SAMPLE = 100


def thin(latencies: FloatArray, limit: int = LATENCY_SAMPLE) -> FloatArray:
    """At most ``limit`` latencies, evenly spaced through ``latencies``."""
    if latencies.size <= limit:
        return latencies
    return latencies[:: -(-latencies.size // limit)]


def user_sample_size(windows: int) -> int:
    """Latencies kept per window of what users saw, in a run of ``windows`` windows."""
    share = USER_SAMPLE_BUDGET // max(1, windows)
    return max(_MIN_USER_SAMPLE, min(LATENCY_SAMPLE, share))


def _percentiles(latencies: FloatArray) -> tuple[float | None, float | None, float | None]:
    if latencies.size == 0:
        return None, None, None
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    return float(p50), float(p95), float(p99)


class RunRecord:
    """The journal, per-version points, user windows and decisions of one run."""

    def __init__(self, scenario: Scenario, seed: int, mode: Mode) -> None:
        self.scenario = scenario
        self.seed = seed
        self.mode = mode
        self.journal = Journal(meta={"scenario": scenario.name, "seed": seed, "mode": mode.value})
        self.points: dict[str, list[VersionPoint]] = {name: [] for name in scenario.groups}
        self.user_windows: list[UserWindow] = []
        self.group_windows: dict[str, list[UserWindow]] = {}
        self.decisions: list[Decision] = []
        windows = math.ceil(scenario.duration / scenario.window - 1e-9)
        self.user_sample = user_sample_size(windows)

    def begin(self) -> None:
        """Journal the fault windows and the start of the run."""
        sc = self.scenario
        for event in fault_timeline(sc.faults, sc.duration):
            self.journal.append(event)
        self.journal.record(
            0.0,
            "run.start",
            "engine",
            scenario=sc.name,
            seed=self.seed,
            mode=self.mode.value,
            version=__version__,
        )

    def versions(
        self, start: float, end: float, served: Mapping[str, Outcomes], weights: Mapping[str, float]
    ) -> None:
        """Each version's aggregates for ``[start, end)``, kept as points and journaled."""
        for name, out in served.items():
            p50, p95, p99 = _percentiles(out.latencies)
            point = VersionPoint(
                t_start=start,
                t_end=end,
                weight=float(weights.get(name, 0.0)),
                requests=out.requests,
                errors=out.failures,
                p50=p50,
                p95=p95,
                p99=p99,
            )
            self.points.setdefault(name, []).append(point)
            self.journal.record(start, "window", f"version/{name}", **point.to_dict())
            window = UserWindow(start, end, out.requests, point.errors, thin(out.latencies))
            self.group_windows.setdefault(name, []).append(window)

    def users(self, start: float, end: float, user: Sequence[Outcomes]) -> None:
        """What users saw in ``[start, end)``: every request any version served them."""
        latencies = np.concatenate([o.latencies for o in user]) if user else np.empty(0)
        requests = sum(o.requests for o in user)
        errors = sum(o.failures for o in user)
        self.user_windows.append(UserWindow(start, end, requests, errors, thin(latencies, self.user_sample)))

    def decision(self, t: float, source: str, decision: Decision) -> None:
        """Keep and journal one decision of the flow."""
        self.decisions.append(decision)
        self.journal.record(t, "decision", source, **decision.to_dict())

    def finish(
        self,
        outcome: FlowOutcome,
        *,
        dependency: DependencyStats | None = None,
        sequence_digest: str | None = None,
        routes: Sequence[str] = (),
        **run_end: Any,
    ) -> RunResult:
        """Check the expectations, journal them and the end of the run; the run's result."""
        sc = self.scenario
        expectations = check_expectations(sc, self.user_windows, outcome, dependency, self.group_windows)
        if sequence_digest is not None:
            run_end["sequence_digest"] = sequence_digest
        journal_expectations(self.journal, sc.duration, expectations, **run_end)
        return RunResult(
            scenario=sc,
            seed=self.seed,
            mode=self.mode,
            journal=self.journal,
            expectations=expectations,
            outcome=outcome,
            points=self.points,
            user_windows=self.user_windows,
            decisions=self.decisions,
            dependency=dependency,
            sequence_digest=sequence_digest,
            routes=tuple(routes),
        )
