"""Seed ranges, batches, flow alphas and bounds: what a swarm plans before any worker starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import InvalidConfig, InvalidScenario
from harness.mode import Mode
from harness.swarm import SeedRange, flow_alpha, load_swarm_scenarios
from harness.swarm.engine import batches
from harness.swarm.plan import MAX_BATCH, BatchSizer, check_mode

from .conftest import FLAKY, ROOT, write_scenario


@pytest.mark.parametrize(
    ("text", "first", "last"), [("200", 1, 200), ("1..200", 1, 200), (" 7 .. 9 ", 7, 9), ("0..0", 0, 0)]
)
def test_seed_range_parses_a_count_or_an_inclusive_range(text: str, first: int, last: int) -> None:
    """``N`` means seeds 1..N; ``A..B`` includes both ends."""
    seeds = SeedRange.parse(text)
    assert (seeds.first, seeds.last) == (first, last)
    assert list(seeds) == list(range(first, last + 1))
    assert len(seeds) == last - first + 1


@pytest.mark.parametrize("text", ["0", "-3", "5..2", "a..b", "1...3", ""])
def test_bad_seed_ranges_are_refused_with_the_fix(text: str) -> None:
    """A bad --seeds names the field and shows a valid example."""
    with pytest.raises(InvalidConfig, match="seeds"):
        SeedRange.parse(text)


def test_flow_alpha_of_the_bundled_scenarios() -> None:
    """Canary and shadow alphas are read; champion's is 1 - confidence; rollback and none have none."""
    from harness.scenario import load_scenario

    alphas = {p.stem: flow_alpha(load_scenario(p)) for p in sorted((ROOT / "scenarios").glob("*.yaml"))}
    assert alphas["canary-good"] == 0.05
    assert alphas["shadow-subtle-diff"] == 0.01
    assert alphas["champion-equal"] == pytest.approx(0.01)
    assert alphas["rollback-lineage"] is None
    assert alphas["retry-storm-brownout"] is None


def test_bound_is_the_flag_else_alpha_else_zero(tmp_path: Path) -> None:
    """--max-failure-rate overrides; otherwise a flow's alpha; otherwise no failure is acceptable."""
    paths = [ROOT / "scenarios" / "canary-good.yaml", write_scenario(tmp_path, FLAKY)]
    default = load_swarm_scenarios(paths)
    assert [(s.alpha, s.bound) for s in default] == [(0.05, 0.05), (None, 0.0)]
    flagged = load_swarm_scenarios(paths, max_failure_rate=0.2)
    assert [s.bound for s in flagged] == [0.2, 0.2]


def test_http_versions_are_refused_before_any_worker_starts(tmp_path: Path) -> None:
    """A swarm is simulated: an HTTP version fails on the client with the file and version named."""
    text = FLAKY.replace("v1: {model:", "v2: {http: {url: 'http://127.0.0.1:9/'}}\n  v1: {model:")
    path = write_scenario(tmp_path, text)
    with pytest.raises(InvalidConfig, match=r"versions\.v2"):
        load_swarm_scenarios([path])


def test_a_bad_file_is_refused_with_its_line(tmp_path: Path) -> None:
    """Scenario errors surface on the client with file and line, as in harness run."""
    path = write_scenario(tmp_path, FLAKY.replace("traffic: {rate: 20}", "traffic: {rate: 20, colour: red}"))
    with pytest.raises(InvalidScenario, match=r"scenario\.yaml:\d+: traffic\.colour"):
        load_swarm_scenarios([path])


def test_live_mode_is_refused() -> None:
    """Live runs take real time against real services; the swarm says where to run them."""
    with pytest.raises(InvalidConfig, match="harness run --mode live"):
        check_mode(Mode.LIVE)


def test_batches_cover_every_seed_of_every_scenario_once(tmp_path: Path) -> None:
    """Round-robin batches partition each scenario's seeds, whatever sizes the sizer picks."""
    a = write_scenario(tmp_path, FLAKY, "a.yaml")
    b = write_scenario(tmp_path, FLAKY.replace("flaky-errors", "other"), "b.yaml")
    scenarios = load_swarm_scenarios([a, b])
    sizer = BatchSizer(target_seconds=1.0)
    seen: dict[int, list[int]] = {0: [], 1: []}
    for batch in batches(scenarios, SeedRange(5, 104), sizer):
        seen[batch.scenario].extend(batch.seeds)
        for _ in batch.seeds:
            sizer.observe(batch.scenario, 0.1 if batch.scenario == 0 else 0.01)
    assert seen == {0: list(range(5, 105)), 1: list(range(5, 105))}


def test_batch_size_targets_a_second_of_runs() -> None:
    """One seed until a run time is known; then about target/mean seeds, within [1, MAX_BATCH]."""
    sizer = BatchSizer(target_seconds=1.0)
    assert sizer.size(0) == 1
    sizer.observe(0, 0.05)
    assert sizer.size(0) == 20
    sizer.observe(1, 3.0)
    assert sizer.size(1) == 1
    sizer.observe(2, 1e-9)
    assert sizer.size(2) == MAX_BATCH
    assert BatchSizer(fixed=7).size(0) == 7
    with pytest.raises(InvalidConfig, match="batch"):
        BatchSizer(fixed=0)


def test_without_dask_the_command_says_how_to_install_it_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With distributed not importable, one line names the extra to install; exit 2."""
    import sys

    from harness.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)
    path = ROOT / "scenarios" / "rollback-lineage.yaml"
    assert main(["swarm", str(path), "--seeds", "3", "--no-report"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'chaos-harness[swarm]'" in err
    assert len(err.strip().splitlines()) == 1


def test_the_readme_swarm_commands_use_real_options() -> None:
    """Every flag of every `harness swarm` line in the README is an option of the command."""
    import re

    from typer.main import get_command

    from harness.cli import app

    readme = (ROOT / "README.md").read_text()
    lines = [line for line in readme.splitlines() if line.lstrip().startswith("harness swarm ")]
    assert any("harness swarm scenarios/ --seeds 1..200 --workers 2" in line for line in lines)
    command = get_command(app).get_command(None, "swarm")  # type: ignore[attr-defined]
    known = {opt for param in command.params for opt in param.opts}
    used = {flag for line in lines for flag in re.findall(r"(--[a-z-]+)", line.split("#")[0])}
    assert used
    assert used <= known, used - known


@pytest.mark.parametrize(
    ("address", "message"),
    [("localhost:8786", "tcp://HOST:PORT"), ("tcp://127.0.0.1:9", "cannot reach the Dask scheduler")],
)
def test_a_bad_or_unreachable_scheduler_exits_2(
    address: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed address, or one where no scheduler answers, is bad input with the fix."""
    from harness.cli import main

    from .conftest import HAVE_DASK

    if not HAVE_DASK:
        pytest.skip("needs Dask distributed: pip install -e '.[swarm]' (the test extra has it)")
    path = ROOT / "scenarios" / "rollback-lineage.yaml"
    assert main(["swarm", str(path), "--seeds", "3", "--scheduler", address, "--no-report"]) == 2
    assert message in capsys.readouterr().err
