"""compare(): regressions need a change beyond the threshold and a significant interval."""

from __future__ import annotations

import numpy as np
import pytest

import harness.gate
from harness.errors import InvalidConfig
from harness.gate import Baseline, Better, Change, Metric, Rule, compare, gate_markdown
from tests.gate.factories import QUIET, sample_set


def _isort_key(name: str) -> tuple[int, str]:
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_resolves() -> None:
    """The public surface is sorted (ruff's order) and every name exists."""
    assert harness.gate.__all__ == sorted(harness.gate.__all__, key=_isort_key)
    for name in harness.gate.__all__:
        assert getattr(harness.gate, name) is not None


def test_ten_percent_slowdown_regresses_at_five_percent() -> None:
    """A clear 10% slowdown fails a 5% rule when runs are known to repeat (noise 0)."""
    rng = np.random.default_rng(1)
    base, cur = sample_set(QUIET.run(rng)), sample_set(QUIET.run(rng, 0.10))
    result = compare(base, cur, [Rule.parse("5%")], noise=0.0)
    assert result.exit_code == 1
    (c,) = result.regressions
    assert 0.05 < c.change < 0.16
    assert c.low > 0


def test_same_distribution_passes() -> None:
    """A/A on a quiet machine passes."""
    rng = np.random.default_rng(2)
    assert compare(sample_set(QUIET.run(rng)), sample_set(QUIET.run(rng))).passed


def test_significant_but_small_change_passes() -> None:
    """A 2% change measured very precisely is significant but under the threshold."""
    base = np.linspace(1.0, 1.01, 200)
    result = compare(sample_set(base), sample_set(base * 1.02), [Rule.parse("5%")])
    (c,) = result.comparisons
    assert c.significant
    assert c.verdict is Change.UNCHANGED


def test_large_but_noisy_change_passes() -> None:
    """A big median change from three noisy rounds is not significant."""
    result = compare(sample_set([1.0, 3.0, 1.2]), sample_set([2.0, 1.1, 2.5]), [Rule.parse("5%")])
    assert result.passed
    assert not result.comparisons[0].significant


def test_improvement_is_reported_not_failed() -> None:
    """Getting faster is an improvement."""
    rng = np.random.default_rng(3)
    result = compare(sample_set(QUIET.run(rng)), sample_set(QUIET.run(rng, -0.3)), noise=0.0)
    assert result.passed
    assert result.comparisons[0].verdict is Change.IMPROVEMENT


def test_higher_is_better_direction() -> None:
    """For throughput a drop regresses and a rise does not."""
    base = Baseline(metrics={"rps": Metric(name="rps", median=1000.0, direction=Better.HIGHER)})
    worse = Baseline(metrics={"rps": Metric(name="rps", median=800.0, direction=Better.HIGHER)})
    better = Baseline(metrics={"rps": Metric(name="rps", median=1300.0, direction=Better.HIGHER)})
    assert not compare(base, worse, noise=0.0).passed
    assert compare(base, better, noise=0.0).passed


def test_signed_rule_overrides_direction() -> None:
    """'-10%' judges a metric as higher-is-better whatever its default."""
    base = Baseline(metrics={"x": Metric(name="x", median=10.0)})
    cur = Baseline(metrics={"x": Metric(name="x", median=8.0)})
    assert compare(base, cur, noise=0.0).passed
    assert not compare(base, cur, [Rule.parse("x:-10%")], noise=0.0).passed


def test_absolute_threshold() -> None:
    """'+0.01' on an error rate that goes from 0 to 0.02 regresses; relative rules cannot express it."""
    base = Baseline(metrics={"error_rate": Metric(name="error_rate", median=0.0)})
    cur = Baseline(metrics={"error_rate": Metric(name="error_rate", median=0.02)})
    result = compare(base, cur, [Rule.parse("error_rate:+0.01")], noise=0.0)
    assert result.regressions[0].change == pytest.approx(0.02)


def test_every_matching_rule_is_checked() -> None:
    """Several expressions all apply; the strictest matching one fails the metric."""
    base = Baseline(metrics={"a": Metric(name="a", median=1.0), "b": Metric(name="b", median=1.0)})
    cur = Baseline(metrics={"a": Metric(name="a", median=1.07), "b": Metric(name="b", median=1.07)})
    result = compare(base, cur, [Rule.parse("*:10%"), Rule.parse("b:5%")], noise=0.0)
    assert [c.name for c in result.regressions] == ["b"]


def test_summary_only_metrics_use_the_conservative_rule() -> None:
    """Without samples the gate falls back to the summary rule, and says so."""
    base = Baseline(metrics={"t": Metric(name="t", median=1.0, iqr=0.02, count=50, unit="s")})
    cur = Baseline(metrics={"t": Metric(name="t", median=1.3, iqr=0.02, count=50, unit="s")})
    (c,) = compare(base, cur, noise=0.0).comparisons
    assert c.method == "summary"
    assert c.verdict is Change.REGRESSION


