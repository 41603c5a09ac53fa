"""``harness run``, ``harness replay`` and ``harness scenarios``: the main job.

``harness run scenarios/`` runs every bundled scenario in simulated mode, writes reports under
``reports/`` and prints a summary table. Exit 0 when every expectation holds, 1 on a finding, 2
on a usage error (a bad file names its line and field).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness._checks import one_of
from harness.cli._signals import sigterm_as_interrupt
from harness.errors import InvalidConfig, InvalidInput
from harness.journal import JournalFile
from harness.report import report_dir
from harness.report.scenario import write_scenario_reports
from harness.scenario import Mode, RunResult, expand_paths, load_scenario, run_scenario, scenario_schema
from harness.scenario.loader import scenario_from_data
from harness.scenario.model import Scenario
from harness.scenario.result import replay_command
from harness.scenario.runner import SPEC_KEY

__all__ = [
    "list_scenarios",
    "register",
    "replay",
    "run",
    "schema",
    "validate",
]

EXIT_OK, EXIT_FINDING = 0, 1


_err_console = Console(stderr=True, soft_wrap=True, highlight=False)


def _notify(line: str) -> None:
    """Say on stderr that a live service is ready (its address, pid and log)."""
    _err_console.print(line, markup=False)


def _console() -> Console:
    """A console that does not squeeze tables or paths into 80 columns when output is piped."""
    console = Console(soft_wrap=True)
    if not console.is_terminal:
        console = Console(soft_wrap=True, width=160)
    return console


def _run_one(
    path: Path, scenario: Scenario, seed: int | None, mode: Mode, console: Console, *, out: Path | None
) -> RunResult:
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f}s"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task(scenario.name, total=scenario.duration)

        def progress(done: float, total: float) -> None:
            bar.update(task, completed=done, total=total)

        logs = None
        if mode is Mode.LIVE and scenario.services and out is not None:
            logs = out / "logs"
            logs.mkdir(parents=True, exist_ok=True)
        result = run_scenario(scenario, seed=seed, mode=mode, progress=progress, logs=logs, notify=_notify)
    result.attach_source(str(path))
    return result


def _summary_table(rows: list[tuple[RunResult, Path | None]]) -> Table:
    table = Table(title="chaos-harness: scenario results", show_lines=False)
    for column in ("scenario", "verdict", "seed", "flow outcome", "failed expectations", "digest"):
        table.add_column(column)
    for result, _ in rows:
        outcome = result.outcome
        flow = outcome.kind
        if outcome.kind == "experiment":
            flow += ": aborted" if outcome.aborted else f": {outcome.details.get('outcome', 'unfinished')}"
        elif outcome.promoted:
            flow += ": promoted"
        elif outcome.rolled_back:
            to = outcome.rolled_back_to
            flow += f": rolled back to {to}" if to else ": rolled back"
            flow += f" at {outcome.decided_at:g}s" if outcome.decided_at is not None else ""
        elif outcome.winner:
            flow += f": winner {outcome.winner}"
        elif outcome.kind == "shadow":
            flow += (
                f": flagged {', '.join(outcome.detected_fields)}"
                if outcome.detected_fields
                else ": no regression"
            )
        elif outcome.kind == "champion_challenger" and outcome.finished:
            flow += ": champion retained"
        verdict = "[green]PASS[/]" if result.passed else "[red]FAIL[/]"
        failed = "; ".join(f"{e.name} ({e.observed} vs {e.limit})" for e in result.failed) or "-"
        table.add_row(result.scenario.name, verdict, str(result.seed), flow, failed, result.digest[:12])
    return table


def run(  # noqa: PLR0917 - typer maps each parameter to a CLI option
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Scenario files or folders of *.yaml files.")
    ] = None,
    examples: Annotated[
        bool, typer.Option("--examples", help="Also run the bundled example scenarios (from any folder).")
    ] = False,
    seed: Annotated[
        int | None, typer.Option(help="Seed for every scenario (default: each file's seed).")
    ] = None,
    mode: Annotated[Mode, typer.Option(help="simulated (virtual time, models) or live.")] = Mode.SIMULATED,
    report: Annotated[Path, typer.Option(help="Folder for reports (reports/<scenario>/<time>/).")] = Path(
        "reports"
    ),
    no_report: Annotated[bool, typer.Option("--no-report", help="Write no report files.")] = False,
    save_baseline: Annotated[
        str | None, typer.Option(help="Store each run's metrics as this baseline.")
    ] = None,
    baseline: Annotated[str | None, typer.Option(help="Compare each run with this stored baseline.")] = None,
    baseline_dir: Annotated[Path, typer.Option(help="Where baselines live.")] = Path("benchmarks/baselines"),
    check_determinism: Annotated[
        bool,
        typer.Option(
            "--check-determinism",
            help="Run each scenario twice (here and in a fresh process with another PYTHONHASHSEED) "
            "and fail on the first journal event that differs.",
        ),
    ] = False,
) -> None:
    """Run chaos scenarios and check their expectations."""
    console = _console()
    if not paths and not examples:
        raise InvalidConfig("name scenario files or folders, or pass --examples.", field="paths")
    files = expand_paths(paths) if paths else []
    if examples:
        from harness.examples import scenario_files

        files += scenario_files()
    scenarios = [(p, load_scenario(p)) for p in files]
    if (save_baseline or baseline) and len(scenarios) > 1:
        raise InvalidConfig("--save-baseline/--baseline take one scenario file at a time.", field="baseline")
    if check_determinism and mode is not Mode.SIMULATED:
        raise InvalidConfig("--check-determinism checks simulated runs; drop --mode live", field="mode")
    rows: list[tuple[RunResult, Path | None]] = []
    regressions = 0
    for path, scenario in scenarios:
        out = None if no_report else report_dir(report, scenario.name)
        if check_determinism:
            result, same = _twice(path, seed, console)
            regressions += 0 if same else 1
        else:
            with sigterm_as_interrupt():  # a live run's services are stopped on the way out
                result = _run_one(path, scenario, seed, mode, console, out=out)
        if out is not None:
            write_scenario_reports(result, out)
        rows.append((result, out))
        if save_baseline:
            from harness.gate.scenario import save_baseline as save

            console.print(f"baseline saved: {save(result, save_baseline, baseline_dir)}")
        if baseline:
            regressions += _gate(result, baseline, baseline_dir, console)
    console.print(_summary_table(rows))
    _print_details(rows, console)
    failed = sum(1 for r, _ in rows if not r.passed)
    console.print(f"{len(rows) - failed} passed, {failed} failed")
    raise typer.Exit(EXIT_FINDING if failed or regressions else EXIT_OK)


def _print_details(rows: list[tuple[RunResult, Path | None]], console: Console) -> None:
    """Under the table: rollback targets, replay commands and digests, report folders."""
    for result, out in rows:
        target = result.outcome.details.get("target")
        if target:
            chosen = target["chosen"] or "nowhere"
            console.print(f"{result.scenario.name}: rollback target {chosen}: {'; '.join(target['reasons'])}")
        if not result.passed:
            command = replay_command(result.source, result.seed, result.mode)
            console.print(f"[red]{result.scenario.name}[/]: replay with: {command}")
        if result.mode is Mode.LIVE:
            console.print(f"{result.scenario.name}: replay digest {result.replay_digest}")
        if out is not None:
            console.print(f"[dim]{result.scenario.name}: reports in {out}[/]")


def _twice(path: Path, seed: int | None, console: Console) -> tuple[RunResult, bool]:
    """Run ``path`` twice (the second time in a fresh process); print the first difference, if any."""
    from harness.scenario.determinism import check_determinism

    report = check_determinism(path, seed=seed)
    result = report.result
    result.attach_source(str(path))
    if report.deterministic:
        console.print(f"{result.scenario.name}: deterministic (digest {report.digests[0][:16]} twice)")
        return result, True
    assert report.difference is not None
    console.print(
        f"[red]{result.scenario.name}: NOT deterministic[/] (digests {report.digests[0][:16]} and "
        f"{report.digests[1][:16]}); the journals part at {report.difference.describe()}",
        highlight=False,
    )
    return result, False


def _gate(result: RunResult, name: str, folder: Path, console: Console) -> int:
    from harness.gate import gate_table
    from harness.gate.scenario import compare_with_baseline

    verdict = compare_with_baseline(result, name, folder)
    console.print(gate_table(verdict))
    return 0 if verdict.passed else 1


def replay(
    journal: Annotated[Path, typer.Argument(help="A journal.jsonl written by harness run.")],
    scenario_file: Annotated[
        Path | None, typer.Option("--scenario", help="The scenario file (default: the one recorded).")
    ] = None,
) -> None:
    """Re-run a recorded scenario with its seed and verify the journal digest matches.

    The journal records the scenario that ran, so it replays from any directory; journals from
    before that record the file's path and the directory it was run from.
    """
    console = Console()
    recorded = JournalFile(journal)
    scenario = _recorded_scenario(recorded, scenario_file)
    seed, mode = _recorded_run(recorded)
    expected = recorded.digest()
    result = run_scenario(scenario, seed=seed, mode=mode)
    actual = result.digest
    if expected == actual:
        console.print(f"[green]replayed[/] {result.scenario.name} seed {seed}: digest {actual[:16]} matches")
        raise typer.Exit(EXIT_OK)
    console.print(
        f"[red]digest mismatch[/] for {result.scenario.name} seed {seed}: recorded {expected[:16]}, "
        f"replayed {actual[:16]} (a different package version, scenario file, or a non-determinism bug)"
    )
    raise typer.Exit(EXIT_FINDING)


def _recorded_scenario(recorded: JournalFile, override: Path | None) -> Scenario:
    """The scenario to replay: ``--scenario``, else the one recorded, else the recorded file."""
    if override is not None:
        return load_scenario(override)
    where = str(recorded.path)
    spec = recorded.meta.get(SPEC_KEY)
    if spec is not None:
        return scenario_from_data(spec, source=f"{where}: meta.{SPEC_KEY}", line=None)
    source = recorded.meta.get("source")
    if not isinstance(source, str) or not source:
        raise InvalidInput(
            "records neither the scenario nor its file; pass --scenario PATH", path=where, line=1
        )
    path = Path(source)
    cwd = recorded.meta.get("cwd")
    if not path.is_absolute() and isinstance(cwd, str):
        path = Path(cwd) / path
    return load_scenario(path)


def _recorded_run(recorded: JournalFile) -> tuple[int, Mode]:
    """The seed and mode the journal records."""
    seed, mode = recorded.meta.get("seed"), recorded.meta.get("mode", Mode.SIMULATED.value)
    where = str(recorded.path)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise InvalidInput(f"records no integer seed ({seed!r}); it cannot be replayed", path=where, line=1)
    try:
        return seed, one_of("mode", mode, Mode)
    except InvalidConfig as exc:
        raise InvalidInput(exc.message, path=where, line=1, location="meta.mode") from None


scenarios_app = typer.Typer(help="List, validate and describe scenario files.", no_args_is_help=True)


@scenarios_app.command("list")
def list_scenarios(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: scenarios/).")
    ] = None,
) -> None:
    """One line per scenario: name and description."""
    console = Console()
    table = Table(show_header=True)
    table.add_column("file")
    table.add_column("scenario")
    table.add_column("flow")
    table.add_column("description")
    for path in expand_paths(paths or [Path("scenarios")]):
        sc = load_scenario(path)
        table.add_row(str(path), sc.name, sc.flow.kind.value, sc.description)
    console.print(table)


@scenarios_app.command("validate")
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Scenario files or folders.")],
) -> None:
    """Check scenario files (schema, references, callables) without running them."""
    console = Console()
    for path in expand_paths(paths):
        sc = load_scenario(path)
        from harness.scenario.imports import resolve_callable

        targets = [v.callable.target for v in sc.versions.values() if v.callable is not None]
        targets += [k.payload for k in sc.traffic.mix if k.payload is not None]
        for target in targets:
            resolve_callable(target)
        console.print(f"[green]ok[/] {path}: {sc.name}")


@scenarios_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of the scenario format."""
    typer.echo(scenario_schema())


def register(app: typer.Typer) -> None:
    """Add ``run``, ``replay`` and ``scenarios`` to the CLI."""
    app.command("run")(run)
    app.command("replay")(replay)
    app.add_typer(scenarios_app, name="scenarios")
