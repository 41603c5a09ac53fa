"""The ``harness`` command line.

Exit codes: 0 when everything asked for passed, 1 on a finding (a regression, a violated
expectation), 2 on a usage error (a bad file, flag or URL), with a message naming what to fix.
Each subcommand lives in its own module under ``harness.cli`` and is registered in ``app``.
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from harness._version import __version__
from harness.errors import Finding, UsageError

__all__ = ["EXIT_FINDING", "EXIT_OK", "EXIT_USAGE", "app", "main"]

EXIT_OK = 0
"""Exit code: everything asked for passed."""
EXIT_FINDING = 1
"""Exit code: a finding (a regression, a violated expectation)."""
EXIT_USAGE = 2
"""Exit code: a usage error (a bad file, flag or URL)."""

app = typer.Typer(
    name="harness",
    help="chaos-harness: run chaos scenarios, drive fault proxies, gate performance in CI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
"""The ``harness`` Typer application; subcommand modules register on it."""
err_console = Console(stderr=True, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"chaos-harness {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """chaos-harness: prove that a service survives faults and that a new version is safe to ship."""


# Subcommand modules: each defines ``register(app: typer.Typer) -> None``.
COMMAND_MODULES: tuple[str, ...] = (
    "harness.cli.load",
    "harness.cli.gate",
    "harness.cli.report",
    "harness.cli.run",
    "harness.cli.proxy",
    "harness.cli.health",
    "harness.cli.versions",
    "harness.cli.swarm",
    "harness.cli.judge",
)


def _register_commands() -> None:
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(app)


_register_commands()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; usage errors exit 2 and findings exit 1, each with a short message."""
    try:
        app(args=argv, prog_name="harness")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_USAGE)
    except UsageError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        return EXIT_USAGE
    except Finding as exc:
        err_console.print(f"[bold yellow]finding:[/] {escape(str(exc))}", highlight=False)
        return EXIT_FINDING
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
