"""``run_scenario``: pick the engine for the mode, resolve the seed, return a ``RunResult``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness._checks import one_of
from harness.errors import UsageError
from harness.mode import Mode
from harness.scenario.control import Progress
from harness.scenario.engine import SimulatedEngine
from harness.scenario.loader import load_scenario
from harness.scenario.model import Scenario
from harness.scenario.result import RunResult
from harness.seeding import parse_seed, random_seed

if TYPE_CHECKING:
    from harness.scenario.realcode import RealCodeEngine

__all__ = ["DEFAULT_SEED", "resolve_seed", "run_scenario"]

DEFAULT_SEED = 1
"""The seed of a scenario file that names none and a run that passes none: runs reproduce by default."""


def resolve_seed(scenario: Scenario, seed: int | str | None) -> int:
    """The seed given, else the scenario's, else ``DEFAULT_SEED``; ``"random"`` draws a fresh one."""
    if seed == "random":
        return random_seed()
    if seed is not None:
        return parse_seed(seed)
    return scenario.seed if scenario.seed is not None else DEFAULT_SEED


def _real_code_engine() -> type[RealCodeEngine]:
    """The real-code engine, or a usage error with the install line when the ``sim`` extra is missing."""
    try:
        from harness.scenario.realcode import RealCodeEngine
    except ModuleNotFoundError as exc:
        raise UsageError(
            f"simulating real code needs the sim extra ({exc.name} is missing): "
            "pip install 'chaos-harness[sim]'"
        ) from None
    return RealCodeEngine


def run_scenario(
    scenario: Scenario | str | Path,
    *,
    seed: int | str | None = None,
    mode: Mode | str = Mode.SIMULATED,
    progress: Progress | None = None,
) -> RunResult:
    """Run a scenario (or a scenario file) once and check its expectations."""
    source: str | None = None
    if not isinstance(scenario, Scenario):
        source = str(scenario)
        scenario = load_scenario(scenario)
    run_mode: Mode = one_of("mode", mode, Mode)
    chosen = resolve_seed(scenario, seed)
    if run_mode is Mode.LIVE:
        from harness.scenario.live import LiveEngine

        result = LiveEngine(scenario, chosen).run(progress)
    elif scenario.real_code:
        result = _real_code_engine()(scenario, chosen).run(progress)
    else:
        result = SimulatedEngine(scenario, chosen).run(progress)
    if source is not None:
        result.attach_source(source)
    return result
