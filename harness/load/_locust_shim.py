"""Locust-side glue, imported only inside the Locust subprocess (it imports locust, hence gevent).

The locustfile that :func:`harness.load.run_locust` writes calls :func:`install`, which reads the
run's spec (profile, user classes, paths) from JSON and defines in the locustfile's namespace:

* ``ProfileShape``: a ``LoadTestShape`` whose user count follows the profile's rate,
* ``HarnessUser``: a ``FastHttpUser`` cycling through the given paths, paced so that all users
  together start requests at the profile's rate (unless user classes or a locustfile are given),
* the given user classes (``"module:Class"``), imported by name.

``shape_for(profile)`` is the way to use a harness profile in a hand-written locustfile::

    from harness.load import StepLoad
    from harness.load._locust_shim import shape_for
    StepShape = shape_for(StepLoad(start_rate=50, step=50, step_duration=30, steps=4), user_rate=10)
"""

from __future__ import annotations

import importlib
import json
import math
import time
from typing import Any

import numpy as np
from locust import FastHttpUser, LoadTestShape, events, task

from harness.load.profiles import Profile, profile_from_dict

__all__ = ["install", "profile_pacing", "shape_for", "users_for"]

_STARTED: list[float] = []


@events.test_start.add_listener  # type: ignore[untyped-decorator]
def _mark_start(**_: Any) -> None:
    _STARTED[:] = [time.monotonic()]


def _elapsed() -> float:
    return time.monotonic() - _STARTED[0] if _STARTED else 0.0


_TICK = 1.0  # seconds between Locust's shape ticks


def users_for(profile: Profile, t: float, user_rate: float) -> int:
    """Users the shape runs from ``t`` until the next tick: enough for the higher rate at either end."""
    ahead = min(t + _TICK, profile.duration - 1e-9)
    rate = max(profile.rate_at(t), profile.rate_at(ahead))
    return math.ceil(rate / user_rate - 1e-9) if rate > 0 else 0


def shape_for(profile: Profile, *, user_rate: float = 10.0, spawn_rate: float = 100.0) -> type[Any]:
    """A ``LoadTestShape`` running :func:`users_for` users at each tick, ending with ``profile``."""

    class ProfileShape(LoadTestShape):  # type: ignore[misc,unused-ignore]
        def tick(self) -> tuple[int, float] | None:
            t = float(self.get_run_time())  # type: ignore[no-untyped-call,unused-ignore]
            if t >= profile.duration:
                return None
            return users_for(profile, t, user_rate), spawn_rate

    return ProfileShape


class _Pacer:
    """Each user's next start, on the profile's cumulative curve (10 ms grid, inverted by search)."""

    _STEP = 0.01
    _PHASE = 0.6180339887498949  # golden-ratio offsets spread users' first starts evenly

    def __init__(self, profile: Profile, user_rate: float) -> None:
        self.profile = profile
        self.user_rate = user_rate
        self.grid = np.arange(0.0, profile.duration + self._STEP, self._STEP)
        self.cum = profile.cumulative(self.grid)
        self.users_started = 0

    def count_at(self, t: float) -> float:
        return float(np.interp(t, self.grid, self.cum))

    def time_at(self, count: float) -> float:
        """When the cumulative count reaches ``count`` (inf after the profile)."""
        idx = int(np.searchsorted(self.cum, count, side="left"))
        if idx >= len(self.cum):
            return math.inf
        if idx == 0:
            return 0.0
        c0, c1 = self.cum[idx - 1], self.cum[idx]
        frac = (count - c0) / (c1 - c0) if c1 > c0 else 0.0
        return float(self.grid[idx - 1] + frac * self._STEP)

    def wait(self, user: Any, t: float) -> float:
        users = max(1, users_for(self.profile, math.floor(t / _TICK) * _TICK, self.user_rate))
        now_count = self.count_at(t)
        mark = getattr(user, "_harness_count", None)
        if mark is None:
            self.users_started += 1
            mark = now_count + users * ((self.users_started * self._PHASE) % 1.0) - users
        mark = max(mark + users, now_count - users)  # one share of arrivals later; never a backlog burst
        user._harness_count = mark
        due = self.time_at(mark)
        if math.isinf(due):  # no further share in this profile: idle until the shape stops the run
            return self.profile.duration - t + 10 * _TICK
        return max(0.0, due - t)


def profile_pacing(profile: Profile, user_rate: float) -> Any:
    """A Locust ``wait_time`` that makes all users together start ``profile.rate_at(t)`` tasks per second.

    Arrivals are shared out along the profile's cumulative curve: with ``users`` users (what the
    shape set at its last tick), each user starts its next task when ``users`` more arrivals
    are due, so ramps, steps and spikes are followed between ticks and a zero rate sends nothing.
    """
    pacer = _Pacer(profile, user_rate)

    def wait_time(user: Any) -> float:
        return pacer.wait(user, _elapsed())

    return wait_time


def _import(ref: str) -> Any:
    module, _, name = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _default_user(paths: list[str], pacing: Any) -> type[Any]:
    class HarnessUser(FastHttpUser):  # type: ignore[misc,unused-ignore]
        if pacing is not None:
            wait_time = pacing

        def on_start(self) -> None:
            self._harness_i = 0

        @task
        def hit(self) -> None:
            path = paths[self._harness_i % len(paths)]
            self._harness_i += 1
            self.client.get(path, name=path)

    return HarnessUser


def install(namespace: dict[str, Any], spec_json: str) -> None:
    """Define the shape and user classes described by ``spec_json`` in ``namespace``."""
    spec = json.loads(spec_json)
    profile = profile_from_dict(spec["profile"]) if spec.get("profile") else None
    user_rate = float(spec.get("user_rate", 10.0))
    if profile is not None:
        namespace["ProfileShape"] = shape_for(
            profile, user_rate=user_rate, spawn_rate=spec.get("spawn_rate", 100.0)
        )
    for ref in spec.get("user_classes", []):
        cls = _import(ref)
        namespace[cls.__name__] = cls
    if spec.get("default_user"):
        pacing = profile_pacing(profile, user_rate) if profile is not None else None
        namespace["HarnessUser"] = _default_user(list(spec.get("paths", ["/"])), pacing)
