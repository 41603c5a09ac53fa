"""The requests of a run: which kind each one is (the traffic mix) and its payload (polyfactory)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.errors import InvalidConfig
from harness.scenario.imports import resolve_callable
from harness.scenario.model import RequestKind
from harness.seeding import Seeds

__all__ = ["RequestMaker"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_DEFAULT = RequestKind(name="request")


def _as_dict(value: Any, target: str) -> dict[str, Any]:
    if hasattr(value, "model_dump"):
        return dict(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, dict):
        return value
    raise InvalidConfig(
        f"payload factory {target!r} built a {type(value).__name__}, not a model, dataclass or dict"
    )


class RequestMaker:
    """Draws request kinds by weight and builds payloads, all from the run's seed.

    Payload factories are polyfactory factories; ``seed_random`` seeds each one (factory state is
    per class, so two runs sharing a factory in one process must not interleave).
    """

    def __init__(self, mix: Sequence[RequestKind], seeds: Seeds) -> None:
        self.kinds = list(mix) or [_DEFAULT]
        weights = np.array([k.weight for k in self.kinds], dtype=float)
        self._cumulative = np.cumsum(weights / weights.sum())
        self.factors: FloatArray = np.array([k.latency_factor for k in self.kinds], dtype=float)
        self._rng = seeds.numpy("traffic/mix")
        self._factories: dict[int, tuple[str, Any]] = {}
        for index, kind in enumerate(self.kinds):
            if kind.payload is None:
                continue
            factory = resolve_callable(kind.payload)
            build = getattr(factory, "build", None)
            seed_random = getattr(factory, "seed_random", None)
            if build is None or seed_random is None:
                raise InvalidConfig(
                    f"payload {kind.payload!r} is not a polyfactory factory (no build/seed_random)"
                )
            seed_random(seeds.int_seed(f"payload/{kind.name}") % 2**32)
            self._factories[index] = (kind.payload, build)
        self.count = 0

    @property
    def uniform(self) -> bool:
        """True when every request is of one kind with no latency factor (nothing to draw)."""
        return len(self.kinds) == 1 and self.factors[0] == 1.0 and not self._factories

    def draw(self, n: int) -> IntArray:
        """The kind index of each of ``n`` requests."""
        if len(self.kinds) == 1:
            return np.zeros(n, dtype=np.int64)
        picks = np.searchsorted(self._cumulative, self._rng.random(n), side="right")
        return np.minimum(picks, len(self.kinds) - 1).astype(np.int64)

    def request(self, kind: int) -> dict[str, Any]:
        """The next request of kind ``kind``: id, endpoint and payload."""
        number = self.count
        self.count += 1
        base: dict[str, Any] = {"id": number, "endpoint": self.kinds[kind].name}
        factory = self._factories.get(kind)
        if factory is None:
            return {**base, "item": f"item-{number % 97}", "quantity": 1 + number % 3}
        target, build = factory
        return {**base, **_as_dict(build(), target)}
