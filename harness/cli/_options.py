"""Option types shared by the ``harness`` subcommands."""

from __future__ import annotations

import typer

from harness.units import DurationError, duration_seconds

__all__ = ["DURATION_METAVAR", "duration_option"]

DURATION_METAVAR = "DURATION"
"""How a duration flag's value is shown in ``--help`` (``--duration DURATION``)."""


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
