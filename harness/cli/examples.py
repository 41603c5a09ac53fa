"""``harness examples list|run|copy``: the example scenarios that ship in the package.

``list`` prints each bundled scenario's name and description, ``run`` runs them all from any
folder (as ``harness run --examples``), ``copy DIR`` writes them with the sample systems they
import to ``DIR`` to edit and run there (``cd DIR && harness run scenarios/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness._extras import require

__all__ = ["copy", "list_examples", "register", "run"]


def list_examples() -> None:
    """One line per bundled scenario: its name and description."""
    from rich.console import Console
    from rich.table import Table

    from harness.examples.catalog import example_scenarios

    table = Table(show_header=True)
    table.add_column("scenario")
    table.add_column("description")
    for example in example_scenarios():
        table.add_row(example.name, example.description)
    Console(soft_wrap=True).print(table)


def run(
    report: Annotated[Path, typer.Option(help="Folder for reports (reports/<scenario>/<time>/).")] = Path(
        "reports"
    ),
    no_report: Annotated[bool, typer.Option("--no-report", help="Write no report files.")] = False,
) -> None:
    """Run every bundled scenario (simulated); exit 0 when every expectation holds."""
    require("scenarios", "harness examples run")
    from harness.cli.run import run as run_scenarios

    run_scenarios(examples=True, report=report, no_report=no_report)


def copy(
    folder: Annotated[Path, typer.Argument(help="Where to write scenarios/ and chaos_examples/.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
) -> None:
    """Write the bundled scenarios and the sample systems they import to FOLDER, to edit and run there."""
    from harness.examples.catalog import copy_examples

    written = copy_examples(folder, force=force)
    typer.echo(
        f"wrote {len(written)} files under {folder}; run them with: cd {folder} && harness run scenarios/"
    )


def register(app: typer.Typer) -> None:
    """Add ``harness examples list|run|copy`` to the CLI."""
    group = typer.Typer(
        name="examples", help="List, run and copy the bundled example scenarios.", no_args_is_help=True
    )
    group.command(name="list")(list_examples)
    group.command(name="run")(run)
    group.command(name="copy")(copy)
    app.add_typer(group, name="examples")
