"""Integrity: a version's content must still hash to the checksum it was registered with.

The registry reads a version's content from an :class:`ArtifactSource` (a model store, a build
cache, a folder) whenever the version is used, promoted or chosen as a rollback target, and
compares its sha256 with the registered checksum. A mismatch quarantines the version, records
the expected and actual digests in its history and raises :class:`ChecksumMismatch`; it is never
ignored. A version registered without a checksum has nothing to verify; the registry records that
it was promoted unverified.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from harness.errors import Finding, InvalidConfig
from harness.rollout.versions import SemVer, Version

__all__ = ["ArtifactSource", "ChecksumMismatch", "MemoryArtifacts"]


@runtime_checkable
class ArtifactSource(Protocol):
    """Where a version's content (the bytes its checksum was computed from) is read."""

    async def read(self, version: Version) -> bytes:
        """The content of ``version``; raise ``InvalidConfig`` when there is none."""
        ...


class ChecksumMismatch(Finding):
    """A version's content no longer matches its registered checksum; it has been quarantined."""

    def __init__(self, message: str, *, version: str, expected: str, actual: str) -> None:
        super().__init__(message, observed=actual, limit=expected)
        self.version = version
        self.expected = expected
        self.actual = actual


class MemoryArtifacts:
    """Contents held in memory, keyed by semantic version (``"1.2.0"``)."""

    def __init__(self, contents: Mapping[str, bytes | str] | None = None) -> None:
        self._contents: dict[str, bytes] = {}
        for version, content in (contents or {}).items():
            self.put(version, content)

    def put(self, version: str, content: bytes | str) -> None:
        """Store (or replace) the content of ``version``."""
        self._contents[str(SemVer.parse(version))] = content.encode() if isinstance(content, str) else content

    async def read(self, version: Version) -> bytes:
        """The stored content of ``version``."""
        try:
            return self._contents[str(version.semver)]
        except KeyError:
            raise InvalidConfig(
                f"no artifact for {version.key}; put() its content first.", field="version", value=version.key
            ) from None
