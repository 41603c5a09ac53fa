"""Profiles: validation, cumulative curves, arrival schedules and serialisation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import InvalidConfig
from harness.load import (
    ArrivalProcess,
    ConstantArrival,
    DiurnalLoad,
    Profile,
    RampLoad,
    SequenceLoad,
    SoakLoad,
    SpikeLoad,
    StepLoad,
    arrival_times,
    profile_from_dict,
    profile_to_dict,
)

PROFILES: list[Profile] = [
    ConstantArrival(rate=200, duration=3),
    RampLoad(start_rate=0, end_rate=400, duration=2),
    RampLoad(start_rate=300, end_rate=50, duration=2),
    StepLoad(start_rate=100, step=100, step_duration=0.5, steps=4),
    StepLoad(start_rate=400, step=-100, step_duration=0.5, steps=4),
    SpikeLoad(base_rate=50, spike_rate=500, duration=3, spike_at=1, spike_for=0.5),
    SoakLoad(rate=250, duration=4, ramp_up=1),
    SoakLoad(rate=250, duration=4),
    DiurnalLoad(min_rate=20, peak_rate=300, duration=4, peak_at=0.25),
    ConstantArrival(rate=100, duration=1).then(RampLoad(start_rate=100, end_rate=300, duration=1)),
]


def _integral(profile: Profile, t: float, n: int = 4_000) -> float:
    xs = (np.arange(n) + 0.5) * (t / n)
    return float(sum(profile.rate_at(float(x)) for x in xs) * t / n)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: type(p).__name__)
def test_cumulative_is_the_integral_of_the_rate(profile: Profile) -> None:
    """cumulative(t) matches a numeric integral of rate_at over [0, t]."""
    for frac in (0.13, 0.5, 0.77, 1.0):
        t = profile.duration * frac
        expected = _integral(profile, t)
        assert float(profile.cumulative(np.array([t]))[0]) == pytest.approx(expected, rel=2e-3, abs=0.5)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: type(p).__name__)
def test_uniform_arrivals_follow_the_curve_in_every_window(profile: Profile) -> None:
    """Each 100 ms window holds the integral of the rate over it, within one request per boundary."""
    times = np.concatenate(list(arrival_times(profile)))
    assert np.all(np.diff(times) >= 0)
    assert times[0] >= 0
    assert times[-1] < profile.duration
    edges = np.arange(0, profile.duration + 1e-9, 0.1)
    counts, _ = np.histogram(times, bins=edges)
    expected = np.diff(profile.cumulative(edges))
    assert np.max(np.abs(counts - expected)) <= 1.0 + 1e-6
    total = float(profile.cumulative(np.array([profile.duration]))[0])
    assert abs(len(times) - total) <= 1.0


def test_poisson_arrivals_replay_from_the_seed_and_match_the_rate() -> None:
    """Poisson arrivals are reproducible from the seed and average to the profile's rate."""
    profile = ConstantArrival(rate=1000, duration=5)

    def draw(seed: int) -> np.ndarray:
        return np.concatenate(
            list(arrival_times(profile, process=ArrivalProcess.POISSON, rng=np.random.default_rng(seed)))
        )

    first, again, other = draw(7), draw(7), draw(8)
    assert np.array_equal(first, again)
    assert not np.array_equal(first[:100], other[:100])
    assert len(first) == pytest.approx(5000, rel=0.05)
    gaps = np.diff(first)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, rel=0.1)  # exponential gaps: CV 1


def test_poisson_without_rng_is_refused() -> None:
    """A Poisson schedule without a seeded generator fails with a message naming rng=."""
    with pytest.raises(InvalidConfig, match="rng="):
        next(arrival_times(ConstantArrival(rate=1, duration=1), process=ArrivalProcess.POISSON))


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: ConstantArrival(rate=-5, duration=1), r"rate=-5 must be > 0"),
        (lambda: ConstantArrival(rate=0, duration=1), r"rate=0 must be > 0"),
        (lambda: ConstantArrival(rate=10, duration=0), r"duration=0 must be a positive finite number"),
        (lambda: ConstantArrival(rate=float("nan"), duration=1), r"rate=nan must be a finite number"),
        (lambda: RampLoad(start_rate=10, end_rate=10, duration=5), r"goes nowhere"),
        (lambda: RampLoad(start_rate=-1, end_rate=10, duration=5), r"start_rate=-1"),
        (lambda: StepLoad(start_rate=10, step=0, step_duration=1, steps=3), r"step=0"),
        (lambda: StepLoad(start_rate=10, step=5, step_duration=1, steps=1), r"steps=1"),
        (lambda: StepLoad(start_rate=10, step=-10, step_duration=1, steps=3), r"ends at -10"),
        (lambda: SpikeLoad(base_rate=10, spike_rate=5, duration=5, spike_at=1, spike_for=1), r"must exceed"),
        (
            lambda: SpikeLoad(base_rate=1, spike_rate=5, duration=5, spike_at=4, spike_for=2),
            r"after duration",
        ),
        (lambda: SoakLoad(rate=10, duration=5, ramp_up=5), r"ramp_up=5"),
        (lambda: DiurnalLoad(min_rate=10, peak_rate=10, duration=5), r"flat day"),
        (lambda: DiurnalLoad(min_rate=1, peak_rate=10, duration=5, peak_at=2), r"peak_at=2"),
    ],
)
def test_bad_profiles_fail_at_construction_with_the_value(build, match: str) -> None:  # type: ignore[no-untyped-def]
    """Every bad profile raises InvalidConfig quoting the value and the fix."""
    with pytest.raises(InvalidConfig, match=match):
        build()


