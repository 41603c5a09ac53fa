"""Weighted, sticky traffic split between versions, with fire-and-forget mirroring to shadows.

A request key (user id, session id) hashes, with the run's seed, to a point in [0, 100); versions
hold consecutive ranges in their declared order, the *last* declared version (the candidate) at the
top. So a key keeps its version while weights stay put, and raising the candidate's weight only
moves keys onto the candidate, never between the others.

Mirroring copies a request to each shadow version after routing, as a background task bounded by
``max_concurrency`` (excess mirrors are dropped and counted) and by ``timeout``. The caller awaits
only the primary: a slow, failing or hanging shadow cannot change the primary's result or delay it.
Mirror outcomes go to an ``on_mirror`` callback (for example to build shadow exchanges).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from harness.errors import InvalidConfig

__all__ = ["MirrorConfig", "MirrorOutcome", "Router", "validate_weights"]

_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")
Handler = Callable[[Any], Awaitable[Any]]


def validate_weights(weights: Mapping[str, float], *, field_name: str = "weights") -> dict[str, float]:
    """Check percent weights: each in [0, 100], summing to 100 (within 1e-6)."""
    if not weights:
        raise InvalidConfig(
            f"{field_name} is empty; give each version a percent, e.g. {{'v1': 100}}.", field=field_name
        )
    out = {}
    for name, raw in weights.items():
        w = float(raw)
        if not (0.0 <= w <= 100.0):
            raise InvalidConfig(
                f"{field_name}[{name!r}]={w!r} is outside 0-100; weights are percents.",
                field=field_name,
                value=w,
            )
        out[str(name)] = w
    total = sum(out.values())
    if not math.isclose(total, 100.0, abs_tol=1e-6):
        raise InvalidConfig(
            f"{field_name} {out} sum to {total!r}; they must sum to 100 (percent).",
            field=field_name,
            value=total,
        )
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class MirrorConfig:
    """Bounds on mirroring: concurrent mirrors in flight, time each may take, share mirrored."""

    max_concurrency: int = 16
    timeout: float = 1.0
    percent: float = 100.0

    def __post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise InvalidConfig(
                f"max_concurrency={self.max_concurrency!r} must be >= 1.",
                field="max_concurrency",
                value=self.max_concurrency,
            )
        if not self.timeout > 0:
            raise InvalidConfig(
                f"timeout={self.timeout!r} must be > 0 seconds.", field="timeout", value=self.timeout
            )
        if not 0.0 <= self.percent <= 100.0:
            raise InvalidConfig(
                f"percent={self.percent!r} must be in 0-100.", field="percent", value=self.percent
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class MirrorOutcome(Generic[_Resp]):
    """What one mirrored call produced, next to the primary's result."""

    key: str
    primary_version: str
    shadow_version: str
    primary: _Resp | None
    primary_error: BaseException | None
    shadow: _Resp | None
    shadow_error: BaseException | None
    timed_out: bool


@dataclass(frozen=True, slots=True)
class _MirrorJob:
    key: str
    version: str
    shadow: str
    request: Any
    handlers: Mapping[str, Handler]
    primary: asyncio.Future[Any]


