"""Scenario faults applied to simulated requests, vectorised over a window's arrivals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from harness.journal import Event
from harness.scenario.model import FaultSpec, ScenarioFaultKind

__all__ = ["FaultEffects", "ended_by", "fault_timeline"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_FAILING = {ScenarioFaultKind.OUTAGE, ScenarioFaultKind.ERRORS, ScenarioFaultKind.BROWNOUT}
_SLOWING = {ScenarioFaultKind.LATENCY, ScenarioFaultKind.BROWNOUT}


@dataclass(frozen=True, slots=True)
class FaultEffects:
    """The faults that reach one version's requests (its own, and its unprotected dependencies')."""

    faults: tuple[FaultSpec, ...] = ()

    def apply(
        self, arrivals: FloatArray, latencies: FloatArray, errors: BoolArray, rng: np.random.Generator
    ) -> tuple[FloatArray, BoolArray]:
        """Fail and slow the requests that arrive inside a fault window."""
        for fault in self.faults:
            inside = (arrivals >= fault.at) & (arrivals < fault.at + fault.duration)
            if not inside.any():
                continue
            hit = inside & (rng.random(arrivals.size) < fault.rate) if fault.rate < 1.0 else inside
            if fault.kind in _FAILING:
                errors = errors | hit
            if fault.kind in _SLOWING:
                slowed = inside if fault.kind is ScenarioFaultKind.BROWNOUT else hit
                latencies = latencies + slowed * fault.latency
        return latencies, errors

    def corrupting(self, arrivals: FloatArray) -> BoolArray:
        """Which requests fall inside a ``corrupt`` window."""
        mask = np.zeros(arrivals.size, dtype=bool)
        for fault in self.faults:
            if fault.kind is ScenarioFaultKind.CORRUPT:
                mask |= (arrivals >= fault.at) & (arrivals < fault.at + fault.duration)
        return mask

    def failure_probability(self, t: float) -> float:
        """The chance that a call at ``t`` fails (for per-request dependency simulation)."""
        p_ok = 1.0
        for fault in self.faults:
            if fault.kind in _FAILING and fault.at <= t < fault.at + fault.duration:
                p_ok *= 1.0 - fault.rate
        return 1.0 - p_ok

    def added_latency(self, t: float) -> float:
        """Seconds the active latency faults add to a call at ``t``."""
        return sum(f.latency for f in self.faults if f.kind in _SLOWING and f.at <= t < f.at + f.duration)


def ended_by(faults: Sequence[FaultSpec], t: float) -> tuple[FaultSpec, ...]:
    """``faults`` cut short so that none lasts beyond ``t`` (the ones starting later never start)."""
    return tuple(f.model_copy(update={"duration": max(0.0, min(f.duration, t - f.at))}) for f in faults)


def fault_timeline(faults: Sequence[FaultSpec], duration: float) -> list[Event]:
    """``fault.on``/``fault.off`` journal events for the scenario's fault windows."""
    events: list[Event] = []
    for index, f in enumerate(faults):
        data = {
            "index": index,
            "kind": f.kind.value,
            "target": f.target,
            "rate": f.rate,
            "latency": f.latency,
        }
        events.append(Event(t=f.at, kind="fault.on", source=f"faults/{f.target}", data=data))
        events.append(
            Event(
                t=min(f.at + f.duration, duration), kind="fault.off", source=f"faults/{f.target}", data=data
            )
        )
    events.sort(key=lambda e: (e.t, e.kind == "fault.on", e.data["index"]))
    return events
