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

from locust import FastHttpUser, LoadTestShape, events, task

from harness.load.profiles import Profile, profile_from_dict

__all__ = ["install", "profile_pacing", "shape_for"]

_STARTED: list[float] = []


@events.test_start.add_listener  # type: ignore[untyped-decorator]
def _mark_start(**_: Any) -> None:
    _STARTED[:] = [time.monotonic()]


def _elapsed() -> float:
    return time.monotonic() - _STARTED[0] if _STARTED else 0.0


def shape_for(profile: Profile, *, user_rate: float = 10.0, spawn_rate: float = 100.0) -> type[Any]:
    """A ``LoadTestShape`` with ``ceil(rate / user_rate)`` users at each instant of ``profile``."""

    class ProfileShape(LoadTestShape):  # type: ignore[misc,unused-ignore]
        def tick(self) -> tuple[int, float] | None:
            t = float(self.get_run_time())  # type: ignore[no-untyped-call,unused-ignore]
            if t >= profile.duration:
                return None
            users = max(1, math.ceil(profile.rate_at(t) / user_rate - 1e-9))
            return users, spawn_rate

    return ProfileShape


def profile_pacing(profile: Profile, user_rate: float) -> Any:
    """A Locust ``wait_time`` that makes all users together start ``profile.rate_at(t)`` tasks per second.

    Each user runs ``rate / users`` tasks per second, where ``users`` is the shape's count at
    that instant, with ``constant_throughput``'s bookkeeping (the task's own time is deducted).
    """

    def wait_time(user: Any) -> float:
        t = _elapsed()
        rate = profile.rate_at(t)
        users = max(1, math.ceil(rate / user_rate - 1e-9))
        period = users / rate if rate > 0 else 0.1
        now = time.monotonic()
        last = getattr(user, "_harness_next", now)
        target = max(last + period, now)
        user._harness_next = target
        return max(0.0, target - now)

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
