"""Weighted traffic split between versions: per request or a whole window at once, sticky or seeded.

Versions hold consecutive ranges of [0, 100) in their declared order, the *last* declared version
(the candidate) at the top, each as wide as its percent weight. A request lands where its point
falls:

* a request with a key (user id, session id) is **sticky**: the key hashes, with the router's
  seed, to a fixed point. So a key keeps its version while weights stay put, and raising the
  candidate's weight only moves keys onto the candidate, never between the others;
* a request without a key takes the next draw of the router's seeded stream (unkeyed requests
  are the default). One draw per request, and none while a single version has all the weight,
  so the k-th unkeyed request gets the same version whether it is routed alone (:meth:`Router.pick`)
  or in a window (:meth:`Router.assign`): the engines route a window of arrivals in one numpy
  call, or request by request, and the seed gives the same sequence either way.

Mirroring decides, per request, whether the shadows get a copy (the same key hashing for keyed
requests, a second seeded stream otherwise). The router only decides and does no I/O;
:class:`~harness.rollout.mirror.MirrorPool` carries a :class:`~harness.rollout.mirror.Route` out.
:meth:`Router.call` is the two together.
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from harness.errors import InvalidConfig
from harness.rollout.mirror import Handler, MirrorConfig, MirrorOutcome, MirrorPool, Route
from harness.seeding import derive_seed

__all__ = ["Requests", "Router", "validate_weights"]

_Req = TypeVar("_Req")
_T = TypeVar("_T", bound=np.generic)
FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]
Requests = int | Sequence[str]
"""A window of requests: how many (unkeyed), or their keys (sticky)."""


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


class _Uniforms:
    """A seeded stream of uniforms in [0, 1), handed out one at a time or many at once.

    Single draws come from a block drawn ahead, so a request costs a list lookup instead of a
    numpy call; the values handed out are the stream's in order however they are taken.
    """

    __slots__ = ("_block", "_generator", "_next")

    BLOCK = 256

    def __init__(self, seed: int, name: str) -> None:
        self._generator = np.random.Generator(np.random.PCG64(derive_seed(seed, name)))
        self._block: list[float] = []
        self._next = 0

    def one(self) -> float:
        """The next uniform."""
        if self._next == len(self._block):
            self._block = self._generator.random(self.BLOCK).tolist()
            self._next = 0
        value = self._block[self._next]
        self._next += 1
        return value

    def many(self, n: int) -> FloatArray:
        """The next ``n`` uniforms."""
        left = len(self._block) - self._next
        if left == 0:
            return self._generator.random(n)
        taken = min(n, left)
        head = np.array(self._block[self._next : self._next + taken])
        self._next += taken
        return head if taken == n else np.concatenate([head, self._generator.random(n - taken)])


def _count(requests: Requests) -> int:
    if isinstance(requests, str):
        raise InvalidConfig(
            f"requests={requests!r} is one key; pass a count or a sequence of keys.", field="requests"
        )
    if getattr(getattr(requests, "dtype", None), "kind", "") == "f":  # points passed for keys
        raise InvalidConfig(
            "requests is an array of numbers; pass a count or keys, or route points in [0, 100) "
            "with Router.index(points).",
            field="requests",
        )
    if isinstance(requests, (int, np.integer)):
        return int(requests)
    return len(requests)


class Router:
    """Routes requests to versions by percent weight: sticky per key, seeded-random without one."""

    def __init__(
        self,
        weights: Mapping[str, float],
        *,
        seed: int,
        shadows: Sequence[str] = (),
        mirror: MirrorConfig | None = None,
        on_mirror: Callable[[MirrorOutcome[Any]], None] | None = None,
    ) -> None:
        self.seed = seed
        self._order = list(validate_weights(weights))
        self._draws = _Uniforms(seed, "router/requests")
        self._mirror_draws = _Uniforms(seed, "router/mirror")
        self.shadows = tuple(shadows)
        self.mirror = mirror or MirrorConfig()
        self.pool = MirrorPool(self.mirror, on_mirror)
        self._weights: dict[str, float] = {}
        self._edges = np.zeros(0)
        self._edge_list: list[float] = []
        self._top = 0
        self._only: int | None = None
        self.set_weights(weights)

    # -- the split --------------------------------------------------------------------------------

    @property
    def weights(self) -> Mapping[str, float]:
        """Current percent per version."""
        return dict(self._weights)

    @property
    def versions(self) -> tuple[str, ...]:
        """Every version known, in range order: the indices :meth:`pick` and :meth:`assign` return."""
        return tuple(self._order)

    def set_weights(self, weights: Mapping[str, float]) -> None:
        """Change the split; versions not yet known are appended (become the new top range)."""
        w = validate_weights(weights)
        for name in w:
            if name not in self._order:
                self._order.append(name)
        self._weights = {n: w.get(n, 0.0) for n in self._order}
        self._edges = np.cumsum([self._weights[n] for n in self._order])
        self._edge_list = self._edges.tolist()
        serving = [i for i, n in enumerate(self._order) if self._weights[n] > 0]
        self._top = serving[-1]
        self._only = serving[0] if len(serving) == 1 else None

    def set_mirror(self, shadows: Sequence[str], *, percent: float = 100.0) -> None:
        """Mirror ``percent`` of requests to ``shadows`` from now on (no shadows: mirror nothing)."""
        self.shadows = tuple(shadows)
        self.mirror = replace(self.mirror, percent=percent)

    # -- one request ------------------------------------------------------------------------------

    def point(self, key: str) -> float:
        """The key's seeded position in [0, 100)."""
        digest = hashlib.blake2b(f"{self.seed}\x00{key}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64 * 100.0

    def pick(self, key: str | None = None) -> int:
        """The index in :attr:`versions` serving one request: sticky by ``key``, else the next draw."""
        if self._only is not None:
            return self._only
        at = self.point(key) if key is not None else self._draws.one() * 100.0
        # Rounding can leave the top edge a hair under 100: such points go to the top positive range.
        return min(bisect_right(self._edge_list, at), self._top)

    def route(self, key: str | None = None) -> str:
        """The version serving one request (see :meth:`pick`)."""
        return self._order[self.pick(key)]

    def decide(self, key: str | None = None) -> Route:
        """One request's full decision: the version serving it and the shadows it is mirrored to."""
        version = self.route(key)
        return Route(version, self.shadows if self._mirrors(key) else (), key)

    def _mirrors(self, key: str | None) -> bool:
        percent = self.mirror.percent
        if not self.shadows or percent <= 0.0:
            return False
        if percent >= 100.0:
            return True
        at = self.point("mirror\x00" + key) if key is not None else self._mirror_draws.one() * 100.0
        return at < percent

    # -- a window of requests ---------------------------------------------------------------------

    def index(self, points: FloatArray) -> IndexArray:
        """Vectorised routing of points in [0, 100): the index in :attr:`versions` of each."""
        idx = np.searchsorted(self._edges, np.asarray(points, dtype=np.float64), side="right")
        return np.minimum(idx, self._top, out=idx)

    def points(self, keys: Sequence[str]) -> FloatArray:
        """The seeded positions of ``keys`` (see :meth:`point`)."""
        return np.fromiter((self.point(k) for k in keys), dtype=np.float64, count=len(keys))

    def assign(self, requests: Requests) -> IndexArray:
        """Route a window in one call: ``n`` unkeyed requests, or one per key; indices in :attr:`versions`.

        Equal to calling :meth:`pick` for each request in turn, and consuming the same draws.
        """
        n = _count(requests)
        if self._only is not None:
            return np.full(n, self._only, dtype=np.intp)
        if isinstance(requests, (int, np.integer)):
            return self.index(self._draws.many(n) * 100.0)
        return self.index(self.points(requests))

    def partition(
        self, items: npt.NDArray[_T], keys: Sequence[str] | None = None
    ) -> dict[str, npt.NDArray[_T]]:
        """Each serving version's share of a window of requests (``items``, one per request).

        Versions with weight 0 are left out; with ``keys`` the split is sticky.
        """
        if keys is not None and _count(keys) != items.size:
            raise InvalidConfig(
                f"{len(keys)} keys for {items.size} requests; pass one key per request.", field="keys"
            )
        if self._only is not None:
            return {self._order[self._only]: items}
        picks = self.assign(items.size if keys is None else keys)
        return {name: items[picks == i] for i, name in enumerate(self._order) if self._weights[name] > 0}

    def split(self, points: FloatArray) -> dict[str, IndexArray]:
        """Vectorised routing of points in [0, 100): indices of ``points`` per version."""
        idx = self.index(points)
        return {name: np.flatnonzero(idx == i) for i, name in enumerate(self._order)}

    def mirror_mask(self, requests: Requests) -> npt.NDArray[np.bool_]:
        """Which requests of a window the shadows get a copy of (as :meth:`decide` would, in turn)."""
        n = _count(requests)
        percent = self.mirror.percent
        if not self.shadows or percent <= 0.0:
            return np.zeros(n, dtype=bool)
        if percent >= 100.0:
            return np.ones(n, dtype=bool)
        if isinstance(requests, (int, np.integer)):
            return self._mirror_draws.many(n) * 100.0 < percent
        return self.points(["mirror\x00" + k for k in requests]) < percent

    # -- carrying decisions out (I/O in the pool) -------------------------------------------------

    async def call(self, key: str | None, request: _Req, handlers: Mapping[str, Handler]) -> Any:
        """Serve ``request`` by the routed version; mirror it to the shadows in the background."""
        return await self.pool.serve(self.decide(key), request, handlers)

    @property
    def mirrored(self) -> int:
        """Mirrors started."""
        return self.pool.mirrored

    @property
    def dropped(self) -> int:
        """Mirrors dropped because ``max_concurrency`` were in flight (or the shadow had no handler)."""
        return self.pool.dropped

    @property
    def timeouts(self) -> int:
        """Mirrors cut off by the mirror timeout."""
        return self.pool.timeouts

    @property
    def failures(self) -> int:
        """Mirrors whose shadow raised."""
        return self.pool.failures

    @property
    def pending(self) -> int:
        """Mirrors still in flight."""
        return self.pool.pending

    async def drain(self) -> None:
        """Wait for in-flight mirrors (each is bounded by the mirror timeout)."""
        await self.pool.drain()

    async def aclose(self) -> None:
        """Cancel in-flight mirrors and wait for them to finish."""
        await self.pool.aclose()
