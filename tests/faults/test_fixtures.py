"""The fault fixtures clean up on every exit path: patches, proxies, toxics, paused processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.faults import ProxyHandle, raise_error
from tests.faults import targets
from tests.faults.wire import connect, recv_exactly

pytest_plugins = ["pytester"]


def test_inject_fault_fixture_patches_for_the_test(inject_fault) -> None:  # type: ignore[no-untyped-def]
    """The fixture's injection is active inside the test."""
    injection = inject_fault("tests.faults.targets:fetch", raise_error(KeyError))
    assert injection.active
    with pytest.raises(KeyError):
        targets.fetch("x")


def test_inject_fault_fixture_restored_after_previous_test() -> None:
    """The previous test's patch is gone."""
    assert targets.fetch("x") == "value:x"


@pytest.mark.chaos(seed=3, faults={"tests.faults.targets:fetch": [raise_error(LookupError)]})
def test_chaos_marker_injects_faults() -> None:
    """Faults named in the chaos marker are active during the call."""
    with pytest.raises(LookupError):
        targets.fetch("x")


def test_chaos_marker_faults_restored() -> None:
    """...and restored after it."""
    assert targets.fetch("x") == "value:x"


def test_fault_proxy_factory(fault_proxy) -> None:  # type: ignore[no-untyped-def]
    """fault_proxy returns a handle with listen/add/remove/down/up over a real socket."""
    echo = socket.create_server(("127.0.0.1", 0))
    try:
        proxy: ProxyHandle = fault_proxy("svc", upstream=f"127.0.0.1:{echo.getsockname()[1]}")
        assert proxy.listen.startswith("127.0.0.1:")
        proxy.add("latency", latency=1)
        proxy.remove("latency_downstream")
        with connect(proxy.port) as client:
            server, _ = echo.accept()
            with server:
                client.sendall(b"hi")
                assert recv_exactly(server, 2) == b"hi"
        proxy.down()
        with pytest.raises(ConnectionRefusedError):
            connect(proxy.port)
        proxy.up()
        connect(proxy.port).close()
    finally:
        echo.close()


CONFTEST = """
import json, sys
sys.path.insert(0, {root!r})

def pytest_unconfigure(config):
    from tests.faults import targets
    with open({restored!r}, "w") as fh:
        json.dump({{"restored": not hasattr(targets.fetch, "__wrapped__")}}, fh)
"""

SCENARIO = """
import json, os, signal, subprocess, sys, time
import pytest
from harness.faults import raise_error

RECORD = {record!r}
STOP_AT = {stop_at!r}
HOW = {how!r}

def checkpoint(step, state):
    with open(RECORD, "w") as fh:
        json.dump(state, fh)
    if step == STOP_AT:
        if HOW == "exception":
            raise RuntimeError("interrupted at " + step)
        if HOW == "fail":
            pytest.fail("failed at " + step)
        if HOW == "interrupt":
            raise KeyboardInterrupt
        if HOW == "assert":
            assert False, step

def test_scenario(inject_fault, fault_proxy, process_fault):
    state = {{}}
    inject_fault("tests.faults.targets:fetch", raise_error(ValueError))
    checkpoint("patched", state)
    proxy = fault_proxy("p", upstream="127.0.0.1:9")
    state["port"] = proxy.port
    checkpoint("proxy", state)
    proxy.add("latency", latency=5)
    checkpoint("toxic", state)
    pid = os.posix_spawn(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)"], os.environ)
    state["pid"] = pid
    process_fault(pid).pause()
    checkpoint("paused", state)
    proxy.down()
    checkpoint("down", state)
"""


def _assert_nothing_left(record: Path, restored: Path) -> None:
    assert json.loads(restored.read_text()) == {"restored": True}, "patched attribute left behind"
    state = json.loads(record.read_text()) if record.exists() else {}
    if "port" in state:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", state["port"]), timeout=2).close()
    if "pid" in state:
        pid = state["pid"]
        try:
            with open(f"/proc/{pid}/stat") as fh:
                proc_state = fh.read().rsplit(")", 1)[1].split()[0]
            assert proc_state not in {"T", "t"}, "process left stopped"
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# Plugins the inner run does not need: skipping them cuts each subprocess's start-up time.
_LEAN = ("-q", "-p", "no:cacheprovider", "-p", "no:faker", "-p", "no:hypothesispytest", "-p", "no:benchmark")
_LEAN += ("-p", "no:xdist", "-p", "no:asyncio")


@pytest.mark.slow
@given(
    stop_at=st.sampled_from(["patched", "proxy", "toxic", "paused", "down", "never"]),
    how=st.sampled_from(["exception", "fail", "interrupt", "assert"]),
)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_cleanup_whatever_the_interruption(pytester: pytest.Pytester, stop_at: str, how: str) -> None:
    """Interrupted at any point in any way, the fixtures leave no patch, listener or stopped process."""
    record, restored = pytester.path / "record.json", pytester.path / "restored.json"
    record.unlink(missing_ok=True)
    restored.unlink(missing_ok=True)
    root = str(Path(__file__).resolve().parents[2])
    pytester.makeconftest(CONFTEST.format(root=root, restored=str(restored)))
    pytester.makepyfile(test_scenario=SCENARIO.format(record=str(record), stop_at=stop_at, how=how))
    result = pytester.runpytest_subprocess(*_LEAN, "-W", "ignore::DeprecationWarning")
    if stop_at == "never":
        result.assert_outcomes(passed=1)
    elif how == "interrupt":
        assert result.ret == pytest.ExitCode.INTERRUPTED
    else:
        result.assert_outcomes(failed=1)
    _assert_nothing_left(record, restored)


def test_cleanup_on_keyboard_interrupt_mid_test(pytester: pytest.Pytester) -> None:
    """The fast, fixed case of the property above: KeyboardInterrupt with everything created."""
    test_cleanup_whatever_the_interruption.hypothesis.inner_test(pytester, "paused", "interrupt")  # type: ignore[attr-defined]
