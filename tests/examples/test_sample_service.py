"""The sample checkout service: versions as callables (virtual time) and over HTTP."""

from __future__ import annotations

import random
import subprocess
import sys

import aiohttp
import pytest

from harness.clock import VirtualClock
from harness.errors import InvalidConfig
from harness.examples.sample_service import (
    VERSIONS,
    CheckoutError,
    Freeze,
    SampleService,
    Version,
    VersionSpec,
    price_of,
    serve,
)


def _outcomes(version: str, seed: int, n: int = 4000) -> list:  # type: ignore[type-arg]
    service = SampleService(version, rng=random.Random(seed), clock=VirtualClock())
    return [service.plan("book") for _ in range(n)]


def test_good_version_never_fails_and_answers_the_price() -> None:
    """good: every checkout succeeds with the correct total, in 2-4 ms."""
    outcomes = _outcomes("good", 1)
    assert not any(o.error for o in outcomes)
    assert {o.total for o in outcomes} == {price_of("book")}
    assert all(0.002 <= o.latency < 0.004 for o in outcomes)


def test_slow_version_is_an_order_of_magnitude_slower() -> None:
    """slow: 50-70 ms per checkout."""
    assert all(0.05 <= o.latency < 0.07 for o in _outcomes("slow", 1))


def test_buggy_version_fails_and_miscounts_at_its_rates() -> None:
    """buggy: about 20% errors and 10% wrong totals."""
    outcomes = _outcomes("buggy", 2)
    assert sum(o.error for o in outcomes) / len(outcomes) == pytest.approx(0.2, abs=0.03)
    wrong = sum(o.total != price_of("book") for o in outcomes)
    assert wrong / len(outcomes) == pytest.approx(0.1, abs=0.02)


def test_flaky_version_stalls_sometimes() -> None:
    """flaky: about 5% errors and 2% stalls of half a second."""
    outcomes = _outcomes("flaky", 3)
    assert sum(o.error for o in outcomes) / len(outcomes) == pytest.approx(0.05, abs=0.015)
    stalls = sum(o.latency >= 0.5 for o in outcomes)
    assert stalls / len(outcomes) == pytest.approx(0.02, abs=0.01)


def test_same_seed_same_outcomes() -> None:
    """All randomness comes from the injected stream: one seed, one sequence."""
    assert _outcomes("flaky", 9, 500) == _outcomes("flaky", 9, 500)
    assert _outcomes("flaky", 9, 500) != _outcomes("flaky", 10, 500)


def test_sync_checkout_waits_on_the_injected_clock() -> None:
    """checkout_sync advances a virtual clock by the planned latency instead of sleeping."""
    clock = VirtualClock()
    service = SampleService(Version.SLOW, rng=random.Random(4), clock=clock)
    body = service.checkout_sync("pen", 3)
    assert body == {"version": "slow", "item": "pen", "quantity": 3, "total": 3 * price_of("pen")}
    assert 0.05 <= clock.now() < 0.07


def test_async_checkout_runs_on_virtual_time() -> None:
    """checkout awaits the clock: 100 slow checkouts take 5-7 virtual seconds and no wall time."""
    clock = VirtualClock()
    service = SampleService("slow", rng=random.Random(5), clock=clock)

    async def many() -> None:
        for _ in range(100):
            await service.checkout("pen")

    clock.run(many())
    assert 5.0 <= clock.now() < 7.0


def test_failures_raise_checkout_error() -> None:
    """A failing plan raises CheckoutError naming the version and item."""
    rng = random.Random(0)
    service = SampleService("buggy", rng=rng, clock=VirtualClock())
    while True:  # advance the stream to just before a failing checkout, peeking on a copy
        peek = random.Random()
        peek.setstate(rng.getstate())
        if SampleService("buggy", rng=peek, clock=VirtualClock()).plan("lamp").error:
            break
        service.plan("lamp")
    with pytest.raises(CheckoutError, match="'lamp' failed in version 'buggy'") as info:
        service.checkout_sync("lamp")
    assert info.value.version is Version.BUGGY
    assert info.value.item == "lamp"


def test_bad_versions_and_specs_are_refused() -> None:
    """Unknown versions list the valid ones; specs validate their rates."""
    with pytest.raises(InvalidConfig, match="valid: good, slow, buggy, flaky"):
        SampleService("fast", rng=random.Random(0), clock=VirtualClock())
    with pytest.raises(InvalidConfig, match=r"error_rate=1\.5"):
        VersionSpec(base_latency=0, jitter=0, error_rate=1.5)
    assert set(VERSIONS) == set(Version)


def test_freeze_windows_and_their_analytic_quantiles() -> None:
    """A freeze holds responses until the window ends; quantiles follow (F - x) / P."""
    freeze = Freeze(every=5.0, freeze_for=0.5, origin=10.0)
    assert freeze.remaining(10.0) == 0.5
    assert freeze.remaining(10.2) == pytest.approx(0.3)
    assert freeze.remaining(11.0) == 0.0
    assert freeze.remaining(15.1) == pytest.approx(0.4)
    assert freeze.expected_quantile(0.99) == pytest.approx(0.45)  # wrk2's 453 ms in the issue
    assert freeze.expected_quantile(0.5) == 0.0
    with pytest.raises(InvalidConfig, match="freeze_for=6"):
        Freeze(every=5.0, freeze_for=6)


async def test_http_app_serves_every_version() -> None:
    """GET /v/{version}/checkout answers JSON; buggy errors are 500s; unknown versions 404."""
    async with serve(rng=random.Random(1)) as service, aiohttp.ClientSession() as session:
        assert service.url.startswith("http://127.0.0.1:")
        async with session.get(
            f"{service.url}/v/good/checkout", params={"item": "book", "quantity": "2"}
        ) as r:
            assert r.status == 200
            assert await r.json() == {
                "version": "good",
                "item": "book",
                "quantity": 2,
                "total": 2 * price_of("book"),
            }
        statuses = []
        for _ in range(40):
            async with session.get(f"{service.url}/v/buggy/checkout?item=x") as r:
                statuses.append(r.status)
        assert set(statuses) == {200, 500}
        async with session.get(f"{service.url}/v/nope/checkout") as r:
            assert r.status == 404
        async with session.get(f"{service.url}/checkout?quantity=x") as r:
            assert r.status == 400
        async with session.get(f"{service.url}/stats") as r:
            stats = await r.json()
    assert stats["by_version"] == {"good": 1, "buggy": 40}
    assert stats["errors"] == statuses.count(500) == service.stats.errors
    assert len(service.stats.arrivals) == 43  # /stats itself is not counted


def test_module_entry_point_prints_its_url() -> None:
    """python -m harness.examples.sample_service --port 0 prints the bound URL, then serves it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.examples.sample_service", "--port", "0", "--version", "slow"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        import urllib.request

        with urllib.request.urlopen(f"{url}/checkout?item=pen", timeout=10) as resp:
            assert resp.status == 200
            assert b'"version": "slow"' in resp.read()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
