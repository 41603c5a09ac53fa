"""Choosing where a rollback goes: the newest production ancestor reachable without a breaking step.

:func:`choose_rollback_target` walks the current version's ancestors, newest semantic version
first, and takes the first one that is in PRODUCTION and has a migration path from the current
version with no breaking step (``PathPolicy.NO_BREAKING``). Every ancestor it passes over is
recorded with the reason (quarantined and why, experimental, a breaking or refused path), so the
choice explains itself. An explicit target is taken as given when a path to it exists (breaking
steps are allowed then, and counted in the reason); it is refused only when no path exists.
The choice is pure: the registry verifies the chosen target's checksum and chooses again when
that quarantines it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.rollout.lineage import Lineage
from harness.rollout.paths import MigrationPath, MigrationRefused, PathPolicy, find_path
from harness.rollout.versions import Lifecycle

__all__ = ["TargetCandidate", "TargetChoice", "choose_rollback_target"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetCandidate:
    """One version considered as a rollback target, and why it was taken or passed over."""

    version: str
    accepted: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"version": self.version, "accepted": self.accepted, "reason": self.reason}


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetChoice:
    """Where a rollback from ``current`` goes (``target`` None: nowhere safe), the path and why."""

    current: str
    target: str | None
    path: MigrationPath | None
    explicit: bool
    candidates: tuple[TargetCandidate, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        """One sentence per candidate considered, in the order they were considered."""
        return tuple(c.reason for c in self.candidates)

    def explain(self) -> str:
        """The decision and its reasons, one per line."""
        head = (
            f"rollback {self.current} -> {self.target}"
            if self.target is not None
            else f"no rollback target for {self.current}"
        )
        return "\n".join([head, *(f"  {r}" for r in self.reasons)])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "current": self.current,
            "target": self.target,
            "explicit": self.explicit,
            "path": None if self.path is None else self.path.to_dict(),
            "candidates": [c.to_dict() for c in self.candidates],
        }


def _path_words(path: MigrationPath) -> str:
    steps = "; ".join(s.describe() for s in path.steps)
    return f"path {' -> '.join(path.versions)}: {steps}"


def _explicit(lineage: Lineage, current: str, target: str) -> TargetChoice:
    try:
        path = find_path(lineage, current, target, policy=PathPolicy.FEWEST_BREAKING)
    except MigrationRefused as refused:
        candidate = TargetCandidate(version=target, accepted=False, reason=f"{target} (explicit): {refused}")
        return TargetChoice(current=current, target=None, path=None, explicit=True, candidates=(candidate,))
    node = lineage.node(target)
    warning = f", {path.breaking_steps} breaking step(s)" if path.breaking_steps else ""
    reason = f"{target} (explicit, {node.lifecycle.value}{warning}): {_path_words(path)}"
    candidate = TargetCandidate(version=target, accepted=True, reason=reason)
    return TargetChoice(current=current, target=target, path=path, explicit=True, candidates=(candidate,))


def _skipped(version: str, why: str) -> TargetCandidate:
    return TargetCandidate(version=version, accepted=False, reason=f"{version} skipped: {why}")


def _consider(lineage: Lineage, current: str, ancestor: str) -> tuple[TargetCandidate, MigrationPath | None]:
    node = lineage.node(ancestor)
    if node.lifecycle is not Lifecycle.PRODUCTION:
        why = "quarantined" if node.quarantined else "experimental, never promoted"
        detail = f": {node.note}" if node.note else ""
        return _skipped(ancestor, f"{why}{detail}"), None
    try:
        path = find_path(lineage, current, ancestor, policy=PathPolicy.NO_BREAKING)
    except MigrationRefused as refused:
        return _skipped(ancestor, str(refused)), None
    reason = f"{ancestor} chosen: the newest production ancestor without a breaking step; {_path_words(path)}"
    return TargetCandidate(version=ancestor, accepted=True, reason=reason), path


def choose_rollback_target(lineage: Lineage, current: str, *, explicit: str | None = None) -> TargetChoice:
    """The rollback target for ``current`` (see the module docstring)."""
    lineage.node(current)
    if explicit is not None:
        return _explicit(lineage, current, explicit)
    considered: list[TargetCandidate] = []
    for ancestor in lineage.ancestors(current):
        candidate, path = _consider(lineage, current, ancestor)
        considered.append(candidate)
        if path is not None:
            return TargetChoice(
                current=current, target=ancestor, path=path, explicit=False, candidates=tuple(considered)
            )
    considered.append(
        TargetCandidate(
            version=current,
            accepted=False,
            reason=(
                f"no rollback target: no production ancestor of {current} has a path without a breaking "
                "step or a quarantined migration"
                if considered
                else f"no rollback target: {current} has no ancestors"
            ),
        )
    )
    return TargetChoice(current=current, target=None, path=None, explicit=False, candidates=tuple(considered))
