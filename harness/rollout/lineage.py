"""Version lineage: which version was derived from which, as an immutable graph.

A :class:`Lineage` is a directed acyclic graph of :class:`LineageNode` (a version's id, semantic
version, parents, lifecycle, declared migrations and a note saying why it is in its lifecycle).
It answers ancestors and descendants; :mod:`harness.rollout.paths` finds migration paths through
it and :mod:`harness.rollout.targets` chooses rollback targets from it. Nodes are identified by
an ``id``: the registry uses the normalised semantic version, a scenario its version names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from harness.errors import InvalidConfig
from harness.rollout.versions import Lifecycle, Migration, SemVer, Version

__all__ = ["Lineage", "LineageNode"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LineageNode:
    """One version in a lineage: id, semantic version, parents (ids), lifecycle, migrations, note."""

    id: str
    semver: SemVer
    parents: tuple[str, ...] = ()
    lifecycle: Lifecycle = Lifecycle.EXPERIMENTAL
    migrations: frozenset[Migration] = frozenset()
    note: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            raise InvalidConfig("a lineage node needs a non-empty id.", field="id", value=self.id)
        object.__setattr__(self, "parents", tuple(self.parents))
        object.__setattr__(self, "migrations", frozenset(self.migrations))
        if self.id in self.parents or len(set(self.parents)) != len(self.parents):
            raise InvalidConfig(
                f"{self.id}: parents {list(self.parents)} must be other versions, each named once.",
                field="parents",
                value=list(self.parents),
            )

    @classmethod
    def of(cls, version: Version, note: str = "") -> LineageNode:
        """The node of a registered version (id: its normalised semantic version)."""
        return cls(
            id=str(version.semver),
            semver=version.semver,
            parents=version.parents,
            lifecycle=version.lifecycle,
            migrations=version.migrations,
            note=note,
        )

    @property
    def quarantined(self) -> bool:
        """True when the version may not be deployed."""
        return self.lifecycle is Lifecycle.QUARANTINE

    def describe(self) -> str:
        """``id (lifecycle: note)`` for reasons and tables."""
        return f"{self.id} ({self.lifecycle.value}{': ' + self.note if self.note else ''})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "version": str(self.semver),
            "parents": list(self.parents),
            "lifecycle": self.lifecycle.value,
            "migrations": sorted(m.value for m in self.migrations),
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LineageNode:
        """Inverse of :meth:`to_dict` (``id`` defaults to the version)."""
        try:
            return cls(
                id=str(data.get("id", data["version"])),
                semver=SemVer.parse(data["version"]),
                parents=tuple(str(p) for p in data.get("parents", ())),
                lifecycle=Lifecycle(data.get("lifecycle", Lifecycle.EXPERIMENTAL.value)),
                migrations=frozenset(Migration(m) for m in data.get("migrations", ())),
                note=str(data.get("note", "")),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidConfig(
                f"lineage entry {dict(data)!r} is malformed ({exc}); write "
                "{id, version, parents, lifecycle, migrations, note}.",
                field="lineage",
            ) from None


def _newest_first(node: LineageNode) -> tuple[SemVer, str]:
    return (node.semver, node.id)


class Lineage:
    """An immutable DAG of versions; every parent must be a node and no version is its own ancestor."""

    __slots__ = ("_children", "nodes")

    nodes: Mapping[str, LineageNode]
    _children: Mapping[str, tuple[str, ...]]

    def __init__(self, nodes: Iterable[LineageNode] = ()) -> None:
        table: dict[str, LineageNode] = {}
        for node in nodes:
            if node.id in table:
                raise InvalidConfig(f"version {node.id!r} appears twice in the lineage.", field="id")
            table[node.id] = node
        children: dict[str, list[str]] = {n: [] for n in table}
        for node in table.values():
            for parent in node.parents:
                if parent not in table:
                    raise InvalidConfig(
                        f"{node.id}: parent {parent!r} is not in the lineage; known: "
                        f"{', '.join(sorted(table)) or 'none'}.",
                        field="parents",
                        value=parent,
                    )
                children[parent].append(node.id)
        self.nodes = MappingProxyType(table)
        self._children = MappingProxyType({k: tuple(sorted(v)) for k, v in children.items()})
        _check_acyclic(table, self._children)

    @classmethod
    def from_versions(cls, versions: Iterable[Version], notes: Mapping[str, str] | None = None) -> Lineage:
        """The lineage of registered versions; ``notes`` maps ids to why each is in its lifecycle."""
        notes = notes or {}
        return cls(LineageNode.of(v, notes.get(str(v.semver), "")) for v in versions)

    def __contains__(self, version: object) -> bool:
        return version in self.nodes

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[LineageNode]:
        """Nodes, oldest semantic version first."""
        return iter(sorted(self.nodes.values(), key=_newest_first))

    def node(self, version: str) -> LineageNode:
        """The node ``version``; an ``InvalidConfig`` naming the known ids when absent."""
        try:
            return self.nodes[version]
        except KeyError:
            known = ", ".join(n.id for n in self) or "none"
            raise InvalidConfig(
                f"version {version!r} is not in the lineage; known: {known}.", field="version", value=version
            ) from None

    def parents(self, version: str) -> tuple[str, ...]:
        """Direct parents of ``version``."""
        return self.node(version).parents

    def children(self, version: str) -> tuple[str, ...]:
        """Versions that name ``version`` as a parent."""
        self.node(version)
        return self._children[version]

    def neighbours(self, version: str) -> tuple[str, ...]:
        """Parents and children: the versions one lineage edge away."""
        return (*self.parents(version), *self.children(version))

    def ancestors(self, version: str) -> tuple[str, ...]:
        """Every version ``version`` descends from, newest semantic version first."""
        return self._closure(version, self.parents)

    def descendants(self, version: str) -> tuple[str, ...]:
        """Every version derived from ``version``, newest semantic version first."""
        return self._closure(version, self.children)

    def _closure(self, version: str, step: Callable[[str], tuple[str, ...]]) -> tuple[str, ...]:
        seen: set[str] = set()
        todo = list(step(version))
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(step(current))
        return tuple(n.id for n in sorted((self.nodes[s] for s in seen), key=_newest_first, reverse=True))

    def with_lifecycle(self, version: str, lifecycle: Lifecycle, note: str = "") -> Lineage:
        """A copy in which ``version`` has ``lifecycle`` and ``note``."""
        changed = replace(self.node(version), lifecycle=lifecycle, note=note)
        return Lineage(changed if n.id == version else n for n in self.nodes.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: every node, oldest first."""
        return {"versions": [n.to_dict() for n in self]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Lineage:
        """Inverse of :meth:`to_dict`."""
        entries = data.get("versions")
        if not isinstance(entries, (list, tuple)):
            raise InvalidConfig(
                "a lineage is {'versions': [{id, version, parents, ...}, ...]}.", field="lineage"
            )
        return cls(LineageNode.from_dict(e) for e in entries)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """Configs holding a lineage accept a ``Lineage`` or its :meth:`to_dict` form."""
        from pydantic_core import core_schema

        def coerce(value: Any) -> Lineage:
            return value if isinstance(value, Lineage) else cls.from_dict(value)

        return core_schema.no_info_plain_validator_function(coerce)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Lineage) and dict(self.nodes) == dict(other.nodes)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Lineage({', '.join(n.id for n in self)})"


def _check_acyclic(table: Mapping[str, LineageNode], children: Mapping[str, tuple[str, ...]]) -> None:
    """Raise when following parents ever leads back to where it started (Kahn's algorithm)."""
    pending = {n: len(node.parents) for n, node in table.items()}
    ready = [n for n, count in pending.items() if count == 0]
    while ready:
        for child in children[ready.pop()]:
            pending[child] -= 1
            if pending[child] == 0:
                ready.append(child)
    cycle = sorted(n for n, count in pending.items() if count > 0)
    if cycle:
        raise InvalidConfig(
            f"the lineage has a cycle through {', '.join(cycle)}: a version cannot be its own ancestor.",
            field="parents",
            value=cycle,
        )
