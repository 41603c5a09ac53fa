"""Swarms on a real Dask cluster of two worker processes: same digests as runs one by one, the
flakiness gate, crashes, the user's modules on workers, the calibration map and the search."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.cli import main
from harness.rollout import Analysis, CanaryConfig, CanaryFlow, SetWeight
from harness.scenario import run_scenario
from harness.stats import JudgeConfig, MetricConfig
from harness.swarm import SeedRange, SeedRun, load_swarm_scenarios, run_swarm, swarm_map

from .conftest import FAST, FLAKY, REGRESSION, requires_dask, write_scenario

if TYPE_CHECKING:
    from distributed import Client

pytestmark = requires_dask


def _address(client: Client) -> str:
    assert client.scheduler is not None
    return str(client.scheduler.address)


def test_every_run_has_the_digest_of_the_same_run_made_alone(dask_client: Client) -> None:
    """Seeds 1..6 of two scenarios on two workers give exactly the digests of sequential runs."""
    runs: list[SeedRun] = []
    scenarios = load_swarm_scenarios([FAST, REGRESSION])
    result = run_swarm(dask_client, scenarios, SeedRange(1, 6), batch=2, on_run=runs.append)
    assert result.runs == len(runs) == 12
    got = {(scenarios[r.scenario].source, r.seed): r.digest for r in runs}
    expected = {(str(p), s): run_scenario(p, seed=s).digest for p in (FAST, REGRESSION) for s in range(1, 7)}
    assert got == expected


def test_swarm_digest_equals_harness_run_digest(
    dask_client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """runs.jsonl holds, for each seed, the digest that `harness run PATH --seed S` writes."""
    out = tmp_path / "swarm"
    args = ["swarm", str(FAST), "--seeds", "3..4", "--scheduler", _address(dask_client)]
    assert main([*args, "--report", str(out)]) == 0
    (runs_file,) = out.glob("swarm/*/runs.jsonl")
    swarm = {r["seed"]: r["digest"] for r in map(json.loads, runs_file.read_text().splitlines())}
    for seed in (3, 4):
        assert main(["run", str(FAST), "--seed", str(seed), "--report", str(tmp_path / "run")]) == 0
    single = {}
    for result_file in (tmp_path / "run").glob("*/*/result.json"):
        data = json.loads(result_file.read_text())
        single[data["seed"]] = data["digest"]
    assert swarm == single
    assert "runs on 2 workers" in capsys.readouterr().out


def test_cli_prints_the_table_and_exits_0_within_bounds(
    dask_client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A flaky scenario under a generous --max-failure-rate passes, with its interval printed."""
    path = write_scenario(tmp_path, FLAKY)
    args = ["swarm", str(path), "--seeds", "1..30", "--scheduler", _address(dask_client), "--no-report"]
    assert main([*args, "--max-failure-rate", "0.6"]) == 0
    out = capsys.readouterr().out
    assert "flaky-errors" in out
    assert "failure rate [95% Wilson]" in out
    assert "replay with: harness run" in out
    assert "within" in out


