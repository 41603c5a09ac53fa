"""Every ``harness`` subcommand: bad input exits 2 naming where, an internal error exits 3 as a bug.

Exit 1 means a finding. A crash (RecursionError, OverflowError, MemoryError, any exception the
command did not turn into a usage error or a finding) is never one: the CLI entry point turns it
into exit 3, with the traceback in a file (or on stderr with ``--debug``) and what to report.
The table below holds one bad input and one place to inject a failure per subcommand; a
subcommand without a row fails :func:`test_every_subcommand_is_audited`.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from harness.cli import EXIT_FINDING, EXIT_INTERNAL, EXIT_USAGE, app, main

Files = Callable[[Path], list[str]]
"""Writes what a case needs under a folder and returns the command's arguments."""


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


DEEP_YAML = (
    "name: deep\ndescription: nested\nduration: 10s\nversions:\n  v1: " + "[" * 5000 + "]" * 5000 + "\n"
)
DEEP_JSON = "[" * 100_000 + "]" * 100_000
SCENARIO = """name: tiny
description: one version, a few windows
duration: 30s
versions:
  v1: {model: {latency: {kind: fixed, value: 10ms}}}
traffic: {rate: 20}
"""


def _huge_sample_benchmark(folder: Path) -> str:
    doc = '{"benchmarks": [{"name": "x", "stats": {"data": [1.0, 2.0,\n' + "9" * 500 + "]}}]}"
    return _write(folder / "current.json", doc)


def _journal_with_infinite_time(folder: Path) -> str:
    header = json.dumps({"journal": 1, "meta": {"seed": 1, "mode": "simulated"}})
    return _write(folder / "journal.jsonl", header + '\n{"t": 1e999, "kind": "window", "source": "engine"}\n')


def _bad_storage(folder: Path) -> str:
    return _write(folder / "registry.json", '{"format": "memory_storage",\n "data": NaN}')


def _metric_set(path: Path) -> str:
    return _write(
        path, json.dumps({"latency": [0.1 + i / 1000 for i in range(200)], "errors": 0, "requests": 200})
    )


def _tiny_scenario(folder: Path) -> str:
    return _write(folder / "tiny.yaml", SCENARIO)


def _occupied(folder: Path, files: dict[Path, str]) -> str:
    """Write the first of the files a command would write, so the command must refuse."""
    first = min(files)
    first.parent.mkdir(parents=True, exist_ok=True)
    first.write_text("mine\n")
    return str(folder)


def _occupied_copy(folder: Path) -> str:
    from harness.examples.catalog import planned_copy

    return _occupied(folder / "ex", dict(planned_copy(folder / "ex")))


def _occupied_repo(folder: Path) -> str:
    from harness.examples.scaffold import scaffold

    return _occupied(folder / "repo", dict(scaffold(folder / "repo", asgi=False)))


@dataclass(frozen=True)
class Case:
    """One subcommand: a bad input (and what the message must say) and where to inject a failure."""

    bad: Files
    says: str
    ok: Files
    inject: str  # "module:attribute" replaced by a function that raises


