"""Swarm: every scenario at many seeds on Dask distributed, failure rates with intervals.

A scenario that passes at one seed says little: statistical flows fail at a calibrated rate, and
a bug that needs an unlucky interleaving shows up at one seed in thousands. ``run_swarm`` runs
each scenario at every seed of a range on a Dask cluster (by default a ``dask scheduler`` and
worker processes on this machine,
``swarm_client(scheduler="tcp://HOST:PORT")`` for many machines) and reports per scenario the
failure rate with its Wilson interval and, for each failing seed, the command that replays it.
Each run is the same run ``harness run PATH --seed S`` makes: same digest.

Dask is the optional extra ``chaos-harness[swarm]``; this package imports it only when a cluster
starts. ``harness swarm`` is the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness._lazy import lazy_exports

if TYPE_CHECKING:
    from harness.swarm.cluster import INSTALL_HINT, SwarmUnavailable, require_distributed, swarm_client
    from harness.swarm.engine import SwarmProgress, SwarmResult, run_swarm
    from harness.swarm.local import LocalClusterFailed
    from harness.swarm.plan import SeedRange, SwarmScenario, flow_alpha, load_swarm_scenarios
    from harness.swarm.render import render_swarm_html, render_swarm_markdown, swarm_json, write_swarm_reports
    from harness.swarm.search import Counterexample, SearchResult, SearchSettings, run_search
    from harness.swarm.stream import swarm_map, swarm_mapper
    from harness.swarm.tally import ScenarioStats, flakiness_level
    from harness.swarm.task import SeedCrash, SeedRun

__all__ = [
    "INSTALL_HINT",
    "Counterexample",
    "LocalClusterFailed",
    "ScenarioStats",
    "SearchResult",
    "SearchSettings",
    "SeedCrash",
    "SeedRange",
    "SeedRun",
    "SwarmProgress",
    "SwarmResult",
    "SwarmScenario",
    "SwarmUnavailable",
    "flakiness_level",
    "flow_alpha",
    "load_swarm_scenarios",
    "render_swarm_html",
    "render_swarm_markdown",
    "require_distributed",
    "run_search",
    "run_swarm",
    "swarm_client",
    "swarm_json",
    "swarm_map",
    "swarm_mapper",
    "write_swarm_reports",
]

_MODULES = {
    "harness.swarm.cluster": "INSTALL_HINT SwarmUnavailable require_distributed swarm_client",
    "harness.swarm.engine": "SwarmProgress SwarmResult run_swarm",
    "harness.swarm.local": "LocalClusterFailed",
    "harness.swarm.plan": "SeedRange SwarmScenario flow_alpha load_swarm_scenarios",
    "harness.swarm.render": "render_swarm_html render_swarm_markdown swarm_json write_swarm_reports",
    "harness.swarm.search": "Counterexample SearchResult SearchSettings run_search",
    "harness.swarm.stream": "swarm_map swarm_mapper",
    "harness.swarm.tally": "ScenarioStats flakiness_level",
    "harness.swarm.task": "SeedCrash SeedRun",
}

__getattr__, __dir__ = lazy_exports(__name__, {n: m for m, names in _MODULES.items() for n in names.split()})
