"""The simulated engine: a scenario on a virtual clock, seeded, vectorised, bit-for-bit reproducible.

Per window of virtual time the engine draws arrivals from the traffic profile, routes them by the
flow's weights, lets each version serve its share (faults applied), hands the flow a
:class:`~harness.rollout.Window` and applies its decision. Every step is journaled; the digest of
the journal is the run's fingerprint: same scenario, seed and package version, same digest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt

from harness._version import __version__
from harness.journal import Journal
from harness.rollout.contract import Decision, VersionWindow, Window
from harness.scenario.dependency import DependencySim
from harness.scenario.expectations import UserWindow, check_expectations, journal_expectations
from harness.scenario.faults import FaultEffects, fault_timeline
from harness.scenario.flows import FlowDriver, build_driver
from harness.scenario.model import FaultSpec, Scenario
from harness.scenario.requests import RequestMaker
from harness.scenario.result import RunResult, VersionPoint
from harness.scenario.services import CallableService, ModelService, Outcomes, Service
from harness.seeding import Seeds

__all__ = ["SimulatedEngine"]

FloatArray = npt.NDArray[np.float64]

LATENCY_SAMPLE = 20_000
"""At most this many latencies per version and window are kept for judges and probes."""

Progress = Callable[[float, float], None]


def _percentiles(latencies: FloatArray) -> tuple[float | None, float | None, float | None]:
    if latencies.size == 0:
        return None, None, None
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    return float(p50), float(p95), float(p99)


def record_points(
    journal: Journal,
    points: dict[str, list[VersionPoint]],
    window: tuple[float, float],
    served: Mapping[str, Outcomes],
    weights: Mapping[str, float],
) -> None:
    """Append each version's aggregates for ``[start, end)`` to ``points`` and journal them."""
    start, end = window
    for name, out in served.items():
        p50, p95, p99 = _percentiles(out.latencies)
        point = VersionPoint(
            t_start=start,
            t_end=end,
            weight=float(weights.get(name, 0.0)),
            requests=out.requests,
            errors=int(out.errors.sum()),
            p50=p50,
            p95=p95,
            p99=p99,
        )
        points[name].append(point)
        journal.record(start, "window", f"version/{name}", **point.to_dict())


