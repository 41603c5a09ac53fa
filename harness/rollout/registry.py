"""A registry of versions persisted in :class:`~harness.storage.Storage`, with an audit history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.errors import InvalidConfig
from harness.rollout.versions import Compatibility, Lifecycle, SemVer, Version
from harness.storage import Storage

__all__ = ["RegistryEvent", "VersionRegistry"]

_RETRIES = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistryEvent:
    """One registry change: when, what, which version, from and to which lifecycle."""

    t: float
    action: str
    version: str
    lifecycle: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"t": self.t, "action": self.action, "version": self.version, "lifecycle": self.lifecycle}


class VersionRegistry:
    """Versions of one service (``name``) in storage; every change is appended to the history.

    Writes use compare-and-set, so concurrent registries on a shared Redis never lose a change.
    Times are passed in (``t``), keeping the registry free of clocks.
    """

    def __init__(self, storage: Storage, name: str, *, namespace: str = "rollout") -> None:
        if not name or "/" in name:
            raise InvalidConfig(f"registry name {name!r} must be non-empty without '/'.", field="name")
        self.storage = storage
        self.name = name
        self._prefix = f"{namespace}/{name}"

    def _key(self, version: str) -> str:
        return f"{self._prefix}/versions/{SemVer.parse(version)}"

    async def _append_history(self, event: RegistryEvent) -> None:
        key = f"{self._prefix}/history"
        for _ in range(_RETRIES):
            old = await self.storage.get(key)
            new = [*(old or []), event.to_dict()]
            if await self.storage.compare_and_set(key, old, new):
                return
        raise InvalidConfig(
            f"history of {self.name!r} changed {_RETRIES} times in a row; retry later.", field="history"
        )

    async def register(self, version: Version, *, t: float = 0.0) -> Version:
        """Add ``version``; re-registering identical content is a no-op, different content an error."""
        if version.name != self.name:
            raise InvalidConfig(
                f"version {version.key} belongs to {version.name!r}, not this registry ({self.name!r}).",
                field="name",
                value=version.name,
            )
        key = self._key(version.version)
        if await self.storage.compare_and_set(key, None, version.to_dict()):
            await self._append_history(
                RegistryEvent(
                    t=t, action="register", version=str(version.semver), lifecycle=version.lifecycle.value
                )
            )
            return version
        existing = await self.get(version.version)
        if existing.checksum != version.checksum:
            raise InvalidConfig(
                f"version {version.key} is already registered with checksum {existing.checksum[:12]!r}; "
                f"new content {version.checksum[:12]!r} needs a new version number.",
                field="checksum",
                value=version.checksum,
            )
        return existing

    async def get(self, version: str) -> Version:
        """The registered version ``version``; raises when unknown."""
        data = await self.storage.get(self._key(version))
        if data is None:
            known = ", ".join(str(v.semver) for v in await self.versions()) or "none"
            raise InvalidConfig(
                f"{self.name}@{version} is not registered; known: {known}.", field="version", value=version
            )
        return Version.from_dict(data)

    async def versions(self) -> list[Version]:
        """Every registered version, oldest semantic version first."""
        keys = await self.storage.scan(f"{self._prefix}/versions/")
        found = [Version.from_dict(d) for k in keys if (d := await self.storage.get(k)) is not None]
        return sorted(found, key=lambda v: v.semver)

    async def transition(self, version: str, to: Lifecycle | str, *, t: float = 0.0) -> Version:
        """Move ``version`` to lifecycle ``to`` (forward only; quarantine is final)."""
        key = self._key(version)
        for _ in range(_RETRIES):
            current = await self.get(version)
            new = current.transition(to)
            if await self.storage.compare_and_set(key, current.to_dict(), new.to_dict()):
                await self._append_history(
                    RegistryEvent(
                        t=t, action="transition", version=str(new.semver), lifecycle=new.lifecycle.value
                    )
                )
                return new
        raise InvalidConfig(
            f"{self.name}@{version} changed concurrently {_RETRIES} times; retry.", field="version"
        )

    async def promote(self, version: str, *, t: float = 0.0) -> Version:
        """EXPERIMENTAL -> PRODUCTION."""
        return await self.transition(version, Lifecycle.PRODUCTION, t=t)

    async def quarantine(self, version: str, *, t: float = 0.0) -> Version:
        """Quarantine ``version``: read-only, warns on use, still a comparison baseline."""
        return await self.transition(version, Lifecycle.QUARANTINE, t=t)

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

    async def history(self) -> list[RegistryEvent]:
        """Every change, in the order it was made."""
        raw = await self.storage.get(f"{self._prefix}/history") or []
        return [RegistryEvent(**e) for e in raw]

    async def compatibility(self, a: str, b: str) -> Compatibility:
        """Semantic compatibility between two registered versions."""
        return (await self.get(a)).compatibility_with(await self.get(b))

    async def migration_path(self, start: str, end: str) -> list[Version]:
        """Registered versions to step through from ``start`` to ``end`` (both included), in order.

        Upgrades step through every non-quarantined version between them, so each step is at most one
        release; downgrades go in reverse. Quarantined intermediates are skipped.
        """
        a, b = (await self.get(start)).semver, (await self.get(end)).semver
        lo, hi = min(a, b), max(a, b)
        path = [
            v
            for v in await self.versions()
            if lo <= v.semver <= hi and (not v.quarantined or v.semver in (a, b))
        ]
        return path if a <= b else path[::-1]
