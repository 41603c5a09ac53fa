"""Built-in health checks: results, timeouts, errors and thresholds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from harness.clock import VirtualClock
from harness.errors import InvalidConfig
from harness.health import (
    BaseHealthCheck,
    BreakerHealthCheck,
    CallableCheck,
    CheckResult,
    DiskSpaceCheck,
    DiskUsage,
    HealthCheck,
    HealthStatus,
    HttpHealthCheck,
    RedisHealthCheck,
)
from harness.storage import MemoryStorage, RedisStorage
from tests.support import redis_url, requires_redis


def run(clock: VirtualClock, check: HealthCheck) -> CheckResult:
    return clock.run(check.check())


@pytest.mark.parametrize(
    ("returned", "status"),
    [
        (True, HealthStatus.HEALTHY),
        (False, HealthStatus.UNHEALTHY),
        (HealthStatus.DEGRADED, HealthStatus.DEGRADED),
        ((HealthStatus.DEGRADED, "slow"), HealthStatus.DEGRADED),
        ("nonsense", HealthStatus.UNHEALTHY),
    ],
)
def test_callable_check_normalises_return_values(
    virtual_clock: VirtualClock, returned: Any, status: HealthStatus
) -> None:
    """A sync function's bool, status, (status, message) or junk becomes a CheckResult."""
    result = run(virtual_clock, CallableCheck("c", lambda: returned))
    assert result.status is status
    assert result.name == "c"


def test_async_callable_check_is_awaited(virtual_clock: VirtualClock) -> None:
    """An async function is awaited and its result used."""

    async def probe() -> HealthStatus:
        await asyncio.sleep(0.5)
        return HealthStatus.DEGRADED

    assert run(virtual_clock, CallableCheck("a", probe)).status is HealthStatus.DEGRADED


def test_probe_overrunning_its_timeout_is_unhealthy_on_virtual_time(virtual_clock: VirtualClock) -> None:
    """A probe slower than the timeout is cut off at the timeout and reported UNHEALTHY."""

    async def hang() -> bool:
        await asyncio.sleep(3600)
        return True

    result = run(virtual_clock, CallableCheck("slow", hang, timeout=2.0))
    assert result.status is HealthStatus.UNHEALTHY
    assert "timed out after 2s" in result.message
    assert virtual_clock.now() == pytest.approx(2.0)


def test_probe_exception_is_reported_not_raised(virtual_clock: VirtualClock) -> None:
    """A probe that raises reports UNHEALTHY with the exception type and message."""

    def boom() -> bool:
        raise ConnectionRefusedError("port 6379")

    result = run(virtual_clock, CallableCheck("db", boom))
    assert result.status is HealthStatus.UNHEALTHY
    assert result.message == "ConnectionRefusedError: port 6379"


def test_base_check_subclass_result_is_renamed(virtual_clock: VirtualClock) -> None:
    """A subclass returning a CheckResult with another name still reports under its own name."""

    class Custom(BaseHealthCheck):
        async def probe(self) -> CheckResult:
            return CheckResult(name="other", status=HealthStatus.DEGRADED, message="m")

    result = run(virtual_clock, Custom("mine"))
    assert (result.name, result.status, result.message) == ("mine", HealthStatus.DEGRADED, "m")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"timeout": 0}, "timeout"), ({"timeout": -1.0}, "timeout"), ({"timeout": True}, "timeout")],
)
def test_bad_timeout_is_rejected_with_the_value(kwargs: dict[str, Any], field: str) -> None:
    """A non-positive timeout fails at construction, quoting the value."""
    with pytest.raises(InvalidConfig, match=rf"{field}=") as info:
        CallableCheck("c", lambda: True, **kwargs)
    assert info.value.field == field


