"""A user's adapter bug is not a service failure; the service's own failures are, recorded by type."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from harness.cli import main
from harness.clock import VirtualClock
from harness.runtime import ContractBroken, FailureKind, FailurePolicy
from harness.scenario import parse_scenario, run_scenario
from harness.scenario.live import LiveEngine
from tests.runtime.apps import callables

CANARY = """
name: adapter-bug
description: a canary whose candidate adapter has a typo; the scenario expects a rollback
duration: 2m
window: 10s
versions:
  stable: {{callable: {{target: "harness.examples.scenario_versions:good_async"}}}}
  candidate: {{callable: {{target: "tests.runtime.apps.callables:{candidate}"{failures}}}}}
traffic: {{rate: 50}}
flow:
  kind: canary
  stable: stable
  candidate: candidate
  canary: {{steps: [20, 50, 100], analysis_windows: 2}}
expectations:
  outcome: {{rolled_back: true}}
live: {{window: 1s, rate: 50}}
"""


def _write(tmp_path: Path, candidate: str, failures: str = "") -> Path:
    path = tmp_path / "canary.yaml"
    path.write_text(CANARY.format(candidate=candidate, failures=failures))
    return path


def _typo_line() -> int:
    source, start = inspect.getsourcelines(callables.typo)
    return start + next(i for i, line in enumerate(source) if 'request["itme"]' in line)


def test_a_keyerror_in_the_adapter_exits_2_instead_of_passing_as_a_rollback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's case: the candidate's adapter reads request['itme']. Before, every request failed,
    the canary rolled back and the scenario expecting a rollback passed (exit 0). Now: exit 2 with
    the exception and the adapter's file and line."""
    assert main(["run", str(_write(tmp_path, "typo")), "--no-report"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "KeyError: 'itme'" in err
    assert f"{callables.__file__}:{_typo_line()}" in err
    assert "version 'candidate'" in err


def test_the_live_engine_stops_on_the_same_adapter_bug(tmp_path: Path) -> None:
    """Live mode uses the same policy (here on a virtual clock)."""
    scenario = parse_scenario(_write(tmp_path, "typo").read_text())
    with pytest.raises(ContractBroken, match="KeyError"):
        LiveEngine(scenario, 1, clock=VirtualClock()).run()


def test_a_keyerror_in_the_services_own_code_is_a_failed_request() -> None:
    """The same exception type raised deeper, in the service's module, is the service failing."""
    scenario = parse_scenario(
        CANARY.format(candidate="failing_service", failures="").replace(
            "rolled_back: true", "rolled_back: true"
        )
    )
    result = run_scenario(scenario, seed=3)
    assert result.outcome.rolled_back
    types = set().union(*(e.data["errors"] for e in result.journal.of_kind("requests")))
    assert types == {"KeyError"}


def test_declared_failures_count_and_anything_else_breaks_the_contract(tmp_path: Path) -> None:
    """A version declaring [ValueError] fails requests on it; the typo's KeyError is then a contract break."""
    declared = parse_scenario(_write(tmp_path, "declared", ", failures: [ValueError]").read_text())
    result = run_scenario(declared, seed=3)
    assert set().union(*(e.data["errors"] for e in result.journal.of_kind("requests"))) == {"ValueError"}
    with pytest.raises(ContractBroken, match="KeyError"):
        run_scenario(parse_scenario(_write(tmp_path, "typo", ", failures: [ValueError]").read_text()))


def _raise(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_policy_classifies_by_where_and_what() -> None:
    """Contract errors in the adapter's file break the contract; elsewhere, or other types, are failures."""
    here = FailurePolicy(adapter_files=frozenset({__file__}))
    elsewhere = FailurePolicy(adapter_files=frozenset({"/somewhere/else.py"}))
    assert here.classify(_raise(KeyError("x"))) is FailureKind.CONTRACT
    assert elsewhere.classify(_raise(KeyError("x"))) is FailureKind.SERVICE
    assert here.classify(_raise(ConnectionError("down"))) is FailureKind.SERVICE
    assert here.classify(_raise(TimeoutError())) is FailureKind.SERVICE
    assert here.classify(KeyboardInterrupt()) is FailureKind.CONTRACT
    declared = FailurePolicy.declaring(["ConnectionError", "harness.errors:InvalidConfig"])
    assert declared.classify(_raise(ConnectionRefusedError())) is FailureKind.SERVICE
    assert declared.classify(_raise(ValueError())) is FailureKind.CONTRACT


def test_unknown_declared_failures_are_a_usage_error() -> None:
    """A failure type that is not an exception class is refused when the version is built."""
    from harness.errors import InvalidConfig

    with pytest.raises(InvalidConfig, match="not a builtin exception"):
        FailurePolicy.declaring(["NoSuchError"])
    with pytest.raises(InvalidConfig, match="not an exception class"):
        FailurePolicy.declaring(["harness.errors:Reproduction"])
