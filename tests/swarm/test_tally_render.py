"""Counting runs as they stream in, the flakiness verdict, and the JSON, Markdown and HTML reports."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.mode import Mode
from harness.stats import wilson_interval
from harness.swarm import (
    SeedRange,
    SwarmResult,
    SwarmScenario,
    render_swarm_html,
    render_swarm_markdown,
    swarm_json,
    write_swarm_reports,
)
from harness.swarm.tally import SLOWEST, Tally, all_stats, flakiness_level
from harness.swarm.task import FailedExpectation, SeedRun


def _scenario(index: int = 0, *, bound: float = 0.05, alpha: float | None = 0.05) -> SwarmScenario:
    return SwarmScenario(
        index=index, name=f"sc{index}", source=f"scenarios/sc{index}.yaml", text="", alpha=alpha, bound=bound
    )


def _run(seed: int, *, passed: bool = True, seconds: float = 0.1, scenario: int = 0) -> SeedRun:
    failed = () if passed else (FailedExpectation(name="promoted", observed="False", limit="True"),)
    digest = f"d{seed}"
    return SeedRun(scenario=scenario, seed=seed, passed=passed, digest=digest, seconds=seconds, failed=failed)


def test_tally_keeps_counts_the_slowest_runs_and_every_failure() -> None:
    """Passing runs leave only counts; failures keep seed, expectation and replay; slowest are the top 5."""
    tally = Tally(_scenario())
    for seed in range(1, 1001):
        tally.add(_run(seed, passed=seed % 100 != 0, seconds=seed / 1000))
    stats = tally.stats(level=0.05)
    assert (stats.runs, stats.failures) == (1000, 10)
    assert [r.seed for r in stats.slowest] == [1000, 999, 998, 997, 996][:SLOWEST]
    assert [f.seed for f in stats.failed_runs] == list(range(100, 1001, 100))
    assert stats.failed_runs[0].replay == "harness run scenarios/sc0.yaml --seed 100"
    assert stats.failed_runs[0].failed[0].text() == "promoted (False vs True)"
    assert stats.interval == wilson_interval(10, 1000)
    assert stats.mean_seconds == pytest.approx(0.5005)


def test_rate_well_within_alpha_reads_healthy() -> None:
    """2% of 1000 seeds at alpha 5% is within the bound, and the reading says so with the interval."""
    tally = Tally(_scenario())
    for seed in range(1000):
        tally.add(_run(seed, passed=seed % 50 != 0))
    stats = tally.stats(level=0.05)
    assert not stats.exceeds_bound
    assert stats.reading() == "fails 2.0% [1.3%, 3.1%] of 1000 seeds, alpha 5.0%: within its bound"


def test_any_failure_of_a_scenario_that_should_never_fail_is_above_its_bound() -> None:
    """3 failures in 1000 where no failure is expected reads as a bug."""
    tally = Tally(_scenario(bound=0.0, alpha=None))
    for seed in range(1000):
        tally.add(_run(seed, passed=seed not in {3, 500, 999}))
    stats = tally.stats(level=0.05)
    assert stats.exceeds_bound
    assert stats.reading().endswith("should never fail: significantly above its bound")


def test_one_failure_in_a_few_runs_is_not_above_a_positive_bound() -> None:
    """The gate needs evidence: one failure in 20 seeds does not exceed a 5% bound."""
    tally = Tally(_scenario(bound=0.05))
    for seed in range(20):
        tally.add(_run(seed, passed=seed != 4))
    assert not tally.stats(level=0.05).exceeds_bound


def test_each_scenario_is_tested_at_its_bonferroni_share() -> None:
    """With 4 scenarios each is tested at 0.05/4."""
    tallies = [Tally(_scenario(i)) for i in range(4)]
    assert {s.level for s in all_stats(tallies)} == {flakiness_level(4)} == {0.0125}


def _result(*, interrupted: bool = False) -> SwarmResult:
    healthy, broken = Tally(_scenario(0)), Tally(_scenario(1, bound=0.0, alpha=None))
    for seed in range(1, 41):
        healthy.add(_run(seed, passed=seed != 7))
        broken.add(_run(seed, passed=seed != 9, scenario=1))
    return SwarmResult(
        scenarios=tuple(all_stats([healthy, broken])),
        seeds=SeedRange(1, 40),
        mode=Mode.SIMULATED,
        workers=2,
        scheduler="tcp://127.0.0.1:1",
        batch=None,
        seconds=2.0,
        started_at="2026-01-01T00:00:00+00:00",
        interrupted=interrupted,
        level=flakiness_level(2),
    )


def test_result_passes_only_when_every_scenario_is_within_bounds_and_nothing_was_interrupted() -> None:
    """One scenario above its bound fails the swarm; an interrupted swarm never passes."""
    result = _result()
    assert [s.name for s in result.above_bound] == ["sc1"]
    assert not result.passed
    assert (result.runs, result.failures, result.total) == (80, 2, 80)


def test_json_report_has_rates_intervals_rule_and_replay_commands(tmp_path: Path) -> None:
    """swarm.json is written atomically and round-trips the figures a reviewer checks."""
    paths = write_swarm_reports(_result(), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["swarm.html", "swarm.json", "swarm.md"]
    data = json.loads(paths["json"].read_text())
    assert data == swarm_json(_result()) | {"started_at": data["started_at"]}
    first = data["scenarios"][0]
    assert (first["runs"], first["failures"], first["alpha"], first["bound"]) == (40, 1, 0.05, 0.05)
    assert first["interval"]["method"] == "wilson"
    assert first["failed_runs"][0]["replay"] == "harness run scenarios/sc0.yaml --seed 7"
    assert data["scenarios"][1]["exceeds_bound"] is True
    assert "Clopper-Pearson" in data["rule"]
    assert data["passed"] is False


def test_markdown_report_lists_each_failing_seed_with_its_replay() -> None:
    """swarm.md has the per-scenario table and one row per failing seed."""
    text = render_swarm_markdown(_result())
    assert "| sc0 | 40 | 1 | 2.50% [" in text
    assert "`harness run scenarios/sc1.yaml --seed 9`" in text
    assert "❌ above bound" in text


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def test_html_report_has_the_failure_rate_chart_and_fetches_nothing() -> None:
    """swarm.html holds an inline SVG forest plot, one row per scenario, the red one above its bound."""
    page = render_swarm_html(_result())
    parser = _Tags()
    parser.feed(page)
    assert parser.tags.count("svg") == 1
    assert page.count('<g class="interval">') == 2
    assert 'stroke="#c62828"' in page
    assert "default-src 'none'" in page
    assert "harness run scenarios/sc1.yaml --seed 9" in page
