"""``harness gate`` and ``harness report`` from the command line: exit codes 0, 1 and 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.gate import Baseline
from tests.gate.factories import QUIET, pytest_benchmark_doc, write_json
from tests.report.factories import canary_report

NAME = "benchmarks/test_x.py::test_hot_path"


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    """Captured stderr with rich's line wrapping undone."""
    return " ".join(capsys.readouterr().err.split())


def _bench(tmp_path: Path, name: str, slowdown: float, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    return write_json(tmp_path / name, pytest_benchmark_doc({NAME: QUIET.run(rng, slowdown)}))


def test_ten_percent_regression_beyond_the_stated_noise_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One run per side, run-to-run noise stated as 1%: a 10% slowdown against a 5% rule exits 1."""
    a, b = _bench(tmp_path, "a.json", 0, 1), _bench(tmp_path, "b.json", 0.10, 2)
    assert main(["gate", str(a), str(b), "-t", "5%", "--noise", "1%"]) == 1
    out = capsys.readouterr().out
    assert "regression" in out
    assert "test_hot" in out


def test_one_run_per_side_is_inconclusive_and_says_how_to_decide(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a known noise the same slowdown exits 0 as inconclusive, with the deciding commands."""
    a, b = _bench(tmp_path, "a.json", 0, 1), _bench(tmp_path, "b.json", 0.10, 2)
    assert main(["gate", str(a), str(b), "-t", "5%"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "inconclusive" in out
    assert "harness gate --ab 'CMD_BASELINE' 'CMD_CURRENT' --runs 10" in out
    assert f"harness gate {a} {b} -t 5% --noise " not in out, "the advice keeps only the files"
    assert f"harness gate {a} {b} --noise " in out
    assert main(["gate", str(a), str(b), "-t", "5%", "--strict"]) == 1


def test_several_runs_per_side_from_quoted_globs(tmp_path: Path) -> None:
    """Five result files per side: the runs decide, without any stated noise."""
    for i in range(5):
        _bench(tmp_path, f"base-{i}.json", 0, 10 + i)
        _bench(tmp_path, f"cur-{i}.json", 0.30, 20 + i)
    data = tmp_path / "gate.json"
    assert (
        main(["gate", str(tmp_path / "base-*.json"), str(tmp_path / "cur-*.json"), "--json", str(data)]) == 1
    )
    (row,) = json.loads(data.read_text())["comparisons"]
    assert (row["method"], row["basis"]) == ("welch t on log run medians (5 vs 5 runs)", "runs")
    assert main(["gate", str(tmp_path / "base-*.json"), str(tmp_path / "base-*.json")]) == 0


def test_update_from_several_runs_stores_their_noise(tmp_path: Path) -> None:
    """A baseline promoted from five runs judges one later run with the runs' measured noise."""
    for i in range(5):
        _bench(tmp_path, f"base-{i}.json", 0, 10 + i)
    baseline = tmp_path / "main.json"
    assert main(["gate", str(baseline), str(tmp_path / "base-*.json"), "--update"]) == 0
    assert len(Baseline.load(baseline).metrics[NAME].runs) == 5
    assert main(["gate", str(baseline), str(_bench(tmp_path, "slow.json", 0.5, 3))]) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["a.json", "b.json", "c.json"], "quote a glob"),
        (["{tmp}/none-*.json", "{tmp}/a.json"], "matches no file"),
        (["{tmp}/a.json", "{tmp}/a.json", "--noise", "lots"], "--noise='lots' must be a percentage (5%)"),
        (["{tmp}/a.json", "{tmp}/a.json", "--noise", "150%"], "--noise='150%' must be below 100%"),
        (["{tmp}/a.json", "{tmp}/a.json", "--runs", "5"], "--runs re-runs the --ab commands"),
        (["{tmp}/base-*.json", "{tmp}/a.json", "--update"], "is a pattern"),
    ],
)
def test_bad_sides_and_flags_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """An unquoted glob, a pattern that matches nothing, a bad --noise: exit 2 with the fix."""
    _bench(tmp_path, "a.json", 0, 1)
    _bench(tmp_path, "base-0.json", 0, 1)
    assert main(["gate", *(a.format(tmp=tmp_path) for a in args)]) == 2
    assert message in _err(capsys)


def test_a_a_exits_0(tmp_path: Path) -> None:
    """Two runs of the same code exit 0."""
    assert main(["gate", str(_bench(tmp_path, "a.json", 0, 1)), str(_bench(tmp_path, "b.json", 0, 2))]) == 0


