"""A Dask cluster of two local worker processes shared by the swarm tests, and small scenarios."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from distributed import Client

HAVE_DASK = importlib.util.find_spec("distributed") is not None
requires_dask = pytest.mark.skipif(
    not HAVE_DASK, reason="needs Dask distributed: pip install -e '.[swarm]' (the test extra has it)"
)

ROOT = Path(__file__).resolve().parents[2]
FAST = ROOT / "scenarios" / "rollback-lineage.yaml"
REGRESSION = ROOT / "scenarios" / "canary-latency-regression.yaml"

FLAKY = """\
name: flaky-errors
description: A version whose 2% error rate often crosses a 2.1% steady-state limit.
duration: 1m
window: 10s
versions:
  v1: {model: {latency: {kind: lognormal, median: 20ms, sigma: 0.3}, error_rate: 0.02}}
traffic: {rate: 20}
expectations:
  steady_state:
    - {name: few errors, metric: error_rate, max: 0.021, phase: always}
"""


def write_scenario(folder: Path, text: str, name: str = "scenario.yaml") -> Path:
    """``text`` as a scenario file in ``folder``."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Client]:
    """Two local worker processes (one thread each) on 127.0.0.1, for the whole session."""
    if not HAVE_DASK:
        pytest.skip("needs Dask distributed: pip install -e '.[swarm]' (the test extra has it)")
    from harness.swarm import swarm_client

    with swarm_client(workers=2) as client:
        yield client
