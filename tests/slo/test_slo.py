"""SLOs, error budgets and multi-window burn-rate alerts."""

import numpy as np
import pytest

from harness import slo
from harness.errors import InvalidConfig
from harness.slo import (
    DEFAULT_BURN_RULES,
    SLO,
    BurnRateAlerter,
    BurnRateRule,
    ErrorBudget,
    SLOKind,
    SLOViolated,
)


def test_public_names_are_sorted_and_resolve() -> None:
    """harness.slo.__all__ is sorted (ruff's order: CONSTANTS, Classes, functions) and complete."""
    kinds = [0 if n.isupper() else 1 if n[0].isupper() else 2 for n in slo.__all__]
    assert list(slo.__all__) == sorted(slo.__all__, key=lambda n: (kinds[slo.__all__.index(n)], n))
    for name in slo.__all__:
        assert getattr(slo, name) is not None


def test_status_and_budget_remaining() -> None:
    """99.9% objective: 0.05% errors spends half the budget; 0.2% overspends and raises."""
    s = SLO(name="checkout", objective=0.999)
    assert s.error_budget == pytest.approx(0.001)
    st = s.status(good=9995, total=10_000)
    assert st.met
    assert st.budget_remaining == pytest.approx(0.5)
    assert s.status(good=0, total=0).met
    with pytest.raises(SLOViolated, match="checkout") as info:
        s.check(good=9980, total=10_000)
    assert info.value.observed == pytest.approx(0.998)
    assert info.value.limit == 0.999


def test_latency_slo_counts_slow_requests_as_bad() -> None:
    """A latency SLO adds the slow share of a latency sample, scaled to the request count."""
    s = SLO(name="p99", objective=0.99, kind="latency", latency_threshold=0.3)
    assert s.kind is SLOKind.LATENCY
    lat = np.array([0.1] * 90 + [0.5] * 10)
    assert s.bad_events(requests=1000, errors=0, latencies=lat) == pytest.approx(100.0)
    assert s.bad_events(requests=1000, errors=10, latencies=lat) == pytest.approx(10 + 99.0)
    assert s.bad_events(requests=10, errors=2, latencies=[]) == 2.0
    assert SLO(name="e", objective=0.9).bad_events(requests=10, errors=3, latencies=lat) == 3.0


def test_error_budget_windows() -> None:
    """Trailing windows sum only observations inside them; remaining budget uses the SLO window."""
    budget = ErrorBudget(SLO(name="api", objective=0.99, window=100.0))
    for t in range(0, 200, 10):
        budget.record(float(t), bad=1.0 if t < 100 else 0.0, total=100.0)
    assert budget.error_rate(95.0, 50.0) == pytest.approx(0.01)
    assert budget.burn_rate(95.0, 50.0) == pytest.approx(1.0)
    assert budget.error_rate(190.0, 50.0) == 0.0
    assert budget.remaining(190.0) == pytest.approx(1.0)
    assert budget.remaining(99.0) == pytest.approx(0.0)
    assert budget.error_rate(1000.0, 10.0) == 0.0
    with pytest.raises(InvalidConfig, match="time order"):
        budget.record(5.0, bad=0, total=1)
    with pytest.raises(InvalidConfig, match="bad <= total"):
        budget.record(500.0, bad=3, total=1)


def test_fast_burn_pages_and_stops_soon_after() -> None:
    """A 20x burn pages once the 1h window reaches 14.4x (after 43 min) and clears within 5 min of its end."""
    s = SLO(name="api", objective=0.999)
    budget = ErrorBudget(s)
    alerter = BurnRateAlerter(budget)
    minute = 60.0
    fired_at = cleared_at = None
    for i in range(1, 181):
        t = i * minute
        burning = 60 <= i < 120
        budget.record(t, bad=20.0 if burning else 0.0, total=1000.0)
        page = any(a.rule is DEFAULT_BURN_RULES[0] for a in alerter.firing(t))
        if page and fired_at is None:
            fired_at = i
        if fired_at is not None and not page and cleared_at is None:
            cleared_at = i
    assert fired_at is not None
    assert cleared_at is not None
    assert fired_at == 60 + 43  # 44 burning minutes * 20 / 60 = 14.67 >= 14.4
    assert 120 <= cleared_at <= 126
    states = alerter.evaluate(119 * minute)
    assert states[0].long_burn == pytest.approx(20.0)
    assert states[0].firing


def test_slow_burn_fires_only_the_slow_rules() -> None:
    """A steady 2x burn over three days never pages but raises the 3-day ticket."""
    budget = ErrorBudget(SLO(name="api", objective=0.999))
    alerter = BurnRateAlerter(budget)
    for i in range(1, 3 * 24 + 1):
        budget.record(i * 3600.0, bad=2.0, total=1000.0)
    firing = alerter.firing(72 * 3600.0)
    assert [a.rule.severity.value for a in firing] == ["ticket"]
    assert firing[0].rule.long_window == 3 * 24 * 3600.0


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: SLO(name="x", objective=99.9), "fraction"),
        (lambda: SLO(name="x", objective=0.9, kind="latency"), "latency_threshold"),
        (lambda: SLO(name="x", objective=0.9, kind="speed"), "valid: error_rate, latency"),
        (lambda: SLO(name="x", objective=0.9, window=0), "window"),
        (lambda: BurnRateRule(long_window=300, short_window=3600, burn_rate=14.4), "short_window"),
        (lambda: BurnRateRule(long_window=3600, short_window=300, burn_rate=0), "burn_rate"),
        (lambda: BurnRateAlerter(ErrorBudget(SLO(name="x", objective=0.9)), rules=()), "rules"),
        (lambda: SLO(name="x", objective=0.9).status(good=5, total=4), "good <= total"),
    ],
)
def test_bad_configuration(build: object, match: str) -> None:
    """Bad values fail where they were written, naming the field."""
    with pytest.raises(InvalidConfig, match=match):
        build()  # type: ignore[operator]


def test_ledger_forgets_observations_older_than_the_slo_window() -> None:
    """A long run keeps only about one SLO window of observations, and the answers do not change."""
    budget = ErrorBudget(SLO(name="api", objective=0.99, window=100.0))
    for t in range(10_000):
        budget.record(float(t), bad=float(t % 2), total=10.0)
    assert len(budget._t) <= 2 * 101 + 1
    assert budget.error_rate(9999.0, 100.0) == pytest.approx(0.05)
    assert budget.remaining(9999.0) == pytest.approx(1 - 0.05 / 0.01)


def test_latency_percentile_shorthand() -> None:
    """SLO.latency_percentile builds a 'p99 under 300 ms' objective."""
    s = SLO.latency_percentile("p99", percentile=99, threshold=0.3)
    assert (s.objective, s.kind, s.latency_threshold) == (0.99, SLOKind.LATENCY, 0.3)
