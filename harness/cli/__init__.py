"""The ``harness`` command line.

Exit codes, the same for every subcommand and decided here, in :func:`main`: 0 when everything
asked for passed, 1 on a finding (a regression, a violated expectation), 2 on a usage error (a
bad file, flag or URL, named with its line and field), 3 on an internal error: any other
exception, which is a bug in the harness (or a machine out of memory), never a finding. Its
traceback goes to a file (or to stderr with ``--debug``) and the message says how to report it.
``harness load`` adds its own codes for load runs (see :mod:`harness.cli.load`).
Each subcommand lives in its own module under ``harness.cli`` (a ``register(app)`` function) and
has one row in ``COMMANDS``; it is imported only when it runs, so ``harness --help`` stays fast.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from harness._version import VERSION_LINE
from harness.cli._commands import Command, LazyCommands
from harness.errors import Finding, UsageError

__all__ = ["COMMANDS", "EXIT_FINDING", "EXIT_INTERNAL", "EXIT_OK", "EXIT_USAGE", "CliState", "app", "main"]

EXIT_OK = 0
"""Exit code: everything asked for passed."""
EXIT_FINDING = 1
"""Exit code: a finding (a regression, a violated expectation)."""
EXIT_USAGE = 2
"""Exit code: a usage error (a bad file, flag or URL)."""
EXIT_INTERNAL = 3
"""Exit code: an internal error (a bug in the harness, or the machine ran out of memory)."""
EXIT_INTERRUPTED = 130
"""Exit code: interrupted by Ctrl-C (128 + SIGINT, as shells report it)."""


@dataclass(slots=True)
class CliState:
    """Settings of one invocation that :func:`main` needs after the command has run."""

    debug: bool = False


# One row per subcommand: (name, module with register(app), the line --help shows, extra it needs).
COMMANDS: tuple[Command, ...] = (
    Command("run", "harness.cli.run", "Run chaos scenarios and check their expectations.", "scenarios"),
    Command(
        "replay",
        "harness.cli.run",
        "Re-run a recorded scenario with its seed and verify the journal digest matches.",
        "scenarios",
    ),
    Command("scenarios", "harness.cli.run", "List, validate and describe scenario files.", "scenarios"),
    Command(
        "gate",
        "harness.cli.gate",
        "Compare results with a baseline; exit 1 only on a significant regression beyond its threshold.",
        "stats",
    ),
    Command(
        "report",
        "harness.cli.report",
        "Write result.json, junit.xml, summary.md and report.html (and journal.jsonl) for a run.",
    ),
    Command("load", "harness.cli.load", "Load: open-model driver and headless Locust.", "stats"),
    Command("proxy", "harness.cli.proxy", "Serve the Toxiproxy-compatible fault proxy API."),
    Command("examples", "harness.cli.examples", "List, run and copy the bundled example scenarios."),
    Command("init", "harness.cli.init", "Scaffold chaos tests, a starter scenario and a CI workflow here."),
    Command("health", "harness.cli.health", "Probe health endpoints and Redis servers."),
    Command(
        "swarm",
        "harness.cli.swarm",
        "Run scenarios over many seeds on Dask; report failure rates with intervals and replayable seeds.",
        "swarm",
    ),
    Command(
        "judge",
        "harness.cli.judge",
        "Judge a canary's metrics against a baseline's (files or Prometheus); serve the verdict over HTTP.",
        "stats",
    ),
    Command(
        "versions",
        "harness.cli.versions",
        "A version registry: versions, lineage, migration paths and history.",
        "stats",
    ),
)
"""Every subcommand; adding one is one row here."""


class _Commands(LazyCommands):
    commands_table = COMMANDS


app = typer.Typer(
    name="harness",
    cls=_Commands,
    help="chaos-harness: run chaos scenarios, drive fault proxies, gate performance in CI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
"""The ``harness`` Typer application; subcommand modules register on it."""
err_console = Console(stderr=True, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(VERSION_LINE)
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Print the traceback of an internal error (exit 3).")
    ] = False,
) -> None:
    """chaos-harness: prove that a service survives faults and that a new version is safe to ship."""
    ctx.ensure_object(CliState).debug = debug


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (see the module docstring); never raises."""
    state = CliState()
    try:
        app(args=argv, prog_name="harness", obj=state)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_USAGE)
    except UsageError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        return EXIT_USAGE
    except Finding as exc:
        err_console.print(f"[bold yellow]finding:[/] {escape(str(exc))}", highlight=False)
        return EXIT_FINDING
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the one place every other error (MemoryError too) becomes 3
        return _internal_error(exc, argv, state)
    return EXIT_OK


def _internal_error(exc: BaseException, argv: list[str] | None, state: CliState) -> int:
    """Say that this is a bug (or the machine ran out of memory), where the traceback is, and exit 3."""
    from harness.cli._crash import report_crash

    report_crash(exc, argv if argv is not None else sys.argv[1:], debug=state.debug, console=err_console)
    return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
