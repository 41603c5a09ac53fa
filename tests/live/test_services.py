"""Services of a live scenario are real processes: started, probed, logged and always stopped.

Each test starts real subprocesses on 127.0.0.1 and checks afterwards that no process it started
is alive and no port it used still accepts connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import pytest

from harness.clock import SystemClock
from harness.scenario.live_services import ServiceFailed, ServiceProcess, free_port, tcp_ready
from harness.scenario.model import ServiceSpec
from harness.scenario.templates import TemplateContext

pytestmark = pytest.mark.slow

PY = sys.executable
HERE = Path(__file__).resolve().parent


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie awaiting its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state


def _service(command: list[str], tmp_path: Path, **spec: object) -> ServiceProcess:
    port = free_port()
    return ServiceProcess(
        "svc",
        ServiceSpec.model_validate({"command": command, **spec}),
        TemplateContext(port=port),
        log=tmp_path / "svc.log",
        clock=SystemClock(),
    )


async def test_a_service_starts_on_its_port_answers_its_probe_and_stops(tmp_path: Path) -> None:
    lines: list[str] = []
    service = _service(
        [PY, "-m", "http.server", "${port}", "--bind", "127.0.0.1"],
        tmp_path,
        ready={"http": "/", "timeout": "10s"},
    )
    service.notify = lines.append
    await service.start()
    assert service.pid is not None
    assert await tcp_ready("127.0.0.1", int(service.port or 0))
    assert lines == [
        f"service svc ready at {service.address} (pid {service.pid}, log {tmp_path / 'svc.log'})"
    ]
    await service.stop()
    assert not alive(service.pid)
    assert not await tcp_ready("127.0.0.1", int(service.port or 0))
    assert "GET / HTTP/1.1" in (tmp_path / "svc.log").read_text()


async def test_a_service_that_exits_fails_the_start_with_its_log_tail(tmp_path: Path) -> None:
    service = _service(
        [PY, "-c", "import sys; print('no config at ${port}'); sys.exit(3)"], tmp_path, ready={"tcp": True}
    )
    with pytest.raises(ServiceFailed) as info:
        await service.start()
    message = str(info.value)
    assert "service 'svc' exited with status 3 before it was ready" in message
    assert f"no config at {service.port}" in message
    assert service.pid is not None
    assert not alive(service.pid)


async def test_a_service_never_ready_is_stopped_with_its_group_and_the_error_says_how_long(
    tmp_path: Path,
) -> None:
    """A service that ignores SIGTERM and leaves a child that ignores it too: the readiness probe
    (an HTTP path it never serves) times out, SIGTERM goes unheeded for stop_timeout, then the
    whole process group is killed: neither process survives."""
    pid_file = tmp_path / "child.pid"
    service = _service(
        [PY, str(HERE / "services_helpers.py"), "${port}", str(pid_file)],
        tmp_path,
        ready={"http": "/health", "timeout": "1s"},
        stop_timeout="200ms",
    )
    with pytest.raises(
        ServiceFailed, match=r"was not ready within 1s \(GET http://127\.0\.0\.1:\d+/health\)"
    ):
        await service.start()
    child = int(pid_file.read_text())
    assert service.pid is not None
    assert not alive(service.pid)
    assert not alive(child)


async def test_a_cancelled_start_stops_the_service(tmp_path: Path) -> None:
    """Ctrl-C cancels the run's task: a start cancelled while waiting for readiness stops the process."""
    polling = asyncio.Event()

    class Polling(SystemClock):
        async def sleep(self, seconds: float) -> None:
            polling.set()
            await super().sleep(seconds)

    service = _service([PY, "-c", "import time; time.sleep(600)  # ${port}"], tmp_path, ready={"tcp": True})
    service.clock = Polling()
    task = asyncio.ensure_future(service.start())
    await polling.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert service.pid is not None
    assert not alive(service.pid)


async def test_a_missing_program_is_a_clear_error(tmp_path: Path) -> None:
    service = _service(["no-such-program-${port}"], tmp_path)
    with pytest.raises(ServiceFailed, match="could not start 'no-such-program-"):
        await service.start()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_services_are_stopped_after_ctrl_c_of_a_live_run(tmp_path: Path, signum: signal.Signals) -> None:
    """``harness run --mode live`` interrupted by SIGINT, or by SIGTERM as when a CI job is
    cancelled, once every service is ready: the run exits 130 and every service process is gone,
    and its ports refuse connections (SIGTERM killed the run and left the services running)."""
    import subprocess

    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        f"""
name: interrupted
description: two groups of a static file server, interrupted
duration: 10m
window: 10s
services:
  web:
    command: ["{PY}", -m, http.server, "${{port}}", --bind, 127.0.0.1]
    ready: {{http: /, timeout: 10s}}
versions:
  a: {{http: {{service: web}}}}
  b: {{http: {{service: web}}}}
flow: {{kind: champion_challenger, stable: a, candidate: b, champion: {{windows: 1000}}}}
live: {{window: 10s, rate: 20}}
"""
    )
    proc = subprocess.Popen(
        [PY, "-m", "harness", "run", str(scenario), "--mode", "live", "--report", str(tmp_path / "reports")],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
    )
    assert proc.stderr is not None
    ready: list[str] = []
    try:
        for line in proc.stderr:
            if "ready at" in line:
                ready.append(line)
            if len(ready) == 2:
                break
        proc.send_signal(signum)
        proc.wait(timeout=30)
    finally:  # a failure above must not leave a 10-minute live run and its services behind
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
        pids = [int(line.split("(pid ")[1].split(",")[0]) for line in ready]
        leftover = [pid for pid in pids if alive(pid)]
        for pid in leftover:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)  # each service leads its own session
    ports = [int(line.split("ready at 127.0.0.1:")[1].split()[0]) for line in ready]
    assert len(ready) == 2, ready
    assert proc.returncode == 130
    assert leftover == []
    assert [asyncio.run(tcp_ready("127.0.0.1", port)) for port in ports] == [False, False]
    assert os.listdir(tmp_path / "reports" / "interrupted")  # the logs went to the report folder
