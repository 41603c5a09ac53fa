"""The control step both engines share: windows, the flow's decision at each one's end, the router.

The run is cut into windows (:func:`window_bounds`). When one closes, :func:`close_window`
records what every version served and what users saw, hands the flow its
:class:`~harness.rollout.Window`, records the decision, and :func:`steer` points the router at
the flow's new split and mirror. The engines differ only in how the window's outcomes came to be
(vectorised models on virtual time, or real calls on a clock).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from harness.rollout.contract import Decision, Exchange, VersionWindow, Window
from harness.rollout.router import Router
from harness.scenario.flows import FlowDriver
from harness.scenario.record import RunRecord, thin
from harness.scenario.services import Outcomes

__all__ = ["Progress", "close_window", "flow_router", "make_window", "steer", "window_bounds"]

Progress = Callable[[float, float], None]
"""Called after each window with (seconds of the run done, run duration)."""


def window_bounds(duration: float, window: float) -> Iterator[tuple[float, float]]:
    """``(start, end)`` of each window of a run; the last one ends at ``duration``."""
    start = 0.0
    while start < duration - 1e-9:
        end = min(start + window, duration)
        yield start, end
        start = end


def steer(router: Router, driver: FlowDriver) -> None:
    """Point ``router`` at the flow's current split and mirror."""
    router.set_weights(driver.weights())
    mirror = driver.mirror()
    if mirror is None:
        router.set_mirror(())
    else:
        target, fraction = mirror
        router.set_mirror((target,), percent=100.0 * fraction)


def flow_router(driver: FlowDriver, seed: int) -> Router:
    """The run's router, seeded with ``seed`` and steered by the flow from the first request."""
    router = Router(driver.weights(), seed=seed)
    steer(router, driver)
    return router


def make_window(
    start: float, end: float, served: Mapping[str, Outcomes], exchanges: tuple[Exchange, ...]
) -> Window:
    """The flow's view of ``[start, end)``: counts, a latency sample and metrics per version."""
    versions = {
        name: VersionWindow(
            requests=out.requests,
            errors=out.failures,
            latencies=thin(out.latencies),
            metrics=dict(out.metrics),
        )
        for name, out in served.items()
    }
    return Window(start=start, end=end, versions=versions, exchanges=exchanges)


def close_window(
    record: RunRecord,
    driver: FlowDriver,
    router: Router,
    window: tuple[float, float],
    *,
    served: Mapping[str, Outcomes],
    user: Sequence[Outcomes],
) -> Decision | None:
    """Record the window, let the flow observe it, record its decision and steer the router."""
    start, end = window
    weights = router.weights
    driver.record_traffic(served)
    record.users(start, end, user)
    flow_window = make_window(start, end, served, driver.exchanges(start, end, served))
    record.versions(start, end, served, weights)
    decision = driver.observe(flow_window)
    if decision is not None:
        record.decision(end, f"flow/{driver.kind.value}", decision)
    steer(router, driver)
    return decision
