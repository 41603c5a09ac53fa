"""``harness init [DIR]``: scaffold a repository's chaos setup (``chaos/`` and a CI workflow).

Writes a starter scenario, the versions it runs, a ``conftest.py`` with the plugin's fixtures in
use, a starter chaos test, a benchmark, a ``pytest.ini`` with the markers, and
``.github/workflows/chaos.yml``. ``--asgi`` starts from an ASGI app. Exit 2 when a file exists
(``--force`` overwrites).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["init", "register"]


def init(
    folder: Annotated[Path, typer.Argument(help="The repository to scaffold (default: here).")] = Path(),
    asgi: Annotated[
        bool, typer.Option("--asgi", help="Start from an ASGI app instead of an HTTP service.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
) -> None:
    """Scaffold chaos tests, a starter scenario and a CI workflow (chaos/, .github/workflows/chaos.yml)."""
    from harness.examples.scaffold import write_scaffold

    written = write_scaffold(folder, asgi=asgi, force=force)
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(f"next: pip install 'chaos-harness[scenarios,bench]' && cd {folder} && pytest chaos")


def register(app: typer.Typer) -> None:
    """Add ``harness init`` to the CLI."""
    app.command(name="init")(init)
