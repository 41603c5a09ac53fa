"""What the CLI says when the harness itself fails: never a finding, always a report to file.

An exception no command turned into a usage error or a finding is a bug in the harness (or the
machine ran out of memory). The user gets one short message: what failed, that it is not about
their system or their input, where the traceback is (a file, or stderr with ``--debug``), and
what to report.
"""

from __future__ import annotations

import os
import shlex
import tempfile
import traceback
from importlib import metadata

from rich.console import Console
from rich.markup import escape

from harness._version import __version__

__all__ = ["report_crash", "tracker"]


def tracker() -> str | None:
    """Where to report a bug: the project's URL from the installed package's metadata."""
    try:
        urls = metadata.metadata("chaos-harness").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    for entry in urls:
        label, _, url = str(entry).partition(",")
        if label.strip().lower() in {"issues", "bug tracker", "homepage"} and url.strip():
            return url.strip()
    return None


def _save(text: str) -> str | None:
    """Write ``text`` to a new file in the temporary folder; its path, or None if that failed."""
    try:
        fd, path = tempfile.mkstemp(prefix="harness-crash-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError:
        return None
    return path


def report_crash(exc: BaseException, argv: list[str], *, debug: bool, console: Console) -> None:
    """Print what failed and how to report it; the traceback goes to a file unless ``debug``."""
    trace = "".join(traceback.format_exception(exc))
    command = shlex.join(["harness", *argv])
    where = None if debug else _save(f"{command}\nchaos-harness {__version__}\n\n{trace}")
    if where is None:
        console.print(trace, markup=False, highlight=False)
    summary = escape(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, MemoryError):
        console.print(
            f"[bold red]internal error:[/] the machine ran out of memory ({summary}). The harness bounds "
            "its memory by design, so unless the input is beyond its documented limits this is a bug.",
            highlight=False,
        )
    else:
        console.print(
            f"[bold red]internal error:[/] {summary}. This is a bug in chaos-harness, not a finding "
            "about the system under test and not a problem with the input.",
            highlight=False,
        )
    if where is not None:
        console.print(f"traceback: {escape(where)} (run with --debug to print it here)", highlight=False)
    url = tracker()
    to = f" at {url}" if url else ""
    console.print(
        f"Please report it{to} with the command, chaos-harness {__version__} and the traceback:\n"
        f"  {escape(command)}",
        highlight=False,
    )