class SimulatedEngine:
    """Runs one scenario with one seed on virtual time."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.seed = seed
        self.seeds = Seeds(seed).child(f"scenario/{scenario.name}")
        self.journal = Journal(meta={"scenario": scenario.name, "seed": seed, "mode": "simulated"})
        self.driver: FlowDriver = build_driver(scenario, self.seeds.child("flow"))
        self.services = self._build_services()
        self.effects = self._build_effects()
        self.dependency = self._build_dependency()
        self.requests = RequestMaker(scenario.traffic.mix, self.seeds.child("requests"))
        self._rng_traffic = self.seeds.numpy("traffic")
        self._rng_router = self.seeds.numpy("router")
        self._rng_versions = {name: self.seeds.numpy(f"version/{name}") for name in scenario.versions}
        self.user_windows: list[UserWindow] = []
        self.points: dict[str, list[VersionPoint]] = {name: [] for name in scenario.versions}
        self.decisions: list[Decision] = []

    def _build_services(self) -> dict[str, Service]:
        services: dict[str, Service] = {}
        for name, spec in self.scenario.versions.items():
            if spec.model is not None:
                services[name] = ModelService(name, spec.model)
            elif spec.callable is not None:
                rng = self.seeds.stream(f"callable/{name}")
                services[name] = CallableService(name, spec.callable, rng)
            else:
                from harness.errors import InvalidConfig

                raise InvalidConfig(
                    f"version {name!r} is an HTTP service; run this scenario with --mode live "
                    "(simulated mode needs model or callable versions)."
                )
        return services

    def _protected(self) -> str | None:
        return self.scenario.resilience.dependency if self.scenario.resilience is not None else None

    def _build_effects(self) -> dict[str, FaultEffects]:
        effects: dict[str, FaultEffects] = {}
        protected = self._protected()
        for name, spec in self.scenario.versions.items():
            deps = set(spec.model.dependencies) if spec.model is not None else set()
            deps.discard(protected or "")
            mine = tuple(f for f in self.scenario.faults if f.target == name or f.target in deps)
            effects[name] = FaultEffects(mine)
        return effects

    def _build_dependency(self) -> DependencySim | None:
        spec = self.scenario.resilience
        if spec is None:
            return None
        faults: tuple[FaultSpec, ...] = tuple(f for f in self.scenario.faults if f.target == spec.dependency)
        rng = self.seeds.stream(f"dependency/{spec.dependency}")
        return DependencySim(spec, FaultEffects(faults), rng, self.journal)

    # -- the run ----------------------------------------------------------------------------------

    def run(self, progress: Progress | None = None) -> RunResult:
        """Run the whole scenario and check its expectations."""
        sc = self.scenario
        for event in fault_timeline(sc.faults, sc.duration):
            self.journal.append(event)
        self.journal.record(0.0, "run.start", "engine", scenario=sc.name, seed=self.seed, version=__version__)
        start = 0.0
        while start < sc.duration - 1e-9:
            end = min(start + sc.window, sc.duration)
            self._window(start, end)
            if progress is not None:
                progress(end, sc.duration)
            start = end
        outcome = self.driver.outcome()
        dep_stats = self.dependency.stats if self.dependency is not None else None
        expectations = check_expectations(sc, self.user_windows, outcome, dep_stats)
        journal_expectations(self.journal, sc.duration, expectations)
        return RunResult(
            scenario=sc,
            seed=self.seed,
            mode="simulated",
            journal=self.journal,
            expectations=expectations,
            outcome=outcome,
            points=self.points,
            user_windows=self.user_windows,
            decisions=self.decisions,
            dependency=dep_stats,
        )

    def _arrivals(self, start: float, end: float) -> FloatArray:
        rate = self.scenario.traffic.rate_at((start + end) / 2, self.scenario.duration)
        n = int(self._rng_traffic.poisson(rate * (end - start)))
        return np.sort(self._rng_traffic.uniform(start, end, n))

    def _route(self, arrivals: FloatArray, weights: Mapping[str, float]) -> dict[str, FloatArray]:
        names = [n for n in sorted(weights) if weights[n] > 0]
        if len(names) == 1:
            return {names[0]: arrivals}
        shares = np.array([weights[n] for n in names], dtype=float)
        cumulative = np.cumsum(shares / shares.sum())
        picks = np.searchsorted(cumulative, self._rng_router.random(arrivals.size), side="right")
        picks = np.minimum(picks, len(names) - 1)
        return {name: arrivals[picks == i] for i, name in enumerate(names)}

    def _serve(self, name: str, arrivals: FloatArray, window_length: float) -> Outcomes:
        rate = arrivals.size / window_length if window_length > 0 else 0.0
        return self.services[name].serve(
            arrivals, self.effects[name], self._rng_versions[name], window_rate=rate, requests=self.requests
        )

    def _uses_dependency(self, name: str) -> bool:
        model = self.scenario.versions[name].model
        return (
            self.dependency is not None
            and model is not None
            and self.dependency.spec.dependency in model.dependencies
        )

    def _through_dependency(self, batches: list[tuple[FloatArray, Outcomes]], window_length: float) -> None:
        """Every call to the shared dependency in this window, across versions, in arrival order.

        The breaker and the retry budget are shared, so the order of calls matters: processing one
        version's window before another's would let the first version's calls move the breaker and
        judge the second unfairly.
        """
        if self.dependency is None or not batches:
            return
        times = np.concatenate([arrivals for arrivals, _ in batches])
        if times.size == 0:
            return
        order = np.argsort(times, kind="stable")
        added_sorted, failed_sorted = self.dependency.serve(times[order], window_length)
        added = np.empty_like(added_sorted)
        failed = np.empty_like(failed_sorted)
        added[order] = added_sorted
        failed[order] = failed_sorted
        offset = 0
        for arrivals, outcomes in batches:
            end = offset + arrivals.size
            outcomes.latencies = outcomes.latencies + added[offset:end]
            outcomes.errors = outcomes.errors | failed[offset:end]
            offset = end

    def _window(self, start: float, end: float) -> None:
        length = end - start
        arrivals = self._arrivals(start, end)
        weights = dict(self.driver.weights())
        routed = self._route(arrivals, weights)
        served: dict[str, Outcomes] = {name: self._serve(name, arr, length) for name, arr in routed.items()}
        user = list(served.values())
        calls = [(arr, served[name]) for name, arr in routed.items() if self._uses_dependency(name)]
        mirror = self.driver.mirror()
        if mirror is not None:
            target, fraction = mirror
            mirrored = arrivals[self._rng_router.random(arrivals.size) < fraction]
            served[target] = self._serve(target, mirrored, length)
            if self._uses_dependency(target):
                calls.append((mirrored, served[target]))
        self._through_dependency(calls, length)
        if self.dependency is not None:
            self.dependency.settle(end)
        self.driver.record_traffic(served)
        self._record_user(start, end, user)
        window = self._make_window(start, end, served, weights)
        record_points(self.journal, self.points, (start, end), served, weights)
        decision = self.driver.observe(window)
        if decision is not None:
            self.decisions.append(decision)
            self.journal.record(end, "decision", f"flow/{self.driver.kind.value}", **decision.to_dict())

    def _make_window(
        self, start: float, end: float, served: Mapping[str, Outcomes], weights: Mapping[str, float]
    ) -> Window:
        versions = {}
        for name, out in served.items():
            latencies = out.latencies
            if latencies.size > LATENCY_SAMPLE:
                latencies = latencies[:: -(-latencies.size // LATENCY_SAMPLE)]
            versions[name] = VersionWindow(
                requests=out.requests,
                errors=int(out.errors.sum()),
                latencies=latencies,
                metrics=dict(out.metrics),
            )
        exchanges = self.driver.exchanges(start, end, served)
        return Window(start=start, end=end, versions=versions, exchanges=exchanges)

    def _record_user(self, start: float, end: float, user: list[Outcomes]) -> None:
        if user:
            latencies = np.concatenate([o.latencies for o in user])
            errors = int(sum(int(o.errors.sum()) for o in user))
        else:
            latencies, errors = np.empty(0), 0
        sample = (
            latencies
            if latencies.size <= LATENCY_SAMPLE
            else latencies[:: -(-latencies.size // LATENCY_SAMPLE)]
        )
        self.user_windows.append(UserWindow(start, end, int(latencies.size), errors, sample))
