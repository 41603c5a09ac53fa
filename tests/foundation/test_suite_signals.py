"""The suite's own settings (``tests/conftest.py``)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD_TEST = """
import signal, subprocess, sys

def test_a_started_command_can_be_interrupted():
    probe = "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
"""


def test_a_pytest_started_as_a_background_job_lets_its_commands_get_ctrl_c(tmp_path: Path) -> None:
    """Started with SIGINT ignored (``pytest ... &`` from a script), the suite's tests that stop a
    command with Ctrl-C waited for their timeouts and failed; the conftest gives SIGINT back."""
    (tmp_path / "test_child.py").write_text(CHILD_TEST)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest"]
    command += ["--rootdir", str(tmp_path), str(tmp_path / "test_child.py")]
    inherited = signal.signal(signal.SIGINT, signal.SIG_IGN)  # kept ignored across exec
    try:
        proc = subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        signal.signal(signal.SIGINT, inherited)
    assert proc.returncode == 0, proc.stdout + proc.stderr
