"""A simulated run refuses the real world: each forbidden call exits 2 naming the call and the line.

Every test runs a one-version scenario whose callable makes one forbidden call, through the CLI,
and checks the exit code, the call named in the message, and the file and line of the user's code.
"""

from __future__ import annotations

import inspect
import random
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

from harness.cli import main
from harness.clock import VirtualClock
from harness.runtime import EPOCH, ForbiddenCall, RealWorldGuard
from harness.scenario import parse_scenario, run_scenario
from tests.runtime.apps import callables

APPS = Path(callables.__file__)


def _scenario(tmp_path: Path, target: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(
        "name: forbidden\ndescription: a version that reaches for the real world\nduration: 10s\n"
        f"versions:\n  v1: {{callable: {{target: 'tests.runtime.apps.callables:{target}'}}}}\n"
        "traffic: {rate: 5}\n"
    )
    return path


def _line_of(factory: str, text: str) -> int:
    """The line in callables.py of the first line of ``factory`` containing ``text``."""
    source, start = inspect.getsourcelines(getattr(callables, factory))
    return start + next(i for i, line in enumerate(source) if text in line)


@pytest.mark.parametrize(
    ("factory", "call", "code"),
    [
        ("connects", "socket.connect()", "sock.connect"),
        ("resolves", "socket.getaddrinfo()", "socket.getaddrinfo"),
        ("threads", "threading.Thread.start()", "threading.Thread"),
        ("to_thread", "loop.run_in_executor()", "asyncio.to_thread"),
        ("sleeps", "time.sleep()", "time.sleep(0.01)"),
        ("opens_connection", "loop.create_connection()", "asyncio.open_connection"),
        ("uuid_one", "uuid.uuid1()", "uuid.uuid1"),
    ],
)
def test_forbidden_call_exits_2_naming_the_call_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], factory: str, call: str, code: str
) -> None:
    """Sockets, DNS, threads, executor threads, time.sleep, asyncio connections, uuid1: exit 2, the line."""
    assert main(["run", str(_scenario(tmp_path, factory)), "--no-report"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert call in err
    assert f"{APPS}:{_line_of(factory, code)}" in err.replace("\n", "")


def test_a_refused_call_the_code_catches_still_stops_the_run(tmp_path: Path) -> None:
    """The `connects` version swallows the error like a fallback would; the run stops anyway."""
    sc = parse_scenario(_scenario(tmp_path, "connects").read_text())
    with pytest.raises(ForbiddenCall, match=r"socket\.connect\(\)"):
        run_scenario(sc)


def test_clock_random_and_uuid4_are_the_runs() -> None:
    """time.time/monotonic read virtual time, random and uuid4 draw from the run's seed: runs repeat."""
    sc = parse_scenario(
        "name: clocks\ndescription: reads clocks\nduration: 10s\n"
        "versions:\n  v1: {callable: {target: 'tests.runtime.apps.callables:reads_clocks'}}\n"
        "traffic: {rate: 5}\n"
    )
    first, second = run_scenario(sc, seed=3), run_scenario(sc, seed=3)
    assert first.digest == second.digest
    assert first.digest != run_scenario(sc, seed=4).digest


def test_guard_reads_virtual_time_and_is_undone_on_an_exception() -> None:
    """Inside, time is the clock's; after an exception every patch is gone."""
    originals = (time.time, time.monotonic, time.sleep, threading.Thread.start, uuid.uuid4, random.getstate())
    clock = VirtualClock(12.5)
    seen: list[float] = []

    def inside() -> None:
        with RealWorldGuard(clock, random.Random(1)), socket.socket() as sock:
            seen.extend([time.monotonic(), time.time()])
            sock.connect(("127.0.0.1", 9))

    with pytest.raises(ForbiddenCall):
        inside()
    assert seen == [12.5, EPOCH + 12.5]
    after = (time.time, time.monotonic, time.sleep, threading.Thread.start, uuid.uuid4, random.getstate())
    assert after == originals
    assert "connect" not in socket.socket.__dict__


def test_other_threads_are_not_affected() -> None:
    """The guard acts on the run's thread only: another thread reads the real clock and may sleep."""
    seen: list[float] = []
    with RealWorldGuard(VirtualClock(5.0), random.Random(1)):
        worker = threading.Thread(target=lambda: seen.append(time.monotonic()))
        with pytest.raises(ForbiddenCall):
            worker.start()
        real = threading.Thread.__dict__["start"]
    del real
    assert seen == []


def test_names_imported_from_time_read_virtual_time_in_every_run() -> None:
    """A module that did ``from time import monotonic`` reads the run's clock inside each guard (its
    names are found on the first scan and re-pointed on every later one) and the real clock after."""
    import sys
    import types

    module = types.ModuleType("user_timing_module")
    module.monotonic = time.monotonic  # type: ignore[attr-defined]
    module.stamp = time.time  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    try:
        for start in (3.0, 7.0):
            with RealWorldGuard(VirtualClock(start), random.Random(1)):
                assert module.monotonic() == start  # type: ignore[attr-defined]
                assert module.stamp() == EPOCH + start  # type: ignore[attr-defined]
            assert module.monotonic is time.monotonic  # type: ignore[attr-defined]
            assert module.stamp is time.time  # type: ignore[attr-defined]
    finally:
        del sys.modules[module.__name__]
