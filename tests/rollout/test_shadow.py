"""Shadow comparison with noise cancellation."""

import numpy as np
import pytest

from harness.errors import InvalidConfig
from harness.rollout import Action, Exchange, Outcome, ShadowConfig, ShadowFlow, Window
from harness.rollout.shadow import flatten


def _exchanges(rng: np.random.Generator, n: int, *, bug_rate: float = 0.0) -> list[Exchange]:
    out = []
    for i in range(n):
        price = float(rng.integers(1, 100))

        def resp(noisy: bool, buggy: bool, price: float = price, i: int = i) -> dict[str, object]:
            return {
                "id": i,
                "ts": float(rng.integers(0, 1_000_000))
                if noisy
                else 0.0,  # timestamp noise on every instance
                "price": price * (1.10 if buggy else 1.0) + (1e-9 if noisy else 0.0),
                "items": [{"sku": "a", "qty": 1}],
                "flaky": int(rng.random() < 0.3) if noisy else 0,
            }

        out.append(
            Exchange(
                primary=resp(True, False),
                secondary=resp(True, False),
                candidate=resp(True, rng.random() < bug_rate),
                request_id=str(i),
            )
        )
    return out


def _run(flow: ShadowFlow, rng: np.random.Generator, bug_rate: float) -> ShadowFlow:
    for w in range(flow.config.windows):
        flow.observe(
            Window(start=10.0 * w, end=10.0 * w + 10, exchanges=_exchanges(rng, 100, bug_rate=bug_rate))
        )
    return flow


def test_noise_fields_are_cancelled_and_a_clean_candidate_passes() -> None:
    """Timestamps and flaky fields differ everywhere, as much as between two primaries: no regression."""
    flow = _run(
        ShadowFlow(ShadowConfig(primary="v1", candidate="v2", absolute_tolerance=1e-6)),
        np.random.default_rng(1),
        bug_rate=0.0,
    )
    assert flow.outcome is Outcome.PASSED
    report = {r.field: r for r in flow.report()}
    assert report["ts"].candidate_rate > 0.9
    assert report["ts"].noise_rate > 0.9
    assert not report["ts"].regression
    assert report["price"].candidate_diffs == 0
    assert report["items[].sku"].exchanges == 600


def test_a_real_field_regression_is_rejected_with_its_field_named() -> None:
    """A price bug in 5% of responses is a regression in 'price' only."""
    flow = _run(
        ShadowFlow(ShadowConfig(primary="v1", candidate="v2", absolute_tolerance=1e-6)),
        np.random.default_rng(2),
        bug_rate=0.05,
    )
    assert flow.outcome is Outcome.REJECTED
    final = flow.observe(Window(start=0, end=1))
    assert final.action is Action.ABORT
    assert final.terminal
    assert [r.metric for r in final.failed] == ["price"]
    assert dict(final.weights) == {"v1": 100.0, "v2": 0.0}
    assert [r.field for r in flow.report() if r.regression] == ["price"]


def test_without_tolerance_tiny_float_noise_is_still_cancelled() -> None:
    """Exact comparison sees the 1e-9 wobble on every response, but it is noise on both sides."""
    flow = _run(
        ShadowFlow(ShadowConfig(primary="v1", candidate="v2")), np.random.default_rng(3), bug_rate=0.0
    )
    assert flow.outcome is Outcome.PASSED


def test_ignore_rules_and_waiting_for_enough_exchanges() -> None:
    """Ignored fields are not reported; too few exchanges keep the flow running."""
    flow = ShadowFlow(
        ShadowConfig(primary="v1", candidate="v2", ignore=("ts", "items*"), windows=1, min_exchanges=500)
    )
    d = flow.observe(Window(start=0, end=10, exchanges=_exchanges(np.random.default_rng(4), 50)))
    assert d.action is Action.CONTINUE
    assert any(r.statistic == "exchanges" for r in d.reasons)
    fields = {r.field for r in flow.report()}
    assert "ts" not in fields
    assert not any(f.startswith("items") for f in fields)


def test_flatten_paths() -> None:
    """Nested dicts and lists flatten to dotted paths with list lengths."""
    assert dict(flatten({"a": {"b": 1}, "c": [1, 2], "d": {}})) == {
        "a.b": 1,
        "c.length": 2,
        "c[0]": 1,
        "c[1]": 2,
        "d": {},
    }
    assert dict(flatten(5)) == {"$": 5}


def test_type_changes_count_as_differences() -> None:
    """1 vs 1.0 vs True are different values for a shadow comparison."""
    flow = ShadowFlow(
        ShadowConfig(primary="a", candidate="b", windows=1, min_exchanges=1, min_difference=0.0)
    )
    for _ in range(30):
        flow.add(Exchange(primary={"x": 1}, secondary={"x": 1}, candidate={"x": True}))
    assert flow.report()[0].candidate_diffs == 30
    assert flow.observe(Window(start=0, end=1)).action is Action.ABORT


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"candidate": "v1"}, "two different"),
        ({"alpha": 0.7}, "alpha"),
        ({"relative_tolerance": -1}, "tolerance"),
        ({"min_difference": 1.5}, "min_difference"),
        ({"windows": 0}, "windows"),
    ],
)
def test_bad_configuration(kwargs: dict[str, object], match: str) -> None:
    """Bad settings name the field."""
    base: dict[str, object] = {"primary": "v1", "candidate": "v2"}
    base.update(kwargs)
    with pytest.raises(InvalidConfig, match=match):
        ShadowConfig(**base)  # type: ignore[arg-type]


def test_a_difference_on_top_of_noise_in_the_same_exchanges_is_caught_by_the_paired_test() -> None:
    """Noise in 30% of exchanges and the candidate also in 3% more: only the paired counts see it.

    Unpaired, 33% against 30% of 600 is within noise (z = 1.1); paired, 18 exchanges where only the
    candidate differs and none where only the secondary does is far beyond the 1% margin.
    """
    flow = ShadowFlow(ShadowConfig(primary="a", candidate="b", windows=1, min_exchanges=1))
    for i in range(600):
        noisy = i % 10 < 3
        extra = i % 100 in (5, 6, 7)
        flow.add(
            Exchange(
                primary={"x": 0},
                secondary={"x": 1 if noisy else 0},
                candidate={"x": 1 if noisy or extra else 0},
            )
        )
    (report,) = flow.report()
    assert (report.candidate_diffs, report.noise_diffs) == (198, 180)
    assert (report.candidate_only, report.noise_only) == (18, 0)
    assert report.regression


def test_a_candidate_inside_the_margin_is_not_a_regression() -> None:
    """Half a percent of extra differences with a 1% margin: not a regression, however many exchanges."""
    flow = ShadowFlow(ShadowConfig(primary="a", candidate="b", windows=1, min_exchanges=1))
    for i in range(20_000):
        flow.add(Exchange(primary={"x": 0}, secondary={"x": 0}, candidate={"x": int(i % 200 == 0)}))
    (report,) = flow.report()
    assert report.candidate_only == 100
    assert not report.regression
