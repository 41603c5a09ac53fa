"""A process paused by ProcessFaults is continued when the pausing process dies, however it dies.

Real processes: this test process starts the child (so it can ``waitpid`` for the child's stop and
continue notifications instead of polling), a helper process pauses it with ``ProcessFaults`` and
then dies by SIGTERM, by ``os._exit`` or by SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_WAIT = 30.0  # seconds; a bound for a loaded machine, reached only when the behaviour is missing
_CONTINUED_EARLY: set[int] = set()  # children seen continued while the test waited for their stop

PAUSER = """
import os, signal, sys
from harness.faults import ProcessFaults

child, how = int(sys.argv[1]), sys.argv[2]
if how == "chained":
    def previous(signum, frame):
        print("previous handler ran for", signum, flush=True)
        os._exit(3)
    signal.signal(signal.SIGTERM, previous)
ProcessFaults(child).pause()
print("paused", flush=True)
if how == "os_exit":
    os._exit(0)
sys.stdin.read()
"""


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(1)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=30)


def _wait_status(pid: int, options: int) -> int | None:
    """``waitpid(pid, options)``'s status, or None if nothing was reported within ``_WAIT`` seconds."""
    box: list[int] = []

    def wait() -> None:
        with contextlib.suppress(ChildProcessError):  # reaped by the teardown after a timeout
            box.append(os.waitpid(pid, options)[1])

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    thread.join(_WAIT)
    return box[0] if box else None


@pytest.fixture
def pause_from_helper(child: subprocess.Popen[bytes]) -> Iterator[Callable[[str], subprocess.Popen[str]]]:
    """Start a helper that pauses ``child`` and then waits to die as the test says."""
    helpers: list[subprocess.Popen[str]] = []

    def start(how: str) -> subprocess.Popen[str]:
        helper = subprocess.Popen(
            [sys.executable, "-c", PAUSER, str(child.pid), how],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        helpers.append(helper)
        assert helper.stdout is not None
        assert helper.stdout.readline() == "paused\n"
        # A helper that exits at once may be rescued (SIGCONT) before this wait: the stop is then
        # no longer reported, its continuation is (which shows it was stopped).
        status = _wait_status(child.pid, os.WUNTRACED | os.WCONTINUED)
        assert status is not None, "the helper did not stop the child"
        if os.WIFCONTINUED(status):
            _CONTINUED_EARLY.add(child.pid)
        else:
            assert os.WIFSTOPPED(status)
        return helper

    try:
        yield start
    finally:
        for helper in helpers:
            helper.kill()
            helper.communicate(timeout=_WAIT)


def _assert_continued(child: subprocess.Popen[bytes]) -> None:
    if child.pid in _CONTINUED_EARLY:
        _CONTINUED_EARLY.discard(child.pid)
        return
    status = _wait_status(child.pid, os.WCONTINUED)
    assert status is not None, f"child {child.pid} left stopped"
    assert os.WIFCONTINUED(status)


def _finish(helper: subprocess.Popen[str]) -> tuple[int, str]:
    out, _ = helper.communicate(timeout=_WAIT)
    return helper.returncode, out


def test_sigterm_to_the_pausing_process_continues_the_child(
    child: subprocess.Popen[bytes], pause_from_helper: Callable[[str], subprocess.Popen[str]]
) -> None:
    """SIGTERM with the default action: the child is continued and the process still dies by SIGTERM."""
    helper = pause_from_helper("wait")
    helper.send_signal(signal.SIGTERM)
    _assert_continued(child)
    assert _finish(helper)[0] == -signal.SIGTERM


def test_sigterm_handler_chains_to_the_previous_one(
    child: subprocess.Popen[bytes], pause_from_helper: Callable[[str], subprocess.Popen[str]]
) -> None:
    """A SIGTERM handler installed before the pause still runs, after the child is continued."""
    helper = pause_from_helper("chained")
    helper.send_signal(signal.SIGTERM)
    _assert_continued(child)
    code, out = _finish(helper)
    assert (code, out) == (3, f"previous handler ran for {int(signal.SIGTERM)}\n")


def test_os_exit_of_the_pausing_process_continues_the_child(
    child: subprocess.Popen[bytes], pause_from_helper: Callable[[str], subprocess.Popen[str]]
) -> None:
    """``os._exit`` runs no Python code at all: the watchdog continues the child."""
    helper = pause_from_helper("os_exit")
    _assert_continued(child)
    assert _finish(helper)[0] == 0


def _watchdog_of(parent: int) -> int:
    script = str(ROOT / "harness" / "faults" / "process_watchdog.py").encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if script in argv and str(parent).encode() in argv:
            return int(entry.name)
    raise AssertionError(f"no watchdog runs for process {parent}")


def test_sigkill_of_the_pausing_process_continues_the_child(
    child: subprocess.Popen[bytes], pause_from_helper: Callable[[str], subprocess.Popen[str]]
) -> None:
    """SIGKILL leaves only the watchdog: it continues the child, then exits."""
    helper = pause_from_helper("wait")
    watchdog = os.pidfd_open(_watchdog_of(helper.pid))
    try:
        helper.kill()
        _assert_continued(child)
        exited, _, _ = select.select([watchdog], [], [], _WAIT)
        assert exited, "the watchdog outlived its parent"
    finally:
        os.close(watchdog)
    assert _finish(helper)[0] == -signal.SIGKILL
