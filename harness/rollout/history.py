"""A version's history: who changed what, when and why, and the statistics read from it.

Entries come from two places:

* **Lifecycle changes** made through the registry (register, promote, quarantine, an integrity
  failure, a rollback target chosen): the registry writes the entry in the same atomic update as
  the change itself.
* **Rollout decisions** in a journal (``kind == "decision"``, ``source == "flow/<flow>"``, data a
  :class:`~harness.rollout.contract.Decision`). :func:`events_from_decisions` maps a flow's
  decisions to entries, given which registry version was the candidate and which the baseline:

  ====================================  ===============================================
  decision                              entries
  ====================================  ===============================================
  the flow's first decision             ROLLOUT_STARTED (candidate; not for a rollback)
  the first PROMOTE                     PROMOTED (candidate)
  the first ROLLBACK                    ROLLED_BACK (candidate), ROLLED_BACK_TO (baseline)
  a terminal SET_WEIGHT after ROLLBACK  ROLLED_FORWARD (candidate: traffic came back)
  ABORT                                 ABORTED (candidate)
  CONTINUE, PAUSE, other SET_WEIGHT     none (they stay in the journal)
  ====================================  ===============================================

  "Why" is the decision's failing reasons (or all its reasons when none failed). Each entry
  carries a ``ref`` (run, decision index, kind), so recording the same journal twice adds nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from harness.errors import InvalidConfig
from harness.rollout.contract import Action, Decision
from harness.rollout.versions import Lifecycle

__all__ = [
    "HistoryEntry",
    "HistoryEvent",
    "HistoryKind",
    "JournalEvent",
    "ProductionSpell",
    "RolloutRoles",
    "VersionStats",
    "decisions_from_journal",
    "events_from_decisions",
    "production_line",
]

_MAX_REASON = 2000


class HistoryKind(enum.Enum):
    """What happened to a version."""

    REGISTERED = "registered"
    LIFECYCLE = "lifecycle"
    INTEGRITY_FAILED = "integrity_failed"
    TARGET_CHOSEN = "target_chosen"
    ROLLOUT_STARTED = "rollout_started"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"
    ROLLED_BACK_TO = "rolled_back_to"
    ROLLED_FORWARD = "rolled_forward"
    ABORTED = "aborted"


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEvent:
    """Something to record about ``version``: what (``kind``), who (``actor``), why (``reason``)."""

    version: str
    kind: HistoryKind
    actor: str
    reason: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    ref: str = ""

    def __post_init__(self) -> None:
        if not self.actor:
            raise InvalidConfig("a history event needs an actor: who made the change.", field="actor")
        object.__setattr__(self, "reason", self.reason[:_MAX_REASON])
        object.__setattr__(self, "data", MappingProxyType(dict(self.data)))


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEntry:
    """A recorded event: ``seq`` orders the registry's entries, ``t`` is the registry clock's time.

    ``lifecycle`` is the version's lifecycle once the entry was written.
    """

    seq: int
    t: float
    version: str
    kind: HistoryKind
    actor: str
    reason: str
    lifecycle: Lifecycle
    data: Mapping[str, Any] = field(default_factory=dict)
    ref: str = ""

    @classmethod
    def of(cls, event: HistoryEvent, *, seq: int, t: float, lifecycle: Lifecycle) -> HistoryEntry:
        """Stamp ``event`` with its sequence number, time and resulting lifecycle."""
        return cls(
            seq=seq,
            t=t,
            version=event.version,
            kind=event.kind,
            actor=event.actor,
            reason=event.reason,
            lifecycle=lifecycle,
            data=event.data,
            ref=event.ref,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "seq": self.seq,
            "t": self.t,
            "version": self.version,
            "kind": self.kind.value,
            "actor": self.actor,
            "reason": self.reason,
            "lifecycle": self.lifecycle.value,
            "data": dict(self.data),
            "ref": self.ref,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HistoryEntry:
        """Inverse of :meth:`to_dict`."""
        return cls(
            seq=int(data["seq"]),
            t=float(data["t"]),
            version=str(data["version"]),
            kind=HistoryKind(data["kind"]),
            actor=str(data["actor"]),
            reason=str(data.get("reason", "")),
            lifecycle=Lifecycle(data["lifecycle"]),
            data=dict(data.get("data", {})),
            ref=str(data.get("ref", "")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionStats:
    """Seconds spent in each lifecycle state and how often each rollout event happened."""

    version: str
    time_in: Mapping[Lifecycle, float]
    rollouts_started: int = 0
    promoted: int = 0
    rolled_back: int = 0
    rollback_target: int = 0
    rolled_forward: int = 0
    aborted: int = 0
    integrity_failures: int = 0

    @classmethod
    def from_history(cls, version: str, entries: Iterable[HistoryEntry], *, now: float) -> VersionStats:
        """Statistics of ``version`` from its entries; the current state counts until ``now``."""
        mine = sorted((e for e in entries if e.version == version), key=lambda e: e.seq)
        counts = {kind: sum(e.kind is kind for e in mine) for kind in HistoryKind}
        return cls(
            version=version,
            time_in=MappingProxyType(_time_in(mine, now)),
            rollouts_started=counts[HistoryKind.ROLLOUT_STARTED],
            promoted=counts[HistoryKind.PROMOTED],
            rolled_back=counts[HistoryKind.ROLLED_BACK],
            rollback_target=counts[HistoryKind.ROLLED_BACK_TO],
            rolled_forward=counts[HistoryKind.ROLLED_FORWARD],
            aborted=counts[HistoryKind.ABORTED],
            integrity_failures=counts[HistoryKind.INTEGRITY_FAILED],
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "version": self.version,
            "time_in": {k.value: v for k, v in self.time_in.items()},
            "rollouts_started": self.rollouts_started,
            "promoted": self.promoted,
            "rolled_back": self.rolled_back,
            "rollback_target": self.rollback_target,
            "rolled_forward": self.rolled_forward,
            "aborted": self.aborted,
            "integrity_failures": self.integrity_failures,
        }


def _time_in(entries: list[HistoryEntry], now: float) -> dict[Lifecycle, float]:
    """Seconds per lifecycle state; time running backwards (clock skew between hosts) counts 0."""
    spent = dict.fromkeys(Lifecycle, 0.0)
    state: Lifecycle | None = None
    since = 0.0
    for entry in entries:
        if entry.kind in (HistoryKind.REGISTERED, HistoryKind.LIFECYCLE) and entry.lifecycle is not state:
            if state is not None:
                spent[state] += max(0.0, entry.t - since)
            state, since = entry.lifecycle, entry.t
    if state is not None:
        spent[state] += max(0.0, now - since)
    return spent


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductionSpell:
    """One version's time in production: from ``since`` until ``until`` (None: still there)."""

    version: str
    since: float
    until: float | None = None
    ended_by: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"version": self.version, "since": self.since, "until": self.until, "ended_by": self.ended_by}


