"""``run_scenario``: pick the engine for the mode, resolve the seed, return a ``RunResult``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from harness._checks import one_of
from harness._extras import missing_extra, require
from harness.mode import Mode
from harness.scenario.control import Progress
from harness.scenario.engine import SimulatedEngine
from harness.scenario.loader import check_runnable, load_scenario
from harness.scenario.model import Scenario
from harness.scenario.modes import check_mode
from harness.scenario.result import RunResult
from harness.seeding import parse_seed, random_seed

if TYPE_CHECKING:
    from harness.scenario.realcode import RealCodeEngine

__all__ = ["DEFAULT_SEED", "SPEC_KEY", "resolve_seed", "run_scenario"]

DEFAULT_SEED = 1
"""The seed of a scenario file that names none and a run that passes none: runs reproduce by default."""
SPEC_KEY = "spec"
"""The journal header's ``meta`` key holding the scenario that ran (as JSON), so a journal replays
anywhere: ``harness replay`` needs neither the scenario file nor the directory it was run from."""


def resolve_seed(scenario: Scenario, seed: int | str | None) -> int:
    """The seed given, else the scenario's, else ``DEFAULT_SEED``; ``"random"`` draws a fresh one."""
    if seed == "random":
        return random_seed()
    if seed is not None:
        return parse_seed(seed)
    return scenario.seed if scenario.seed is not None else DEFAULT_SEED


def _real_code_engine() -> type[RealCodeEngine]:
    """The real-code engine, or :class:`~harness.errors.MissingExtra` naming the ``sim`` extra."""
    feature = "simulating callables and ASGI apps on virtual time"
    require("sim", feature)
    try:
        from harness.scenario.realcode import RealCodeEngine
    except ModuleNotFoundError as exc:
        raise missing_extra(exc, feature) from None
    return RealCodeEngine


def run_scenario(
    scenario: Scenario | str | Path,
    *,
    seed: int | str | None = None,
    mode: Mode | str = Mode.SIMULATED,
    progress: Progress | None = None,
    logs: Path | None = None,
    notify: Callable[[str], None] | None = None,
) -> RunResult:
    """Run a scenario (or a scenario file) once and check its expectations.

    Live mode writes the services' logs to ``logs`` (default: a temporary folder) and tells
    ``notify`` when each service is ready.
    """
    source: str | None = None
    run_mode: Mode = one_of("mode", mode, Mode)
    if not isinstance(scenario, Scenario):
        source = str(scenario)
        scenario = load_scenario(scenario, mode=run_mode)
    else:
        check_runnable(scenario)
    check_mode(scenario, run_mode, source=source)
    chosen = resolve_seed(scenario, seed)
    if run_mode is Mode.LIVE:
        from harness.scenario.live import LiveEngine

        result = LiveEngine(scenario, chosen, logs=logs, notify=notify).run(progress)
    elif scenario.real_code:
        result = _real_code_engine()(scenario, chosen).run(progress)
    else:
        result = SimulatedEngine(scenario, chosen).run(progress)
    result.journal.meta[SPEC_KEY] = scenario.model_dump(mode="json")
    if source is not None:
        result.attach_source(source)
    return result
