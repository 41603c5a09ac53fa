"""What each engine can carry out: a scenario asking the other is refused before the run starts.

:func:`mode_problems` lists, with the location of the field in the file, everything in a valid
scenario that the chosen mode cannot do (a live-only proxy fault in simulated mode, a model
version or a dependency without an address in live mode). The loader turns the first one into
an :class:`~harness.errors.InvalidScenario` with the file's line; the engines check again for
scenarios built in Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from harness.errors import InvalidScenario
from harness.mode import Mode
from harness.scenario.model import LIVE_ONLY_FAULT_KINDS, FaultSpec, Scenario, ScenarioFaultKind

__all__ = ["ModeProblem", "check_mode", "mode_problems"]

Location = tuple[str | int, ...]

_SIMULATED_ONLY = frozenset(
    {ScenarioFaultKind.CORRUPT, ScenarioFaultKind.READONLY, ScenarioFaultKind.OOM, ScenarioFaultKind.DROP}
)
"""Dependency faults only a simulated dependency suffers (the live proxy sees bytes, not commands)."""


@dataclass(frozen=True, slots=True)
class ModeProblem:
    """Something at ``location`` (a field path in the scenario) that the mode cannot carry out."""

    location: Location
    message: str

    @property
    def dotted(self) -> str:
        """The location as ``faults.0.kind``."""
        return ".".join(str(p) for p in self.location)


def mode_problems(scenario: Scenario, mode: Mode) -> list[ModeProblem]:
    """Everything in ``scenario`` that ``mode`` cannot carry out, in file order."""
    checks = _live if mode is Mode.LIVE else _simulated
    return list(checks(scenario))


def check_mode(scenario: Scenario, mode: Mode, *, source: str | None = None) -> None:
    """Raise :class:`~harness.errors.InvalidScenario` for the first thing ``mode`` cannot carry out."""
    problems = mode_problems(scenario, mode)
    if problems:
        first = problems[0]
        raise InvalidScenario(first.message, path=source, location=first.dotted)


def _simulated(scenario: Scenario) -> Iterator[ModeProblem]:
    for name, version in scenario.versions.items():
        if version.http is not None:
            yield ModeProblem(
                ("versions", name, "http"),
                "an HTTP version runs in live mode only; run with --mode live "
                "(simulated mode runs model and callable versions)",
            )
    if scenario.services:
        yield ModeProblem(("services",), "services are started in live mode only; run with --mode live")
    for i, fault in enumerate(scenario.faults):
        if fault.kind not in scenario.simulated_fault_kinds(fault.target):
            yield ModeProblem(
                ("faults", i, "kind"),
                f"a {fault.kind.value} fault on {fault.target!r} is carried out by the live fault proxy "
                "only; run with --mode live"
                + ("" if fault.target in scenario.dependencies else " (or put it on a declared dependency)"),
            )
        if fault.jitter:
            yield ModeProblem(("faults", i, "jitter"), "jitter is a live proxy fault; run with --mode live")


def _live(scenario: Scenario) -> Iterator[ModeProblem]:
    if scenario.live is None:
        yield ModeProblem(
            ("live",),
            f"scenario {scenario.name!r} has no live section; add for example "
            "live: {window: 2s, rate: 200} to run it in live mode (each scenario window then "
            "takes 2 s of real time)",
        )
    for name, version in scenario.versions.items():
        if version.model is not None:
            yield ModeProblem(
                ("versions", name, "model"),
                "a model version runs in simulated mode only; live mode needs callable or http versions",
            )
    if scenario.resilience is not None:
        yield ModeProblem(
            ("resilience",),
            "the resilience block models a dependency in simulated mode; in live mode your service's "
            "own resilience code meets the real dependency",
        )
    for i, fault in enumerate(scenario.faults):
        yield from _live_fault(scenario, i, fault)


def _live_fault(scenario: Scenario, index: int, fault: FaultSpec) -> Iterator[ModeProblem]:
    if fault.target in scenario.versions:
        version = scenario.versions[fault.target]
        if fault.kind is ScenarioFaultKind.CORRUPT and version.http is not None:
            yield ModeProblem(
                ("faults", index, "kind"),
                "a corrupt fault rewrites results in-process; on an HTTP version use errors, latency "
                "or a proxy fault (reset, timeout, bandwidth, slicer)",
            )
        elif fault.kind in LIVE_ONLY_FAULT_KINDS and version.callable is not None:
            yield ModeProblem(
                ("faults", index, "kind"),
                f"a {fault.kind.value} fault acts on connections; version {fault.target!r} is a callable "
                "without one (target an HTTP version or a dependency)",
            )
        return
    dependency = scenario.dependencies.get(fault.target)
    if dependency is None or (dependency.url is None and dependency.service is None):
        yield ModeProblem(
            ("faults", index, "target"),
            f"dependency {fault.target!r} has no address: declare it under dependencies with a url "
            "(attach) or a service (start it) to fault it live",
        )
        return
    if fault.kind in _SIMULATED_ONLY:
        yield ModeProblem(
            ("faults", index, "kind"),
            f"a {fault.kind.value} fault is simulated only; on a live dependency use outage, errors, "
            "latency, brownout or a proxy fault (reset, timeout, bandwidth, slicer)",
        )
    if not _reaching_groups(scenario, fault):
        yield ModeProblem(
            ("faults", index, "target"),
            f"no group it names reaches {fault.target!r}: in live mode a dependency fault acts in the "
            "fault proxy between a started service (http: {service: ...}) and the dependency, so the "
            f"service must use ${{deps.{fault.target}.url}} (or .host/.port)",
        )


def _reaching_groups(scenario: Scenario, fault: FaultSpec) -> list[str]:
    """The groups named by ``fault`` whose service reaches its target dependency through a proxy."""
    out = []
    for group, version in scenario.groups.items():
        if fault.groups is not None and group not in fault.groups:
            continue
        http = scenario.versions[version].http
        if http is None or http.service is None:
            continue
        names = scenario.services[http.service].placeholders()
        if any(name.startswith(f"deps.{fault.target}.") for name in names):
            out.append(group)
    return out
