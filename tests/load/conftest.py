"""A sample service in its own process, so the server's CPU does not slow the driver under test."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def sample_server() -> Iterator[str]:
    """Base URL of ``python -m harness.examples.sample_service`` on 127.0.0.1 (stopped at module end)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.examples.sample_service", "--port", "0", "--seed", "7"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()  # the server prints its URL once bound, or exits
    try:
        if not url.startswith("http://127.0.0.1:"):
            pytest.fail(f"sample service did not start (printed {url!r}, exit code {proc.poll()})")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
