"""The ``load`` fixture and marker: short open-model load tests against local services.

``await load.run("http://127.0.0.1:8080/checkout", ConstantArrival(rate=200, duration=2),
thresholds=["p99 < 50ms"])`` drives the target and raises ``ThresholdsFailed`` when a threshold
fails. Runs are bounded: ``@pytest.mark.load(max_duration=10, max_requests=100_000)`` (the
defaults) caps each profile's length and request count, and only loopback targets are accepted
unless the marker says ``allow_remote=True``. Heavy imports happen inside the fixture.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.clock import Clock
    from harness.load import DriverResult, Profile, Target, Threshold
    from harness.seeding import Seeds

__all__ = [
    "DEFAULT_MAX_DURATION",
    "DEFAULT_MAX_REQUESTS",
    "LoadRunner",
    "load",
    "pytest_configure",
]

DEFAULT_MAX_DURATION = 10.0
DEFAULT_MAX_REQUESTS = 100_000
MARKER = (
    "load(max_duration=10.0, max_requests=100000, allow_remote=False): bounds of the load fixture's "
    "runs in this test; allow_remote=True permits non-loopback targets."
)


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``load`` marker."""
    config.addinivalue_line("markers", MARKER)


class LoadRunner:
    """Runs bounded open-model load from a test; every result is kept in ``results``."""

    def __init__(
        self,
        *,
        max_duration: float,
        max_requests: int,
        allow_remote: bool,
        seed: int,
        clock: Clock | None = None,
    ) -> None:
        self.max_duration = max_duration
        self.max_requests = max_requests
        self.allow_remote = allow_remote
        self.seed = seed
        self.clock = clock
        self.results: list[DriverResult] = []

    def _check_bounds(self, profile: Profile) -> None:
        import numpy as np

        if profile.duration > self.max_duration:
            raise pytest.UsageError(
                f"load profile lasts {profile.duration:g}s, over max_duration={self.max_duration:g}s; "
                "shorten it or raise the bound with @pytest.mark.load(max_duration=...)."
            )
        planned = float(profile.cumulative(np.array([profile.duration]))[0])
        if planned > self.max_requests:
            raise pytest.UsageError(
                f"load profile plans {planned:.0f} requests, over max_requests={self.max_requests}; "
                "lower the rate or raise the bound with @pytest.mark.load(max_requests=...)."
            )

    def _target(self, target: str | Target | Callable[[], Any] | Callable[[], Awaitable[Any]]) -> Target:
        from harness.load import CallableTarget, FastHttpTarget, HttpTarget, Target

        if isinstance(target, str):
            if target.startswith("http://"):
                return FastHttpTarget(target, allow_remote=self.allow_remote)
            return HttpTarget(target, allow_remote=self.allow_remote)
        if isinstance(target, Target):
            return target
        return CallableTarget(target)

    async def run(
        self,
        target: str | Target | Callable[[], Any] | Callable[[], Awaitable[Any]],
        profile: Profile,
        *,
        thresholds: Iterable[Threshold | str] = (),
        check: bool = True,
        **options: Any,
    ) -> DriverResult:
        """Drive ``target`` (URL, ``Target`` or callable) with ``profile``; raise if thresholds fail."""
        from harness.load import DriverConfig, OpenModelDriver, Threshold

        self._check_bounds(profile)
        parsed = tuple(t if isinstance(t, Threshold) else Threshold.parse(t) for t in thresholds)
        options.setdefault("seed", self.seed)
        options["max_requests"] = min(options.get("max_requests") or self.max_requests, self.max_requests)
        config = DriverConfig(profile=profile, thresholds=parsed, **options)
        result = await OpenModelDriver(config, self._target(target), clock=self.clock).run()
        self.results.append(result)
        if check:
            result.thresholds.raise_for_failures()
        return result

    def run_sync(
        self,
        target: str | Target | Callable[[], Any] | Callable[[], Awaitable[Any]],
        profile: Profile,
        **kwargs: Any,
    ) -> DriverResult:
        """:meth:`run` from a synchronous test (on its own event loop)."""
        return asyncio.run(self.run(target, profile, **kwargs))


@pytest.fixture
def load(request: pytest.FixtureRequest, seeds: Seeds) -> LoadRunner:
    """A bounded open-model load runner for this test (see the ``load`` marker)."""
    marker = request.node.get_closest_marker("load")
    kwargs: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    unknown = set(kwargs) - {"max_duration", "max_requests", "allow_remote"}
    if unknown:
        raise pytest.UsageError(
            f"{request.node.nodeid}: @pytest.mark.load got unknown arguments {sorted(unknown)}; "
            "valid: max_duration, max_requests, allow_remote."
        )
    return LoadRunner(
        max_duration=float(kwargs.get("max_duration", DEFAULT_MAX_DURATION)),
        max_requests=int(kwargs.get("max_requests", DEFAULT_MAX_REQUESTS)),
        allow_remote=bool(kwargs.get("allow_remote", False)),
        seed=seeds.int_seed("load") % 2**63,
    )
