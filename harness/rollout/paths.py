"""Migration paths through a lineage: how to get from one version to another, step by step.

A path is a sequence of **steps**. Each step moves from one deployable version to another along
lineage edges (parent to child or child to parent) and is labelled with the semantic
compatibility of its two ends (:func:`~harness.rollout.versions.compatibility`: patch, compatible
or breaking) and the migrations it runs: moving from a parent to a child *applies* the child's
declared migrations, moving from a child to a parent *reverts* them.

Quarantined versions are never deployed, so a path never stops at one; the start is the only
exception (leaving a quarantined version is what a rollback does). A step may **cross**
quarantined versions (it goes from their child to their parent, or between two of their
children, without deploying them) only if they declare no migration, because crossing runs
nothing of theirs. A route whose only way passes a quarantined version that declares a migration
is refused with that reason, as is a quarantined destination.

Among the valid paths, :func:`find_path` returns the one with the fewest breaking steps, then the
fewest steps, then the fewest migrations, then the lowest sequence of versions (so the answer is
deterministic). With ``PathPolicy.NO_BREAKING`` a path that needs a breaking step is refused
instead, naming the best one; rollback target selection uses that policy. The search is
Dijkstra's algorithm over a lexicographic cost (E. W. Dijkstra, "A note on two problems in
connexion with graphs", 1959), which stays exact because every cost component only grows along a
path.
"""

from __future__ import annotations

import enum
import heapq
import itertools
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.errors import Finding
from harness.rollout.lineage import Lineage, LineageNode
from harness.rollout.versions import Compatibility, Migration, SemVer, compatibility

__all__ = [
    "MigrationAction",
    "MigrationDirection",
    "MigrationPath",
    "MigrationRefused",
    "MigrationStep",
    "PathPolicy",
    "PathRefusal",
    "find_path",
    "steps_from",
]


class PathPolicy(enum.Enum):
    """What to do when every path needs a breaking step."""

    FEWEST_BREAKING = "fewest-breaking"
    NO_BREAKING = "no-breaking"


class MigrationDirection(enum.Enum):
    """Whether a version's migration runs forwards (parent to child) or backwards."""

    APPLY = "apply"
    REVERT = "revert"


class PathRefusal(enum.Enum):
    """Why no path was returned."""

    QUARANTINED_DESTINATION = "quarantined_destination"
    NO_LINEAGE = "no_lineage"
    QUARANTINED_ROUTE = "quarantined_route"
    BREAKING = "breaking"


