"""The result of a scenario run: verdict, journal, digest and metrics (``harness.report`` renders it)."""

from __future__ import annotations

import hashlib
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from harness.expectation import ExpectationResult
from harness.journal import Event, Journal, canonical_json
from harness.mode import Mode
from harness.rollout.contract import Decision
from harness.scenario.dependency import DependencyStats
from harness.scenario.expectations import UserWindow
from harness.scenario.flows import FlowOutcome
from harness.scenario.model import Scenario

__all__ = ["REPLAY_KINDS", "RunResult", "VersionPoint", "replay_command", "replay_digest"]

REPLAY_KINDS = frozenset(
    {"routing", "fault.on", "fault.off", "fault.skipped", "faults.cleared", "proxy.toxic", "decision"}
)
"""The journal events a seed decides (the replay digest covers these)."""


def _decided(event: Event) -> dict[str, Any]:
    data = dict(event.data)
    if event.kind == "decision":  # the action and split, not the measurements quoted as reasons
        data = {k: data.get(k) for k in ("action", "weights", "terminal")}
    return {"t": round(event.t, 6), "kind": event.kind, "source": event.source, "data": data}


def replay_digest(journal: Journal) -> str:
    """SHA-256 over the journal's :data:`REPLAY_KINDS` events, ordered by time then content.

    Events at one instant are concurrent (a live run's proxy may journal a toxic's removal before
    or after the window's decision at the same scheduled time), so their order is not part of what
    the seed decides.
    """
    lines = sorted(
        (round(event.t, 6), canonical_json(_decided(event)))
        for event in journal
        if event.kind in REPLAY_KINDS
    )
    h = hashlib.sha256()
    for _, line in lines:
        h.update(line.encode())
        h.update(b"\n")
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class VersionPoint:
    """One version's aggregates in one window."""

    t_start: float
    t_end: float
    weight: float
    requests: int
    errors: int
    p50: float | None
    p95: float | None
    p99: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, latencies rounded to the nanosecond so digests do not chase float noise."""
        return {
            "t_end": round(self.t_end, 9),
            "weight": round(self.weight, 6),
            "requests": self.requests,
            "errors": self.errors,
            "p50": None if self.p50 is None else round(self.p50, 9),
            "p95": None if self.p95 is None else round(self.p95, 9),
            "p99": None if self.p99 is None else round(self.p99, 9),
        }


def replay_command(source: str | None, seed: int, mode: Mode) -> str:
    """The command that replays a run."""
    target = shlex.quote(source) if source else "<scenario.yaml>"
    suffix = "" if mode is Mode.SIMULATED else f" --mode {mode.value}"
    return f"harness run {target} --seed {seed}{suffix}"


@dataclass(slots=True)
class RunResult:
    """Everything one run produced. ``passed`` is the verdict; ``digest`` the fingerprint."""

    scenario: Scenario
    seed: int
    mode: Mode
    journal: Journal
    expectations: list[ExpectationResult]
    outcome: FlowOutcome
    points: Mapping[str, Sequence[VersionPoint]]
    user_windows: Sequence[UserWindow]
    decisions: Sequence[Decision]
    dependency: DependencyStats | None = None
    sequence_digest: str | None = None
    routes: Sequence[str] = ()
    source: str | None = None
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def attach_source(self, source: str) -> None:
        """Record the scenario file this run came from (for the replay command and journal).

        The journal also records the working directory, so a relative ``source`` can be found
        from elsewhere.
        """
        self.source = source
        self.journal.meta["source"] = source
        self.journal.meta["cwd"] = os.getcwd()

    @property
    def passed(self) -> bool:
        """Whether every expectation held."""
        return all(e.passed for e in self.expectations)

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical journal."""
        return self.journal.digest()

    @property
    def replay_digest(self) -> str:
        """SHA-256 of what a seed decides: routing, fault and proxy events, the flow's decisions.

        Measured latencies are left out, so two live runs with one seed give the same replay digest
        while their journal digests differ; in simulated mode it is as reproducible as the digest.
        """
        return replay_digest(self.journal)

    @property
    def failed(self) -> list[ExpectationResult]:
        """The expectations that did not hold."""
        return [e for e in self.expectations if not e.passed]

    def explain(self) -> str:
        """The verdict, each failed expectation (observed vs limit) and the replay command."""
        verdict = "passed" if self.passed else "FAILED"
        lines = [f"scenario {self.scenario.name} {verdict} (seed {self.seed}, {self.mode})"]
        lines.extend(
            f"  {e.name}: observed {e.observed}, limit {e.limit} {e.detail}".rstrip() for e in self.failed
        )
        lines.append(f"Reproduce with: {replay_command(self.source, self.seed, self.mode)}")
        return "\n".join(lines)

    def summary(self) -> dict[str, float]:
        """Scalar metrics of the run, for baselines and the gate."""
        requests = sum(w.requests for w in self.user_windows)
        errors = sum(w.errors for w in self.user_windows)
        out: dict[str, float] = {
            "user_requests": float(requests),
            "user_error_rate": errors / requests if requests else 0.0,
            "decisions": float(len(self.decisions)),
        }
        p99s = [p.p99 for pts in self.points.values() for p in pts if p.p99 is not None]
        if p99s:
            out["max_window_p99"] = max(p99s)
        if self.outcome.decided_at is not None:
            out["decided_at"] = self.outcome.decided_at
        if self.dependency is not None:
            out["retry_ratio"] = self.dependency.retry_ratio
            out["breaker_rejections"] = float(self.dependency.rejected)
        return out
