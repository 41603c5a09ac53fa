"""``harness swarm``: every scenario at every seed on Dask distributed, failure rates with intervals.

Exit 0 when every scenario's failure rate is within its bound, 1 when one is significantly above
it (or ``--search`` found a counterexample), 2 on bad input (a file, a flag, Dask not installed,
a scheduler that cannot be reached), 3 when a run crashed or the cluster failed, 130 when
interrupted (Ctrl-C or SIGTERM), after printing and writing what finished.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness.cli._options import duration_flag
from harness.cli._signals import sigterm_as_interrupt
from harness.mode import Mode

if TYPE_CHECKING:
    from harness.swarm.engine import SwarmProgress, SwarmResult
    from harness.swarm.search import SearchResult
    from harness.swarm.task import SeedRun

__all__ = ["register", "swarm"]

EXIT_OK, EXIT_FINDING, EXIT_USAGE, EXIT_CRASH, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
PLAIN_PROGRESS_SECONDS = 30.0
"""Without a terminal (CI logs), a plain progress line at most this often instead of the bar."""


def _console() -> Console:
    console = Console(soft_wrap=True)
    if not console.is_terminal:
        console = Console(soft_wrap=True, width=160)
    return console


@contextmanager
def _progress_bar(console: Console, total: int) -> Iterator[Callable[[SwarmProgress], None]]:
    columns = (
        TextColumn("[bold]swarm"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs · [red]{task.fields[failures]}[/] failed · {task.fields[rate]} runs/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("swarm", total=total, failures=0, rate="-")
        start = last_line = time.monotonic()

        def update(snapshot: SwarmProgress) -> None:
            nonlocal last_line
            now = time.monotonic()
            rate = f"{snapshot.done / max(now - start, 1e-9):.1f}"
            bar.update(task, completed=snapshot.done, failures=snapshot.failures, rate=rate)
            if not console.is_terminal and now - last_line >= PLAIN_PROGRESS_SECONDS:
                last_line = now
                console.print(
                    f"progress: {snapshot.done}/{snapshot.total} runs, {snapshot.failures} failed, "
                    f"{rate} runs/s",
                    highlight=False,
                )

        yield update


def _table(result: SwarmResult) -> Table:
    table = Table(title=f"chaos-harness swarm: seeds {result.seeds}", show_lines=False)
    for column in ("scenario", "runs", "failures", "failure rate [95% Wilson]", "alpha", "bound", "verdict"):
        table.add_column(column)
    for s in result.scenarios:
        i = s.interval
        verdict = "[red]ABOVE BOUND[/]" if s.exceeds_bound else "[green]within[/]"
        table.add_row(
            s.name,
            str(s.runs),
            str(s.failures),
            f"{i.rate:.2%} [{i.low:.2%}, {i.high:.2%}]",
            "-" if s.alpha is None else f"{s.alpha:.1%}",
            f"{s.bound:.1%}",
            verdict,
        )
    return table


def _print_result(console: Console, result: SwarmResult, out: Path | None) -> None:
    from harness.swarm.render import rule_text

    console.print(_table(result))
    for s in result.scenarios:
        for f in s.failed_runs:
            failed = "; ".join(e.text() for e in f.failed)
            line = f"[red]{s.name}[/] seed {f.seed}: {failed}; replay with: {f.replay}"
            console.print(line, highlight=False)
    console.print(f"[dim]rule: {rule_text(result)}[/]", highlight=False)
    rate = result.runs / result.seconds if result.seconds > 0 else 0.0
    console.print(
        f"{result.runs} of {result.total} runs, {result.failures} failed, {result.seconds:.1f} s "
        f"({rate:.1f} runs/s on {result.workers} workers)"
    )
    if out is not None:
        console.print(f"[dim]reports in {out}[/]")


def _exit_code(console: Console, result: SwarmResult) -> int:
    crash = result.crash
    if crash is not None:
        source = result.scenarios[crash.scenario].source
        console.print(crash.trace, highlight=False, markup=False)
        console.print(
            f"[bold red]error:[/] {result.scenarios[crash.scenario].name} seed {crash.seed} raised "
            f"{crash.error}: {crash.message}; replay with: harness run {source} --seed {crash.seed}",
            highlight=False,
        )
        return EXIT_USAGE if crash.usage else EXIT_CRASH
    if result.interrupted:
        console.print(f"[yellow]interrupted[/]: {result.runs} of {result.total} runs finished")
        return EXIT_INTERRUPTED
    for s in result.above_bound:
        console.print(f"[red]{s.name}[/]: {s.reading()}", highlight=False)
    return EXIT_OK if result.passed else EXIT_FINDING


def _out_dir(report: Path, no_report: bool) -> Path | None:
    from harness.report import report_dir

    return None if no_report else report_dir(report, "swarm")


def _seed_sweep(
    console: Console,
    paths: list[Path],
    seeds: str,
    *,
    cluster: dict[str, int | str | None],
    batch: int | None,
    max_failure_rate: float | None,
    out: Path | None,
) -> int:
    from harness.atomic import open_atomic
    from harness.swarm.cluster import swarm_client
    from harness.swarm.engine import run_swarm
    from harness.swarm.plan import SeedRange, load_swarm_scenarios
    from harness.swarm.render import run_line, write_swarm_reports
    from harness.swarm.stream import worker_threads

    seed_range = SeedRange.parse(seeds)
    scenarios = load_swarm_scenarios(paths, max_failure_rate=max_failure_rate)
    names = [s.name for s in scenarios]
    total = len(scenarios) * len(seed_range)
    with swarm_client(**cluster) as client:  # type: ignore[arg-type]
        announce = (
            f"swarm: {len(scenarios)} scenarios x {len(seed_range)} seeds = {total} runs on "
            f"{worker_threads(client)} workers at {client.scheduler.address if client.scheduler else '?'}"
        )
        with contextlib.ExitStack() as stack:
            stream = stack.enter_context(open_atomic(out / "runs.jsonl")) if out is not None else None
            update = stack.enter_context(_progress_bar(console, total))

            def record(run: SeedRun) -> None:
                if stream is not None:
                    stream.write(run_line(run, names[run.scenario]))

            result = run_swarm(
                client,
                scenarios,
                seed_range,
                batch=batch,
                on_run=record,
                progress=update,
                on_start=lambda: console.print(announce, highlight=False),
            )
    if out is not None:
        write_swarm_reports(result, out)
    _print_result(console, result, out)
    return _exit_code(console, result)


def _search(
    console: Console,
    paths: list[Path],
    seeds: str,
    *,
    cluster: dict[str, int | str | None],
    options: dict[str, object],
    out: Path,
) -> int:
    from harness.swarm.cluster import swarm_client
    from harness.swarm.plan import SeedRange, load_swarm_scenarios
    from harness.swarm.search import SearchSettings, run_search
    from harness.swarm.stream import worker_threads

    seed_range = SeedRange.parse(seeds)
    scenarios = load_swarm_scenarios(paths)
    settings = SearchSettings(**options)  # type: ignore[arg-type]
    with swarm_client(**cluster) as client:  # type: ignore[arg-type]
        console.print(
            f"search: {len(scenarios)} scenarios x {len(seed_range)} search seeds, "
            f"{settings.examples} schedules each, on {worker_threads(client)} workers",
            highlight=False,
        )
        result = run_search(client, scenarios, seed_range, settings, out)
    _print_search(console, result)
    if result.interrupted:
        return EXIT_INTERRUPTED
    if result.crash is not None:
        console.print(f"[bold red]error:[/] {result.crash}", highlight=False)
        return EXIT_CRASH
    return EXIT_FINDING if result.counterexamples else EXIT_OK


def _print_search(console: Console, result: SearchResult) -> None:
    table = Table(title="chaos-harness swarm --search: distinct shrunk counterexamples")
    for column in ("scenario", "counterexample", "found by search seeds", "failed expectations"):
        table.add_column(column)
    for c in result.counterexamples:
        seeds = ", ".join(str(s) for s in c.search_seeds[:8]) + (" ..." if len(c.search_seeds) > 8 else "")
        table.add_row(c.scenario, str(c.path), seeds, "; ".join(c.failed))
    console.print(table)
    for c in result.counterexamples:
        console.print(f"replay with: harness run {c.path}", highlight=False)
    console.print(
        f"{result.searches} searches, {result.failing} found a failing schedule, "
        f"{len(result.counterexamples)} distinct counterexamples, {result.seconds:.1f} s"
    )


def swarm(  # noqa: PLR0917 - typer maps each parameter to a CLI option
    paths: Annotated[list[Path], typer.Argument(help="Scenario files or folders of *.yaml files.")],
    seeds: Annotated[str, typer.Option(help="N (seeds 1..N) or A..B (both included).")],
    workers: Annotated[
        int | None, typer.Option(help="Local worker processes (default: one per core).", min=1)
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="A running Dask scheduler, tcp://HOST:PORT, instead of local workers.")
    ] = None,
    mode: Annotated[Mode, typer.Option(help="simulated only (live runs: harness run).")] = Mode.SIMULATED,
    batch: Annotated[
        int | None, typer.Option(help="Seeds per task (default: about 1 s of runs per task).", min=1)
    ] = None,
    max_failure_rate: Annotated[
        float | None,
        typer.Option(help="Exit 1 when a failure rate is significantly above this (default: alpha)."),
    ] = None,
    report: Annotated[Path, typer.Option(help="Folder for reports (<report>/swarm/<time>/).")] = Path(
        "reports"
    ),
    no_report: Annotated[bool, typer.Option("--no-report", help="Write no report files.")] = False,
    search: Annotated[
        bool, typer.Option("--search", help="Search fault schedules with Hypothesis, one search per seed.")
    ] = False,
    examples: Annotated[int, typer.Option(help="--search: fault schedules tried per search.", min=1)] = 25,
    targets: Annotated[
        str | None, typer.Option(help="--search: comma-separated fault targets (default: all).")
    ] = None,
    kinds: Annotated[
        str | None, typer.Option(help="--search: comma-separated fault kinds (default: all).")
    ] = None,
    max_faults: Annotated[int, typer.Option(help="--search: fault windows per schedule.", min=1)] = 3,
    max_fault_duration: Annotated[float, duration_flag("60s", "--search: longest fault window.")] = 60.0,
) -> None:
    """Run scenarios over many seeds on Dask; report failure rates with intervals and replayable seeds."""
    from harness.report import report_dir
    from harness.swarm.plan import check_mode

    console = _console()
    check_mode(mode)
    cluster: dict[str, int | str | None] = {"workers": workers, "scheduler": scheduler}
    out = _out_dir(report, no_report)
    try:
        with sigterm_as_interrupt():
            if search:
                options: dict[str, object] = {
                    "examples": examples,
                    "targets": tuple(t.strip() for t in targets.split(",")) if targets else None,
                    "kinds": tuple(k.strip() for k in kinds.split(",")) if kinds else None,
                    "max_faults": max_faults,
                    "max_duration": max_fault_duration,
                }
                folder = out if out is not None else report_dir(report, "swarm")
                code = _search(console, paths, seeds, cluster=cluster, options=options, out=folder)
            else:
                code = _seed_sweep(
                    console,
                    paths,
                    seeds,
                    cluster=cluster,
                    batch=batch,
                    max_failure_rate=max_failure_rate,
                    out=out,
                )
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/] before any run finished")
        code = EXIT_INTERRUPTED
    # Any other exception (a lost worker or cluster) reaches harness.cli.main: exit 3, as a bug.
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add ``swarm`` to the CLI."""
    app.command("swarm")(swarm)
