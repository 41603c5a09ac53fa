"""A registry of versions in :class:`~harness.storage.Storage`: lineage, history, paths, integrity.

Each version lives in one record, ``<namespace>/<name>/versions/<semver>``, holding the version
(lifecycle, parents, checksum, migrations) and its history. Every change and the history entry
that explains it are written together by one compare-and-set on that record (a single Lua script
on Redis), so concurrent registries never lose an entry and a killed process never leaves a change
without its entry. A counter (``<namespace>/<name>/seq``, atomic ``incr``) numbers the entries so
the history of the whole registry has one order. Times come from the injected clock; the default
:class:`~harness.clock.WallClock` keeps them comparable across processes and restarts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from harness.clock import Clock, WallClock
from harness.errors import InvalidConfig
from harness.rollout.contract import Decision
from harness.rollout.history import (
    HistoryEntry,
    HistoryEvent,
    HistoryKind,
    JournalEvent,
    ProductionSpell,
    RolloutRoles,
    VersionStats,
    decisions_from_journal,
    events_from_decisions,
    production_line,
)
from harness.rollout.integrity import ArtifactSource, ChecksumMismatch
from harness.rollout.lineage import Lineage, LineageNode
from harness.rollout.paths import MigrationPath, PathPolicy, find_path
from harness.rollout.targets import TargetChoice, choose_rollback_target
from harness.rollout.versions import Compatibility, Lifecycle, SemVer, Version
from harness.storage import Storage

__all__ = ["VersionRegistry"]

_RETRIES = 50
_NOTED = (HistoryKind.REGISTERED, HistoryKind.LIFECYCLE, HistoryKind.INTEGRITY_FAILED)


@dataclass(frozen=True, slots=True)
class _Record:
    """What one storage key holds: the version and its history, oldest entry first."""

    version: Version
    history: tuple[HistoryEntry, ...]

    @classmethod
    def from_json(cls, data: Any) -> _Record:
        return cls(
            Version.from_dict(data["version"]), tuple(HistoryEntry.from_dict(e) for e in data["history"])
        )

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version.to_dict(), "history": [e.to_dict() for e in self.history]}

    @property
    def note(self) -> str:
        """Why the version is in its lifecycle: the reason of its latest lifecycle entry."""
        noted = [e for e in self.history if e.kind in _NOTED and e.reason]
        return noted[-1].reason if noted else ""


_Change = Callable[[_Record], tuple[Version, list[HistoryEvent]]]


class VersionRegistry:
    """Versions of one service (``name``) in storage, with their lineage and history.

    ``clock`` stamps history entries; ``artifacts``, when given, is where content is read to
    verify checksums on use, promotion and rollback-target choice.
    """

    def __init__(
        self,
        storage: Storage,
        name: str,
        *,
        namespace: str = "rollout",
        clock: Clock | None = None,
        artifacts: ArtifactSource | None = None,
    ) -> None:
        if not name or "/" in name:
            raise InvalidConfig(f"registry name {name!r} must be non-empty without '/'.", field="name")
        self.storage = storage
        self.name = name
        self.clock: Clock = clock if clock is not None else WallClock()
        self.artifacts = artifacts
        self._prefix = f"{namespace}/{name}"

    @staticmethod
    async def names(storage: Storage, *, namespace: str = "rollout") -> list[str]:
        """The names of the registries kept in ``storage``."""
        keys = await storage.scan(f"{namespace}/")
        return sorted({k.split("/")[1] for k in keys if k.count("/") >= 3 and k.split("/")[2] == "versions"})

    # -- storage ----------------------------------------------------------------------------------

    def _key(self, version: str) -> str:
        return f"{self._prefix}/versions/{SemVer.parse(version)}"

    async def _next_seq(self) -> int:
        return await self.storage.incr(f"{self._prefix}/seq")

    async def _stamp(self, events: Iterable[HistoryEvent], lifecycle: Lifecycle) -> list[HistoryEntry]:
        return [
            HistoryEntry.of(e, seq=await self._next_seq(), t=self.clock.now(), lifecycle=lifecycle)
            for e in events
        ]

    async def _record(self, version: str) -> tuple[Any, _Record]:
        raw = await self.storage.get(self._key(version))
        if raw is None:
            known = ", ".join(str(v.semver) for v in await self.versions()) or "none"
            raise InvalidConfig(
                f"{self.name}@{version} is not registered; known: {known}.", field="version", value=version
            )
        return raw, _Record.from_json(raw)

    async def _records(self) -> list[_Record]:
        keys = await self.storage.scan(f"{self._prefix}/versions/")
        found = [_Record.from_json(d) for k in keys if (d := await self.storage.get(k)) is not None]
        return sorted(found, key=lambda r: r.version.semver)

    async def _update(self, version: str, change: _Change) -> tuple[_Record, list[HistoryEntry]]:
        """Apply ``change`` by compare-and-set; events already recorded (same ref) are dropped."""
        for _ in range(_RETRIES):
            raw, record = await self._record(version)
            new_version, events = change(record)
            refs = {e.ref for e in record.history if e.ref}
            fresh = [e for e in events if not e.ref or e.ref not in refs]
            entries = await self._stamp(fresh, new_version.lifecycle)
            new = _Record(new_version, (*record.history, *entries))
            if not entries and new_version == record.version:
                return record, []
            if await self.storage.compare_and_set(self._key(version), raw, new.to_json()):
                return new, entries
        raise InvalidConfig(
            f"{self.name}@{version} changed concurrently {_RETRIES} times in a row; retry.", field="version"
        )

    # -- versions and lifecycle ---------------------------------------------------------------------

    async def register(self, version: Version, *, actor: str = "api", reason: str = "") -> Version:
        """Add ``version``; its parents must be registered. Identical re-registration is a no-op."""
        if version.name != self.name:
            raise InvalidConfig(
                f"version {version.key} belongs to {version.name!r}, not this registry ({self.name!r}).",
                field="name",
                value=version.name,
            )
        missing = [p for p in version.parents if await self.storage.get(self._key(p)) is None]
        if missing:
            raise InvalidConfig(
                f"version {version.key}: parent(s) {', '.join(missing)} are not registered; "
                "register parents before their children.",
                field="parents",
                value=missing,
            )
        event = HistoryEvent(
            version=str(version.semver), kind=HistoryKind.REGISTERED, actor=actor, reason=reason
        )
        record = _Record(version, tuple(await self._stamp([event], version.lifecycle)))
        if await self.storage.compare_and_set(self._key(version.version), None, record.to_json()):
            return version
        existing = await self.get(version.version)
        _check_same(existing, version)
        return existing

    async def get(self, version: str) -> Version:
        """The registered version ``version``; raises when unknown."""
        return (await self._record(version))[1].version

    async def versions(self) -> list[Version]:
        """Every registered version, oldest semantic version first."""
        return [r.version for r in await self._records()]

    async def transition(
        self, version: str, to: Lifecycle | str, *, actor: str = "api", reason: str = "", **data: Any
    ) -> Version:
        """Move ``version`` to lifecycle ``to`` (forward only; quarantine is final)."""

        def change(record: _Record) -> tuple[Version, list[HistoryEvent]]:
            new = record.version.transition(to)
            moved = {"from": record.version.lifecycle.value, "to": new.lifecycle.value} | data
            event = HistoryEvent(
                version=str(new.semver), kind=HistoryKind.LIFECYCLE, actor=actor, reason=reason, data=moved
            )
            return new, [event]

        return (await self._update(version, change))[0].version

    async def promote(self, version: str, *, actor: str = "api", reason: str = "") -> Version:
        """EXPERIMENTAL -> PRODUCTION, after verifying the checksum (see :meth:`verify`)."""
        verified = await self._verified(await self.get(version), actor)
        return await self.transition(
            version, Lifecycle.PRODUCTION, actor=actor, reason=reason, verified=verified
        )

    async def quarantine(self, version: str, *, actor: str = "api", reason: str = "") -> Version:
        """Quarantine ``version``: read-only, warns on use, never deployed by a migration path."""
        return await self.transition(version, Lifecycle.QUARANTINE, actor=actor, reason=reason)

    async def use(self, version: str, *, actor: str = "api") -> Version:
        """The version to serve, after verifying its checksum; warns when it is quarantined."""
        found = await self.get(version)
        await self._verified(found, actor)
        return found.use()

    async def verify(self, version: str, *, actor: str = "integrity") -> bool:
        """Check ``version``'s content against its checksum: True when verified, False when it cannot be.

        It cannot be verified without ``artifacts`` or without a registered checksum. A mismatch
        quarantines the version, records why, and raises :class:`ChecksumMismatch`.
        """
        return await self._verified(await self.get(version), actor)

    async def _verified(self, version: Version, actor: str) -> bool:
        if self.artifacts is None or not version.checksum:
            return False
        actual = Version.checksum_of(await self.artifacts.read(version))
        if actual == version.checksum:
            return True
        reason = f"checksum mismatch: registered {version.checksum[:12]}, content hashes to {actual[:12]}"
        await self._quarantine_for_integrity(version, actual, actor, reason)
        raise ChecksumMismatch(
            f"{version.key}: {reason}; it is quarantined now.",
            version=version.key,
            expected=version.checksum,
            actual=actual,
        )

    async def _quarantine_for_integrity(self, version: Version, actual: str, actor: str, reason: str) -> None:
        semver = str(version.semver)

        def change(record: _Record) -> tuple[Version, list[HistoryEvent]]:
            data = {"expected": record.version.checksum, "actual": actual}
            events = [
                HistoryEvent(
                    version=semver, kind=HistoryKind.INTEGRITY_FAILED, actor=actor, reason=reason, data=data
                )
            ]
            if record.version.quarantined:
                return record.version, events
            moved = {"from": record.version.lifecycle.value, "to": Lifecycle.QUARANTINE.value}
            events.append(
                HistoryEvent(
                    version=semver, kind=HistoryKind.LIFECYCLE, actor=actor, reason=reason, data=moved
                )
            )
            return record.version.transition(Lifecycle.QUARANTINE), events

        await self._update(semver, change)

    async def production(self) -> Version | None:
        """The newest version in PRODUCTION, if any."""
        prod = [v for v in await self.versions() if v.lifecycle is Lifecycle.PRODUCTION]
        return prod[-1] if prod else None

    async def baselines(self) -> list[Version]:
        """Versions a candidate may be compared against: production and quarantined, newest first.

        Quarantined versions stay here on purpose (read-only, but a valid "known bad" or "last good"
        reference); call ``Version.use()`` before serving one to get its DeprecationWarning.
        """
        keep = (Lifecycle.PRODUCTION, Lifecycle.QUARANTINE)
        return [v for v in reversed(await self.versions()) if v.lifecycle in keep]

    async def compatibility(self, a: str, b: str) -> Compatibility:
        """Semantic compatibility between two registered versions."""
        return (await self.get(a)).compatibility_with(await self.get(b))

    # -- history --------------------------------------------------------------------------------------

    async def history(self, version: str | None = None) -> list[HistoryEntry]:
        """Every entry (of ``version``, or of the whole registry), in the order it was recorded."""
        if version is not None:
            return list((await self._record(version))[1].history)
        return sorted((e for r in await self._records() for e in r.history), key=lambda e: e.seq)

    async def stats(self, version: str) -> VersionStats:
        """Time in each lifecycle state (until now on the registry's clock) and rollout counts."""
        record = (await self._record(version))[1]
        return VersionStats.from_history(str(record.version.semver), record.history, now=self.clock.now())

    async def production_line(self) -> list[ProductionSpell]:
        """The versions that have been in production, in the order they were promoted."""
        return production_line(await self.history())

    async def record(self, event: HistoryEvent) -> HistoryEntry | None:
        """Append ``event`` to its version's history; None when its ``ref`` is already there."""
        entries = (await self._update(event.version, lambda r: (r.version, [event])))[1]
        return entries[0] if entries else None

    async def record_decisions(
        self, decisions: Iterable[Decision], roles: RolloutRoles, *, run: str
    ) -> list[HistoryEntry]:
        """Record a flow's decisions as history (see :mod:`harness.rollout.history`); idempotent per run."""
        recorded = []
        for event in events_from_decisions(decisions, roles, run=run):
            entry = await self.record(event)
            if entry is not None:
                recorded.append(entry)
        return recorded

    async def record_journal(
        self, events: Iterable[JournalEvent], *, candidate: str, baseline: str, run: str, actor: str = ""
    ) -> list[HistoryEntry]:
        """Record the flow decisions found in a journal's events (``run``: e.g. the journal digest)."""
        flow, decisions = decisions_from_journal(events)
        if flow is None:
            return []
        roles = RolloutRoles(
            flow=flow,
            candidate=str(SemVer.parse(candidate)),
            baseline=str(SemVer.parse(baseline)),
            actor=actor,
        )
        return await self.record_decisions(decisions, roles, run=run)

    # -- lineage, paths, rollback targets ---------------------------------------------------------

    async def lineage(self) -> Lineage:
        """The lineage of every registered version; each node's note says why it is in its lifecycle."""
        return Lineage(LineageNode.of(r.version, r.note) for r in await self._records())

    async def _lineage_with(self, *versions: str) -> tuple[Lineage, list[str]]:
        lineage = await self.lineage()
        ids = [str(SemVer.parse(v)) for v in versions]
        for v in ids:
            if v not in lineage:
                await self._record(v)
        return lineage, ids

    async def ancestors(self, version: str) -> list[Version]:
        """Every version ``version`` descends from, newest first."""
        lineage, (vid,) = await self._lineage_with(version)
        return [await self.get(v) for v in lineage.ancestors(vid)]

    async def descendants(self, version: str) -> list[Version]:
        """Every version derived from ``version``, newest first."""
        lineage, (vid,) = await self._lineage_with(version)
        return [await self.get(v) for v in lineage.descendants(vid)]

    async def migration_path(
        self, start: str, end: str, *, policy: PathPolicy = PathPolicy.FEWEST_BREAKING
    ) -> MigrationPath:
        """The path from ``start`` to ``end`` through the lineage (see :mod:`harness.rollout.paths`)."""
        lineage, (a, b) = await self._lineage_with(start, end)
        return find_path(lineage, a, b, policy=policy)

    async def choose_rollback_target(
        self, current: str, *, explicit: str | None = None, actor: str = "rollback"
    ) -> TargetChoice:
        """Where a rollback from ``current`` should go, verified (see :mod:`harness.rollout.targets`).

        The chosen target's checksum is verified; a mismatch quarantines it (recorded) and the
        choice is made again without it. The choice is recorded in the target's history.
        """
        while True:
            lineage, (cid,) = await self._lineage_with(current)
            choice = choose_rollback_target(lineage, cid, explicit=explicit)
            if choice.target is None:
                break
            try:
                await self._verified(await self.get(choice.target), actor)
                break
            except ChecksumMismatch:
                continue  # now quarantined: the next choice passes it over and its note says why
        if choice.target is not None:
            reason = "; ".join(choice.reasons)
            data = {"from": cid, "path": None if choice.path is None else choice.path.to_dict()}
            event = HistoryEvent(
                version=choice.target, kind=HistoryKind.TARGET_CHOSEN, actor=actor, reason=reason, data=data
            )
            await self.record(event)
        return choice


def _check_same(existing: Version, new: Version) -> None:
    """Re-registration must repeat the content, parents and migrations exactly."""
    for name in ("checksum", "parents", "migrations"):
        old, now = getattr(existing, name), getattr(new, name)
        if old != now:
            hint = "needs a new version number" if name == "checksum" else "cannot change after registration"
            raise InvalidConfig(
                f"version {new.key} is already registered with {name} {_short(old)!r}; "
                f"{_short(now)!r} {hint}.",
                field=name,
                value=_short(now),
            )


def _short(value: object) -> object:
    if isinstance(value, str):
        return value[:12]
    if isinstance(value, frozenset):
        return sorted(m.value for m in value)
    return list(value) if isinstance(value, tuple) else value
