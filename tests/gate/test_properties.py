"""Properties of compare(): invariance to units and symmetry between the two sides."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from harness.gate import Change, Rule, compare
from tests.gate.factories import sample_set

samples = st.lists(st.floats(min_value=0.5, max_value=2.0), min_size=2, max_size=40)
rules = st.sampled_from(["5%", "10%", "+20%", "1%"])
OPPOSITE = {
    Change.REGRESSION: Change.IMPROVEMENT,
    Change.IMPROVEMENT: Change.REGRESSION,
    Change.INCONCLUSIVE: Change.INCONCLUSIVE,
}


@settings(max_examples=60, deadline=None)
@given(samples, samples, st.floats(min_value=1e-6, max_value=1e3), rules)
def test_verdict_does_not_depend_on_the_unit(a: list[float], b: list[float], scale: float, rule: str) -> None:
    """Milliseconds or seconds: a relative rule gives the same verdict."""
    plain = compare(sample_set(a), sample_set(b), [Rule.parse(rule)]).comparisons[0]
    # Rounding may move a value that sits exactly on a boundary; those cases say nothing.
    assume(abs(abs(plain.change) - plain.rule.threshold) > 1e-9)
    assume(min(abs(plain.low), abs(plain.high)) > 1e-9)
    scaled = compare(
        sample_set([v * scale for v in a]), sample_set([v * scale for v in b]), [Rule.parse(rule)]
    )
    assert scaled.comparisons[0].verdict is plain.verdict


@settings(max_examples=60, deadline=None)
@given(samples, samples)
def test_swapping_sides_never_turns_an_improvement_into_nothing_worse(a: list[float], b: list[float]) -> None:
    """An absolute-threshold regression from a to b is an improvement from b to a (and a change one
    run per side cannot decide is undecided both ways)."""
    rule = [Rule.parse("50ms")]
    forward = compare(sample_set(a), sample_set(b), rule).comparisons[0]
    backward = compare(sample_set(b), sample_set(a), rule).comparisons[0]
    assert backward.verdict is OPPOSITE.get(forward.verdict, Change.UNCHANGED)


@settings(max_examples=40, deadline=None)
@given(samples)
def test_identical_results_never_regress(a: list[float]) -> None:
    """A result compared with itself is unchanged under any rule."""
    for rule in ("0%", "1%", "+0s"):
        assert compare(sample_set(a), sample_set(a), [Rule.parse(rule)]).passed