def test_sequences_flatten_and_add_durations() -> None:
    """a.then(b) + c is one flat sequence whose rate switches at the boundaries."""
    a = ConstantArrival(rate=10, duration=1)
    b = RampLoad(start_rate=10, end_rate=30, duration=2)
    c = SpikeLoad(base_rate=5, spike_rate=50, duration=1, spike_at=0.5, spike_for=0.25)
    seq = a.then(b) + c
    assert isinstance(seq, SequenceLoad)
    assert seq.parts == (a, b, c)
    assert seq.duration == 4
    assert seq.rate_at(0.5) == 10
    assert seq.rate_at(2.0) == pytest.approx(20)
    assert seq.rate_at(3.6) == 50
    assert seq.rate_at(4.0) == 0


def test_sequence_rejects_non_profiles() -> None:
    """Composing with something that is not a profile names the valid kinds."""
    with pytest.raises(InvalidConfig, match="not a load profile"):
        SequenceLoad(parts=(ConstantArrival(rate=1, duration=1), "fast"))  # type: ignore[arg-type]


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: type(p).__name__)
def test_profiles_round_trip_through_dicts(profile: Profile) -> None:
    """profile_from_dict(profile_to_dict(p)) == p, so profiles cross processes and scenario files."""
    assert profile_from_dict(profile_to_dict(profile)) == profile


def test_unknown_kind_lists_the_valid_kinds() -> None:
    """A bad kind names every valid one; bad fields name the valid fields."""
    with pytest.raises(InvalidConfig, match="valid: constant, diurnal, ramp, sequence, soak, spike, step"):
        profile_from_dict({"kind": "burst"})
    with pytest.raises(InvalidConfig, match="valid fields: rate, duration"):
        profile_from_dict({"kind": "constant", "rate": 1, "duration": "1s", "rps": 3})


def test_profile_files_write_durations_with_a_unit() -> None:
    """In a profile mapping a duration carries its unit; a bare number is refused naming the field."""
    assert profile_to_dict(ConstantArrival(rate=5, duration=30)) == {
        "kind": "constant",
        "rate": 5,
        "duration": "30s",
    }
    step = {"kind": "step", "start_rate": 1, "step": 1, "step_duration": "500ms", "steps": 2}
    assert profile_from_dict(step) == StepLoad(start_rate=1, step=1, step_duration=0.5, steps=2)
    nested = {"kind": "sequence", "parts": [step, {"kind": "constant", "rate": 1, "duration": 30}]}
    with pytest.raises(
        InvalidConfig, match=r"^profile.parts\[1\].duration: 30 has no unit; write 30s \(or 30000ms\)$"
    ):
        profile_from_dict(nested)


def test_users_at_covers_the_rate() -> None:
    """The Locust user count is the smallest that can carry the rate at user_rate each."""
    ramp = RampLoad(start_rate=0, end_rate=100, duration=10)
    assert ramp.users_at(0.0, 10) == 0
    assert ramp.users_at(5.0, 10) == 5
    assert ramp.users_at(5.01, 10) == 6


@settings(max_examples=60, deadline=None)
@given(
    start=st.floats(0, 500),
    end=st.floats(0, 500),
    duration=st.floats(0.1, 10),
)
def test_ramp_arrival_count_matches_its_area(start: float, end: float, duration: float) -> None:
    """Any ramp sends (start + end) / 2 * duration requests, within one."""
    if math.isclose(start, end) or start == end:
        return
    ramp = RampLoad(start_rate=start, end_rate=end, duration=duration)
    times = np.concatenate([np.empty(0), *arrival_times(ramp)])
    assert abs(len(times) - (start + end) / 2 * duration) <= 1.0 + 1e-6