def production_line(entries: Iterable[HistoryEntry]) -> list[ProductionSpell]:
    """The versions that have been in production, in the order they were promoted."""
    spells: dict[str, ProductionSpell] = {}
    for entry in sorted(entries, key=lambda e: e.seq):
        changes = entry.kind in (HistoryKind.REGISTERED, HistoryKind.LIFECYCLE)
        if changes and entry.lifecycle is Lifecycle.PRODUCTION and entry.version not in spells:
            spells[entry.version] = ProductionSpell(version=entry.version, since=entry.t)
        elif changes and entry.lifecycle is Lifecycle.QUARANTINE and entry.version in spells:
            spell = spells[entry.version]
            spells[entry.version] = ProductionSpell(
                version=spell.version, since=spell.since, until=entry.t, ended_by=entry.reason
            )
    return list(spells.values())


class JournalEvent(Protocol):
    """What :func:`decisions_from_journal` reads of a journal event (``harness.journal.Event``)."""

    @property
    def t(self) -> float:
        """Seconds on the run's clock."""
        ...

    @property
    def kind(self) -> str:
        """``decision`` for a flow's decisions."""
        ...

    @property
    def source(self) -> str:
        """``flow/<flow>`` for a flow's decisions."""
        ...

    @property
    def data(self) -> Mapping[str, Any]:
        """The decision as ``Decision.to_dict()``."""
        ...


