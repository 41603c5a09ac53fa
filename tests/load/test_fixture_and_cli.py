"""The load fixture and marker, the harness load CLI, and the public surface of harness.load."""

from __future__ import annotations

import asyncio
import importlib
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import harness.load
from harness.cli import main
from harness.load import EXIT_DRIVER_BOUND, EXIT_NO_SUCCESS, ConstantArrival, ThresholdsFailed
from harness.pytest_fixtures.load import LoadRunner

BASE = ("-p", "no:locust", "-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function")


def _isort_key(name: str) -> tuple[int, str]:
    if name.isupper() and len(name) > 1:
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


@pytest.mark.parametrize(
    "module", ["harness.load", "harness.examples.sample_service", "harness.pytest_fixtures.load"]
)
def test_all_is_sorted_and_every_name_resolves(module: str) -> None:
    """__all__ is sorted (ruff's order) and complete."""
    mod = importlib.import_module(module)
    assert list(mod.__all__) == sorted(mod.__all__, key=_isort_key)
    assert all(hasattr(mod, name) for name in mod.__all__)


def test_importing_harness_load_keeps_locust_and_gevent_out() -> None:
    """Importing the load package (and the CLI) in a fresh interpreter imports neither locust nor gevent."""
    code = "import sys, harness.load, harness.cli; print(sorted({'locust', 'gevent'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
    assert harness.load.__doc__


async def test_load_fixture_runs_a_callable_and_checks_thresholds(load: LoadRunner) -> None:
    """The fixture drives a callable, keeps the result and raises ThresholdsFailed on a failing threshold."""

    async def ok() -> None:
        await asyncio.sleep(0.001)

    result = await load.run(ok, ConstantArrival(rate=100, duration=0.5), thresholds=["error_rate < 1%"])
    assert result.completed == 50
    assert load.results == [result]
    with pytest.raises(ThresholdsFailed, match="p99 < 100us"):
        await load.run(ok, ConstantArrival(rate=100, duration=0.2), thresholds=["p99 < 100us"])


def test_marker_bounds_and_remote_refusal(pytester: pytest.Pytester) -> None:
    """Runs over the marker's bounds fail as usage errors; remote URLs need allow_remote=True."""
    pytester.makepyfile(
        """
        import pytest
        from harness.load import ConstantArrival, RemoteTargetRefused

        @pytest.mark.load(max_duration=1)
        async def test_too_long(load):
            await load.run(lambda: None, ConstantArrival(rate=10, duration=5))

        @pytest.mark.load(max_requests=10)
        async def test_too_many(load):
            await load.run(lambda: None, ConstantArrival(rate=100, duration=1))

        async def test_remote(load):
            with pytest.raises(RemoteTargetRefused, match="allow_remote=True"):
                await load.run("http://192.0.2.1/", ConstantArrival(rate=1, duration=1))

        @pytest.mark.load(allow_remote=True)
        def test_remote_opt_in(load):
            assert load.allow_remote

        @pytest.mark.load(max_rps=3)
        def test_bad_marker(load):
            pass
        """
    )
    result = pytester.runpytest(*BASE, "-o", "asyncio_mode=auto", "--strict-markers")
    result.assert_outcomes(passed=2, failed=2, errors=1)
    for line in ("*over max_duration=1s*", "*over max_requests=10*", "*unknown arguments*max_rps*"):
        result.stdout.fnmatch_lines([line])


@pytest.mark.slow
def test_cli_drive_reports_and_exits_99_on_a_failed_threshold(sample_server: str, tmp_path: Path) -> None:
    """harness load drive prints corrected percentiles, writes JSON, and exits 99 when a threshold fails."""
    out = tmp_path / "r.json"
    # A latency target of 10s tolerates 1 s of scheduling lag: a busy machine leaves the run valid.
    args = ["load", "drive", f"{sample_server}/ping", "--rate", "50", "--duration", "1s", "--json", str(out)]
    args += ["--latency-target", "10s"]
    assert main([*args, "--threshold", "error_rate < 1%"]) == 0
    data = json.loads(out.read_text())
    assert data["completed"] == 50
    assert set(data["corrected"]) >= {"p50", "p90", "p99", "p99.9", "max"}
    assert main([*args, "--threshold", "p99 < 1us"]) == 99


@pytest.mark.slow
def test_cli_drive_reads_a_profile_file(sample_server: str, tmp_path: Path) -> None:
    """--profile takes a YAML mapping in profile_to_dict form."""
    profile = tmp_path / "step.yaml"
    profile.write_text("kind: step\nstart_rate: 20\nstep: 20\nstep_duration: 500ms\nsteps: 2\n")
    out = tmp_path / "r.json"
    args = ["load", "drive", f"{sample_server}/ping", "--profile", str(profile), "--json", str(out)]
    assert main([*args, "--latency-target", "10s"]) == 0
    assert json.loads(out.read_text())["completed"] == 30


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_drive_exits_96_and_breaks_failures_down_when_no_request_succeeded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every request refused: not a pass and not "valid"; the failures are counted by error type."""
    out = tmp_path / "r.json"
    url = f"http://127.0.0.1:{_closed_port()}/"
    code = main(["load", "drive", url, "--rate", "20", "--duration", "500ms", "--json", str(out)])
    assert code == EXIT_NO_SUCCESS == 96
    printed = capsys.readouterr().out
    assert "NO REQUEST SUCCEEDED (all 10 failed)" in printed
    assert "valid" not in printed.replace("NO REQUEST", "")
    data = json.loads(out.read_text())
    assert data["exit_code"] == 96
    ((label, count),) = data["failed_statuses"].items()
    assert count == 10
    assert f"failed     {label}: 10" in printed


@pytest.mark.slow
def test_cli_drive_exits_95_when_the_driver_was_late(
    sample_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A latency target of 1us: any event-loop wake-up is later than its 10% share, so the run is
    driver-bound and exits 95 whatever its thresholds say, printing why."""
    args = ["load", "drive", f"{sample_server}/ping", "--rate", "50", "--duration", "1s"]
    code = main([*args, "--latency-target", "1us", "--threshold", "p99 < 10s"])
    assert code == EXIT_DRIVER_BOUND == 95
    printed = capsys.readouterr().out
    assert "INVALID (the driver measured itself): scheduling lag p99" in printed
    assert "threshold p99 < 10s: observed" in printed


def test_cli_rejects_bad_profile_files_with_exit_2(tmp_path: Path) -> None:
    """A missing file or an invalid profile is a usage error naming the problem."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: ramp\nstart_rate: 5\nend_rate: 5\nduration: 3s\n")
    assert main(["load", "drive", "http://127.0.0.1:9/", "--profile", str(bad)]) == 2
    assert main(["load", "drive", "http://127.0.0.1:9/", "--profile", str(tmp_path / "none.yaml")]) == 2


def test_cli_refuses_remote_targets_with_exit_2() -> None:
    """A non-loopback URL without --allow-remote is a usage error (exit 2)."""
    assert main(["load", "drive", "http://192.0.2.1/", "--duration", "1s"]) == 2
