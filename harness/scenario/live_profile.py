"""The scenario's traffic shape as a load profile for the open-model driver (live mode)."""

from __future__ import annotations

from harness.load import ConstantArrival, DiurnalLoad, Profile, RampLoad, SpikeLoad
from harness.scenario.model import TrafficSpec

__all__ = ["traffic_profile"]


def traffic_profile(traffic: TrafficSpec, duration: float) -> Profile:
    """``traffic`` over ``duration`` seconds as a :class:`~harness.load.Profile` (same rate at every t).

    constant: :class:`~harness.load.ConstantArrival`; ramp: :class:`~harness.load.RampLoad` from
    ``rate`` to ``peak``; step: ``rate`` until ``at``, then ``peak``; spike: ``peak`` during
    ``[at, at + length)``; diurnal: a cosine from ``rate`` up to ``peak`` at mid-run.
    """
    rate = traffic.rate
    peak = traffic.peak if traffic.peak is not None else rate
    kind = traffic.profile
    if kind == "ramp" and peak != rate:
        return RampLoad(start_rate=rate, end_rate=peak, duration=duration)
    if kind == "step" and 0 < traffic.at < duration and peak != rate:
        return ConstantArrival(rate=rate, duration=traffic.at) + ConstantArrival(
            rate=peak, duration=duration - traffic.at
        )
    if kind == "spike" and traffic.at < duration and traffic.length > 0 and peak != rate:
        length = min(traffic.length, duration - traffic.at)
        return SpikeLoad(
            base_rate=rate, spike_rate=peak, duration=duration, spike_at=traffic.at, spike_for=length
        )
    if kind == "diurnal" and peak != rate:
        low, high = min(rate, peak), max(rate, peak)
        return DiurnalLoad(min_rate=low, peak_rate=high, duration=duration, peak_at=0.5)
    return ConstantArrival(rate=traffic.rate_at(0.0, duration), duration=duration)
