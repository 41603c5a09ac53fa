"""Rollback scenarios that name their lineage: the target is chosen from it, and the run says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import EXIT_FINDING, EXIT_OK, EXIT_USAGE, main
from harness.rollout import Action
from harness.scenario import load_scenario, run_scenario

ROOT = Path(__file__).resolve().parents[2]
LINEAGE = ROOT / "scenarios" / "rollback-lineage.yaml"
TEXT = LINEAGE.read_text()


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    assert old in TEXT
    path = tmp_path / "variant.yaml"
    path.write_text(TEXT.replace(old, new))
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)


def test_a_quarantined_parent_sends_the_rollback_to_v1_and_the_run_says_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["run", str(LINEAGE), "--no-report"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "rolled back to v1" in out
    assert (
        "rollback-lineage: rollback target v1: v2 skipped: quarantined: leaks connections under load" in out
    )
    assert "crosses quarantined v2; revert the data migration of v3" in out


def test_the_rollback_decision_in_the_journal_carries_the_target_reasons() -> None:
    result = run_scenario(LINEAGE, seed=5)
    assert result.passed, result.failed
    rollback = next(d for d in result.decisions if d.action is Action.ROLLBACK)
    assert dict(rollback.weights) == {"v1": 100.0, "v3": 0.0}
    targets = [r.message for r in rollback.reasons if r.statistic == "target"]
    assert targets[0] == "v2 skipped: quarantined: leaks connections under load"
    assert targets[1].startswith("v1 chosen")
    (expectation,) = [e for e in result.expectations if e.name == "rolled back to"]
    assert expectation.passed
    assert "v2 skipped" in expectation.detail


def test_when_no_ancestor_qualifies_the_rollback_aborts_and_leaves_the_state(tmp_path: Path) -> None:
    """v2 declares a data migration: crossing it would run quarantined code, so v1 is out of reach."""
    path = _variant(
        tmp_path,
        "lifecycle: quarantine, reason: leaks connections under load}",
        "lifecycle: quarantine, migrations: [data], reason: leaks connections under load}",
    )
    result = run_scenario(path, seed=5)
    assert not result.outcome.rolled_back
    target = result.outcome.details["target"]
    assert target["chosen"] is None
    assert "declares a data migration" in target["reasons"][1]
    assert target["reasons"][-1].startswith("no rollback target")
    assert sorted(e.name for e in result.failed) == [
        "rolled back",
        "rolled back to",
        "rolled back within",
        "state restored",
    ]


def test_a_wrong_expected_target_is_a_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _variant(tmp_path, "rolled_back_to: v1", "rolled_back_to: v3")
    assert main(["run", str(path), "--no-report"]) == EXIT_FINDING
    assert "rolled back to (v1 vs v3)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "case",
    [
        (
            "parents: [v2], migrations",
            "parents: [v9], migrations",
            "parents: [v9]",
            "flow.rollback.lineage.v3.parents.0: parent 'v9' of 'v3' is not in the lineage; "
            "known: ['v0', 'v1', 'v2', 'v3']",
        ),
        (
            "v0: {version: 0.9.0, lifecycle: quarantine",
            "v0: {version: 0.9.0, parents: [v3], lifecycle: quarantine",
            "v0: {version",
            "flow.rollback.lineage: the lineage has a cycle through v0, v1, v2, v3",
        ),
        (
            "v0: {version: 0.9.0, lifecycle: quarantine",
            "v0: {version: 0.9, lifecycle: quarantine",
            "v0: {version: 0.9,",
            "flow.rollback.lineage.v0.version: version '0.9' is not a semantic version; write "
            "MAJOR.MINOR.PATCH",
        ),
        (
            "v0: {version: 0.9.0, lifecycle: quarantine",
            "v0: {version: 0.9.0, lifecycle: production",
            "v0: {version",
            "flow.rollback.lineage.v0.lifecycle: 'v0' is in production, so a rollback may go to it: "
            "declare it under versions",
        ),
        (
            "rolled_back_to: v1",
            "rolled_back_to: v2",
            "rolled_back_to",
            "expectations.outcome.rolled_back_to: 'v2' is not a declared version",
        ),
    ],
    ids=["unknown-parent", "cycle", "bad-semver", "undeclared-production", "undeclared-target"],
)
def test_a_bad_lineage_exits_2_naming_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: tuple[str, str, str, str]
) -> None:
    """(text replaced, replacement, text on the line to be named, message)."""
    old, new, needle, message = case
    path = _variant(tmp_path, old, new)
    assert main(["run", str(path), "--no-report"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"{path}:{_line_of(path, needle)}: {message}" in " ".join(err.split())


def test_a_lineage_is_only_read_by_rollback_flows() -> None:
    scenario = load_scenario(LINEAGE)
    lineage = scenario.flow.rollback.lineage_graph()
    assert lineage is not None
    assert lineage.ancestors("v3") == ("v2", "v1", "v0")
