"""k6-style thresholds: parsing, units, evaluation and the exit code."""

from __future__ import annotations

import pytest

from harness.errors import Finding, InvalidConfig
from harness.load import EXIT_THRESHOLDS, Comparison, Threshold, ThresholdsFailed, evaluate_thresholds


@pytest.mark.parametrize(
    ("text", "metric", "comparison", "limit"),
    [
        ("p99 < 300ms", "p99", Comparison.LT, 0.3),
        ("p99.9<=1s", "p99.9", Comparison.LE, 1.0),
        ("service_p50 < 250us", "service_p50", Comparison.LT, 250e-6),
        ("max < 40ms", "max", Comparison.LT, 0.04),
        ("p99 < 1.5m", "p99", Comparison.LT, 90.0),
        ("error_rate < 1%", "error_rate", Comparison.LT, 0.01),
        ("error_rate <= 0.05", "error_rate", Comparison.LE, 0.05),
        ("rps >= 500", "rps", Comparison.GE, 500.0),
        ("  P95 > 1.5ms ", "p95", Comparison.GT, 0.0015),
    ],
)
def test_thresholds_parse_with_units(text: str, metric: str, comparison: Comparison, limit: float) -> None:
    """Latencies take a time unit, rates take fractions or percentages."""
    t = Threshold.parse(text)
    assert (t.metric, t.comparison) == (metric, comparison)
    assert t.limit == pytest.approx(limit)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("p99 300ms", "is not 'metric op value"),
        ("latency < 3ms", "'latency' is not a threshold metric; valid:"),
        ("error_rate < 3ms", "unit 'ms' does not fit 'error_rate'"),
        ("p99 < 3%", "unit '%' does not fit 'p99'"),
        ("rps > 5ms", "use no unit"),
        ("max < 40", r"threshold 'max < 40': 40 has no unit; write 40ms \(or 0.04s\)"),
        ("p99 < 0.3", r"0.3 has no unit; write 0.3ms \(or 0.0003s\)"),
    ],
)
def test_bad_thresholds_say_what_to_write(text: str, match: str) -> None:
    """A bad threshold raises InvalidConfig quoting it and showing a valid form."""
    with pytest.raises(InvalidConfig, match=match):
        Threshold.parse(text)


def test_negative_delay_is_refused() -> None:
    """abort_on_fail's grace must be >= 0."""
    with pytest.raises(InvalidConfig, match="delay=-1"):
        Threshold.parse("p99 < 1s", abort_on_fail=True, delay=-1)


def test_evaluation_reports_each_outcome_and_the_exit_code() -> None:
    """Passing thresholds exit 0; a failing one exits 99 and raises a Finding with the observed value."""
    metrics = {"p99": 0.41, "error_rate": 0.002, "rps": 180.0}
    ok = evaluate_thresholds(["error_rate < 1%", "rps > 150"], metrics)
    assert ok.passed
    assert ok.exit_code == 0
    ok.raise_for_failures()
    bad = evaluate_thresholds(["p99 < 300ms", "error_rate < 1%"], metrics)
    assert not bad.passed
    assert bad.exit_code == EXIT_THRESHOLDS == 99
    assert [o.threshold.metric for o in bad.failed] == ["p99"]
    with pytest.raises(ThresholdsFailed, match=r"p99 < 300ms: observed 410ms") as info:
        bad.raise_for_failures()
    assert isinstance(info.value, Finding)
    assert info.value.observed == 0.41
    assert info.value.limit == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("text", "observed", "shown"),
    [
        ("p99 < 1ms", 0.011823, "p99 < 1ms: observed 11.82ms (FAILED)"),
        ("p99 < 2s", 0.5, "p99 < 2s: observed 0.5s (ok)"),
        ("service_p50 < 300us", 0.000125, "service_p50 < 300us: observed 125us (ok)"),
        ("error_rate < 1%", 0.025, "error_rate < 1%: observed 2.5% (FAILED)"),
        ("error_rate < 0.01", 0.025, "error_rate < 0.01: observed 0.025 (FAILED)"),
        ("rps > 100", 99.5, "rps > 100: observed 99.5 (FAILED)"),
    ],
)
def test_outcomes_show_the_observed_value_in_the_unit_the_threshold_was_written_in(
    text: str, observed: float, shown: str
) -> None:
    threshold = Threshold.parse(text)
    assert threshold.check({threshold.metric: observed}).describe() == shown
