"""``harness run``, ``replay`` and ``scenarios``: exit codes, reports, replay lines, baselines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.cli import main
from harness.report import load_run_report

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "scenarios" / "rollback-corrupt-state.yaml"


def _failing_copy(tmp_path: Path) -> Path:
    text = GOOD.read_text().replace("rolled_back_within: 3m", "rolled_back_within: 10s")
    path = tmp_path / "too-strict.yaml"
    path.write_text(text)
    return path


def test_run_writes_every_report_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(GOOD), "--report", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "1 passed, 0 failed" in out
    (folder,) = (tmp_path / "rollback-corrupt-state").iterdir()
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["journal.jsonl", "junit.xml", "report.html", "result.json", "summary.md"]
    report = load_run_report(folder / "result.json")
    assert report.passed
    assert report.seed == 71
    assert report.replay_command == f"harness run {GOOD} --seed 71"
    assert any(d.action == "rollback" for d in report.decisions)


def test_a_finding_exits_1_with_the_replay_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _failing_copy(tmp_path)
    assert main(["run", str(path), "--seed", "4", "--no-report"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out
    assert f"replay with: harness run {path} --seed 4" in out


def test_replay_verifies_the_digest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(GOOD), "--report", str(tmp_path)]) == 0
    (journal,) = tmp_path.glob("*/*/journal.jsonl")
    assert main(["replay", str(journal)]) == 0
    assert "matches" in capsys.readouterr().out
    lines = journal.read_text().splitlines()
    event = json.loads(lines[5])
    event["t"] = event["t"] + 1
    lines[5] = json.dumps(event)
    journal.write_text("\n".join(lines) + "\n")
    assert main(["replay", str(journal)]) == 1
    assert "digest mismatch" in capsys.readouterr().out


def _run_in(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run a copy of GOOD as ``s.yaml`` from ``folder`` (a relative path); the journal written."""
    folder.mkdir()
    shutil.copy(GOOD, folder / "s.yaml")
    monkeypatch.chdir(folder)
    assert main(["run", "s.yaml", "--report", "out"]) == 0
    (journal,) = (folder / "out").glob("*/*/journal.jsonl")
    return journal


def test_replay_works_from_any_directory_without_the_scenario_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The journal records the scenario that ran: it replays from elsewhere, the file deleted."""
    journal = _run_in(tmp_path / "project", monkeypatch)
    (tmp_path / "project" / "s.yaml").unlink()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    capsys.readouterr()
    assert main(["replay", str(journal)]) == 0
    assert "matches" in capsys.readouterr().out


def test_a_journal_without_its_scenario_finds_the_file_from_the_recorded_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A journal that records only the file's relative path resolves it where the run was started."""
    journal = _run_in(tmp_path / "project", monkeypatch)
    header, *events = journal.read_text().splitlines()
    meta = json.loads(header)
    del meta["meta"]["spec"]
    assert meta["meta"]["source"] == "s.yaml"
    journal.write_text("\n".join([json.dumps(meta), *events]) + "\n")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert main(["replay", str(journal)]) == 0
    del meta["meta"]["cwd"], meta["meta"]["source"]
    journal.write_text("\n".join([json.dumps(meta), *events]) + "\n")
    capsys.readouterr()
    assert main(["replay", str(journal)]) == 2
    assert "records neither the scenario nor its file; pass --scenario PATH" in capsys.readouterr().err


def test_bad_file_exits_2_naming_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.read_text().replace("error_rate: 0.005}", "error_rate: 0.005, colour: red}", 1))
    assert main(["run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:7: versions.v1.model.colour: unknown field 'colour'" in err


def test_missing_callable_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "missing.yaml"
    path.write_text(
        "name: m\ndescription: d\nduration: 10s\n"
        "versions:\n  v1: {callable: {target: 'fixtures.nope:make'}}\n"
    )
    assert main(["scenarios", "validate", str(path)]) == 2
    assert "cannot import module 'fixtures.nope'" in capsys.readouterr().err
    assert main(["run", str(path)]) == 2


def test_missing_path_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "nowhere")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_scenarios_list_validate_and_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios", "validate", str(ROOT / "scenarios")]) == 0
    assert main(["scenarios", "list", str(ROOT / "scenarios")]) == 0
    assert "canary-redis-outage" in capsys.readouterr().out
    assert main(["scenarios", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Scenario"
    assert "versions" in schema["required"]


def test_baseline_save_and_compare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "baselines"
    args = ["run", str(GOOD), "--no-report", "--baseline-dir", str(folder)]
    assert main([*args, "--save-baseline", "rollback"]) == 0
    saved = json.loads((folder / "rollback.json").read_text())
    assert set(saved["metrics"]) == {"user_p50", "user_p99", "user_error_rate"}
    assert main([*args, "--baseline", "rollback"]) == 0
    assert main([*args, "--baseline", "absent"]) == 2
    assert "no baseline 'absent'" in capsys.readouterr().err


def test_a_slower_version_regresses_against_its_baseline(tmp_path: Path) -> None:
    folder = tmp_path / "baselines"
    fast = tmp_path / "svc.yaml"
    fast.write_text(
        "name: svc\ndescription: d\nduration: 10m\nversions:\n"
        "  v1: {model: {latency: {kind: lognormal, median: 50ms, sigma: 0.3}}}\ntraffic: {rate: 50}\n"
    )
    assert (
        main(["run", str(fast), "--no-report", "--baseline-dir", str(folder), "--save-baseline", "svc"]) == 0
    )
    slow = tmp_path / "svc-slow.yaml"
    slow.write_text(fast.read_text().replace("median: 50ms", "median: 60ms"))
    assert main(["run", str(slow), "--no-report", "--baseline-dir", str(folder), "--baseline", "svc"]) == 1


def test_bundled_folder_runs_from_a_copy(tmp_path: Path) -> None:
    target = tmp_path / "scenarios"
    shutil.copytree(ROOT / "scenarios", target)
    for extra in target.glob("*.yaml"):
        if extra.name != "champion-equal.yaml":
            extra.unlink()
    assert main(["run", str(target), "--report", str(tmp_path / "reports")]) == 0
