"""Reports and performance gates from pytest.

* ``--harness-report DIR`` writes ``result.json``, ``junit.xml``, ``summary.md``, ``report.html``
  (and ``journal.jsonl``) under ``DIR/<test id>/`` for every chaos- or scenario-marked test, and
  for any test that recorded a journal or attached a run report. A plain test's report holds its
  outcome, seed, duration and journal; ``record_run_report(request, report)`` attaches a full
  :class:`~harness.report.RunReport` (the scenario runner does this).
* ``--baseline-save NAME`` stores this session's pytest-benchmark results as
  ``<baseline dir>/NAME.json`` (compact samples, written atomically); ``--baseline-compare NAME``
  gates them against it, prints the table and makes the session fail on a regression.
* The ``run_journal`` fixture is a :class:`~harness.journal.Journal` that lands in the report; the
  ``baseline`` fixture loads, saves and compares named baselines.

Nothing is registered per test unless one of these options is given, so a suite that does not
use them pays nothing.
"""

from __future__ import annotations

import io
import re
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.gate import Baseline, GateResult, Rule
    from harness.journal import Journal
    from harness.report import RunReport

__all__ = [
    "OPTION_BASELINE_COMPARE",
    "OPTION_BASELINE_DIR",
    "OPTION_BASELINE_MARKDOWN",
    "OPTION_BASELINE_NOISE",
    "OPTION_BASELINE_RULE",
    "OPTION_BASELINE_SAVE",
    "OPTION_HARNESS_REPORT",
    "BaselineStore",
    "baseline",
    "pytest_addoption",
    "pytest_configure",
    "record_run_report",
    "run_journal",
]

OPTION_HARNESS_REPORT = "--harness-report"
OPTION_BASELINE_SAVE = "--baseline-save"
OPTION_BASELINE_COMPARE = "--baseline-compare"
OPTION_BASELINE_DIR = "--baseline-dir"
OPTION_BASELINE_RULE = "--baseline-rule"
OPTION_BASELINE_MARKDOWN = "--baseline-markdown"
OPTION_BASELINE_NOISE = "--baseline-noise"
DEFAULT_BASELINE_DIR = Path("benchmarks") / "baselines"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_JOURNAL_KEY = pytest.StashKey["Journal"]()
_RUN_REPORT_KEY = pytest.StashKey["RunReport"]()
_PHASES_KEY = pytest.StashKey[dict[str, pytest.TestReport]]()
_REPORTED_MARKERS = ("chaos", "scenario")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the report and baseline options."""
    group = parser.getgroup("chaos-harness")
    group.addoption(
        OPTION_HARNESS_REPORT,
        metavar="DIR",
        default=None,
        help="write result.json, junit.xml, summary.md, report.html per chaos test under DIR/<test id>/.",
    )
    group.addoption(
        OPTION_BASELINE_SAVE, metavar="NAME", default=None, help="save benchmark results as a baseline."
    )
    group.addoption(
        OPTION_BASELINE_COMPARE,
        metavar="NAME",
        default=None,
        help="fail the session when benchmark results regress against baseline NAME.",
    )
    group.addoption(
        OPTION_BASELINE_DIR,
        metavar="DIR",
        default=None,
        help=f"where baselines live (default: <rootdir>/{DEFAULT_BASELINE_DIR.as_posix()}).",
    )
    group.addoption(
        OPTION_BASELINE_RULE,
        metavar="EXPR",
        action="append",
        default=[],
        help="threshold expression for --baseline-compare, repeatable: '10%%', 'test_hot*:+5%%'.",
    )
    group.addoption(
        OPTION_BASELINE_NOISE,
        metavar="PERCENT",
        default=None,
        help="run-to-run noise of a benchmark's median (sd, e.g. 5%%) for --baseline-compare; without it "
        "a change beyond the threshold between one run and a one-run baseline is inconclusive.",
    )
    group.addoption(
        OPTION_BASELINE_MARKDOWN,
        metavar="PATH",
        default=None,
        help="write the --baseline-compare summary as Markdown (for example $GITHUB_STEP_SUMMARY).",
    )


def _baseline_name(config: pytest.Config, option: str) -> str | None:
    name: str | None = config.getoption(option)
    if name is not None and not _NAME.match(name):
        raise pytest.UsageError(
            f"{option}={name!r}: a baseline name is letters, digits, '.', '_' or '-' (for example 'main')."
        )
    return name


def _baseline_dir(config: pytest.Config) -> Path:
    given: str | None = config.getoption(OPTION_BASELINE_DIR)
    return Path(given) if given else Path(config.rootpath) / DEFAULT_BASELINE_DIR


def _parse_rules(texts: Sequence[str]) -> list[Rule]:
    from harness.errors import InvalidConfig
    from harness.gate import Rule

    try:
        return [Rule.parse(t) for t in texts]
    except InvalidConfig as exc:
        raise pytest.UsageError(f"{OPTION_BASELINE_RULE}: {exc}") from None


def _parse_noise(text: str | None) -> float | None:
    from harness.errors import InvalidConfig
    from harness.gate.rules import parse_noise

    try:
        return None if text is None else parse_noise(text, field=OPTION_BASELINE_NOISE)
    except InvalidConfig as exc:
        raise pytest.UsageError(str(exc)) from None


def _check_benchmarks_enabled(config: pytest.Config, option: str) -> None:
    if not config.pluginmanager.hasplugin("pytest_benchmark.plugin") and not config.pluginmanager.hasplugin(
        "benchmark"
    ):
        raise pytest.UsageError(f"{option} needs the pytest-benchmark plugin; install pytest-benchmark.")
    if config.getoption("benchmark_disable", False) and not config.getoption("benchmark_enable", False):
        raise pytest.UsageError(f"{option}: benchmarks are disabled here; add --benchmark-enable.")


def pytest_configure(config: pytest.Config) -> None:
    """Validate the options before collection and register only the parts that were asked for."""
    report_dir: str | None = config.getoption(OPTION_HARNESS_REPORT)
    if report_dir is not None:
        config.pluginmanager.register(_ReportWriter(Path(report_dir)), "harness-report-writer")
    save = _baseline_name(config, OPTION_BASELINE_SAVE)
    against = _baseline_name(config, OPTION_BASELINE_COMPARE)
    if save is None and against is None:
        return
    _check_benchmarks_enabled(config, OPTION_BASELINE_SAVE if save else OPTION_BASELINE_COMPARE)
    store = BaselineStore(_baseline_dir(config))
    if against is not None and not store.path(against).exists():
        raise pytest.UsageError(
            f"{OPTION_BASELINE_COMPARE}={against}: {store.path(against)} does not exist; "
            f"create it with {OPTION_BASELINE_SAVE}={against}."
        )
    rules = _parse_rules(config.getoption(OPTION_BASELINE_RULE))
    gate = _BenchmarkGate(
        store,
        save,
        against,
        rules,
        markdown=config.getoption(OPTION_BASELINE_MARKDOWN),
        noise=_parse_noise(config.getoption(OPTION_BASELINE_NOISE)),
    )
    config.pluginmanager.register(gate, "harness-baseline-gate")


# ---- run reports ------------------------------------------------------------------------------


def record_run_report(request: pytest.FixtureRequest | pytest.Item, report: RunReport) -> None:
    """Attach a full run report to the current test; ``--harness-report`` writes it as is."""
    node = request.node if isinstance(request, pytest.FixtureRequest) else request
    node.stash[_RUN_REPORT_KEY] = report


@pytest.fixture
def run_journal(request: pytest.FixtureRequest) -> Journal:
    """A journal for this test's events; ``--harness-report`` writes it as ``journal.jsonl``."""
    from harness.journal import Journal

    journal = Journal(meta={"test": request.node.nodeid})
    request.node.stash[_JOURNAL_KEY] = journal
    return journal


