"""Every command-line flag that takes a duration wants a unit; a bare number exits 2 showing the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import EXIT_USAGE, main

URL = "http://127.0.0.1:9/"


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["load", "drive", URL, "--duration", "30"], "--duration"),
        (["load", "drive", URL, "--latency-target", "30"], "--latency-target"),
        (["load", "locust", URL, "--duration", "30"], "--duration"),
        (["proxy", "--duration", "30"], "--duration"),
        (["gate", "--ab", "true", "true", "--timeout", "30"], "--timeout"),
        (["health", "check", URL, "--timeout", "30"], "--timeout"),
        (["health", "check", URL, "--degraded-after", "30"], "--degraded-after"),
    ],
)
def test_a_bare_number_is_refused_with_the_fix(
    args: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == EXIT_USAGE
    err = " ".join(capsys.readouterr().err.split())
    assert f"Invalid value for '{flag}': 30 has no unit; write 30s (or 30000ms)" in err


def test_a_profile_file_names_the_field_without_a_unit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "ramp.yaml"
    profile.write_text("kind: ramp\nstart_rate: 5\nend_rate: 50\nduration: 60\n")
    assert main(["load", "drive", URL, "--profile", str(profile)]) == EXIT_USAGE
    err = " ".join(capsys.readouterr().err.split())
    assert "profile.duration: 60 has no unit; write 60s (or 60000ms)" in err


def test_a_bare_latency_threshold_is_refused_with_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", "drive", URL, "--duration", "1s", "--threshold", "p99 < 300"]) == EXIT_USAGE
    err = " ".join(capsys.readouterr().err.split())
    assert "threshold 'p99 < 300': 300 has no unit; write 300ms (or 0.3s)" in err
