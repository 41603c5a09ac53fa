"""Flow drivers: connect a scenario's ``flow:`` block to the rollout controllers.

A driver owns one sans-IO controller from ``harness.rollout``. The engine asks it for the
traffic split (and what to mirror), hands it each window, and reads its outcome at the end. The
drivers translate scenario settings into the controllers' validated configurations; they make
no decisions of their own.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.rollout.contract import Decision, Exchange, Window
from harness.scenario.model import FlowKind, Scenario
from harness.seeding import Seeds

if TYPE_CHECKING:
    from harness.scenario.services import Outcomes

__all__ = ["FlowDriver", "FlowOutcome", "NoFlow", "build_driver"]


@dataclass(slots=True)
class FlowOutcome:
    """Where a flow ended, in the terms expectations check."""

    kind: str
    finished: bool = False
    promoted: bool = False
    rolled_back: bool = False
    aborted: bool = False
    rolled_back_to: str | None = None
    decided_at: float | None = None
    winner: str | None = None
    detected_fields: list[str] = field(default_factory=list)
    state_restored: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)


class FlowDriver(abc.ABC):
    """The engine's view of a rollout flow."""

    kind: FlowKind = FlowKind.NONE

    @abc.abstractmethod
    def weights(self) -> Mapping[str, float]:
        """User traffic split, percent per version."""

    def mirror(self) -> tuple[str, float] | None:
        """(version, fraction of user requests mirrored to it), or None."""
        return None

    def record_traffic(self, served: Mapping[str, Outcomes]) -> None:  # noqa: B027 - an optional hook
        """See every version's outcomes of a window before :meth:`observe` (default: ignore)."""

    def exchanges(self, start: float, end: float, served: Mapping[str, Outcomes]) -> tuple[Exchange, ...]:
        """Response triples for shadow comparison in this window (none outside shadow flows)."""
        return ()

    @abc.abstractmethod
    def observe(self, window: Window) -> Decision | None:
        """Feed one window; the decision taken, if the flow is still running."""

    @abc.abstractmethod
    def outcome(self) -> FlowOutcome:
        """The flow's result so far."""


class NoFlow(FlowDriver):
    """No rollout: every request goes to the stable version."""

    def __init__(self, stable: str) -> None:
        self.stable = stable

    def weights(self) -> Mapping[str, float]:
        """All traffic on the stable version."""
        return {self.stable: 100.0}

    def observe(self, window: Window) -> Decision | None:
        """Nothing to decide."""
        return None

    def outcome(self) -> FlowOutcome:
        """No flow ran."""
        return FlowOutcome(kind=FlowKind.NONE.value, finished=True)


def build_driver(scenario: Scenario, seeds: Seeds) -> FlowDriver:
    """The driver for the scenario's flow kind."""
    spec = scenario.flow
    if spec.kind is FlowKind.NONE:
        return NoFlow(spec.stable)
    from harness.scenario import flow_drivers

    return flow_drivers.build(scenario, seeds)
