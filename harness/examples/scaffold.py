"""``harness init``: the files of a new repository's chaos setup, ready to run and then to edit.

``scaffold(folder, asgi=False)`` plans a ``chaos/`` folder (a starter scenario, the versions it
runs, a ``conftest.py`` with the plugin's fixtures in use, a starter chaos test, a benchmark for
the performance gate, a ``pytest.ini`` that registers the markers) and a GitHub Actions workflow
that runs the chaos tests, the scenarios and ``harness gate --ab`` against the base branch,
posting the Markdown summary. ``asgi=True`` starts from an ASGI app (called in-process) instead of
an HTTP service. ``write_scaffold`` refuses to overwrite a file unless ``force=True``, checking
every file before the first is written. The generated tests pass as generated.
"""

from __future__ import annotations

from pathlib import Path

from harness.examples.catalog import write_files

__all__ = ["scaffold", "write_scaffold"]

_INIT = '''"""Chaos tests and scenarios of this repository (scaffolded by ``harness init``)."""
'''

_VERSIONS_HTTP = '''"""The versions the starter scenario compares, as scenario callables.

A scenario names a version as ``callable: {target: "chaos.versions:stable"}``: a factory
``make(rng, clock) -> handler`` that the engine calls once per run with a seeded ``random.Random``
and a clock (virtual in simulated mode, so a ten-minute scenario runs in a second). The handler
takes one request dict and returns a response dict, or raises. Replace ``respond`` with a call
into your service's code; for a live run against a deployed service, use an ``http:`` version
instead (see ``chaos/scenarios/canary.yaml``).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def respond(request: dict[str, Any]) -> dict[str, Any]:
    """Your service's answer to one request (stands in for your handler)."""
    return {"status": 200, "kind": request.get("kind", "get")}


def _version(base_latency: float) -> Callable[[random.Random, Any], Handler]:
    def make(rng: random.Random, clock: Any) -> Handler:
        async def handle(request: dict[str, Any]) -> dict[str, Any]:
            await clock.sleep(base_latency + rng.random() * 0.002)
            return respond(request)

        return handle

    return make


stable = _version(0.004)
candidate = _version(0.004)
'''

_VERSIONS_ASGI = '''"""The starter scenario's versions: the ASGI app of ``chaos/app.py``, called in-process.

A scenario names a version as ``callable: {target: "chaos.versions:stable"}``: a factory
``make(rng, clock) -> handler`` that the engine calls once per run with a seeded ``random.Random``
and a clock (virtual in simulated mode). The handler sends one HTTP request through the ASGI
interface of ``app`` (no server, no socket) and returns the status and body, or raises.
Point ``APP`` at your own ASGI application.
"""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable
from typing import Any

from chaos.app import app as APP  # noqa: N812 - the application under test

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


async def call_asgi(app: Any, method: str, path: str) -> dict[str, Any]:
    """One request through ``app``'s ASGI interface: ``{"status": ..., "body": ...}``."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": [], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    if status >= 500:
        raise RuntimeError(f"{method} {path} answered {status}")
    return {"status": status, "body": json.loads(body or b"null")}


def _version(base_latency: float) -> Callable[[random.Random, Any], Handler]:
    def make(rng: random.Random, clock: Any) -> Handler:
        async def handle(request: dict[str, Any]) -> dict[str, Any]:
            await clock.sleep(base_latency + rng.random() * 0.002)
            return await call_asgi(APP, "GET", "/health")

        return handle

    return make


stable = _version(0.004)
candidate = _version(0.004)
'''

_APP_ASGI = '''"""A minimal ASGI app standing in for yours (FastAPI, Starlette, Django all speak ASGI)."""

from __future__ import annotations

import json
from typing import Any


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``GET /health`` answers ``{"ok": true}``; anything else is a 404."""
    if scope["type"] != "http":
        return
    found = scope["path"] == "/health"
    body = json.dumps({"ok": True} if found else {"error": "not found"}).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200 if found else 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})
'''

_SCENARIO = """# A starter canary: the candidate takes 20%, 50%, then 100% of the traffic, judged every window
# against the stable version; a real regression rolls it back. Field reference: `harness scenarios
# schema`, or the scenario file reference linked from chaos-harness's README.
name: starter-canary
description: The candidate version is canaried step by step and promoted when it is no worse.
seed: 1
duration: 2m
window: 10s
versions:
  stable: {callable: {target: "chaos.versions:stable"}}
  candidate: {callable: {target: "chaos.versions:candidate"}}
  # For a live run (harness run --mode live) against running services, use http versions:
  # stable: {http: {url: "http://127.0.0.1:8080"}}
traffic:
  rate: 100
flow:
  kind: canary
  stable: stable
  candidate: candidate
  canary: {steps: [20, 50, 100], analysis_windows: 2, alpha: 0.05, max_latency_increase: 0.25}
expectations:
  steady_state:
    - {name: no errors, metric: error_rate, max: 0.0}
    - {name: fast enough, metric: p99, max: 50ms}
  outcome:
    promoted: true
live: {window: 1s, rate: 50}
"""

_CONFTEST = '''"""Fixtures of the chaos tests, built on chaos-harness's plugin fixtures.

The plugin (loaded automatically) gives every test ``chaos_seed``, ``seeds``, ``virtual_clock``,
``storage``, ``inject_fault``, ``fault_proxy``, ``process_fault``, ``scenario_runner`` and more;
these fixtures show them in use.
"""

from __future__ import annotations

import pytest

from harness.clock import VirtualClock
from harness.resilience import CircuitBreaker, CircuitBreakerConfig


@pytest.fixture
def breaker(virtual_clock: VirtualClock) -> CircuitBreaker:
    """A circuit breaker on the test's virtual clock: opening and recovering take no real time."""
    config = CircuitBreakerConfig(window=20, minimum_calls=10, open_for=30)
    return CircuitBreaker(config, name="upstream", clock=virtual_clock)


@pytest.fixture
def upstream_calls(seeds) -> list[int]:
    """Item ids drawn from the test's seeded stream (the same ids on a replay with --chaos-seed)."""
    rng = seeds.stream("items")
    return [rng.randrange(1000) for _ in range(20)]
'''

