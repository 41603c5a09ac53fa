"""Determinism as a checked property: run a scenario twice and find the first event that differs.

A simulated run must give the same journal for the same scenario, seed and package version, in
any process and under any ``PYTHONHASHSEED``. :func:`check_determinism` runs the scenario once in
this process and once more in a fresh Python process with another hash seed, then compares the
two journals event by event. Real-code runs journal a digest of every request's latency, outcome
and response per window, so the first differing event points at the window (and the version or
dependency) where the code under test stopped being reproducible: a wall-clock read through
``datetime.now()``, iteration over a ``set`` of strings, an unseeded random source.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.journal import Event, Journal, canonical_json
from harness.scenario.loader import load_scenario
from harness.scenario.model import Scenario
from harness.scenario.result import RunResult
from harness.scenario.runner import resolve_seed, run_scenario

__all__ = ["DeterminismReport", "Difference", "check_determinism", "first_difference"]

_SECOND_RUN = """
import sys
from harness.scenario import run_scenario
run_scenario(sys.argv[1], seed=int(sys.argv[2])).journal.write(sys.argv[3])
"""
_OTHER_HASH_SEED = "4242"


@dataclass(frozen=True, slots=True)
class Difference:
    """The first event (0-based ``index`` in canonical order) where two journals part."""

    index: int
    first: Event | None
    second: Event | None

    def describe(self) -> str:
        """The event of each run, one line each."""

        def line(event: Event | None) -> str:
            if event is None:
                return "(no event: the journal ends here)"
            return f"t={event.t:g}s {event.kind} {event.source} {dict(event.data)}"

        return f"event #{self.index}:\n  first run:  {line(self.first)}\n  second run: {line(self.second)}"


@dataclass(frozen=True, slots=True)
class DeterminismReport:
    """Both runs' digests and, when they differ, the first differing event."""

    digests: tuple[str, str]
    difference: Difference | None
    result: RunResult

    @property
    def deterministic(self) -> bool:
        """Whether the two runs' journals are identical."""
        return self.difference is None


def first_difference(first: Journal, second: Journal) -> Difference | None:
    """The first event where ``first`` and ``second`` differ, or ``None`` when they are equal."""
    a, b = first.events, second.events
    for index in range(max(len(a), len(b))):
        left = a[index] if index < len(a) else None
        right = b[index] if index < len(b) else None
        if left is None or right is None or canonical_json(left.to_dict()) != canonical_json(right.to_dict()):
            return Difference(index, left, right)
    return None


def _second_run(path: Path, seed: int, out: Path) -> Journal:
    path_entries = [p for p in sys.path if p]
    env = {**os.environ, "PYTHONHASHSEED": _OTHER_HASH_SEED, "PYTHONPATH": os.pathsep.join(path_entries)}
    done = subprocess.run(  # noqa: S603 - our own interpreter running our own code
        [sys.executable, "-c", _SECOND_RUN, str(path), str(seed), str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise HarnessError(f"the second run (a fresh process) failed:\n{done.stderr.strip()[-2000:]}")
    return Journal.read(out)


def check_determinism(scenario: Scenario | str | Path, *, seed: int | str | None = None) -> DeterminismReport:
    """Run ``scenario`` here and in a fresh process (another ``PYTHONHASHSEED``); compare the journals."""
    from harness.scenario.strategies import scenario_yaml

    loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    chosen = resolve_seed(loaded, seed)
    result = run_scenario(loaded, seed=chosen)
    with tempfile.TemporaryDirectory(prefix="harness-determinism-") as folder:
        path = Path(folder) / "scenario.yaml"
        path.write_text(scenario_yaml(loaded), encoding="utf-8")
        second = _second_run(path, chosen, Path(folder) / "journal.jsonl")
    return DeterminismReport(
        digests=(result.digest, second.digest()),
        difference=first_difference(result.journal, second),
        result=result,
    )
