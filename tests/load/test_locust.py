"""run_locust: Locust in subprocesses, never in this process; typed, merged statistics."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import InvalidConfig
from harness.load import (
    ConstantArrival,
    LocustConfig,
    LocustRunError,
    RampLoad,
    RemoteTargetRefused,
    evaluate_thresholds,
    run_locust,
    run_locust_async,
)
from harness.load.locust_runner import _plan, _result


def _assert_no_gevent() -> None:
    assert "gevent" not in sys.modules
    assert "locust" not in sys.modules


@pytest.mark.slow
def test_profile_run_gives_typed_stats_and_keeps_locust_files(sample_server: str, tmp_path: Path) -> None:
    """A ramp from zero then a plateau (100 + 200 planned requests) sends about 300, split over the paths."""
    result = run_locust(
        host=sample_server,
        output_dir=tmp_path,
        profile=RampLoad(start_rate=0, end_rate=100, duration=2).then(ConstantArrival(rate=100, duration=2)),
        paths=("/ping", "/checkout"),
    )
    _assert_no_gevent()
    assert result.total.requests == pytest.approx(300, rel=0.1)
    assert result.total.failures == 0
    assert {e.name for e in result.endpoints} == {"/ping", "/checkout"}
    assert result.endpoint("/ping").requests == pytest.approx(result.total.requests / 2, rel=0.1)
    assert 0 < result.total.percentile("50%") <= result.total.percentile("99%") <= result.total.max + 1e-3
    assert result.html.is_file()
    assert Path(f"{result.csv_prefix}_stats.csv").is_file()
    assert evaluate_thresholds(["error_rate < 1%", "rps > 50"], result.metrics()).passed


@pytest.mark.slow
def test_two_local_workers_give_merged_statistics(sample_server: str, tmp_path: Path) -> None:
    """With workers=2 the master's statistics hold requests from both worker processes."""
    result = run_locust(
        host=sample_server,
        output_dir=tmp_path,
        users=4,
        spawn_rate=4,
        duration=3,
        user_classes=("tests.load.locust_users:PidUser",),
        workers=2,
    )
    _assert_no_gevent()
    pids = {e.name for e in result.endpoints}
    assert len(pids) == 2, pids
    assert sum(e.requests for e in result.endpoints) == result.total.requests > 100
    assert len(result.logs) == 3
    assert result.workers == 2


@pytest.mark.slow
async def test_async_runner_leaves_the_event_loop_running(sample_server: str, tmp_path: Path) -> None:
    """run_locust_async does not block the loop, and asyncio keeps working afterwards."""
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.05)

    task = asyncio.create_task(ticker())
    result = await run_locust_async(
        host=sample_server, output_dir=tmp_path, users=2, duration=2, paths=("/ping",)
    )
    done.set()
    await task
    _assert_no_gevent()
    assert result.total.requests > 0
    assert ticks > 20
    async with asyncio.timeout(1):
        await asyncio.sleep(0.01)


@pytest.mark.slow
def test_a_broken_user_class_raises_with_the_log(sample_server: str, tmp_path: Path) -> None:
    """Locust failing to start is a LocustRunError naming the log."""
    with pytest.raises(LocustRunError, match=r"locust\.log"):
        run_locust(
            host=sample_server,
            output_dir=tmp_path,
            users=1,
            duration=1,
            user_classes=("tests.load.no_such_module:User",),
            time_limit=60,
        )


def test_config_needs_a_profile_or_users_and_duration(tmp_path: Path) -> None:
    """Without a profile, users and duration are required; with one, neither; durations are whole seconds."""
    with pytest.raises(InvalidConfig, match="profile= or both users= and duration="):
        LocustConfig(host="http://127.0.0.1:1", output_dir=tmp_path, users=3)
    with pytest.raises(InvalidConfig, match="not both"):
        LocustConfig(
            host="http://127.0.0.1:1",
            output_dir=tmp_path,
            profile=ConstantArrival(rate=1, duration=1),
            users=3,
        )
    with pytest.raises(InvalidConfig, match="whole seconds"):
        LocustConfig(host="http://127.0.0.1:1", output_dir=tmp_path, users=3, duration=2.5)


def test_remote_hosts_are_refused_without_opt_in(tmp_path: Path) -> None:
    """Locust load goes to loopback only unless allow_remote=True."""
    with pytest.raises(RemoteTargetRefused):
        LocustConfig(host="http://192.0.2.1", output_dir=tmp_path, users=1, duration=1)
    LocustConfig(host="http://192.0.2.1", output_dir=tmp_path, users=1, duration=1, allow_remote=True)


def test_user_classes_must_be_references(tmp_path: Path) -> None:
    """User classes are 'module:Class' strings, never imported here."""
    with pytest.raises(InvalidConfig, match="module:Class"):
        LocustConfig(
            host="http://127.0.0.1:1", output_dir=tmp_path, users=1, duration=1, user_classes=("Foo",)
        )


def test_distributed_plan_starts_a_master_and_workers(tmp_path: Path) -> None:
    """workers=N plans one master expecting N workers on 127.0.0.1 and N worker commands."""
    config = LocustConfig(
        host="http://127.0.0.1:1", output_dir=tmp_path, profile=ConstantArrival(rate=5, duration=1), workers=3
    )
    plan = _plan(config)
    master, *workers = plan.commands
    assert "--master" in master
    assert master[master.index("--expect-workers") + 1] == "3"
    assert master[master.index("--master-bind-host") + 1] == "127.0.0.1"
    assert "--run-time" not in master  # the profile's shape ends the run
    assert len(workers) == 3
    assert all("--worker" in w for w in workers)