_TEST_CHAOS = '''"""Starter chaos tests: an injected fault, a breaker opening and recovering, a scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.faults import raise_error
from harness.resilience import CircuitOpenError, CircuitState

SCENARIOS = Path(__file__).parent / "scenarios"


def fetch_price(item: int) -> int:
    """Stands in for a call to a dependency of your service."""
    return 1299


@pytest.mark.chaos
def test_the_breaker_opens_under_errors_and_recovers(inject_fault, virtual_clock, breaker, upstream_calls):
    outage = inject_fault(fetch_price, raise_error(ConnectionError, rate=1.0))
    for item in upstream_calls:
        with pytest.raises((ConnectionError, CircuitOpenError)):
            breaker.call(fetch_price, item)
    assert breaker.state is CircuitState.OPEN
    outage.stop()
    virtual_clock.advance(30)
    assert [breaker.call(fetch_price, item) for item in upstream_calls[:3]] == [1299] * 3
    assert breaker.state is CircuitState.CLOSED


@pytest.mark.scenario(path=SCENARIOS / "canary.yaml")
def test_the_starter_canary_promotes_an_equal_candidate(scenario_runner):
    result = scenario_runner()
    assert result.passed, result.explain()
'''

_TEST_PERF_HTTP = '''"""A benchmark for the performance gate (``harness gate --ab`` in the CI workflow)."""

from __future__ import annotations

from chaos.versions import respond


def test_handling_one_request(benchmark):
    assert benchmark(respond, {"kind": "get"})["status"] == 200
'''

_TEST_PERF_ASGI = '''"""A benchmark for the performance gate (``harness gate --ab`` in the CI workflow)."""

from __future__ import annotations

import asyncio

from chaos.versions import APP, call_asgi


def test_handling_one_request(benchmark):
    loop = asyncio.new_event_loop()
    try:
        answer = benchmark(lambda: loop.run_until_complete(call_asgi(APP, "GET", "/health")))
    finally:
        loop.close()
    assert answer == {"status": 200, "body": {"ok": True}}
'''

_PYTEST_INI = """# pytest settings of the chaos tests (`pytest chaos`). The plugin registers the markers too;
# listing them here keeps --strict-markers working with the plugin disabled (-p no:harness).
# With pytest-asyncio installed, add `asyncio_default_fixture_loop_scope = function` (it warns otherwise).
[pytest]
addopts = --strict-markers -p no:locust
filterwarnings = error
markers =
    chaos(seed=None, faults=None): a chaos test; its seed is printed with a replay line when it fails.
    scenario(path=None, mode='simulated'): a test that runs a chaos scenario through scenario_runner.
    load(max_duration=10.0, max_requests=100000, allow_remote=False): bounds of the load fixture's runs.
    slo: a test that checks a service-level objective.
"""

_WORKFLOW = """# Chaos tests, chaos scenarios and a performance gate on every pull request (scaffolded by
# `harness init`). The gate runs the base branch's and this branch's benchmarks alternately on the
# same runner (A/B), so machine noise hits both sides alike, and posts its Markdown summary.
name: chaos
on:
  pull_request:
  push:
    branches: [main]
jobs:
  chaos:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: Install
        run: pip install 'chaos-harness[scenarios,bench]'   # and your project's own requirements
      - name: Chaos tests
        run: pytest chaos
      - name: Chaos scenarios
        run: harness run chaos/scenarios/ --report reports/
      - name: Performance gate (base branch vs this branch, interleaved)
        if: github.event_name == 'pull_request'
        run: |
          git worktree add ../base "origin/${{ github.base_ref }}"
          harness gate --rounds 8 --markdown "$GITHUB_STEP_SUMMARY" --ab \\
            'python -m pytest ../base/chaos/test_perf.py -q --benchmark-json={out}' \\
            'python -m pytest chaos/test_perf.py -q --benchmark-json={out}'
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: chaos-reports
          path: reports/
"""


def scaffold(folder: Path, *, asgi: bool = False) -> dict[Path, str]:
    """Every file ``harness init`` writes under ``folder``, with its text."""
    chaos = folder / "chaos"
    files = {
        chaos / "__init__.py": _INIT,
        chaos / "versions.py": _VERSIONS_ASGI if asgi else _VERSIONS_HTTP,
        chaos / "scenarios" / "canary.yaml": _SCENARIO,
        chaos / "conftest.py": _CONFTEST,
        chaos / "test_chaos.py": _TEST_CHAOS,
        chaos / "test_perf.py": _TEST_PERF_ASGI if asgi else _TEST_PERF_HTTP,
        chaos / "pytest.ini": _PYTEST_INI,
        folder / ".github" / "workflows" / "chaos.yml": _WORKFLOW,
    }
    if asgi:
        files[chaos / "app.py"] = _APP_ASGI
    return files


def write_scaffold(folder: Path, *, asgi: bool = False, force: bool = False) -> list[Path]:
    """Write :func:`scaffold`'s files; a :class:`~harness.errors.UsageError` names any that exist."""
    return write_files(scaffold(folder, asgi=asgi), force=force)