def test_no_common_metric_is_a_usage_error() -> None:
    """Mismatched result sets fail with both sides' names."""
    with pytest.raises(InvalidConfig, match=r"no metric in common.*bench.*other"):
        compare(sample_set([1.0, 2.0]), sample_set([1.0, 2.0], name="other"))


def test_unit_mismatch_is_a_usage_error() -> None:
    """Seconds cannot be compared with requests."""
    a = Baseline(metrics={"x": Metric(name="x", median=1.0, unit="s")})
    b = Baseline(metrics={"x": Metric(name="x", median=1.0, unit="req")})
    with pytest.raises(InvalidConfig, match="cannot be compared"):
        compare(a, b)


def test_missing_metrics_fail_unless_allowed_and_new_ones_are_listed() -> None:
    """A baseline metric the current results lack fails the gate; a new metric is only listed."""
    a = Baseline(metrics={"x": Metric(name="x", median=1.0), "gone": Metric(name="gone", median=1.0)})
    b = Baseline(metrics={"x": Metric(name="x", median=1.0), "fresh": Metric(name="fresh", median=1.0)})
    result = compare(a, b)
    assert (result.missing, result.new) == (("gone",), ("fresh",))
    assert (result.passed, result.exit_code) == (False, 1)
    text = gate_markdown(result)
    assert text.startswith("### ❌ Gate failed: 1 missing from the current results")
    assert "`gone`" in text
    assert "`fresh`" in text
    assert compare(a, b, allow_missing=True).passed


@pytest.mark.parametrize("text", ["", "abc", "10%%", "x:", "*:ten", "-", "1e999%"])
def test_bad_rule_expressions(text: str) -> None:
    """Bad expressions are usage errors quoting the expression."""
    with pytest.raises(InvalidConfig):
        Rule.parse(text)


def test_rule_parses_pytest_node_ids() -> None:
    """The last colon splits pattern and threshold, so '::' in node ids survives."""
    rule = Rule.parse("tests/b.py::test_x*:+5%")
    assert rule.pattern == "tests/b.py::test_x*"
    assert rule.threshold == pytest.approx(0.05)
    assert rule.matches("tests/b.py::test_x[1]")


def test_bad_alpha() -> None:
    """alpha outside (0, 0.5) is refused."""
    with pytest.raises(InvalidConfig, match="alpha"):
        compare(sample_set([1.0]), sample_set([1.0]), alpha=0.7)


def test_markdown_leads_with_regressions() -> None:
    """The Markdown summary says it failed and lists the regression first."""
    base = Baseline(metrics={"a": Metric(name="a", median=1.0), "z": Metric(name="z", median=1.0)})
    cur = Baseline(metrics={"a": Metric(name="a", median=1.0), "z": Metric(name="z", median=2.0)})
    text = gate_markdown(compare(base, cur, noise=0.0))
    assert text.startswith("### ❌ Gate failed: 1 of 2 metrics regressed")
    rows = [line for line in text.splitlines() if line.startswith(("| a", "| z"))]
    assert rows[0].startswith("| z")


def test_a_duration_rule_converts_to_the_metric_unit() -> None:
    """'p99:+2ms' judges a metric in seconds or in milliseconds alike: a 3 ms increase regresses."""
    for unit, scale in (("s", 1.0), ("ms", 1000.0)):
        base = Baseline(metrics={"p99": Metric(name="p99", median=0.010 * scale, unit=unit)})
        cur = Baseline(metrics={"p99": Metric(name="p99", median=0.013 * scale, unit=unit)})
        assert not compare(base, cur, [Rule.parse("p99:+2ms")], noise=0.0).passed
        assert compare(base, cur, [Rule.parse("p99:+5ms")], noise=0.0).passed
    assert Rule.parse("p99:+2ms").describe() == "+0.002s"


def test_a_bare_absolute_rule_on_a_time_metric_is_refused_with_the_fix() -> None:
    """'+0.002' on a metric measured in seconds is ambiguous; the error shows how to write it."""
    base = Baseline(metrics={"p99": Metric(name="p99", median=0.010, unit="s")})
    with pytest.raises(InvalidConfig, match=r"0.002 has no unit; write 0.002s \(or 2ms\), or a percentage"):
        compare(base, base, [Rule.parse("p99:+0.002")])
    rate = Baseline(metrics={"error_rate": Metric(name="error_rate", median=0.01)})
    with pytest.raises(InvalidConfig, match="is a duration but metric 'error_rate' is in no unit"):
        compare(rate, rate, [Rule.parse("error_rate:+2ms")])
