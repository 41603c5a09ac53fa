"""Option types shared by the ``harness`` subcommands."""

from __future__ import annotations

from typing import Any

import typer

from harness.units import DurationError, duration_seconds

__all__ = ["duration_flag", "duration_option"]


def duration_option(value: str | float) -> float:
    """Seconds from a flag's text (``--duration 30s``); a bare number is refused with the fix.

    A float is a default written in code, already in seconds; what a user types is always text.
    """
    if isinstance(value, float):
        return value
    try:
        return duration_seconds(value)
    except DurationError as exc:
        raise typer.BadParameter(str(exc)) from None


def duration_flag(default: str, help: str) -> Any:
    """A ``typer.Option`` for a duration: parsed by :func:`duration_option`, ``default`` shown as text."""
    return typer.Option(parser=duration_option, metavar="DURATION", show_default=default, help=help)
