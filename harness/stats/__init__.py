"""Statistics for rollout decisions and performance gates: tolerance tests on the effect named
(ratios of means and quantiles, error-rate ratios, CLES), rank and proportion tests, location
shifts with intervals, t intervals with the run as the unit, a Kayenta-style canary judge,
sequential tests and an HDR latency recorder.

Every method names its reference and is tested against an independent oracle (scipy, R's
algorithms, brute force). Names load on first use, so ``import harness.stats.histogram`` does not
pay for scipy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness._lazy import Renamed, lazy_exports

if TYPE_CHECKING:
    from harness.stats.binomial import RateInterval, clopper_pearson_interval, exceeds_rate, wilson_interval
    from harness.stats.effects import EffectSize, effect_size
    from harness.stats.histogram import LatencyRecorder, LatencySummary
    from harness.stats.judge import (
        CanaryJudge,
        Classification,
        Counts,
        JudgeConfig,
        JudgeResult,
        MetricConfig,
        MetricResult,
        NanStrategy,
        judge_metric,
        mann_whitney_judge,
    )
    from harness.stats.proportions import (
        ProportionMethod,
        ProportionResult,
        RateRatio,
        proportion_test,
        rate_ratio,
    )
    from harness.stats.ranks import (
        Alternative,
        MannWhitneyResult,
        RankMethod,
        UTest,
        hodges_lehmann,
        mann_whitney,
        u_test,
    )
    from harness.stats.runs import known_noise_shift, paired_t_shift, pooled_t_shift, welch_t_shift
    from harness.stats.sequential import SequentialConfig, SequentialTest
    from harness.stats.shifts import Shift, median_interval_from_summary, paired_hodges_lehmann
    from harness.stats.stratified import StratifiedOddsTest
    from harness.stats.tolerance import Direction, ToleranceResult, effect_test, judge_tolerance
    from harness.stats.verdict import Verdict

__all__ = [
    "Alternative",
    "CanaryJudge",
    "Classification",
    "Counts",
    "Direction",
    "EffectSize",
    "JudgeConfig",
    "JudgeResult",
    "LatencyRecorder",
    "LatencySummary",
    "MannWhitneyResult",
    "MetricConfig",
    "MetricResult",
    "NanStrategy",
    "ProportionMethod",
    "ProportionResult",
    "RankMethod",
    "RateInterval",
    "RateRatio",
    "SequentialConfig",
    "SequentialTest",
    "Shift",
    "StratifiedOddsTest",
    "ToleranceResult",
    "UTest",
    "Verdict",
    "clopper_pearson_interval",
    "effect_size",
    "effect_test",
    "exceeds_rate",
    "hodges_lehmann",
    "judge_metric",
    "judge_tolerance",
    "known_noise_shift",
    "mann_whitney",
    "mann_whitney_judge",
    "median_interval_from_summary",
    "paired_hodges_lehmann",
    "paired_t_shift",
    "pooled_t_shift",
    "proportion_test",
    "rate_ratio",
    "u_test",
    "welch_t_shift",
    "wilson_interval",
]

_MODULES = {
    "harness.stats.binomial": "RateInterval clopper_pearson_interval exceeds_rate wilson_interval",
    "harness.stats.effects": "EffectSize effect_size",
    "harness.stats.histogram": "LatencyRecorder LatencySummary",
    "harness.stats.judge": "CanaryJudge Classification Counts JudgeConfig JudgeResult "
    "MetricConfig MetricResult NanStrategy judge_metric mann_whitney_judge",
    "harness.stats.proportions": "ProportionMethod ProportionResult RateRatio proportion_test rate_ratio",
    "harness.stats.ranks": "Alternative MannWhitneyResult RankMethod UTest hodges_lehmann mann_whitney "
    "u_test",
    "harness.stats.runs": "known_noise_shift paired_t_shift pooled_t_shift welch_t_shift",
    "harness.stats.sequential": "SequentialConfig SequentialTest",
    "harness.stats.shifts": "Shift median_interval_from_summary paired_hodges_lehmann",
    "harness.stats.stratified": "StratifiedOddsTest",
    "harness.stats.tolerance": "Direction ToleranceResult effect_test judge_tolerance",
    "harness.stats.verdict": "Verdict",
}
_HOMES = {name: module for module, names in _MODULES.items() for name in names.split()}

_RENAMED = {
    "JudgeVerdict": Renamed("harness.stats", "Verdict", "use harness.stats.Verdict (NODATA is now NO_DATA)"),
    **{
        name: Renamed("harness.stats.effects", name)
        for name in ("cles", "cliffs_delta", "mean_ratio", "quantile_ratio")
    },
    **{
        name: Renamed("harness.stats.ranks", name)
        for name in ("kth_pairwise_difference", "u_test_sorted", "wilcox_cdf", "wilcox_quantile")
    },
}
"""Names this package exported before, for one release: each read warns and names the new home."""

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, renamed=_RENAMED)
