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


def steer(router: Router, driver: FlowDriver, secondary: str | None = None) -> None:
    """Point ``router`` at the flow's current split and mirror.

    With ``secondary`` (a second instance of the primary, live shadow flows), every mirrored
    request is copied to it too, for noise cancellation.
    """
    router.set_weights(driver.weights())
    mirror = driver.mirror()
    if mirror is None:
        router.set_mirror(())
    else:
        target, fraction = mirror
        shadows = (target,) if secondary is None else (target, secondary)
        router.set_mirror(shadows, percent=100.0 * fraction)


def flow_router(driver: FlowDriver, seed: int, secondary: str | None = None) -> Router:
    """The run's router, seeded with ``seed`` and steered by the flow from the first request."""
    router = Router(driver.weights(), seed=seed)
    steer(router, driver, secondary)
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
    exchanges: Sequence[Exchange] | None = None,
    secondary: str | None = None,
) -> Decision | None:
    """Record the window, let the flow observe it, record its decision and steer the router.

    ``exchanges`` are real shadow responses (live mode); without them the flow's driver makes its
    own from the window's outcomes.
    """
    start, end = window
    weights = router.weights
    driver.record_traffic(served)
    record.users(start, end, user)
    triples = tuple(exchanges) if exchanges is not None else driver.exchanges(start, end, served)
    flow_window = make_window(start, end, served, triples)
    record.versions(start, end, served, weights)
    decision = driver.observe(flow_window)
    if decision is not None:
        record.decision(end, f"flow/{driver.kind.value}", decision)
    steer(router, driver, secondary)
    return decision