def _entry(name: str, times: dict[int, int], failures: int, start: float, last: float) -> dict:  # type: ignore[type-arg]
    return {
        "name": name,
        "method": "GET",
        "num_requests": sum(times.values()),
        "num_none_requests": 0,
        "num_failures": failures,
        "total_response_time": sum(k * v for k, v in times.items()),
        "max_response_time": max(times),
        "min_response_time": min(times),
        "total_content_length": 0,
        "response_times": {str(k): v for k, v in times.items()},
        "num_reqs_per_sec": {},
        "num_fail_per_sec": {},
        "start_time": start,
        "last_request_timestamp": last,
    }


def test_results_are_parsed_from_locusts_final_statistics(tmp_path: Path) -> None:
    """Per-endpoint entries and their aggregate become EndpointStats in seconds, with Locust's percentiles."""
    config = LocustConfig(host="http://127.0.0.1:1", output_dir=tmp_path, users=1, duration=1)
    plan = _plan(config)
    a = _entry("/a", {4: 50, 5: 30, 10: 9, 40: 1}, failures=9, start=100.0, last=103.0)
    b = _entry("/b", {3: 10}, failures=0, start=100.5, last=103.0)
    plan.json.write_text(json.dumps([a, b]))
    result = _result(config, plan, 1)
    assert [e.name for e in result.endpoints] == ["/a", "/b"]
    assert result.total.requests == 100
    assert result.total.error_rate == pytest.approx(0.09)
    assert result.requests_per_second == pytest.approx(100 / 3)
    assert result.endpoint("/a").percentile("50%") == pytest.approx(0.004)
    assert result.endpoint("/a").percentile("90%") == pytest.approx(0.010)
    assert result.endpoint("/a").percentile("99%") == pytest.approx(0.040)  # Locust's rule: 1 in 90 is > 1%
    assert result.total.percentile("100%") == pytest.approx(0.040)
    assert result.total.mean == pytest.approx((4 * 50 + 5 * 30 + 90 + 40 + 30) / 100 / 1000)
    metrics = result.metrics()
    assert metrics["p95"] == metrics["service_p95"] == pytest.approx(0.010)
    assert not evaluate_thresholds(["error_rate < 1%"], metrics).passed
    with pytest.raises(KeyError, match="seen"):
        result.endpoint("/c")


def test_a_run_without_statistics_is_an_error(tmp_path: Path) -> None:
    """A crashed run (no CSV) raises LocustRunError."""
    config = LocustConfig(host="http://127.0.0.1:1", output_dir=tmp_path, users=1, duration=1)
    with pytest.raises(LocustRunError, match="exited with code 2"):
        _result(config, _plan(config), 2)


SHAPE_PROBE = """
import json
import subprocess
from harness.load import RampLoad, StepLoad
from harness.load._locust_shim import profile_pacing, shape_for

profile = StepLoad(start_rate=25, step=25, step_duration=10, steps=3)
shape = shape_for(profile, user_rate=10, spawn_rate=50)()
ticks = []
for t in (0.0, 9.9, 10.0, 25.0, 29.9, 30.0):
    shape.get_run_time = lambda t=t: t
    ticks.append(shape.tick())
wait = profile_pacing(profile, 10)

class FakeUser:
    pass

user = FakeUser()
waits = [wait(user) for _ in range(4)]
ramp = shape_for(RampLoad(start_rate=0, end_rate=100, duration=10), user_rate=10, spawn_rate=50)()
ramp.get_run_time = lambda: 0.0
print(json.dumps({"ticks": ticks, "waits": waits, "idle": ramp.tick()}))
"""


def test_profile_shape_and_pacing_inside_a_locust_process() -> None:
    """In a separate process: the shape's user count covers the rate; pacing spaces each user's starts."""
    out = subprocess.run(
        [sys.executable, "-c", SHAPE_PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=Path.cwd(),
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    # users cover the higher of the rates now and one tick ahead: 25 -> 50 -> 75 requests/s
    assert data["ticks"] == [[3, 50], [5, 50], [5, 50], [8, 50], [8, 50], None]
    assert data["idle"] == [1, 50]  # a ramp from zero already has the user it needs for the next second
    # at t=0 the rate is 25/s over 3 users: a user starts every 3/25 = 0.12 s, its first within one period
    gaps = [b - a for a, b in zip(data["waits"], data["waits"][1:], strict=False)]
    assert 0 <= data["waits"][0] < 0.12
    assert gaps == pytest.approx([0.12] * 3, abs=0.011)


@pytest.mark.slow
async def test_a_master_with_an_external_worker_as_on_several_machines(
    sample_server: str, tmp_path: Path
) -> None:
    """The documented several-machine setup: a master from run_locust, a worker started separately."""
    from harness.load.locust_runner import _free_port

    port = _free_port()
    master_args = (
        "--master",
        "--expect-workers",
        "1",
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        str(port),
        "--expect-workers-max-wait",
        "60",
    )
    run = asyncio.create_task(
        run_locust_async(
            host=sample_server,
            output_dir=tmp_path,
            users=2,
            duration=2,
            paths=("/ping",),
            extra_args=master_args,
        )
    )
    await asyncio.sleep(0)  # the runner writes its locustfile before its first await
    locustfile = tmp_path / "harness_locustfile.py"
    assert locustfile.is_file()
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(locustfile),
        "--worker",
        "--master-host",
        "127.0.0.1",
        "--master-port",
        str(port),
        "--loglevel",
        "WARNING",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        result = await run
        async with asyncio.timeout(30):
            await worker.wait()
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    _assert_no_gevent()
    assert result.total.requests > 50
    assert result.endpoint("/ping").failures == 0