def _crash_message(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = getattr(crash, "message", None) or str(report.longrepr or "")
    return text[-2000:]


def _plain_report(
    item: pytest.Item, phases: dict[str, pytest.TestReport], journal: Journal | None
) -> RunReport:
    from harness._version import __version__
    from harness.expectation import ExpectationResult
    from harness.mode import Mode
    from harness.pytest_plugin import reproduce_command, seed_of
    from harness.report import RunReport

    failed = next((r for r in phases.values() if r.failed), None)
    seed = seed_of(item)
    detail = "" if failed is None else f"{failed.when} failed: {_crash_message(failed)}"
    doc = getattr(getattr(item, "obj", None), "__doc__", None) or ""
    return RunReport(
        scenario=item.nodeid,
        description=doc.strip().splitlines()[0] if doc.strip() else "",
        seed=seed,
        mode=Mode.SIMULATED if "virtual_clock" in getattr(item, "fixturenames", ()) else Mode.LIVE,
        duration=sum(r.duration for r in phases.values()),
        digest=journal.digest() if journal is not None else "",
        passed=failed is None,
        replay_command=reproduce_command(item.nodeid, seed),
        package_version=__version__,
        expectations=[ExpectationResult(name="test passes", passed=failed is None, detail=detail)],
    )


class _ReportWriter:
    """Writes the artefacts of each reported test once its teardown is done."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @staticmethod
    def _wanted(item: pytest.Item) -> bool:
        marked = any(item.get_closest_marker(m) is not None for m in _REPORTED_MARKERS)
        return marked or _RUN_REPORT_KEY in item.stash or _JOURNAL_KEY in item.stash

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        phases = item.stash.setdefault(_PHASES_KEY, {})
        phases[report.when] = report
        if report.when == "teardown" and self._wanted(item) and not any(r.skipped for r in phases.values()):
            self._write(item, phases)
        return report

    def _write(self, item: pytest.Item, phases: dict[str, pytest.TestReport]) -> None:
        from harness.report import write_run_reports
        from harness.report.writers import safe_name

        journal = item.stash.get(_JOURNAL_KEY, None)
        run = item.stash.get(_RUN_REPORT_KEY, None) or _plain_report(item, phases, journal)
        write_run_reports(run, self.root / safe_name(item.nodeid), journal=journal)


# ---- baselines --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BaselineStore:
    """Named baselines in one folder: ``<folder>/<name>.json``."""

    folder: Path

    def path(self, name: str) -> Path:
        """Where baseline ``name`` lives."""
        return self.folder / f"{name}.json"

    def load(self, name: str) -> Baseline:
        """Read baseline ``name`` (``InvalidConfig`` if it is missing or malformed)."""
        from harness.gate import Baseline

        return Baseline.load(self.path(name))

    def save(self, name: str, results: Baseline) -> Path:
        """Write ``results`` as baseline ``name``, atomically."""
        from harness.gate import Baseline

        named = Baseline(
            metrics=results.metrics,
            source=results.source,
            name=name,
            machine=results.machine,
            package_version=results.package_version,
        )
        return named.save(self.path(name))

    def compare(
        self, name: str, current: Baseline, rules: Sequence[Rule] = (), *, noise: float | None = None
    ) -> GateResult:
        """Gate ``current`` against baseline ``name`` (``noise``: see :func:`harness.gate.compare`)."""
        from harness.gate import compare

        return compare(self.load(name), current, rules, noise=noise)


@pytest.fixture
def baseline(request: pytest.FixtureRequest) -> BaselineStore:
    """The baselines folder (``--baseline-dir``, default ``benchmarks/baselines``) as a store."""
    return BaselineStore(_baseline_dir(request.config))


def _benchmark_results(config: pytest.Config) -> Baseline | None:
    from harness.gate import Baseline, Metric

    session: Any = getattr(config, "_benchmarksession", None)
    benches = [b for b in getattr(session, "benchmarks", []) if not b.has_error and b.stats and b.stats.data]
    if not benches:
        return None
    metrics = {b.fullname: Metric.from_samples(b.fullname, list(b.stats.data), unit="s") for b in benches}
    return Baseline(metrics=metrics, source="pytest-benchmark", name="current")


class _BenchmarkGate:
    """Saves and/or compares this session's benchmark results when the session ends."""

    def __init__(
        self,
        store: BaselineStore,
        save: str | None,
        against: str | None,
        rules: list[Rule],
        *,
        markdown: str | None = None,
        noise: float | None = None,
    ) -> None:
        self.store, self.save, self.against, self.rules = store, save, against, rules
        self.markdown, self.noise = markdown, noise
        self.lines: list[str] = []

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from harness.errors import UsageError

        current = _benchmark_results(session.config)
        if current is None:
            self.lines.append(
                "chaos-harness: no benchmark results in this session, so no baseline was saved or compared "
                "(benchmarks disabled, deselected, or turned off by pytest-benchmark under xdist: "
                "run them with --benchmark-enable and without -n)."
            )
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.USAGE_ERROR
            return
        try:
            if self.against is not None:
                self._compare(session, current)
            if self.save is not None:
                path = self.store.save(self.save, current)
                self.lines.append(
                    f"chaos-harness: saved {len(current.metrics)} benchmarks as baseline {path}"
                )
        except UsageError as exc:
            self.lines.append(f"chaos-harness: baseline error: {exc}")
            session.exitstatus = pytest.ExitCode.USAGE_ERROR

    def _compare(self, session: pytest.Session, current: Baseline) -> None:
        from rich.console import Console

        from harness.atomic import write_atomic
        from harness.gate import gate_markdown, gate_table

        assert self.against is not None
        result = self.store.compare(self.against, current, self.rules, noise=self.noise)
        if self.markdown:
            write_atomic(self.markdown, gate_markdown(result))
        buffer = io.StringIO()
        Console(file=buffer, width=150, force_terminal=False).print(gate_table(result))
        self.lines.extend(buffer.getvalue().rstrip().splitlines())
        if result.inconclusive:
            self.lines.append(
                f"chaos-harness: {len(result.inconclusive)} inconclusive: one run per side cannot tell a "
                f"change from run-to-run noise; state it with {OPTION_BASELINE_NOISE}=5% or compare several "
                "runs with `harness gate`."
            )
        if not result.passed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Print the gate table (or what was saved)."""
        if self.lines:
            terminalreporter.section("chaos-harness baseline")
            for line in self.lines:
                terminalreporter.write_line(line)
