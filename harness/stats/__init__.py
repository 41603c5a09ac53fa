"""Statistics for rollout decisions: histograms, rank and proportion tests, judges, sequential tests."""

from harness.stats.effects import EffectSize, cles, cliffs_delta, effect_size, mean_ratio, quantile_ratio
from harness.stats.histogram import HistogramConfig, LatencyHistogram
from harness.stats.judge import (
    CanaryJudge,
    Classification,
    Counts,
    Direction,
    JudgeConfig,
    JudgeResult,
    JudgeVerdict,
    MetricConfig,
    MetricResult,
    NanStrategy,
    judge_metric,
    mann_whitney_judge,
)
from harness.stats.proportions import ProportionResult, proportion_test
from harness.stats.ranks import (
    Alternative,
    MannWhitneyResult,
    UTest,
    hodges_lehmann,
    kth_pairwise_difference,
    mann_whitney,
    u_test,
    u_test_sorted,
    wilcox_cdf,
    wilcox_quantile,
)
from harness.stats.sequential import SequentialConfig, SequentialTest

__all__ = [
    "Alternative",
    "CanaryJudge",
    "Classification",
    "Counts",
    "Direction",
    "EffectSize",
    "HistogramConfig",
    "JudgeConfig",
    "JudgeResult",
    "JudgeVerdict",
    "LatencyHistogram",
    "MannWhitneyResult",
    "MetricConfig",
    "MetricResult",
    "NanStrategy",
    "ProportionResult",
    "SequentialConfig",
    "SequentialTest",
    "UTest",
    "cles",
    "cliffs_delta",
    "effect_size",
    "hodges_lehmann",
    "judge_metric",
    "kth_pairwise_difference",
    "mann_whitney",
    "mann_whitney_judge",
    "mean_ratio",
    "proportion_test",
    "quantile_ratio",
    "u_test",
    "u_test_sorted",
    "wilcox_cdf",
    "wilcox_quantile",
]
