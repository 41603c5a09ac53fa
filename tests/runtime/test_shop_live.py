"""The shop example runs unchanged in live mode: under uvicorn, against a real redis-server.

The same Starlette app the simulated scenarios run on virtual time is served by uvicorn (with the
catalog served the same way), pointed at the real Redis of ``HARNESS_REDIS_URL``, and driven by
the live engine through its fault proxy.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import redis

from harness.scenario import parse_scenario, run_scenario
from tests.support import redis_url, requires_redis

ROOT = Path(__file__).resolve().parents[2]
_RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


@contextlib.contextmanager
def _uvicorn(app: str, env: dict[str, str]) -> Iterator[int]:
    """Serve ``app`` with uvicorn on a free port of 127.0.0.1; yield the port once it listens."""
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", "0"]
    proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(60.0, proc.kill)
    watchdog.start()
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            found = _RUNNING.search(line)
            if found:
                watchdog.cancel()
                yield int(found.group(1))
                return
        raise AssertionError(f"uvicorn {app} exited before listening (code {proc.wait()})")
    finally:
        watchdog.cancel()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


@requires_redis
def test_the_shop_serves_live_traffic_against_a_real_redis() -> None:
    """Two seconds of live traffic through the fault proxy: no errors, and the cache is the real Redis."""
    url = redis_url()
    assert url is not None
    client = redis.Redis.from_url(url)
    client.delete("product:item-1")
    with (
        _uvicorn("harness.examples.shop.catalog:app", {}) as catalog,
        _uvicorn(
            "harness.examples.shop.app:app",
            {"REDIS_URL": url, "CATALOG_URL": f"http://127.0.0.1:{catalog}"},
        ) as shop,
    ):
        scenario = parse_scenario(
            "name: shop-live\ndescription: the shop under uvicorn against a real Redis\n"
            "duration: 20s\nwindow: 10s\n"
            f"versions:\n  shop: {{http: {{url: 'http://127.0.0.1:{shop}/products/item-1'}}}}\n"
            "flow: {stable: shop}\n"
            "expectations:\n  steady_state: [{name: no errors, metric: error_rate, max: 0.0}]\n"
            "live: {window: 1s, rate: 20}\n"
        )
        result = run_scenario(scenario, seed=1, mode="live")
    assert result.passed, result.explain()
    assert sum(w.requests for w in result.user_windows) > 20
    assert client.get("product:item-1") is not None
    client.close()
