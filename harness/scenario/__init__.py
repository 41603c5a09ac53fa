"""Chaos scenarios: declarative files run on a simulated (virtual-time) or live engine.

``load_scenario(path)`` validates a YAML file; ``run_scenario(scenario, seed=..., mode=...)``
returns a :class:`RunResult` with the verdict, the journal and its digest.
"""

from harness.scenario.loader import expand_paths, load_scenario, parse_scenario, scenario_schema
from harness.scenario.model import FaultKind, FlowKind, Scenario
from harness.scenario.result import RunResult
from harness.scenario.runner import DEFAULT_SEED, Mode, resolve_seed, run_scenario

__all__ = [
    "DEFAULT_SEED",
    "FaultKind",
    "FlowKind",
    "Mode",
    "RunResult",
    "Scenario",
    "expand_paths",
    "load_scenario",
    "parse_scenario",
    "resolve_seed",
    "run_scenario",
    "scenario_schema",
]
