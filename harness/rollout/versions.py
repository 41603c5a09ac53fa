"""Versions of a service or model: semantic version, content checksum, lifecycle and lineage.

Lifecycle moves one way: EXPERIMENTAL -> PRODUCTION -> QUARANTINE (EXPERIMENTAL may be quarantined
directly). A quarantined version is read-only: it stays available as a comparison baseline, but
:meth:`Version.use` warns with ``DeprecationWarning`` and no further transition is allowed.

A version names its ``parents`` (the versions it was derived from) and the ``migrations`` that
moving between it and its parents needs (a data schema change, a config change): applied when
moving from a parent to it, reverted when moving from it back to a parent.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from harness._checks import invalid, one_of
from harness.errors import InvalidConfig, UsageError

__all__ = [
    "Compatibility",
    "Lifecycle",
    "Migration",
    "SemVer",
    "Version",
    "VersionQuarantined",
    "compatibility",
]

_SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


class Lifecycle(enum.Enum):
    """Where a version is in its life."""

    EXPERIMENTAL = "experimental"
    PRODUCTION = "production"
    QUARANTINE = "quarantine"


_NEXT = {
    Lifecycle.EXPERIMENTAL: {Lifecycle.PRODUCTION, Lifecycle.QUARANTINE},
    Lifecycle.PRODUCTION: {Lifecycle.QUARANTINE},
    Lifecycle.QUARANTINE: set(),
}


class Compatibility(enum.Enum):
    """How two versions relate under semantic versioning."""

    SAME = "same"
    PATCH = "patch"
    COMPATIBLE = "compatible"
    BREAKING = "breaking"


class Migration(enum.Enum):
    """What has to change besides the code when moving between a version and its parents."""

    DATA = "data"
    CONFIG = "config"


class VersionQuarantined(UsageError):
    """A quarantined version was asked to change."""


@functools.total_ordering
@dataclass(frozen=True, slots=True)
class SemVer:
    """A parsed semantic version; ordering follows semver precedence (build metadata ignored)."""

    major: int
    minor: int
    patch: int
    pre: tuple[tuple[int, int | str], ...] = ()
    build: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: str) -> SemVer:
        """Parse ``1.2.3``, ``v1.2.3-rc.1+abc``."""
        m = _SEMVER.match(text.strip()) if isinstance(text, str) else None
        if m is None:
            raise InvalidConfig(
                f"version {text!r} is not a semantic version; write MAJOR.MINOR.PATCH such as '1.4.0' "
                "or '2.0.0-rc.1'.",
                field="version",
                value=text,
            )
        pre: tuple[tuple[int, int | str], ...] = ()
        if m.group(4):
            pre = tuple((0, int(p)) if p.isdigit() else (1, p) for p in m.group(4).split("."))
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3)), pre, m.group(5) or "")

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._key() < other._key()

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        # A release ranks above its pre-releases.
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, self.pre)

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            text += "-" + ".".join(str(v) for _, v in self.pre)
        return text + (f"+{self.build}" if self.build else "")


def compatibility(a: SemVer, b: SemVer) -> Compatibility:
    """Patch, compatible (minor) or breaking (major; any minor change below 1.0.0, any pre-release)."""
    if (a.major, a.minor, a.patch, a.pre) == (b.major, b.minor, b.patch, b.pre):
        return Compatibility.SAME
    if a.major != b.major or (a.major == 0 and a.minor != b.minor) or a.pre or b.pre:
        return Compatibility.BREAKING
    return Compatibility.COMPATIBLE if a.minor != b.minor else Compatibility.PATCH


@dataclass(frozen=True, slots=True, kw_only=True)
class Version:
    """A deployable version: name, semantic version, checksum, lifecycle, lineage and metadata.

    ``parents`` are the semantic versions this one was derived from (normalised, no repeats);
    ``migrations`` are what moving between it and its parents needs besides the code.
    """

    name: str
    version: str
    checksum: str = ""
    lifecycle: Lifecycle = Lifecycle.EXPERIMENTAL
    metadata: Mapping[str, Any] = field(default_factory=dict)
    parents: tuple[str, ...] = ()
    migrations: frozenset[Migration] = frozenset()

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise invalid("name", self.name, "non-empty without '/'", "e.g. 'checkout'")
        SemVer.parse(self.version)
        if self.checksum and not re.fullmatch(r"[0-9a-f]{64}", self.checksum):
            raise invalid(
                "checksum", self.checksum, "a sha256 hex digest", "use Version.checksum_of(content)"
            )
        object.__setattr__(self, "lifecycle", one_of("lifecycle", self.lifecycle, Lifecycle))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))
        object.__setattr__(self, "parents", _parents(self.version, self.parents))
        object.__setattr__(self, "migrations", _migrations(self.migrations))

    @staticmethod
    def checksum_of(content: bytes | str) -> str:
        """sha256 hex digest of the version's content (model file, build artifact, source)."""
        data = content.encode() if isinstance(content, str) else content
        return hashlib.sha256(data).hexdigest()

    @property
    def key(self) -> str:
        """``name@version``: the version's identity."""
        return f"{self.name}@{self.semver}"

    @property
    def semver(self) -> SemVer:
        """The parsed semantic version."""
        return SemVer.parse(self.version)

    @property
    def quarantined(self) -> bool:
        """True once quarantined."""
        return self.lifecycle is Lifecycle.QUARANTINE

    def use(self) -> Version:
        """Mark a use of this version for serving; warns when it is quarantined."""
        if self.quarantined:
            warnings.warn(
                f"version {self.key} is quarantined; use it only as a comparison baseline.",
                DeprecationWarning,
                stacklevel=2,
            )
        return self

    def transition(self, to: Lifecycle | str) -> Version:
        """A copy in lifecycle ``to``; only forward moves are allowed and quarantine is final."""
        target = Lifecycle(to)
        if self.quarantined:
            raise VersionQuarantined(
                f"version {self.key} is quarantined and read-only; register a new version instead.",
                version=self.key,
            )
        if target not in _NEXT[self.lifecycle]:
            raise InvalidConfig(
                f"version {self.key}: cannot move from {self.lifecycle.value} to "
                f"{target.value}; lifecycle goes experimental -> production -> quarantine.",
                field="lifecycle",
                value=target.value,
            )
        return replace(self, lifecycle=target)

    def compatibility_with(self, other: Version) -> Compatibility:
        """Semantic compatibility between this version and ``other``."""
        return compatibility(self.semver, other.semver)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for storage."""
        return {
            "name": self.name,
            "version": self.version,
            "checksum": self.checksum,
            "lifecycle": self.lifecycle.value,
            "metadata": dict(self.metadata),
            "parents": list(self.parents),
            "migrations": sorted(m.value for m in self.migrations),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Version:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=data["name"],
            version=data["version"],
            checksum=data.get("checksum", ""),
            lifecycle=Lifecycle(data.get("lifecycle", "experimental")),
            metadata=data.get("metadata", {}),
            parents=tuple(data.get("parents", ())),
            migrations=frozenset(data.get("migrations", ())),
        )


def _parents(version: str, parents: object) -> tuple[str, ...]:
    """Parents as normalised semantic versions, without repeats, never the version itself."""
    if isinstance(parents, str) or not isinstance(parents, (tuple, list)):
        raise InvalidConfig(
            f"parents={parents!r} must be a list of versions, for example ['1.2.0'].",
            field="parents",
            value=parents,
        )
    normalised = tuple(str(SemVer.parse(p)) for p in parents)
    own = str(SemVer.parse(version))
    if own in normalised or len(set(normalised)) != len(normalised):
        raise InvalidConfig(
            f"version {own}: parents {list(normalised)} must be other versions, each named once.",
            field="parents",
            value=list(normalised),
        )
    return normalised


def _migrations(migrations: object) -> frozenset[Migration]:
    if isinstance(migrations, str) or not isinstance(migrations, (set, frozenset, tuple, list)):
        raise InvalidConfig(
            f"migrations={migrations!r} must be a set of: data, config.", field="migrations", value=migrations
        )
    try:
        return frozenset(Migration(m) for m in migrations)
    except ValueError:
        raise InvalidConfig(
            f"migrations={sorted(str(getattr(m, 'value', m)) for m in migrations)!r}: "
            "each must be one of: data, config.",
            field="migrations",
            value=migrations,
        ) from None
