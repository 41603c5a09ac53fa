"""Turning live traffic into windows, so the flows run around real callables in-process.

:class:`WindowBuilder` records each request's outcome (version, latency, error, extra metrics) and
the router's mirror outcomes, and :meth:`~WindowBuilder.cut` hands back the :class:`Window` for a
time span and starts the next one. Latencies are kept up to ``max_samples`` per version by reservoir
sampling from a seeded stream (``rng``, e.g. ``Seeds(seed).stream("rollout/windows")``), so
memory stays bounded under any load. Mirror outcomes of the *secondary* and the *candidate* for the
same request are paired with the primary's response into an :class:`Exchange` for
:class:`~harness.rollout.ShadowFlow`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import numpy as np

from harness._checks import integer
from harness.errors import InvalidConfig
from harness.rollout.contract import Exchange, VersionWindow, Window
from harness.rollout.mirror import MirrorOutcome
from harness.seeding import Seeds

__all__ = ["WindowBuilder"]


class _Reservoir:
    __slots__ = ("rng", "seen", "size", "values")

    def __init__(self, size: int, rng: random.Random) -> None:
        self.size = size
        self.rng = rng
        self.seen = 0
        self.values: list[float] = []

    def add(self, value: float) -> None:
        self.seen += 1
        if len(self.values) < self.size:
            self.values.append(value)
            return
        j = self.rng.randrange(self.seen)
        if j < self.size:
            self.values[j] = value


class _VersionStats:
    __slots__ = ("errors", "latencies", "metrics", "requests")

    def __init__(self, size: int, rng: random.Random) -> None:
        self.requests = 0
        self.errors = 0
        self.latencies = _Reservoir(size, rng)
        self.metrics: dict[str, list[float]] = {}


class WindowBuilder:
    """Collects request outcomes and shadow pairs; :meth:`cut` returns them as a Window."""

    def __init__(
        self,
        *,
        max_samples: int = 10_000,
        rng: random.Random | None = None,
        secondary: str = "",
        candidate: str = "",
    ) -> None:
        integer("max_samples", max_samples, "latencies kept per version and window", at_least=1)
        if bool(secondary) != bool(candidate) or (secondary and secondary == candidate):
            raise InvalidConfig(
                "give both secondary and candidate (two different shadow versions) to build "
                "exchanges, or neither.",
                field="secondary",
                value=secondary,
            )
        self.max_samples = max_samples
        self.secondary = secondary
        self.candidate = candidate
        self._rng = rng if rng is not None else Seeds(0).stream("rollout/window-builder")
        self._stats: dict[str, _VersionStats] = {}
        self._pending: dict[int, dict[str, MirrorOutcome[Any]]] = {}
        self._exchanges: list[Exchange] = []

    def record(
        self, version: str, *, latency: float, error: bool = False, metrics: Mapping[str, float] | None = None
    ) -> None:
        """One served request of ``version``: its latency (seconds), whether it failed, extra metrics."""
        stats = self._stats.get(version)
        if stats is None:
            stats = self._stats[version] = _VersionStats(self.max_samples, self._rng)
        stats.requests += 1
        stats.errors += bool(error)
        stats.latencies.add(float(latency))
        for name, value in (metrics or {}).items():
            stats.metrics.setdefault(name, []).append(float(value))

    def on_mirror(self, outcome: MirrorOutcome[Any]) -> None:
        """Router callback: pair the secondary's and candidate's responses for one key."""
        if (
            outcome.shadow_version not in (self.secondary, self.candidate)
            or outcome.primary_error is not None
        ):
            return
        pair = self._pending.setdefault(outcome.request_number, {})
        pair[outcome.shadow_version] = outcome
        if len(pair) < 2:
            return
        del self._pending[outcome.request_number]
        sec, cand = pair[self.secondary], pair[self.candidate]
        self._exchanges.append(
            Exchange(
                primary=outcome.primary,
                secondary=_payload(sec),
                candidate=_payload(cand),
                request_id=outcome.key if outcome.key is not None else str(outcome.request_number),
            )
        )

    def cut(self, start: float, end: float) -> Window:
        """The window ``[start, end)`` of everything recorded since the last cut; then reset."""
        versions = {
            name: VersionWindow(
                requests=s.requests,
                errors=s.errors,
                latencies=np.asarray(s.latencies.values),
                metrics={k: np.asarray(v) for k, v in s.metrics.items()},
            )
            for name, s in sorted(self._stats.items())
        }
        window = Window(start=start, end=end, versions=versions, exchanges=tuple(self._exchanges))
        self._stats = {}
        self._exchanges = []
        return window


def _payload(outcome: MirrorOutcome[Any]) -> Any:
    """A shadow's response, or a marker of how it failed (a failure is a difference too)."""
    if outcome.shadow_error is None:
        return outcome.shadow
    return {"$error": "timeout" if outcome.timed_out else type(outcome.shadow_error).__name__}