def test_flakiness_gate_exits_1_when_significantly_above_the_bound(
    dask_client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The flaky scenario (fails ~1 seed in 3) is significantly above a 5% bound: exit 1."""
    path = write_scenario(tmp_path, FLAKY)
    args = ["swarm", str(path), "--seeds", "1..30", "--scheduler", _address(dask_client), "--no-report"]
    assert main([*args, "--max-failure-rate", "0.05"]) == 1
    assert "significantly above its bound" in capsys.readouterr().out


def test_a_crashing_run_exits_3_with_its_seed_and_replay(
    dask_client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A callable that raises is a crash, never a verdict: exit 3 naming the scenario, seed and error."""
    (tmp_path / "swarm_crashing_version.py").write_text(
        "def make(rng, clock):\n    raise ZeroDivisionError('the factory divides by zero')\n"
    )
    text = FLAKY.replace(
        "v1: {model: {latency: {kind: lognormal, median: 20ms, sigma: 0.3}, error_rate: 0.02}}",
        'v1: {callable: {target: "swarm_crashing_version:make"}}',
    )
    path = write_scenario(tmp_path, text)
    monkeypatch.chdir(tmp_path)
    args = ["swarm", str(path), "--seeds", "1..4", "--scheduler", _address(dask_client), "--no-report"]
    assert main(args) == 3
    out = capsys.readouterr().out
    assert "ZeroDivisionError: the factory divides by zero" in out
    assert re.search(rf"replay with: harness run {re.escape(str(path))} --seed [1-4]\n", out)


def test_workers_import_the_users_modules_from_the_clients_directory(
    dask_client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A callable in a module of the client's working directory resolves on the worker processes."""
    (tmp_path / "swarm_user_service.py").write_text(
        "def make(rng, clock):\n"
        "    def handle(request):\n"
        "        clock.sleep_sync(0.004 + rng.random() / 1000)\n"
        "        return {'ok': True}\n"
        "    return handle\n"
    )
    text = FLAKY.replace(
        "v1: {model: {latency: {kind: lognormal, median: 20ms, sigma: 0.3}, error_rate: 0.02}}",
        'v1: {callable: {target: "swarm_user_service:make"}}',
    )
    path = write_scenario(tmp_path, text)
    monkeypatch.chdir(tmp_path)
    runs: list[SeedRun] = []
    result = run_swarm(dask_client, load_swarm_scenarios([path]), SeedRange(1, 3), on_run=runs.append)
    assert result.crash is None, result.crash
    assert result.failures == 0
    assert sorted(r.digest for r in runs) == sorted(run_scenario(path, seed=s).digest for s in (1, 2, 3))


def _square(x: int) -> int:
    return x * x


def test_swarm_map_is_map_on_the_cluster(dask_client: Client) -> None:
    """Results come back in order, in batches, equal to the built-in map."""
    mapper = swarm_map(dask_client, batch=7, in_flight=2)
    assert list(mapper(_square, range(50))) == [x * x for x in range(50)]
    assert list(mapper(_square, [])) == []


def _canary() -> CanaryFlow:
    judge = JudgeConfig(metrics=(MetricConfig(name="error_rate", allowed_increase=1.25, min_samples=100),))
    steps = (SetWeight(20), Analysis(windows=2), SetWeight(50), Analysis(windows=2))
    return CanaryFlow(CanaryConfig(baseline="v1", candidate="v2", steps=steps, judge=judge))


def test_calibration_on_the_cluster_equals_the_local_calibration(dask_client: Client) -> None:
    """The seeded rollout calibration through swarm_map counts the same outcomes as in process."""
    from harness.rollout import VersionModel, calibrate

    make = _canary
    models = {"v1": VersionModel(), "v2": VersionModel(error_rate=0.02)}
    local = calibrate(make, models, runs=12, seed=5, requests=2000)
    remote = calibrate(make, models, runs=12, seed=5, requests=2000, map=swarm_map(dask_client, batch=5))
    assert remote == local


COUNTEREXAMPLE = """\
name: never-errors
description: A service that must never return an error, searched over error faults.
seed: 3
duration: 1m
window: 10s
versions:
  v1: {model: {latency: {kind: lognormal, median: 20ms, sigma: 0.3}, error_rate: 0.0}}
traffic: {rate: 20}
expectations:
  steady_state:
    - {name: no errors, metric: error_rate, max: 0.0, phase: always}
"""


def test_search_collects_each_distinct_shrunk_counterexample_once(
    dask_client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Four searches all shrink to the same minimal schedule: one file, replaying the failure."""
    path = write_scenario(tmp_path, COUNTEREXAMPLE)
    out = tmp_path / "out"
    args = ["swarm", str(path), "--search", "--seeds", "1..4", "--scheduler", _address(dask_client)]
    args += ["--kinds", "errors", "--examples", "10", "--max-faults", "2", "--report", str(out)]
    assert main(args) == 1
    printed = capsys.readouterr().out
    (found,) = out.glob("swarm/*/counterexamples/never-errors-*.yaml")
    assert "4 searches, 4 found a failing schedule, 1 distinct counterexamples" in printed
    assert f"replay with: harness run {found}" in printed
    from harness.scenario import load_scenario

    minimal = load_scenario(found)
    assert len(minimal.faults) == 1
    assert (minimal.faults[0].at, minimal.faults[0].duration) == (0.0, 1.0)
    assert main(["run", str(found), "--no-report"]) == 1


def test_gate_calibration_on_the_cluster_equals_the_local_table(dask_client: Client) -> None:
    """The gate's calibration batches through swarm_map give the table the built-in map gives."""
    from benchmarks.gate_calibration import Case, calibrate_gate

    kwargs = {"draws": 6, "batch_size": 3, "seed": 11, "cases": (Case(0.02),)}
    local = calibrate_gate(**kwargs)  # type: ignore[arg-type]
    remote = calibrate_gate(**kwargs, map=swarm_map(dask_client, batch=1))  # type: ignore[arg-type]
    assert remote == local
    assert sum(row.aa.n for row in remote) == 6 * len(remote)


def test_swarm_mapper_is_the_built_in_map_without_a_cluster() -> None:
    from harness.swarm import swarm_mapper

    with swarm_mapper() as mapper:
        assert mapper is map
