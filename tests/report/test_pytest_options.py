"""The pytest options --harness-report, --baseline-save and --baseline-compare in real pytest runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import xmlschema

from harness.gate import Baseline
from harness.report import load_run_report

pytest_plugins = ["pytester"]

BASE = ("-p", "no:locust", "-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function")
XSD = Path(__file__).parent / "data" / "junit.xsd"

CHAOS_TESTS = """
import pytest

@pytest.mark.chaos(seed=42)
def test_survives(run_journal, virtual_clock):
    '''The service survives a Redis outage.'''
    run_journal.record(1.5, "fault.on", "faults/redis", kind="outage")

@pytest.mark.chaos
def test_breaks(chaos_seed):
    assert 1 + 1 == 3, "arithmetic is broken"

def test_plain():
    pass

@pytest.mark.chaos
def test_skipped():
    pytest.skip("not today")
"""


def test_harness_report_writes_artefacts_for_chaos_tests(pytester: pytest.Pytester) -> None:
    """Chaos-marked tests get a report folder; plain and skipped tests do not."""
    pytester.makepyfile(test_chaos=CHAOS_TESTS)
    out = pytester.path / "reports"
    result = pytester.runpytest(*BASE, "--chaos-seed=7", f"--harness-report={out}")
    result.assert_outcomes(passed=2, failed=1, skipped=1)
    assert sorted(p.name for p in out.iterdir()) == [
        "test_chaos.py_test_breaks",
        "test_chaos.py_test_survives",
    ]

    good = out / "test_chaos.py_test_survives"
    run = load_run_report(good / "result.json")
    assert run.passed
    assert run.seed == 42
    assert run.mode.value == "simulated"
    assert run.description == "The service survives a Redis outage."
    assert run.replay_command == "pytest test_chaos.py::test_survives --chaos-seed=42"
    assert (good / "journal.jsonl").read_text().count("faults/redis") == 1
    assert run.digest

    bad = load_run_report(out / "test_chaos.py_test_breaks" / "result.json")
    assert not bad.passed
    assert bad.seed == 7
    assert "arithmetic is broken" in bad.expectations[0].detail
    xmlschema.XMLSchema(XSD).validate(str(out / "test_chaos.py_test_breaks" / "junit.xml"))


def test_without_the_option_nothing_is_written(pytester: pytest.Pytester) -> None:
    """No option, no files."""
    pytester.makepyfile(test_chaos=CHAOS_TESTS)
    pytester.runpytest(*BASE).assert_outcomes(passed=2, failed=1, skipped=1)
    assert not (pytester.path / "reports").exists()


def test_attached_run_report_is_written_as_is(pytester: pytest.Pytester) -> None:
    """record_run_report() replaces the plain test report."""
    pytester.makepyfile(
        test_scn="""
import pytest
from harness.pytest_fixtures.report import record_run_report
from harness.report import RunReport

@pytest.mark.chaos
def test_scenario(request):
    record_run_report(request, RunReport(scenario="canary", seed=3, passed=True, summary={"p99": 0.2}))
"""
    )
    out = pytester.path / "r"
    pytester.runpytest(*BASE, f"--harness-report={out}").assert_outcomes(passed=1)
    run = load_run_report(out / "test_scn.py_test_scenario" / "result.json")
    assert run.scenario == "canary"
    assert run.summary == {"p99": 0.2}


BENCH = """
import time

def test_hot(benchmark):
    benchmark.pedantic(lambda: sum(range({n})), rounds=30, iterations=5)
"""


def _bench_run(pytester: pytest.Pytester, n: int, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_bench=BENCH.format(n=n))
    return pytester.runpytest(*BASE, "--benchmark-enable", f"--baseline-dir={pytester.path / 'bl'}", *args)


@pytest.mark.slow
def test_baseline_save_then_compare(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Save a baseline, fail against a 20x slower implementation beyond a stated 5% run-to-run noise."""
    # pytest-benchmark turns itself off inside an xdist worker; the inner run is not one.
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    _bench_run(pytester, 2000, "--baseline-save=main").assert_outcomes(passed=1)
    saved = pytester.path / "bl" / "main.json"
    doc = json.loads(saved.read_text())
    assert doc["format"] == "chaos-harness.baseline"
    assert Baseline.load(saved).metrics["test_bench.py::test_hot"].count == 30

    undecided = _bench_run(pytester, 40000, "--baseline-compare=main")
    assert undecided.ret == pytest.ExitCode.OK, "one run per side, noise unknown: inconclusive"
    undecided.stdout.fnmatch_lines(["*1 inconclusive: one run per side*--baseline-noise=5%*"])

    summary = pytester.path / "gate.md"
    slower = _bench_run(
        pytester, 40000, "--baseline-compare=main", "--baseline-noise=5%", f"--baseline-markdown={summary}"
    )
    assert slower.ret == pytest.ExitCode.TESTS_FAILED
    slower.stdout.fnmatch_lines(["*chaos-harness baseline*", "*Gate failed: 1 of 1 metrics regressed*"])
    assert summary.read_text().startswith("### ❌ Gate failed: 1 of 1 metrics regressed")
    assert "| test_bench.py::test_hot |" in summary.read_text()


def test_no_benchmark_results_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """Asking to save a baseline from a session that measured nothing fails and says why."""
    pytester.makepyfile(test_none="def test_plain():\n    pass\n")
    result = pytester.runpytest(
        *BASE, "--benchmark-enable", f"--baseline-dir={pytester.path}", "--baseline-save=x"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*no benchmark results in this session*"])
    assert not (pytester.path / "x.json").exists()


def test_baseline_compare_missing_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """Comparing against a baseline that does not exist stops before collection."""
    result = _bench_run(pytester, 10, "--baseline-compare=nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--baseline-compare=nope*does not exist*--baseline-save=nope*"])


def test_baseline_needs_enabled_benchmarks(pytester: pytest.Pytester) -> None:
    """With --benchmark-disable the options explain what to add."""
    pytester.makepyfile(test_bench=BENCH.format(n=10))
    result = pytester.runpytest(*BASE, "--benchmark-disable", "--baseline-save=main")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*add --benchmark-enable*"])


def test_bad_baseline_noise(pytester: pytest.Pytester) -> None:
    """A noise that is not a percentage or fraction is refused before collection."""
    result = _bench_run(pytester, 10, "--baseline-save=main", "--baseline-noise=lots")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--baseline-noise='lots' must be a percentage (5%) or a fraction*"])


def test_bad_baseline_name(pytester: pytest.Pytester) -> None:
    """A name with a path separator is refused."""
    result = _bench_run(pytester, 10, "--baseline-save=../x")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*a baseline name is letters*"])


def test_baseline_fixture_round_trip(pytester: pytest.Pytester) -> None:
    """The baseline fixture saves, loads and compares named baselines."""
    pytester.makepyfile(
        test_fx="""
from harness.gate import Baseline, Metric

def test_store(baseline):
    results = Baseline(metrics={"m": Metric.from_samples("m", [1.0, 1.1, 0.9, 1.0] * 5)})
    path = baseline.save("nightly", results)
    assert path.name == "nightly.json"
    assert baseline.load("nightly").metrics["m"].count == 20
    assert baseline.compare("nightly", results).passed
"""
    )
    pytester.runpytest(*BASE, f"--baseline-dir={pytester.path / 'bl'}").assert_outcomes(passed=1)
