"""Scenario and Redis fixtures: ``scenario_runner``, ``redis_storage``; markers ``scenario`` and ``slo``.

``scenario_runner(path_or_scenario, mode="simulated")`` runs a scenario with a seed derived from
the test's chaos seed (or the marker's), so a failing test replays with its ``--chaos-seed``; the
result's failed expectations are in its ``explain()``. ``redis_storage`` is a ``RedisStorage`` on
the server at ``HARNESS_REDIS_URL`` under a namespace of its own, emptied at teardown; tests that
use it are skipped, with the reason, when no server is configured; it is an async fixture, so it
needs the ``async`` extra (pytest-asyncio), and says so when that is missing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness._extras import missing_modules, require

if TYPE_CHECKING:
    from harness.mode import Mode
    from harness.scenario import RunResult, Scenario
    from harness.storage import RedisStorage

__all__ = [
    "REDIS_URL_ENV",
    "pytest_configure",
    "redis_storage",
    "scenario_runner",
]

REDIS_URL_ENV = "HARNESS_REDIS_URL"

ScenarioRunner = Callable[..., "RunResult"]


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``scenario`` and ``slo`` markers."""
    config.addinivalue_line(
        "markers",
        "scenario(path=None, mode='simulated'): a test that runs a chaos scenario through scenario_runner; "
        "path= and mode= are the runner's defaults.",
    )
    config.addinivalue_line("markers", "slo: a test that checks a service-level objective.")


@pytest.fixture
def scenario_runner(request: pytest.FixtureRequest, seeds: Any) -> ScenarioRunner:
    """Run scenarios with this test's seed: ``result = scenario_runner("scenarios/x.yaml")``."""
    from harness.scenario import run_scenario

    marker = request.node.get_closest_marker("scenario")
    defaults = dict(marker.kwargs) if marker is not None else {}

    def run(
        scenario: str | Path | Scenario | None = None,
        *,
        mode: Mode | str | None = None,
        seed: int | None = None,
    ) -> RunResult:
        target = scenario if scenario is not None else defaults.get("path")
        if target is None:
            raise pytest.UsageError(
                f"{request.node.nodeid}: scenario_runner needs a scenario, or @pytest.mark.scenario(path=...)"
            )
        chosen = seed if seed is not None else seeds.int_seed("scenario")
        return run_scenario(target, seed=chosen, mode=mode or defaults.get("mode", "simulated"))

    return run


async def _redis_storage() -> AsyncIterator[RedisStorage]:
    """A namespaced ``RedisStorage`` on ``HARNESS_REDIS_URL``, emptied and closed at teardown."""
    url = os.environ.get(REDIS_URL_ENV)
    if not url:
        pytest.skip(f"needs a real Redis server: set {REDIS_URL_ENV}=redis://127.0.0.1:PORT/0")
    from harness.storage import RedisStorage

    store = RedisStorage.from_url(url, namespace=f"test-{uuid.uuid4().hex[:16]}")
    try:
        yield store
    finally:
        for key in await store.scan():
            await store.delete(key)
        await store.close()


def _redis_storage_needs_async() -> None:
    """Stands in for ``redis_storage`` without pytest-asyncio: says which extra to install."""
    require("async", "the redis_storage fixture")


redis_storage: Any
if missing_modules("async"):
    redis_storage = pytest.fixture(name="redis_storage")(_redis_storage_needs_async)
else:
    import pytest_asyncio

    redis_storage = pytest_asyncio.fixture(name="redis_storage")(_redis_storage)
