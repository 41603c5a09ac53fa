"""Judging interleaved A/B runs: the pairs are the unit.

Runs ``A_1, B_1, B_2, A_2, ...`` alternate, so the two runs of a pair ran next to each other and
shared the machine's drift. The change is the paired t interval of the pairs' run medians (on the
log scale for relative rules): each pair's difference cancels what its two runs shared, and the
spread of the differences measures what they did not (each run's own offset). Pooling every round
of each side would treat rounds as independent and cover far less than it claims when runs
differ. ``benchmarks/gate_calibration.py`` measures coverage, false alarms and detection.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness._checks import within
from harness.errors import InvalidConfig
from harness.gate.baseline import Baseline
from harness.gate.compare import DEFAULT_ALPHA, GateResult, compare
from harness.gate.intervals import Pairing
from harness.gate.rules import Rule
from harness.gate.runs import pool_runs, run_medians

__all__ = ["compare_interleaved", "pool_runs", "run_medians"]


def compare_interleaved(
    runs_a: Sequence[Baseline],
    runs_b: Sequence[Baseline],
    rules: Sequence[Rule] = (),
    *,
    alpha: float = DEFAULT_ALPHA,
    allow_missing: bool = False,
) -> GateResult:
    """Compare alternating runs of A (baseline) and B (current); run ``i`` of each form pair ``i``."""
    if len(runs_a) != len(runs_b) or len(runs_a) < 2:
        raise InvalidConfig(
            f"interleaved comparison needs the same number (>= 2) of runs per side; got "
            f"{len(runs_a)} and {len(runs_b)}."
        )
    within("alpha", alpha, "(0, 0.5)", "0.01 is the default")
    return compare(
        pool_runs(runs_a, name="A (baseline)"),
        pool_runs(runs_b, name="B (current)"),
        rules,
        alpha=alpha,
        pairing=Pairing.PAIRED,
        allow_missing=allow_missing,
    )
