"""Scenario faults carried out live by fault proxies: which proxies a fault reaches, which toxics.

A fault on a dependency acts in the proxies between the groups it names and that dependency; a
fault on an HTTP version acts in the proxy in front of that version for the groups it names.
:func:`toxics_for` is the pure mapping from a fault to Toxiproxy toxics (an outage instead takes
the proxy down: connections are refused and open ones dropped). :class:`LiveFaults` switches
faults on and off, journals every proxy change at the fault's scheduled time (so two runs with
one seed journal the same changes), and clears everything when the flow aborts; faults due after
that are skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from types import MappingProxyType

from harness.faults import FaultProxy, Toxic
from harness.journal import Journal
from harness.scenario.model import FaultSpec, Scenario, ScenarioFaultKind

__all__ = ["SLICER", "LiveFaults", "toxics_for"]

SLICER: Mapping[str, int] = MappingProxyType({"average_size": 64, "size_variation": 32, "delay": 1000})
"""The slicer toxic's attributes: ~64-byte pieces, 1 ms (1000 µs, Toxiproxy's unit) apart."""


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def toxics_for(fault: FaultSpec, name: str) -> list[Toxic]:
    """The toxics that carry out ``fault`` (none for an outage: the proxy is taken down instead)."""
    kind, rate = fault.kind, fault.rate
    if kind in (ScenarioFaultKind.LATENCY, ScenarioFaultKind.BROWNOUT):
        toxics = [
            Toxic.make(
                "latency",
                name=f"{name}-latency",
                toxicity=1.0 if kind is ScenarioFaultKind.BROWNOUT else rate,
                latency=_ms(fault.latency),
                jitter=_ms(fault.jitter),
            )
        ]
        if kind is ScenarioFaultKind.BROWNOUT:
            toxics.append(_reset(name, rate))
        return toxics
    if kind in (ScenarioFaultKind.ERRORS, ScenarioFaultKind.RESET):
        return [_reset(name, rate)]
    if kind is ScenarioFaultKind.BANDWIDTH:
        assert fault.bandwidth is not None
        return [Toxic.make("bandwidth", name=f"{name}-bandwidth", toxicity=rate, rate=round(fault.bandwidth))]
    if kind is ScenarioFaultKind.TIMEOUT:
        return [
            Toxic.make(
                "timeout",
                name=f"{name}-timeout",
                stream="upstream",
                toxicity=rate,
                timeout=_ms(fault.timeout),
            )
        ]
    if kind is ScenarioFaultKind.SLICER:
        return [
            Toxic.make(
                "slicer",
                name=f"{name}-slicer",
                toxicity=rate,
                average_size=SLICER["average_size"],
                size_variation=SLICER["size_variation"],
                delay=SLICER["delay"],
            )
        ]
    return []


def _reset(name: str, rate: float) -> Toxic:
    return Toxic.make("reset_peer", name=f"{name}-reset", stream="upstream", toxicity=rate, timeout=0)


class LiveFaults:
    """The scenario's faults on the run's proxies: per (group, dependency) and per group's version."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        dependency_proxies: Mapping[tuple[str, str], FaultProxy],
        version_proxies: Mapping[str, FaultProxy],
        journal: Journal,
    ) -> None:
        self.scenario = scenario
        self.dependency_proxies = dependency_proxies
        self.version_proxies = version_proxies
        self.journal = journal
        self.active: set[int] = set()
        self.cleared = False
        self._down: Counter[str] = Counter()

    def proxies_for(self, fault: FaultSpec) -> list[FaultProxy]:
        """The proxies on the paths ``fault`` names (sorted by name, so changes journal in one order)."""
        groups = self.scenario.live_groups
        named = [g for g in groups if fault.groups is None or g in fault.groups]
        if fault.target in self.scenario.versions:
            found = [
                self.version_proxies[g]
                for g in named
                if groups[g] == fault.target and g in self.version_proxies
            ]
        else:
            found = [
                self.dependency_proxies[(g, fault.target)]
                for g in named
                if (g, fault.target) in self.dependency_proxies
            ]
        return sorted(found, key=lambda p: p.name)

    async def switch(self, index: int, on: bool, t: float) -> None:
        """Turn fault ``index`` on or off at scheduled time ``t`` (after a clear, it stays off)."""
        fault = self.scenario.faults[index]
        if on and self.cleared:
            self.journal.record(
                t, "fault.skipped", f"faults/{fault.target}", index=index, reason="flow aborted"
            )
            return
        if on == (index in self.active):
            return
        for proxy in self.proxies_for(fault):
            if on:
                await self._on(proxy, fault, index, t)
            else:
                await self._off(proxy, fault, index, t)
        if on:
            self.active.add(index)
        else:
            self.active.discard(index)

    async def _on(self, proxy: FaultProxy, fault: FaultSpec, index: int, t: float) -> None:
        if fault.kind is ScenarioFaultKind.OUTAGE:
            self._down[proxy.name] += 1
            if proxy.enabled:
                await proxy.disable()
                self._journal(t, proxy, "disable", index)
            return
        for toxic in toxics_for(fault, f"fault-{index}"):
            proxy.add_toxic(toxic)
            self._journal(t, proxy, "add", index, toxic.to_json())

    async def _off(self, proxy: FaultProxy, fault: FaultSpec, index: int, t: float) -> None:
        if fault.kind is ScenarioFaultKind.OUTAGE:
            self._down[proxy.name] -= 1
            if self._down[proxy.name] <= 0 and not proxy.enabled:
                await proxy.enable()
                self._journal(t, proxy, "enable", index)
            return
        for toxic in toxics_for(fault, f"fault-{index}"):
            if proxy.get_toxic(toxic.name) is not None:
                proxy.remove_toxic(toxic.name)
                self._journal(t, proxy, "remove", index, {"name": toxic.name})

    async def clear(self, t: float, reason: str) -> None:
        """Remove every active fault now; faults due later are skipped."""
        self.cleared = True
        self.journal.record(t, "faults.cleared", "engine", reason=reason, active=sorted(self.active))
        for index in sorted(self.active):
            await self.switch(index, False, t)

    def _journal(self, t: float, proxy: FaultProxy, action: str, index: int, toxic: object = None) -> None:
        self.journal.record(t, "proxy.toxic", f"proxy/{proxy.name}", action=action, fault=index, toxic=toxic)
