"""The simulated engine: model versions on a virtual clock, seeded, vectorised, bit-for-bit reproducible.

Per window of virtual time the engine draws arrivals from the traffic profile, routes the whole
window through the run's :class:`~harness.rollout.Router` in one call, lets each version serve
its share (faults applied), hands the flow a :class:`~harness.rollout.Window` and steers the
router by its decision. Every step is journaled; the digest of
the journal is the run's fingerprint: same scenario, seed and package version, same digest.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from harness.errors import InvalidConfig
from harness.mode import Mode
from harness.rollout.contract import Action
from harness.scenario.chunks import CHUNK, OutcomeSample, chunk_counts
from harness.scenario.control import Progress, close_window, flow_router, window_bounds
from harness.scenario.dependency import DependencySim
from harness.scenario.faults import FaultEffects, ended_by
from harness.scenario.flows import FlowDriver, build_driver
from harness.scenario.model import FaultSpec, Scenario
from harness.scenario.record import LATENCY_SAMPLE, RunRecord
from harness.scenario.requests import RequestMaker
from harness.scenario.result import RunResult
from harness.scenario.services import ModelService, Outcomes, Service
from harness.seeding import Seeds

__all__ = ["SimulatedEngine"]

FloatArray = npt.NDArray[np.float64]
Served = tuple[str, FloatArray, Outcomes]
"""A version's name, the arrivals it served and their outcomes."""
WindowOutcomes = tuple[dict[str, Outcomes], list[Outcomes]]
"""Every version's outcomes in a window, and the outcomes users saw."""