CASES: dict[str, Case] = {
    "run": Case(
        bad=lambda d: ["run", _write(d / "s.yaml", DEEP_YAML), "--no-report"],
        says="s.yaml:5: the document nests deeper than 64 levels",
        ok=lambda d: ["run", _tiny_scenario(d), "--no-report"],
        inject="harness.cli.run:run_scenario",
    ),
    "replay": Case(
        bad=lambda d: ["replay", _journal_with_infinite_time(d), "--scenario", _tiny_scenario(d)],
        says="journal.jsonl:2: 1e999 is beyond the range of a float",
        ok=lambda d: ["replay", _journal_with_infinite_time(d)],
        inject="harness.cli.run:JournalFile",
    ),
    "examples list": Case(
        bad=lambda d: ["examples", "list", "--no-such-flag"],
        says="No such option",
        ok=lambda d: ["examples", "list"],
        inject="harness.examples.catalog:example_scenarios",
    ),
    "examples run": Case(
        bad=lambda d: ["examples", "run", "--no-such-flag"],
        says="No such option",
        ok=lambda d: ["examples", "run", "--no-report"],
        inject="harness.cli.run:run_scenario",
    ),
    "examples copy": Case(
        bad=lambda d: ["examples", "copy", _occupied_copy(d)],
        says="pass --force to overwrite them",
        ok=lambda d: ["examples", "copy", str(d / "fresh")],
        inject="harness.examples.catalog:copy_examples",
    ),
    "init": Case(
        bad=lambda d: ["init", _occupied_repo(d)],
        says="pass --force to overwrite them",
        ok=lambda d: ["init", str(d / "fresh")],
        inject="harness.examples.scaffold:write_scaffold",
    ),
    "gate": Case(
        bad=lambda d: ["gate", _huge_sample_benchmark(d), _huge_sample_benchmark(d)],
        says="current.json: benchmarks[0].stats.data[2]=9999",
        ok=lambda d: ["gate", "baseline.json", "current.json"],
        inject="harness.cli.gate:_two_sides",
    ),
    "report": Case(
        bad=lambda d: ["report", _write(d / "result.json", DEEP_JSON)],
        says="result.json:1: the document nests deeper than 64 levels",
        ok=lambda d: ["report", "result.json"],
        inject="harness.cli.report:load_run_report",
    ),
    "proxy": Case(
        bad=lambda d: [
            "proxy",
            "--port",
            "0",
            "--config",
            _write(d / "p.yaml", "- name: x\n  listen: .inf\n"),
        ],
        says="p.yaml:2: 0.listen: '.inf' is not a finite number",
        ok=lambda d: ["proxy", "--port", "0", "--duration", "1s"],
        inject="harness.cli.proxy:_serve",
    ),
    "scenarios list": Case(
        bad=lambda d: ["scenarios", "list", _write(d / "s.yaml", DEEP_YAML)],
        says="s.yaml:5: the document nests deeper",
        ok=lambda d: ["scenarios", "list", _tiny_scenario(d)],
        inject="harness.cli.run:load_scenario",
    ),
    "scenarios validate": Case(
        bad=lambda d: ["scenarios", "validate", _write(d / "s.yaml", "name: x\nrate: " + "9" * 500)],
        says="s.yaml:2: rate: an integer of 500 digits",
        ok=lambda d: ["scenarios", "validate", _tiny_scenario(d)],
        inject="harness.cli.run:load_scenario",
    ),
    "scenarios schema": Case(
        bad=lambda d: ["scenarios", "schema", "--no-such-flag"],
        says="No such option",
        ok=lambda d: ["scenarios", "schema"],
        inject="harness.cli.run:scenario_schema",
    ),
    "judge": Case(
        bad=lambda d: [
            "judge",
            *("--baseline-file", _write(d / "b.json", '{"latency": [0.1],\n "errors": NaN}')),
            *("--canary-file", _metric_set(d / "c.json")),
        ],
        says="b.json:2: NaN is not a JSON number",
        ok=lambda d: [
            "judge",
            "--baseline-file",
            _metric_set(d / "b.json"),
            "--canary-file",
            _metric_set(d / "c.json"),
        ],
        inject="harness.servers.judge:judgement",
    ),
    "judge serve": Case(
        bad=lambda d: ["judge", "serve", "--prometheus", "file:///etc/passwd", "--port", "0"],
        says="must be an http(s) URL with a host",
        ok=lambda d: ["judge", "serve", "--prometheus", "http://127.0.0.1:9/", "--port", "0"],
        inject="harness.servers.judge:judge_app",
    ),
    "load drive": Case(
        bad=lambda d: ["load", "drive", "http://127.0.0.1:9/", "--profile", _write(d / "p.yaml", DEEP_YAML)],
        says="p.yaml:5: the document nests deeper",
        ok=lambda d: ["load", "drive", "http://127.0.0.1:9/", "--rate", "1", "--duration", "1s"],
        inject="harness.load:OpenModelDriver.run",
    ),
    "load locust": Case(
        bad=lambda d: ["load", "locust", "http://10.1.2.3/", "--duration", "1s"],
        says="refusing to send load to '10.1.2.3'",
        ok=lambda d: ["load", "locust", "http://127.0.0.1:9/", "--duration", "1s"],
        inject="harness.load:run_locust",
    ),
    "health check": Case(
        bad=lambda d: ["health", "check", "http://127.0.0.1:9/health", "--timeout", "-1s"],
        says="--timeout",
        ok=lambda d: ["health", "check", "http://127.0.0.1:9/health"],
        inject="harness.cli.health:_probe",
    ),
    "swarm": Case(
        bad=lambda d: ["swarm", _write(d / "s.yaml", DEEP_YAML), "--seeds", "3", "--no-report"],
        says="s.yaml:5: the document nests deeper",
        ok=lambda d: ["swarm", _tiny_scenario(d), "--seeds", "3", "--no-report"],
        inject="harness.cli.swarm:_seed_sweep",
    ),
    "versions list": Case(
        bad=lambda d: ["versions", "list", "--storage", _bad_storage(d)],
        says="registry.json:2: NaN is not a JSON number",
        ok=lambda d: ["versions", "list", "--storage", "registry.json"],
        inject="harness.cli.versions:open_storage",
    ),
    "versions show": Case(
        bad=lambda d: ["versions", "show", "1.0.0", "--storage", _bad_storage(d)],
        says="registry.json:2: NaN is not a JSON number",
        ok=lambda d: ["versions", "show", "1.0.0", "--storage", "registry.json"],
        inject="harness.cli.versions:open_storage",
    ),
    "versions path": Case(
        bad=lambda d: ["versions", "path", "1.0.0", "1.1.0", "--storage", _bad_storage(d)],
        says="registry.json:2: NaN is not a JSON number",
        ok=lambda d: ["versions", "path", "1.0.0", "1.1.0", "--storage", "registry.json"],
        inject="harness.cli.versions:open_storage",
    ),
    "versions history": Case(
        bad=lambda d: ["versions", "history", "--storage", _bad_storage(d)],
        says="registry.json:2: NaN is not a JSON number",
        ok=lambda d: ["versions", "history", "--storage", "registry.json"],
        inject="harness.cli.versions:open_storage",
    ),
}


