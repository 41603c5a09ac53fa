"""Rollout flows as sans-IO controllers: ``observe(window) -> Decision``."""

from harness.rollout.contract import (
    Action,
    Decision,
    Exchange,
    Flow,
    Outcome,
    Reason,
    Verdict,
    VersionWindow,
    Window,
    parse_enum,
)

__all__ = [
    "Action",
    "Decision",
    "Exchange",
    "Flow",
    "Outcome",
    "Reason",
    "Verdict",
    "VersionWindow",
    "Window",
    "parse_enum",
]
