"""Scenario baselines: a simulated run repeats exactly, so one run per side decides."""

from __future__ import annotations

import json
from pathlib import Path

from harness.gate import Basis, Change
from harness.gate.scenario import compare_with_baseline, save_baseline
from harness.scenario.loader import parse_scenario
from harness.scenario.result import RunResult
from harness.scenario.runner import run_scenario

SERVICE = """
name: svc
description: one model service
duration: 5m
versions:
  v1: {model: {latency: {kind: lognormal, median: MEDIAN, sigma: 0.3}}}
traffic: {rate: 50}
"""


def _run(median: str) -> RunResult:
    return run_scenario(parse_scenario(SERVICE.replace("MEDIAN", median)), seed=7)


def test_a_slower_simulated_run_regresses_against_one_saved_run(tmp_path: Path) -> None:
    """Noise 0 for seeded simulations: the windows of one run per side decide."""
    save_baseline(_run("50ms"), "svc", tmp_path)
    result = compare_with_baseline(_run("60ms"), "svc", tmp_path)
    p50 = next(c for c in result.comparisons if c.name == "user_p50")
    assert (p50.verdict, p50.basis) == (Change.REGRESSION, Basis.KNOWN_NOISE)


def test_a_simulated_baseline_saved_without_noise_is_still_exact(tmp_path: Path) -> None:
    """A baseline file written before metrics carried a noise keeps deciding from one run."""
    path = save_baseline(_run("50ms"), "svc", tmp_path)
    doc = json.loads(path.read_text())
    for metric in doc["metrics"].values():
        del metric["noise"]
    path.write_text(json.dumps(doc))
    result = compare_with_baseline(_run("60ms"), "svc", tmp_path)
    assert not result.passed
    assert not result.inconclusive