def test_check_needs_a_name_and_a_callable() -> None:
    """An empty name or a non-callable function is a usage error."""
    with pytest.raises(InvalidConfig, match="non-empty"):
        CallableCheck("  ", lambda: True)
    with pytest.raises(InvalidConfig, match="not callable"):
        CallableCheck("c", 42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("free", "status"),
    [(500, HealthStatus.HEALTHY), (80, HealthStatus.DEGRADED), (30, HealthStatus.UNHEALTHY)],
)
def test_disk_space_levels(virtual_clock: VirtualClock, free: int, status: HealthStatus) -> None:
    """Free space below the degraded and unhealthy fractions maps to those statuses."""
    check = DiskSpaceCheck("/data", usage=lambda path: DiskUsage(total=1000, used=1000 - free, free=free))
    result = run(virtual_clock, check)
    assert result.status is status
    assert result.details["free_fraction"] == free / 1000


def test_disk_space_on_a_real_filesystem(virtual_clock: VirtualClock, tmp_path: Any) -> None:
    """Without an injected reader, the real filesystem's usage is read."""
    result = run(virtual_clock, DiskSpaceCheck(str(tmp_path), degraded_below=0.0, unhealthy_below=0.0))
    assert result.status is HealthStatus.HEALTHY
    assert result.details["total"] > 0


def test_disk_space_levels_must_be_ordered() -> None:
    """The UNHEALTHY level above the DEGRADED level is rejected with the fix."""
    with pytest.raises(InvalidConfig, match=r"unhealthy_below=0\.5 exceeds degraded_below=0\.1"):
        DiskSpaceCheck(unhealthy_below=0.5, degraded_below=0.1)
    with pytest.raises(InvalidConfig, match=r"degraded_below=1\.5 must be a fraction"):
        DiskSpaceCheck(degraded_below=1.5)


def test_redis_check_on_memory_storage_round_trips(virtual_clock: VirtualClock) -> None:
    """On a plain Storage the check writes and reads back a probe key."""
    storage = MemoryStorage(clock=virtual_clock)
    result = run(virtual_clock, RedisHealthCheck(storage, timer=virtual_clock.now))
    assert result.status is HealthStatus.HEALTHY
    assert result.details["latency"] == 0.0


async def test_redis_check_pings_embedded_redis() -> None:
    """On a RedisStorage (fakeredis) the check PINGs the client."""
    storage = RedisStorage.embedded()
    try:
        result = await RedisHealthCheck(storage).check()
    finally:
        await storage.close()
    assert result.status is HealthStatus.HEALTHY


class _SlowClient:
    def __init__(self, clock: VirtualClock, delay: float, answer: bool = True) -> None:
        self.clock, self.delay, self.answer = clock, delay, answer

    async def ping(self) -> bool:
        await asyncio.sleep(self.delay)
        return self.answer


@pytest.mark.parametrize(
    ("delay", "answer", "status"),
    [
        (0.01, True, HealthStatus.HEALTHY),
        (0.5, True, HealthStatus.DEGRADED),
        (5.0, True, HealthStatus.UNHEALTHY),
        (0.01, False, HealthStatus.UNHEALTHY),
    ],
)
def test_redis_check_classifies_latency(
    virtual_clock: VirtualClock, delay: float, answer: bool, status: HealthStatus
) -> None:
    """Slower than degraded_after is DEGRADED; past the timeout or no PONG is UNHEALTHY."""
    client = _SlowClient(virtual_clock, delay, answer)
    check = RedisHealthCheck(client, timeout=2.0, degraded_after=0.1, timer=virtual_clock.now)
    assert run(virtual_clock, check).status is status


def test_redis_check_rejects_other_targets() -> None:
    """A target that is neither a client nor a Storage is a usage error."""
    with pytest.raises(InvalidConfig, match="neither a redis client nor a Storage"):
        RedisHealthCheck(object())


@pytest.fixture
async def http_service() -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A loopback HTTP service whose health answer the test controls."""
    release = asyncio.Event()
    state: dict[str, Any] = {"code": 200, "body": {"status": "UP"}, "hang": False}

    async def health(request: web.Request) -> web.Response:
        if state["hang"]:
            await release.wait()
        return web.json_response(state["body"], status=state["code"])

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/health", state
    finally:
        release.set()
        await runner.cleanup()


@pytest.mark.parametrize(
    ("code", "body", "status"),
    [
        (200, {"status": "UP"}, HealthStatus.HEALTHY),
        (200, {"status": "degraded"}, HealthStatus.DEGRADED),
        (200, {"status": "fail"}, HealthStatus.UNHEALTHY),
        (503, {"status": "DOWN"}, HealthStatus.UNHEALTHY),
        (500, {}, HealthStatus.UNHEALTHY),
    ],
)
async def test_http_check_reads_status_code_and_body(
    http_service: tuple[str, dict[str, Any]], code: int, body: dict[str, Any], status: HealthStatus
) -> None:
    """The status code and a JSON body's status field decide the result."""
    url, state = http_service
    state.update(code=code, body=body)
    result = await HttpHealthCheck(url, timeout=5.0).check()
    assert result.status is status
    assert result.details.get("status_code", code) == code


