"""CI performance gates: compare results with a baseline and fail only on real regressions.

``compare(baseline, current)`` returns a :class:`GateResult`; a metric regresses only when its
change exceeds the threshold *and* is statistically significant. ``run_ab`` runs two commands
alternately and ``compare_interleaved`` judges their runs; ``Baseline.load`` reads pytest-benchmark
JSON, run reports, metrics files and saved baselines. ``harness gate`` is the CLI.
"""

from harness.gate.ab import ABConfig, ABResult, CommandFailed, run_ab
from harness.gate.baseline import BASELINE_FORMAT, METRICS_FORMAT, Baseline, machine_info
from harness.gate.compare import DEFAULT_ALPHA, GateResult, MetricComparison, Verdict, compare, compare_metric
from harness.gate.interleaved import compare_interleaved, pool_runs, run_medians
from harness.gate.metrics import Direction, Evidence, Metric
from harness.gate.render import gate_markdown, gate_table
from harness.gate.rules import DEFAULT_RULES, Rule
from harness.gate.stats import MAX_SAMPLES, Shift, compact, hodges_lehmann, median_interval_from_summary

__all__ = [
    "BASELINE_FORMAT",
    "DEFAULT_ALPHA",
    "DEFAULT_RULES",
    "MAX_SAMPLES",
    "METRICS_FORMAT",
    "ABConfig",
    "ABResult",
    "Baseline",
    "CommandFailed",
    "Direction",
    "Evidence",
    "GateResult",
    "Metric",
    "MetricComparison",
    "Rule",
    "Shift",
    "Verdict",
    "compact",
    "compare",
    "compare_interleaved",
    "compare_metric",
    "gate_markdown",
    "gate_table",
    "hodges_lehmann",
    "machine_info",
    "median_interval_from_summary",
    "pool_runs",
    "run_ab",
    "run_medians",
]
