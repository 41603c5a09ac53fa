"""The ``harness`` console script: ``harness --version`` answers before the command line loads.

Every other invocation goes to :func:`harness.cli.main`; ``--version`` alone is answered here so
it costs an interpreter start and this package's ``__init__``, not Typer and Rich.
"""

from __future__ import annotations

import sys

from harness._version import VERSION_LINE

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the ``harness`` command with ``argv`` (default: the process's arguments)."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        sys.stdout.write(VERSION_LINE + "\n")
        return 0
    from harness.cli import main as cli_main

    return cli_main(args)
