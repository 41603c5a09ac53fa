"""What a swarm runs: scenarios read once on the client, a range of seeds, and batches of seeds.

A :class:`SwarmScenario` carries the scenario file's text to the workers (they parse it there, so a
worker needs no copy of the file), its failure-rate bound and the flow's alpha. :class:`SeedRange`
is ``--seeds N`` (seeds 1..N) or ``--seeds A..B``. :class:`BatchSizer` picks how many seeds go in
one task so each task runs about :data:`TARGET_TASK_SECONDS`, which keeps Dask's per-task cost (a
few milliseconds to schedule, ship and collect) a small share of the work.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness._checks import integer, invalid, within
from harness.mode import Mode
from harness.scenario import Scenario, expand_paths, parse_scenario
from harness.scenario.model import FlowKind
from harness.seeding import MAX_SEED, parse_seed

__all__ = [
    "MAX_BATCH",
    "TARGET_TASK_SECONDS",
    "BatchSizer",
    "SeedRange",
    "SwarmScenario",
    "check_mode",
    "flow_alpha",
    "load_swarm_scenarios",
]

TARGET_TASK_SECONDS = 1.0
"""How long one task (a batch of seeds) should run; see ``benchmarks/bench_swarm.py`` for the cost."""
MAX_BATCH = 1000
"""The most seeds in one task, so progress and Ctrl-C stay responsive for very fast scenarios."""

_RANGE = re.compile(r"^\s*(\d+)\s*\.\.\s*(\d+)\s*$")


@dataclass(frozen=True, slots=True)
class SeedRange:
    """Seeds ``first`` to ``last``, both included."""

    first: int
    last: int

    def __post_init__(self) -> None:
        parse_seed(self.first)
        parse_seed(self.last)
        if self.last < self.first:
            raise invalid("seeds", f"{self.first}..{self.last}", "A..B with A <= B", "for example 1..200")

    @classmethod
    def parse(cls, text: str) -> SeedRange:
        """``"200"`` is seeds 1..200; ``"1000..1999"`` is that range, both ends included."""
        match = _RANGE.match(text)
        if match is not None:
            return cls(int(match.group(1)), int(match.group(2)))
        stripped = text.strip()
        if not stripped.isdigit() or int(stripped) < 1:
            rule = "a count N (seeds 1..N) or a range A..B"
            raise invalid("seeds", text, rule, "for example 200 or 1..200")
        return cls(1, min(int(stripped), MAX_SEED))

    def __len__(self) -> int:
        return self.last - self.first + 1

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.first, self.last + 1))

    def __str__(self) -> str:
        return f"{self.first}..{self.last}"


def flow_alpha(scenario: Scenario) -> float | None:
    """The false-decision rate the scenario's flow is configured for, or None when it has none.

    Canary and shadow flows have an ``alpha``; champion-challenger promotes at ``confidence``, so
    its alpha is ``1 - confidence``. Rollback validation and scenarios without a flow decide by
    thresholds, not by a test, and are expected never to fail.
    """
    flow = scenario.flow
    if flow.kind is FlowKind.CANARY:
        return flow.canary.alpha
    if flow.kind is FlowKind.SHADOW:
        return flow.shadow.alpha
    if flow.kind is FlowKind.CHAMPION_CHALLENGER:
        return round(1.0 - flow.champion.confidence, 12)
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class SwarmScenario:
    """One scenario as the swarm ships it: name, file, text, flow alpha and failure-rate bound.

    ``bound`` is the failure rate the scenario may have without being a finding: the
    ``--max-failure-rate`` given, else the flow's alpha, else 0 (a scenario without a statistical
    decision should pass at every seed).
    """

    index: int
    name: str
    source: str
    text: str
    alpha: float | None
    bound: float

    @property
    def expected_to_pass(self) -> bool:
        """Whether any failure at all is a finding (a bound of 0)."""
        return self.bound == 0.0


def _read(path: Path) -> str:
    from harness.scenario import load_scenario

    load_scenario(path)  # the file's errors (size, encoding, schema) with its line and field
    return path.read_text(encoding="utf-8")


def _check_simulable(scenario: Scenario, source: str) -> None:
    from harness.scenario.imports import resolve_callable

    for name, version in scenario.versions.items():
        if version.http is not None:
            raise invalid(
                f"{source}: versions.{name}",
                "http",
                "a model or callable version in a swarm",
                "a swarm runs simulated scenarios; run HTTP versions with harness run --mode live",
            )
    targets = [v.callable.target for v in scenario.versions.values() if v.callable is not None]
    targets += [k.payload for k in scenario.traffic.mix if k.payload is not None]
    for target in targets:
        resolve_callable(target)


def load_swarm_scenarios(
    paths: Sequence[str | Path], *, max_failure_rate: float | None = None
) -> list[SwarmScenario]:
    """Read and validate every scenario under ``paths`` on the client, before any worker starts.

    Bad files, HTTP versions and callables that do not import fail here, with the file and field,
    instead of on a worker at the first seed.
    """
    if max_failure_rate is not None:
        within("max_failure_rate", max_failure_rate, "[0, 1)", "the failure rate allowed, e.g. 0.05")
    found: list[SwarmScenario] = []
    for index, path in enumerate(expand_paths(paths)):
        text = _read(path)
        scenario = parse_scenario(text, source=str(path))
        _check_simulable(scenario, str(path))
        alpha = flow_alpha(scenario)
        bound = max_failure_rate if max_failure_rate is not None else (alpha or 0.0)
        found.append(
            SwarmScenario(
                index=index, name=scenario.name, source=str(path), text=text, alpha=alpha, bound=bound
            )
        )
    return found


def check_mode(mode: Mode | str) -> Mode:
    """The swarm runs simulated scenarios only: live runs take wall-clock time on real services."""
    from harness._checks import one_of

    chosen: Mode = one_of("mode", mode, Mode)
    if chosen is not Mode.SIMULATED:
        raise invalid(
            "mode",
            chosen.value,
            "simulated in a swarm",
            "live runs take real time against real services; run them with harness run --mode live",
        )
    return chosen


@dataclass(slots=True)
class BatchSizer:
    """How many seeds of each scenario go in the next task.

    With ``fixed`` set every task has that many seeds (``--batch``). Otherwise the first task of
    a scenario has one seed, and later ones ``TARGET_TASK_SECONDS / mean seconds per run`` seeds
    (between 1 and :data:`MAX_BATCH`), from the run times measured so far on the workers.
    """

    fixed: int | None = None
    target_seconds: float = TARGET_TASK_SECONDS
    _seconds: dict[int, float] = field(default_factory=dict)
    _runs: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.fixed is not None:
            integer("batch", self.fixed, at_least=1, at_most=MAX_BATCH)
        within("target_seconds", self.target_seconds, "(0, inf)", "about 1 second per task")

    def observe(self, scenario: int, seconds: float) -> None:
        """One run of ``scenario`` took ``seconds`` on a worker."""
        self._seconds[scenario] = self._seconds.get(scenario, 0.0) + seconds
        self._runs[scenario] = self._runs.get(scenario, 0) + 1

    def size(self, scenario: int) -> int:
        """Seeds in the next task of ``scenario``."""
        if self.fixed is not None:
            return self.fixed
        runs = self._runs.get(scenario, 0)
        if runs == 0:
            return 1
        mean = self._seconds[scenario] / runs
        if mean <= 0:
            return MAX_BATCH
        return max(1, min(MAX_BATCH, math.floor(self.target_seconds / mean)))
