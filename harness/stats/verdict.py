"""The judgement vocabulary shared by the statistical judges and the rollout flows."""

from __future__ import annotations

import enum

__all__ = ["Verdict"]


class Verdict(enum.Enum):
    """How a judgement came out: a whole canary judgement, or one reason behind a rollout decision.

    ``CanaryJudge`` answers PASS, MARGINAL, FAIL or NO_DATA; rollout flows also use INCONCLUSIVE
    (not enough evidence yet), ERROR (the measurement failed) and INFO (recorded, never judged,
    as in a dry run).
    """

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    MARGINAL = "marginal"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NO_DATA = "no_data"
    ERROR = "error"
    INFO = "info"