def decisions_from_journal(events: Iterable[JournalEvent]) -> tuple[str | None, list[Decision]]:
    """The flow's name and its decisions, in journal order (``(None, [])`` when there are none)."""
    flow: str | None = None
    decisions: list[Decision] = []
    for event in events:
        if event.kind != "decision" or not event.source.startswith("flow/"):
            continue
        name = event.source.removeprefix("flow/")
        if flow is not None and name != flow:
            raise InvalidConfig(
                f"the journal holds decisions of two flows ({flow}, {name}); record one flow at a time.",
                field="source",
                value=event.source,
            )
        flow = name
        decisions.append(Decision.from_dict(event.data))
    return flow, decisions


@dataclass(frozen=True, slots=True, kw_only=True)
class RolloutRoles:
    """Which registry versions a flow's decisions are about.

    ``candidate`` is the version rolled out (for a rollback flow: the version rolled back from),
    ``baseline`` the one it is compared with (for a rollback: the target). ``actor`` is who ran
    the flow (default ``flow/<flow>``).
    """

    flow: str
    candidate: str
    baseline: str
    actor: str = ""

    def __post_init__(self) -> None:
        if not self.flow or not self.candidate or not self.baseline or self.candidate == self.baseline:
            raise InvalidConfig(
                f"roles flow={self.flow!r}, candidate={self.candidate!r}, baseline={self.baseline!r}: "
                "name the flow and two different versions.",
                field="candidate",
                value=self.candidate,
            )
        if not self.actor:
            object.__setattr__(self, "actor", f"flow/{self.flow}")


def _why(decision: Decision) -> str:
    chosen = decision.failed or decision.reasons
    parts = [r.message or f"{r.metric} {r.statistic} {r.verdict.value}" for r in chosen]
    return "; ".join(parts) or decision.action.value


def events_from_decisions(
    decisions: Iterable[Decision], roles: RolloutRoles, *, run: str
) -> list[HistoryEvent]:
    """History events for a flow's decisions (the table in the module docstring).

    ``run`` identifies the run (a journal digest, a deployment id): it makes the refs unique.
    """
    out: list[HistoryEvent] = []
    seen: set[HistoryKind] = set()

    def add(index: int, version: str, kind: HistoryKind, decision: Decision) -> None:
        data = {"flow": roles.flow, "action": decision.action.value, "run": run, "run_t": decision.t}
        out.append(
            HistoryEvent(
                version=version,
                kind=kind,
                actor=roles.actor,
                reason=_why(decision),
                data=data | {"weights": dict(decision.weights)},
                ref=f"{run}/{index}/{kind.value}",
            )
        )
        seen.add(kind)

    for index, decision in enumerate(decisions):
        action = decision.action
        if index == 0 and roles.flow != "rollback":
            add(index, roles.candidate, HistoryKind.ROLLOUT_STARTED, decision)
        if action is Action.PROMOTE and HistoryKind.PROMOTED not in seen:
            add(index, roles.candidate, HistoryKind.PROMOTED, decision)
        elif action is Action.ROLLBACK and HistoryKind.ROLLED_BACK not in seen:
            add(index, roles.candidate, HistoryKind.ROLLED_BACK, decision)
            add(index, roles.baseline, HistoryKind.ROLLED_BACK_TO, decision)
        elif action is Action.SET_WEIGHT and decision.terminal and HistoryKind.ROLLED_BACK in seen:
            add(index, roles.candidate, HistoryKind.ROLLED_FORWARD, decision)
        elif action is Action.ABORT:
            add(index, roles.candidate, HistoryKind.ABORTED, decision)
    return out