class SimulatedEngine:
    """Runs one scenario with one seed on virtual time.

    A window of more than ``chunk`` requests is served ``chunk`` requests at a time and kept as
    exact counts and a bounded uniform sample (:mod:`harness.scenario.chunks`), so memory does
    not grow with the requests in a window.
    """

    chunk: int = CHUNK

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.seed = seed
        self.seeds = Seeds(seed).child(f"scenario/{scenario.name}")
        self.record = RunRecord(scenario, seed, Mode.SIMULATED)
        self.driver: FlowDriver = build_driver(scenario, self.seeds.child("flow"))
        self.router = flow_router(self.driver, self.seeds.int_seed("router"))
        self.services = self._build_services()
        self.effects = self._build_effects()
        self.dependency = self._build_dependency()
        self.requests = RequestMaker(scenario.traffic.mix, self.seeds.child("requests"))
        self._rng_traffic = self.seeds.numpy("traffic")
        self._rng_versions = {name: self.seeds.numpy(f"version/{name}") for name in scenario.groups}
        self._rng_sample = self.seeds.numpy("window-sample")

    def _build_services(self) -> dict[str, Service]:
        """One service per traffic group (a version is its own group but in an experiment flow)."""
        services: dict[str, Service] = {}
        for name, version in self.scenario.groups.items():
            spec = self.scenario.versions[version]
            if spec.model is not None:
                services[name] = ModelService(name, spec.model)
            elif spec.http is not None:
                raise InvalidConfig(
                    f"version {name!r} is an HTTP service; run this scenario with --mode live "
                    "(simulated mode needs model, callable or asgi versions)."
                )
            else:
                raise InvalidConfig(
                    f"version {name!r} runs real code; the real-code engine runs it "
                    "(harness.scenario.realcode.RealCodeEngine, which run_scenario picks)."
                )
        return services

    def _protected(self) -> str | None:
        return self.scenario.resilience.dependency if self.scenario.resilience is not None else None

    def _build_effects(self, until: float | None = None) -> dict[str, FaultEffects]:
        """Each group's faults: its version's, and its unprotected dependencies', if they name it.

        With ``until``, every fault ends by then (an aborted experiment removed them).
        """
        effects: dict[str, FaultEffects] = {}
        protected = self._protected()
        for name, version in self.scenario.groups.items():
            spec = self.scenario.versions[version]
            deps = set(spec.model.dependencies) if spec.model is not None else set()
            deps.discard(protected or "")
            mine = tuple(
                f
                for f in self.scenario.faults
                if (f.target == version or f.target in deps) and (f.groups is None or name in f.groups)
            )
            effects[name] = FaultEffects(mine if until is None else ended_by(mine, until))
        return effects

    def _build_dependency(self) -> DependencySim | None:
        spec = self.scenario.resilience
        if spec is None:
            return None
        faults: tuple[FaultSpec, ...] = tuple(f for f in self.scenario.faults if f.target == spec.dependency)
        rng = self.seeds.stream(f"dependency/{spec.dependency}")
        return DependencySim(spec, FaultEffects(faults), rng, self.record.journal)

    # -- the run ----------------------------------------------------------------------------------

    def run(self, progress: Progress | None = None) -> RunResult:
        """Run the whole scenario and check its expectations."""
        duration = self.scenario.duration
        self.record.begin()
        for start, end in window_bounds(duration, self.scenario.window):
            self._window(start, end)
            if progress is not None:
                progress(end, duration)
        dependency = self.dependency.stats if self.dependency is not None else None
        return self.record.finish(self.driver.outcome(), dependency=dependency)

    def _arrival_count(self, start: float, end: float) -> int:
        rate = self.scenario.traffic.rate_at((start + end) / 2, self.scenario.duration)
        return int(self._rng_traffic.poisson(rate * (end - start)))

    def _arrivals(self, start: float, end: float, n: int) -> FloatArray:
        return np.sort(self._rng_traffic.uniform(start, end, n))

    def _serve(self, name: str, arrivals: FloatArray, window_length: float) -> Outcomes:
        rate = arrivals.size / window_length if window_length > 0 else 0.0
        return self.services[name].serve(
            arrivals, self.effects[name], self._rng_versions[name], window_rate=rate, requests=self.requests
        )

    def _uses_dependency(self, name: str) -> bool:
        model = self.scenario.versions[self.scenario.groups.get(name, name)].model
        return (
            self.dependency is not None
            and model is not None
            and self.dependency.spec.dependency in model.dependencies
        )

    def _through_dependency(self, batches: list[tuple[FloatArray, Outcomes]]) -> None:
        """Every call to the shared dependency in these arrivals, across versions, in arrival order.

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
        added_sorted, failed_sorted = self.dependency.serve(times[order])
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

    def _mirrored(self, arrivals: FloatArray) -> dict[str, FloatArray]:
        """The arrivals copied to each shadow version (the flow's mirror), by the router's decision."""
        if not self.router.shadows:
            return {}
        copied = arrivals[self.router.mirror_mask(arrivals.size)]
        return dict.fromkeys(self.router.shadows, copied)

    def _window(self, start: float, end: float) -> None:
        n = self._arrival_count(start, end)
        if self.dependency is not None:
            self.dependency.open_window()
        if n <= self.chunk:
            served, user = self._serve_arrivals(self._arrivals(start, end, n), end - start)
        else:
            served, user = self._serve_chunks(start, end, n)
        if self.dependency is not None:
            self.dependency.close_window(end - start)
            self.dependency.settle(end)
        decision = close_window(self.record, self.driver, self.router, (start, end), served=served, user=user)
        if decision is not None and decision.action is Action.ABORT:
            self.effects = self._build_effects(until=end)
            self.record.journal.record(end, "faults.cleared", "engine", reason="the flow aborted")

    def _route(self, arrivals: FloatArray, length: float) -> tuple[list[Served], list[Served]]:
        """Route, serve and pass through the dependency: (what users got, what shadows got)."""
        routed = [(n, arr, self._serve(n, arr, length)) for n, arr in self.router.partition(arrivals).items()]
        mirrored = [(n, arr, self._serve(n, arr, length)) for n, arr in self._mirrored(arrivals).items()]
        every = routed + mirrored
        self._through_dependency([(arr, out) for n, arr, out in every if self._uses_dependency(n)])
        return routed, mirrored

    def _serve_arrivals(self, arrivals: FloatArray, length: float) -> WindowOutcomes:
        """A window served whole: every request's outcome."""
        routed, mirrored = self._route(arrivals, length)
        served = {name: out for name, _, out in routed + mirrored}
        return served, [out for _, _, out in routed]

    def _serve_chunks(self, start: float, end: float, n: int) -> WindowOutcomes:
        """A window of more than CHUNK requests, served a chunk at a time into bounded samples."""
        counts = chunk_counts(n, self._rng_traffic, chunk=self.chunk)
        edges = start + (end - start) * np.arange(counts.size + 1) / counts.size
        edges[-1] = end
        samples: dict[str, OutcomeSample] = {}
        users = OutcomeSample(LATENCY_SAMPLE, self._rng_sample)
        for count, a, b in zip(counts.tolist(), edges[:-1].tolist(), edges[1:].tolist(), strict=True):
            routed, mirrored = self._route(self._arrivals(a, b, count), b - a)
            for name, arrivals, out in routed + mirrored:
                samples.setdefault(name, OutcomeSample(LATENCY_SAMPLE, self._rng_sample)).add(arrivals, out)
            for _, arrivals, out in routed:
                users.add(arrivals, Outcomes(latencies=out.latencies, errors=out.errors))
        return {name: sample.outcomes() for name, sample in samples.items()}, [users.outcomes()]
