"""CI performance gates: compare results with a baseline, with the run as the unit.

``compare(baseline, current)`` returns a :class:`GateResult`; a metric regresses only when its
change exceeds the threshold *and* its interval excludes zero *and* that interval accounts for
run-to-run differences (several runs per side, interleaved pairs, or a known noise). With one run
per side and no known noise, such a change is ``Change.INCONCLUSIVE``. ``pool_runs`` makes one side
of several runs; ``run_ab`` runs two commands alternately and ``compare_interleaved`` judges their
pairs; ``Baseline.load`` reads pytest-benchmark JSON, run reports, metrics files and saved
baselines. The statistics are :mod:`harness.stats`'. ``harness gate`` is the CLI.
"""

from harness._extras import require

require("stats", __name__)

from harness._lazy import Renamed, lazy_exports
from harness.gate.ab import ABConfig, ABResult, CommandFailed, run_ab
from harness.gate.baseline import BASELINE_FORMAT, METRICS_FORMAT, Baseline
from harness.gate.compare import DEFAULT_ALPHA, Change, GateResult, MetricComparison, compare
from harness.gate.interleaved import compare_interleaved
from harness.gate.intervals import Basis, Pairing
from harness.gate.metrics import Better, Evidence, Metric
from harness.gate.render import gate_markdown, gate_table
from harness.gate.rules import DEFAULT_RULES, Rule
from harness.gate.runs import pool_runs

__all__ = [
    "BASELINE_FORMAT",
    "DEFAULT_ALPHA",
    "DEFAULT_RULES",
    "METRICS_FORMAT",
    "ABConfig",
    "ABResult",
    "Baseline",
    "Basis",
    "Better",
    "Change",
    "CommandFailed",
    "Evidence",
    "GateResult",
    "Metric",
    "MetricComparison",
    "Pairing",
    "Rule",
    "compare",
    "compare_interleaved",
    "gate_markdown",
    "gate_table",
    "pool_runs",
    "run_ab",
]

_OLD_ALPHA = "harness.stats.{} (candidate first, confidence=1 - alpha)"

_RENAMED = {
    "Direction": Renamed("harness.gate", "Better"),
    "MAX_SAMPLES": Renamed("harness.gate.samples", "MAX_SAMPLES"),
    "Shift": Renamed("harness.stats", "Shift"),
    "Verdict": Renamed("harness.gate", "Change"),
    "compact": Renamed("harness.gate.samples", "compact"),
    "compare_metric": Renamed("harness.gate.compare", "compare_metric"),
    "hodges_lehmann": Renamed(
        "harness.gate._compat", "hodges_lehmann", "use " + _OLD_ALPHA.format("hodges_lehmann")
    ),
    "machine_info": Renamed("harness.gate.baseline", "machine_info"),
    "median_interval_from_summary": Renamed(
        "harness.gate._compat",
        "median_interval_from_summary",
        "use " + _OLD_ALPHA.format("median_interval_from_summary"),
    ),
    "run_medians": Renamed("harness.gate.runs", "run_medians"),
}
"""Names this package exported before, for one release: each read warns and names the new home."""

__getattr__, __dir__ = lazy_exports(__name__, {}, renamed=_RENAMED)
