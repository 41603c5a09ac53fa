"""Chaos scenarios: declarative files run on a simulated (virtual-time) or live engine.

``load_scenario(path)`` validates a YAML file; ``run_scenario(scenario, seed=..., mode=...)``
returns a :class:`RunResult` with the verdict, the journal and its digest.
"""

from harness._extras import require

require("scenarios", __name__)

from harness._lazy import Renamed, lazy_exports
from harness.mode import Mode
from harness.scenario.loader import expand_paths, load_scenario, parse_scenario, scenario_schema
from harness.scenario.model import FlowKind, Scenario, ScenarioFaultKind
from harness.scenario.result import RunResult
from harness.scenario.runner import DEFAULT_SEED, run_scenario

__all__ = [
    "DEFAULT_SEED",
    "FlowKind",
    "Mode",
    "RunResult",
    "Scenario",
    "ScenarioFaultKind",
    "expand_paths",
    "load_scenario",
    "parse_scenario",
    "run_scenario",
    "scenario_schema",
]

_RENAMED = {
    "FaultKind": Renamed("harness.scenario", "ScenarioFaultKind"),
    "resolve_seed": Renamed("harness.scenario.runner", "resolve_seed"),
}
"""Names this package exported before, for one release: each read warns and names the new home."""

__getattr__, __dir__ = lazy_exports(__name__, {}, renamed=_RENAMED)