class Router:
    """Routes request keys to versions by weight, sticky per key; mirrors to shadow versions."""

    def __init__(
        self,
        weights: Mapping[str, float],
        *,
        seed: int,
        shadows: Sequence[str] = (),
        mirror: MirrorConfig | None = None,
        on_mirror: Callable[[MirrorOutcome[Any]], None] | None = None,
    ) -> None:
        self._order = list(validate_weights(weights))
        self.seed = seed
        self.shadows = tuple(shadows)
        self.mirror = mirror or MirrorConfig()
        self.on_mirror = on_mirror
        self._edges = np.zeros(0)
        self._top = 0
        self._weights: dict[str, float] = {}
        self.set_weights(weights)
        self._tasks: set[asyncio.Task[None]] = set()
        self.mirrored = 0
        self.dropped = 0
        self.timeouts = 0
        self.failures = 0

    @property
    def weights(self) -> Mapping[str, float]:
        """Current percent per version."""
        return dict(self._weights)

    def set_weights(self, weights: Mapping[str, float]) -> None:
        """Change the split; versions not yet known are appended (become the new top range)."""
        w = validate_weights(weights)
        for name in w:
            if name not in self._order:
                self._order.append(name)
        self._weights = {n: w.get(n, 0.0) for n in self._order}
        self._edges = np.cumsum([self._weights[n] for n in self._order])
        self._top = max(i for i, n in enumerate(self._order) if self._weights[n] > 0)

    def point(self, key: str) -> float:
        """The key's seeded position in [0, 100)."""
        digest = hashlib.blake2b(f"{self.seed}\x00{key}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64 * 100.0

    def route(self, key: str) -> str:
        """The version serving ``key`` under the current weights."""
        return self._order[int(self._index(np.asarray([self.point(key)]))[0])]

    def _index(self, points: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
        idx = np.searchsorted(self._edges, points, side="right")
        # Rounding can leave the top edge a hair under 100: such points go to the top positive range.
        return np.minimum(idx, self._top)

    def assign(self, points: npt.NDArray[np.float64]) -> list[str]:
        """Vectorised routing for simulations: points in [0, 100) to version names."""
        return [self._order[i] for i in self._index(np.asarray(points, dtype=np.float64))]

    def split(self, points: npt.NDArray[np.float64]) -> dict[str, npt.NDArray[np.intp]]:
        """Vectorised routing: indices of ``points`` per version."""
        idx = self._index(np.asarray(points, dtype=np.float64))
        return {name: np.flatnonzero(idx == i) for i, name in enumerate(self._order)}

    async def call(self, key: str, request: _Req, handlers: Mapping[str, Handler]) -> Any:
        """Serve ``request`` by the routed version; mirror it to the shadows in the background."""
        version = self.route(key)
        if version not in handlers:
            raise InvalidConfig(
                f"no handler for version {version!r}; handlers: {', '.join(sorted(handlers))}.",
                field="handlers",
                value=version,
            )
        primary_done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.shadows and self._mirror_this(key):
            for shadow in self.shadows:
                self._start_mirror(_MirrorJob(key, version, shadow, request, handlers, primary_done))
        try:
            result = await handlers[version](request)
        except BaseException as exc:
            primary_done.set_exception(exc)
            primary_done.exception()  # mark retrieved: mirrors may read it, nobody else must
            raise
        primary_done.set_result(result)
        return result

    def _mirror_this(self, key: str) -> bool:
        if self.mirror.percent >= 100.0:
            return True
        return self.point("mirror\x00" + key) < self.mirror.percent

    def _start_mirror(self, job: _MirrorJob) -> None:
        if len(self._tasks) >= self.mirror.max_concurrency or job.shadow not in job.handlers:
            self.dropped += 1
            return
        self.mirrored += 1
        task = asyncio.get_running_loop().create_task(self._mirror(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _call_shadow(self, job: _MirrorJob) -> tuple[Any, BaseException | None, bool]:
        try:
            async with asyncio.timeout(self.mirror.timeout):
                return await job.handlers[job.shadow](job.request), None, False
        except TimeoutError as exc:
            self.timeouts += 1
            return None, exc, True
        except Exception as exc:  # noqa: BLE001 - a shadow's failure is data, never the caller's problem
            self.failures += 1
            return None, exc, False

    async def _mirror(self, job: _MirrorJob) -> None:
        result, error, timed_out = await self._call_shadow(job)
        await asyncio.wait([job.primary])
        if self.on_mirror is None:
            return
        p_err = job.primary.exception()
        self.on_mirror(
            MirrorOutcome(
                key=job.key,
                primary_version=job.version,
                shadow_version=job.shadow,
                primary=None if p_err else job.primary.result(),
                primary_error=p_err,
                shadow=result,
                shadow_error=error,
                timed_out=timed_out,
            )
        )

    @property
    def pending(self) -> int:
        """Mirrors still in flight."""
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait for in-flight mirrors (each is bounded by the mirror timeout)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel in-flight mirrors and wait for them to finish."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