def test_markdown_and_json_written(tmp_path: Path) -> None:
    """--markdown writes the summary for a CI job summary; --json the machine-readable result."""
    summary, data = tmp_path / "summary.md", tmp_path / "gate.json"
    a, b = _bench(tmp_path, "a.json", 0, 1), _bench(tmp_path, "b.json", 0.10, 2)
    main(
        ["gate", str(a), str(b), "-t", "5%", "--noise", "1%", "--markdown", str(summary), "--json", str(data)]
    )
    assert summary.read_text().startswith("### ❌ Gate failed")
    doc = json.loads(data.read_text())
    assert doc["passed"] is False
    (row,) = doc["comparisons"]
    assert row["verdict"] == "regression"
    assert row["name"] == NAME
    assert row["low"] > 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ('{"hello": 1}', "is not a pytest-benchmark JSON"),
    ],
)
def test_malformed_current_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    """A malformed file exits 2 with a message naming it."""
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert main(["gate", str(_bench(tmp_path, "a.json", 0, 1)), str(bad)]) == 2
    assert message in _err(capsys)


def test_mismatched_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A benchmark file against a scenario result exits 2: nothing in common."""
    result = tmp_path / "result.json"
    result.write_text(canary_report().to_json())
    assert main(["gate", str(_bench(tmp_path, "a.json", 0, 1)), str(result)]) == 2
    assert "no metric in common" in _err(capsys)


def test_missing_baseline_exits_2_with_hint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without a baseline the message says how to create one."""
    assert main(["gate", str(tmp_path / "none.json"), str(_bench(tmp_path, "b.json", 0, 1))]) == 2
    assert "--update" in _err(capsys)


def test_bad_rule_exits_2(tmp_path: Path) -> None:
    """A bad threshold expression is a usage error."""
    a = _bench(tmp_path, "a.json", 0, 1)
    assert main(["gate", str(a), str(a), "-t", "fast"]) == 2


def test_update_promotes_current(tmp_path: Path) -> None:
    """--update writes the current results as the baseline and exits 0, even after a regression."""
    baseline = tmp_path / "baselines" / "main.json"
    slow = _bench(tmp_path, "b.json", 0.5, 2)
    assert main(["gate", str(baseline), str(_bench(tmp_path, "a.json", 0, 1)), "--update"]) == 0
    assert main(["gate", str(baseline), str(slow), "-t", "5%", "--noise", "2%"]) == 1
    assert main(["gate", str(baseline), str(slow), "--update"]) == 0
    assert main(["gate", str(baseline), str(slow)]) == 0
    assert Baseline.load(baseline).name == "main"


def test_ab_mode_times_commands(tmp_path: Path) -> None:
    """--ab with commands that write metrics files compares them round by round."""
    script = tmp_path / "emit.py"
    script.write_text(
        "import json, sys\n"
        "factor = float(sys.argv[2])\n"
        "doc = {'format': 'chaos-harness.metrics', 'metrics': {'latency': {'value': factor, 'unit': 's'}}}\n"
        "json.dump(doc, open(sys.argv[1], 'w'))\n"
    )
    a = f"{sys.executable} {script} {{out}} 1.0"
    same = main(["gate", "--ab", a, a, "--runs", "8"])
    slower = main(["gate", "--ab", a, f"{sys.executable} {script} {{out}} 1.3", "--runs", "8"])
    assert (same, slower) == (0, 1)


def test_ab_old_rounds_flag_still_works_and_says_its_new_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--rounds is the old name of --runs, kept for one release."""
    assert main(["gate", "--ab", "true", "true", "--rounds", "2"]) == 0
    out = capsys.readouterr().out
    assert "--rounds is now --runs" in out
    assert "interleaved 2 runs per side" in out


def test_ab_with_files_is_a_usage_error(tmp_path: Path) -> None:
    """--ab takes no BASELINE/CURRENT."""
    a = _bench(tmp_path, "a.json", 0, 1)
    assert main(["gate", str(a), "--ab", "true", "true"]) == 2


def test_ab_failing_command_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A command that fails stops the comparison with its exit status."""
    code = main(["gate", "--ab", f"{sys.executable} -c 'raise SystemExit(3)'", "true", "--runs", "2"])
    assert code == 2
    assert "exited with 3" in _err(capsys)


def test_report_rerenders_from_result_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """harness report writes every artefact next to (or away from) result.json."""
    result = tmp_path / "run" / "result.json"
    result.parent.mkdir()
    result.write_text(canary_report().to_json())
    assert main(["report", str(result), "--out", str(tmp_path / "again")]) == 0
    assert {p.name for p in (tmp_path / "again").iterdir()} == {
        "result.json",
        "junit.xml",
        "summary.md",
        "report.html",
    }
    assert main(["report", str(result), "--check"]) == 1
    assert "Replay: harness run" in _err(capsys)


def test_report_bad_result_exits_2(tmp_path: Path) -> None:
    """A result.json from something else exits 2."""
    bad = tmp_path / "result.json"
    bad.write_text(json.dumps({"schema": "other"}))
    assert main(["report", str(bad)]) == 2