def _leaf_commands() -> Iterator[str]:
    root = typer.main.get_command(app)
    context = typer.Context(root)

    def walk(command: Any, prefix: tuple[str, ...]) -> Iterator[str]:
        if hasattr(command, "list_commands"):
            for name in command.list_commands(context):
                yield from walk(command.get_command(context, name), (*prefix, name))
        else:
            yield " ".join(prefix)

    return walk(root, ())


def test_every_subcommand_is_audited() -> None:
    """A new subcommand needs a row in CASES: a bad input (exit 2) and an injected failure (exit 3)."""
    missing = sorted(set(_leaf_commands()) - set(CASES))
    assert missing == [], f"add a bad-input and an internal-error case for: harness {missing}"


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    """Captured stderr with rich's line wrapping undone."""
    return " ".join(capsys.readouterr().err.split())


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_exits_2_naming_where(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(CASES[name].bad(tmp_path)) == EXIT_USAGE
    err = _err(capsys)
    assert CASES[name].says in err
    assert "Traceback" not in err


def _boom(*args: object, **kwargs: object) -> Any:
    raise RuntimeError("injected failure")


def _inject(monkeypatch: pytest.MonkeyPatch, target: str, replacement: Callable[..., Any]) -> None:
    module, _, attribute = target.partition(":")
    owner: Any = __import__(module, fromlist=["_"])
    *path, last = attribute.split(".")
    for part in path:
        owner = getattr(owner, part)
    monkeypatch.setattr(owner, last, replacement)


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_internal_error_exits_3_as_a_bug_to_report(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    _inject(monkeypatch, CASES[name].inject, _boom)
    argv = CASES[name].ok(tmp_path)
    assert main(argv) == EXIT_INTERNAL
    err = _err(capsys)
    assert "internal error: RuntimeError: injected failure. This is a bug in chaos-harness" in err
    assert f"harness {' '.join(argv)}" in err
    assert "Traceback" not in err
    (saved,) = tmp_path.glob("harness-crash-*.txt")
    assert str(saved) in err
    assert "RuntimeError: injected failure" in saved.read_text()


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (RecursionError("maximum recursion depth exceeded"), "internal error: RecursionError"),
        (OverflowError("int too large to convert to float"), "internal error: OverflowError"),
        (MemoryError(), "the machine ran out of memory"),
    ],
)
def test_crashes_are_never_findings(
    error: BaseException,
    says: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The crashes that used to exit 1 with a traceback exit 3."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def crash(*args: object, **kwargs: object) -> Any:
        raise error

    _inject(monkeypatch, "harness.cli.run:run_scenario", crash)
    code = main(["run", _tiny_scenario(tmp_path), "--no-report"])
    assert code == EXIT_INTERNAL != EXIT_FINDING
    assert says in _err(capsys)


def test_debug_prints_the_traceback_instead_of_saving_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    _inject(monkeypatch, "harness.cli.run:run_scenario", _boom)
    assert main(["--debug", "run", _tiny_scenario(tmp_path), "--no-report"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "RuntimeError: injected failure" in err
    assert list(tmp_path.glob("harness-crash-*.txt")) == []


def test_ctrl_c_exits_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> Any:
        raise KeyboardInterrupt

    _inject(monkeypatch, "harness.cli.run:run_scenario", interrupted)
    assert main(["run", _tiny_scenario(tmp_path), "--no-report"]) == 130
