"""``harness swarm --search``: Hypothesis fault-schedule searches, one per search seed, across workers.

The property of a scenario is its expectations: for every fault schedule that
:func:`~harness.scenario.strategies.with_faults` can draw, the run at the scenario's seed passes.
Each task is one independent search: ``hypothesis.find`` seeded with the search seed tries up to
``examples`` schedules and, on a failing one, shrinks it to a minimal schedule (fewer, shorter,
earlier windows). The client keeps every distinct shrunk schedule, by its canonical form (the
fault windows sorted, as JSON), and writes each once as a scenario file that ``harness run``
replays; many search seeds finding the same minimal schedule is one counterexample.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import TYPE_CHECKING

from harness._checks import integer, positive
from harness.atomic import write_atomic
from harness.mode import Mode
from harness.scenario import Scenario, run_scenario
from harness.scenario.model import FaultSpec, ScenarioFaultKind
from harness.scenario.runner import resolve_seed
from harness.swarm.cluster import client_paths
from harness.swarm.plan import SeedRange, SwarmScenario
from harness.swarm.stream import completed
from harness.swarm.task import add_paths, parsed_scenario

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "Counterexample",
    "SearchFound",
    "SearchJob",
    "SearchResult",
    "SearchSettings",
    "canonical_schedule",
    "run_search",
    "search_one",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchSettings:
    """What one search explores: schedules tried, fault targets and kinds, windows per schedule."""

    examples: int = 25
    targets: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    max_faults: int = 3
    max_duration: float = 60.0

    def __post_init__(self) -> None:
        integer("examples", self.examples, at_least=1, fix="25 schedules per search is a good start")
        integer("max_faults", self.max_faults, at_least=1)
        positive("max_duration", self.max_duration, "the longest fault window", unit="seconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchJob:
    """One search: a scenario, a search seed and the settings."""

    scenario: int
    source: str
    text: str
    search_seed: int
    settings: SearchSettings
    paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchFound:
    """What one search returns: the shrunk failing scenario (None when none failed) or a crash."""

    scenario: int
    search_seed: int
    key: str = ""
    yaml: str = ""
    failed: tuple[str, ...] = ()
    error: str = ""

    @property
    def found(self) -> bool:
        """Whether the search found a failing schedule."""
        return bool(self.key)


@dataclass(frozen=True, slots=True, kw_only=True)
class Counterexample:
    """A distinct shrunk schedule: its file, and the searches that found it."""

    scenario: str
    key: str
    path: Path
    failed: tuple[str, ...]
    search_seeds: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchResult:
    """Every search's outcome, reduced to the distinct counterexamples."""

    searches: int
    failing: int
    counterexamples: tuple[Counterexample, ...]
    seconds: float
    interrupted: bool = False
    crash: str | None = None


def canonical_schedule(faults: Sequence[FaultSpec]) -> str:
    """The schedule as canonical JSON: windows sorted, every field, times rounded to the microsecond."""
    rows = sorted(
        (round(f.at, 6), f.target, f.kind.value, round(f.duration, 6), round(f.rate, 6), round(f.latency, 6))
        for f in faults
    )
    return json.dumps(rows)


def _key(faults: Sequence[FaultSpec]) -> str:
    return hashlib.sha256(canonical_schedule(faults).encode()).hexdigest()[:12]


def search_one(job: SearchJob) -> SearchFound:
    """Run one seeded Hypothesis search of ``job``'s scenario; the shrunk counterexample if any."""
    from hypothesis import Phase, find, settings
    from hypothesis.errors import NoSuchExample

    from harness.scenario.strategies import scenario_yaml, with_faults

    add_paths(job.paths)
    base = parsed_scenario(job.text, job.source)
    s = job.settings
    strategy = with_faults(
        base,
        targets=s.targets,
        kinds=s.kinds if s.kinds is not None else tuple(ScenarioFaultKind),
        max_duration=s.max_duration,
        max_faults=s.max_faults,
    )
    seed = resolve_seed(base, None)
    config = settings(
        max_examples=s.examples, database=None, deadline=None, phases=(Phase.generate, Phase.shrink)
    )

    def fails(scenario: Scenario) -> bool:
        return not run_scenario(scenario, seed=seed, mode=Mode.SIMULATED).passed

    try:
        minimal = find(strategy, fails, settings=config, random=Random(job.search_seed))  # noqa: S311
    except NoSuchExample:
        return SearchFound(scenario=job.scenario, search_seed=job.search_seed)
    except Exception as exc:  # noqa: BLE001 - reported with the search seed, never as a counterexample
        error = f"{type(exc).__name__}: {exc}"
        return SearchFound(scenario=job.scenario, search_seed=job.search_seed, error=error)
    result = run_scenario(minimal, seed=seed, mode=Mode.SIMULATED)
    return SearchFound(
        scenario=job.scenario,
        search_seed=job.search_seed,
        key=_key(minimal.faults),
        yaml=scenario_yaml(minimal),
        failed=tuple(f"{e.name} ({e.observed} vs {e.limit})" for e in result.failed),
    )


def _jobs(
    scenarios: Sequence[SwarmScenario], seeds: SeedRange, settings: SearchSettings
) -> Iterator[SearchJob]:
    paths = client_paths()
    for seed in seeds:
        for sc in scenarios:
            yield SearchJob(
                scenario=sc.index,
                source=sc.source,
                text=sc.text,
                search_seed=seed,
                settings=settings,
                paths=paths,
            )


def _write(found: SearchFound, scenario: SwarmScenario, out: Path) -> Path:
    path = out / "counterexamples" / f"{scenario.name}-{found.key}.yaml"
    header = (
        f"# A shrunk counterexample of {scenario.source}, found by harness swarm --search "
        f"(search seed {found.search_seed}).\n# Replay with: harness run {path}\n"
    )
    return write_atomic(path, header + found.yaml)


def run_search(
    client: Client,
    scenarios: Sequence[SwarmScenario],
    seeds: SeedRange,
    settings: SearchSettings,
    out: Path,
) -> SearchResult:
    """One search per scenario and search seed on the cluster; each distinct counterexample written once."""
    start = time.monotonic()
    distinct: dict[tuple[int, str], Counterexample] = {}
    searches = failing = 0
    interrupted, crash = False, None
    results = completed(client, search_one, _jobs(scenarios, seeds, settings))
    try:
        for found in results:
            if found.error:
                crash = f"{scenarios[found.scenario].name} search seed {found.search_seed}: {found.error}"
                break
            searches += 1
            if not found.found:
                continue
            failing += 1
            known = distinct.get((found.scenario, found.key))
            if known is None:
                sc = scenarios[found.scenario]
                known = Counterexample(
                    scenario=sc.name, key=found.key, path=_write(found, sc, out), failed=found.failed
                )
                distinct[(found.scenario, found.key)] = known
            known.search_seeds.append(found.search_seed)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        results.close()
    ordered = sorted(distinct.values(), key=lambda c: (c.scenario, min(c.search_seeds)))
    for c in ordered:
        c.search_seeds.sort()
    return SearchResult(
        searches=searches,
        failing=failing,
        counterexamples=tuple(ordered),
        seconds=time.monotonic() - start,
        interrupted=interrupted,
        crash=crash,
    )