async def test_http_check_times_out(http_service: tuple[str, dict[str, Any]]) -> None:
    """A service slower than the timeout is UNHEALTHY (bounded by the timeout)."""
    url, state = http_service
    state["hang"] = True
    result = await HttpHealthCheck(url, timeout=0.2).check()
    assert result.status is HealthStatus.UNHEALTHY
    assert "timed out" in result.message or "Timeout" in result.message


async def test_http_check_reuses_a_given_session(http_service: tuple[str, dict[str, Any]]) -> None:
    """With a session the check uses it (and leaves it open)."""
    import aiohttp

    url, _ = http_service
    async with aiohttp.ClientSession() as session:
        check = HttpHealthCheck(url, name="svc", session=session)
        assert (await check.check()).status is HealthStatus.HEALTHY
        assert (await check.check()).status is HealthStatus.HEALTHY
        assert not session.closed


async def test_http_check_connection_refused_is_unhealthy() -> None:
    """Nothing listening is UNHEALTHY with the connection error, not an exception."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await HttpHealthCheck(f"http://127.0.0.1:{port}/", timeout=2.0).check()
    assert result.status is HealthStatus.UNHEALTHY
    assert "Connect" in result.message


def test_http_check_rejects_a_non_http_url() -> None:
    """Only http(s) URLs are accepted."""
    with pytest.raises(InvalidConfig, match="must start with http"):
        HttpHealthCheck("ftp://x")


class _FakeBreaker:
    """Stands in for a breaker: a name and a metrics() snapshot."""

    def __init__(self, state: str) -> None:
        self.name = "payments"
        self.state = state

    def metrics(self) -> dict[str, Any]:
        return {"state": self.state, "failure_rate": 0.6, "open_remaining": 12.0, "calls": 10}


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("closed", HealthStatus.HEALTHY),
        ("half_open", HealthStatus.DEGRADED),
        ("open", HealthStatus.UNHEALTHY),
    ],
)
def test_breaker_check_maps_states(virtual_clock: VirtualClock, state: str, status: HealthStatus) -> None:
    """CLOSED is healthy, HALF_OPEN degraded, OPEN unhealthy; the snapshot is in the details."""
    result = run(virtual_clock, BreakerHealthCheck(_FakeBreaker(state)))
    assert result.name == "breaker:payments"
    assert result.status is status
    assert result.details["calls"] == 10


def test_breaker_check_needs_metrics() -> None:
    """An object without metrics() is rejected with the fix."""
    with pytest.raises(InvalidConfig, match="no metrics"):
        BreakerHealthCheck(object())


async def test_redis_check_on_an_unreachable_server_is_unhealthy() -> None:
    """Nothing listening on the Redis port: UNHEALTHY with the connection error, within the timeout."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    storage = RedisStorage.from_url(f"redis://127.0.0.1:{port}/0", connect_timeout=0.5)
    try:
        result = await RedisHealthCheck(storage, timeout=2.0).check()
    finally:
        await storage.close()
    assert result.status is HealthStatus.UNHEALTHY
    assert "ConnectionError" in result.message


@requires_redis
@pytest.mark.redis
async def test_redis_check_on_real_redis_is_healthy() -> None:
    """A reachable real Redis answers PING: HEALTHY, with the latency in the details."""
    url = redis_url()
    assert url is not None
    storage = RedisStorage.from_url(url)
    try:
        result = await RedisHealthCheck(storage, degraded_after=1.0).check()
    finally:
        await storage.close()
    assert result.status is HealthStatus.HEALTHY
    assert 0.0 <= result.details["latency"] < 1.0