@dataclass(frozen=True, slots=True, kw_only=True)
class MigrationAction:
    """Run ``version``'s ``kind`` migration in ``direction``."""

    version: str
    kind: Migration
    direction: MigrationDirection

    def reversed(self) -> MigrationAction:
        """The action that undoes this one."""
        flipped = (
            MigrationDirection.REVERT
            if self.direction is MigrationDirection.APPLY
            else MigrationDirection.APPLY
        )
        return MigrationAction(version=self.version, kind=self.kind, direction=flipped)

    def __str__(self) -> str:
        return f"{self.direction.value} the {self.kind.value} migration of {self.version}"

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"version": self.version, "kind": self.kind.value, "direction": self.direction.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MigrationAction:
        """Inverse of :meth:`to_dict`."""
        return cls(
            version=str(data["version"]),
            kind=Migration(data["kind"]),
            direction=MigrationDirection(data["direction"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MigrationStep:
    """One deployment: ``route`` runs from the version left to the version deployed.

    Versions strictly inside the route are quarantined versions the step crosses without
    deploying them.
    """

    route: tuple[str, ...]
    compatibility: Compatibility
    migrations: tuple[MigrationAction, ...] = ()

    @property
    def source(self) -> str:
        """The version the step leaves."""
        return self.route[0]

    @property
    def target(self) -> str:
        """The version the step deploys."""
        return self.route[-1]

    @property
    def crosses(self) -> tuple[str, ...]:
        """Quarantined versions passed over (never deployed)."""
        return self.route[1:-1]

    @property
    def breaking(self) -> bool:
        """True when the two ends are semantically incompatible."""
        return self.compatibility is Compatibility.BREAKING

    @property
    def needs_migration(self) -> bool:
        """True when the step runs a data or config migration."""
        return bool(self.migrations)

    def reversed(self) -> MigrationStep:
        """The step back: the same route backwards, its migrations undone in reverse order."""
        return MigrationStep(
            route=self.route[::-1],
            compatibility=self.compatibility,
            migrations=tuple(m.reversed() for m in reversed(self.migrations)),
        )

    def describe(self) -> str:
        """``3.0.0 -> 1.0.0 (compatible; crosses 2.0.0; revert the data migration of 3.0.0)``."""
        parts = [self.compatibility.value]
        if self.crosses:
            parts.append(f"crosses quarantined {', '.join(self.crosses)}")
        parts.extend(str(m) for m in self.migrations)
        return f"{self.source} -> {self.target} ({'; '.join(parts)})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "from": self.source,
            "to": self.target,
            "route": list(self.route),
            "crosses": list(self.crosses),
            "compatibility": self.compatibility.value,
            "breaking": self.breaking,
            "needs_migration": self.needs_migration,
            "migrations": [m.to_dict() for m in self.migrations],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MigrationStep:
        """Inverse of :meth:`to_dict`."""
        return cls(
            route=tuple(str(v) for v in data["route"]),
            compatibility=Compatibility(data["compatibility"]),
            migrations=tuple(MigrationAction.from_dict(m) for m in data.get("migrations", ())),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MigrationPath:
    """The steps from ``start`` to ``end`` (none when they are the same version)."""

    start: str
    end: str
    steps: tuple[MigrationStep, ...] = ()

    @property
    def versions(self) -> tuple[str, ...]:
        """Every version deployed along the way, ``start`` first and ``end`` last."""
        return (self.start, *(s.target for s in self.steps))

    @property
    def breaking_steps(self) -> int:
        """How many steps are breaking."""
        return sum(s.breaking for s in self.steps)

    @property
    def needs_migration(self) -> bool:
        """True when any step runs a migration."""
        return any(s.needs_migration for s in self.steps)

    @property
    def migrations(self) -> tuple[MigrationAction, ...]:
        """Every migration the path runs, in order."""
        return tuple(m for s in self.steps for m in s.migrations)

    def reversed(self) -> MigrationPath:
        """The same path walked back (what a roll-forward after a failed rollback follows)."""
        return MigrationPath(
            start=self.end, end=self.start, steps=tuple(s.reversed() for s in reversed(self.steps))
        )

    def explain(self) -> str:
        """One line per step."""
        if not self.steps:
            return f"{self.start} is already the destination"
        return "\n".join(s.describe() for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "from": self.start,
            "to": self.end,
            "versions": list(self.versions),
            "breaking_steps": self.breaking_steps,
            "needs_migration": self.needs_migration,
            "steps": [s.to_dict() for s in self.steps],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MigrationPath:
        """Inverse of :meth:`to_dict`."""
        return cls(
            start=str(data["from"]),
            end=str(data["to"]),
            steps=tuple(MigrationStep.from_dict(s) for s in data.get("steps", ())),
        )


class MigrationRefused(Finding):
    """No acceptable path: ``refusal`` says why, ``blocked`` names the versions in the way.

    With ``PathRefusal.BREAKING``, ``best`` is the path with the fewest breaking steps.
    """

    def __init__(
        self,
        message: str,
        *,
        start: str,
        end: str,
        refusal: PathRefusal,
        blocked: tuple[str, ...] = (),
        best: MigrationPath | None = None,
    ) -> None:
        super().__init__(message, observed=refusal.value, limit="a path through deployable versions")
        self.start = start
        self.end = end
        self.refusal = refusal
        self.blocked = blocked
        self.best = best


def _route_migrations(lineage: Lineage, route: tuple[str, ...]) -> tuple[MigrationAction, ...]:
    """Down an edge applies the child's migrations; up an edge reverts the child's."""
    actions: list[MigrationAction] = []
    for a, b in itertools.pairwise(route):
        up = b in lineage.parents(a)
        child = lineage.node(a if up else b)
        direction = MigrationDirection.REVERT if up else MigrationDirection.APPLY
        actions.extend(
            MigrationAction(version=child.id, kind=kind, direction=direction)
            for kind in sorted(child.migrations, key=lambda m: m.value)
        )
    return tuple(actions)


def _crossable(node: LineageNode) -> bool:
    return node.quarantined and not node.migrations


def _make_step(lineage: Lineage, route: tuple[str, ...]) -> MigrationStep:
    a, b = lineage.node(route[0]), lineage.node(route[-1])
    return MigrationStep(
        route=route,
        compatibility=compatibility(a.semver, b.semver),
        migrations=_route_migrations(lineage, route),
    )


def _step_rank(step: MigrationStep) -> tuple[int, int, tuple[str, ...]]:
    return (len(step.migrations), len(step.route), step.route)


def steps_from(lineage: Lineage, source: str) -> tuple[tuple[MigrationStep, ...], frozenset[str]]:
    """Every step that can leave ``source``, and the quarantined versions that block others.

    A breadth-first search from ``source`` through crossable versions (quarantined, no declared
    migration), one state per (version, whether the first edge went up), because only the first
    and the last edge of a route can run migrations. Per destination, the route with the fewest
    migrations, then the fewest versions, then the lowest ids is kept.
    """
    best: dict[str, MigrationStep] = {}
    blocked: set[str] = set()
    seen: set[tuple[str, bool]] = set()
    queue: deque[tuple[tuple[str, ...], bool]] = deque()

    def visit(route: tuple[str, ...], first_up: bool) -> None:
        node = lineage.node(route[-1])
        if not node.quarantined:
            step = _make_step(lineage, route)
            if node.id not in best or _step_rank(step) < _step_rank(best[node.id]):
                best[node.id] = step
        elif not _crossable(node):
            blocked.add(node.id)
        elif (node.id, first_up) not in seen:
            seen.add((node.id, first_up))
            queue.append((route, first_up))

    for neighbour in sorted(lineage.neighbours(source)):
        visit((source, neighbour), neighbour in lineage.parents(source))
    while queue:
        route, first_up = queue.popleft()
        for neighbour in sorted(lineage.neighbours(route[-1])):
            if neighbour not in route:
                visit((*route, neighbour), first_up)
    return tuple(best[k] for k in sorted(best)), frozenset(blocked)


_Cost = tuple[int, int, int, tuple[tuple[SemVer, str], ...]]


def _search(
    lineage: Lineage, start: str, end: str, policy: PathPolicy
) -> tuple[MigrationPath | None, frozenset[str]]:
    """Dijkstra over (breaking steps, steps, migrations, version sequence); blocked versions seen."""
    first = lineage.node(start)
    heap: list[tuple[_Cost, str, tuple[MigrationStep, ...]]] = [
        ((0, 0, 0, ((first.semver, first.id),)), start, ())
    ]
    settled: set[str] = set()
    blocked: set[str] = set()
    while heap:
        cost, node, steps = heapq.heappop(heap)
        if node in settled:
            continue
        settled.add(node)
        if node == end:
            return MigrationPath(start=start, end=end, steps=steps), frozenset(blocked)
        options, stuck = steps_from(lineage, node)
        blocked |= stuck
        for step in options:
            if step.target in settled or (policy is PathPolicy.NO_BREAKING and step.breaking):
                continue
            target = lineage.node(step.target)
            breaking, count, migrations, sequence = cost
            heapq.heappush(
                heap,
                (
                    (
                        breaking + step.breaking,
                        count + 1,
                        migrations + len(step.migrations),
                        (*sequence, (target.semver, target.id)),
                    ),
                    step.target,
                    (*steps, step),
                ),
            )
    return None, frozenset(blocked)


def _connected(lineage: Lineage, start: str, end: str) -> bool:
    seen, todo = {start}, [start]
    while todo:
        for neighbour in lineage.neighbours(todo.pop()):
            if neighbour not in seen:
                seen.add(neighbour)
                todo.append(neighbour)
    return end in seen


def find_path(
    lineage: Lineage, start: str, end: str, *, policy: PathPolicy = PathPolicy.FEWEST_BREAKING
) -> MigrationPath:
    """The best path from ``start`` to ``end`` (see the module docstring); ``MigrationRefused`` if none."""
    lineage.node(start)
    target = lineage.node(end)
    if start == end:
        return MigrationPath(start=start, end=end)
    if target.quarantined:
        raise MigrationRefused(
            f"{target.describe()} is quarantined: a quarantined version is never deployed, so no path "
            "leads to it; pick another destination.",
            start=start,
            end=end,
            refusal=PathRefusal.QUARANTINED_DESTINATION,
            blocked=(end,),
        )
    path, blocked = _search(lineage, start, end, policy)
    if path is not None:
        return path
    if not _connected(lineage, start, end):
        raise MigrationRefused(
            f"{start} and {end} share no lineage: no chain of parents and children connects them.",
            start=start,
            end=end,
            refusal=PathRefusal.NO_LINEAGE,
        )
    raise _refusal(lineage, start, end, policy, blocked)


def _refusal(
    lineage: Lineage, start: str, end: str, policy: PathPolicy, blocked: frozenset[str]
) -> MigrationRefused:
    """Why the search failed: only breaking paths exist, or quarantined versions block every route."""
    if policy is PathPolicy.NO_BREAKING:
        best, blocked = _search(lineage, start, end, PathPolicy.FEWEST_BREAKING)
        if best is not None:
            worst = next(s for s in best.steps if s.breaking)
            return MigrationRefused(
                f"every path from {start} to {end} has a breaking step; the best has "
                f"{best.breaking_steps}: {worst.describe()}.",
                start=start,
                end=end,
                refusal=PathRefusal.BREAKING,
                best=best,
            )
    names = "; ".join(
        f"{lineage.node(b).describe()} declares a "
        f"{' and '.join(sorted(m.value for m in lineage.node(b).migrations))} migration"
        for b in sorted(blocked)
    )
    return MigrationRefused(
        f"every route from {start} to {end} passes a quarantined version whose migration would "
        f"have to run: {names}.",
        start=start,
        end=end,
        refusal=PathRefusal.QUARANTINED_ROUTE,
        blocked=tuple(sorted(blocked)),
    )
