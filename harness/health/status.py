"""Health statuses and the result of one check."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.errors import InvalidConfig

__all__ = ["CheckResult", "HealthStatus", "Trend", "worst"]


class HealthStatus(enum.Enum):
    """How healthy a component is, from best to worst."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"

    @property
    def rank(self) -> int:
        """0 for HEALTHY, 1 for DEGRADED, 2 for UNHEALTHY: larger is worse."""
        return _RANK[self._value_]

    @property
    def score(self) -> float:
        """This status on the 0-100 health scale: 100, 50 or 0."""
        return _SCORE[self._value_]

    @classmethod
    def parse(cls, text: str | HealthStatus) -> HealthStatus:
        """``HealthStatus("degraded")`` that lists the valid values on a bad one."""
        if isinstance(text, HealthStatus):
            return text
        try:
            return cls(str(text).strip().lower())
        except ValueError:
            valid = ", ".join(s.value for s in cls)
            raise InvalidConfig(f"{text!r} is not a health status; valid: {valid}", value=text) from None


# Keyed by value: str hashing is C-level and cached, Enum.__hash__ is not.
_RANK = {"healthy": 0, "degraded": 1, "unhealthy": 2}
_SCORE = {"healthy": 100.0, "degraded": 50.0, "unhealthy": 0.0}


def worst(statuses: Iterable[HealthStatus]) -> HealthStatus:
    """The worst of ``statuses``; HEALTHY when there are none."""
    result = HealthStatus.HEALTHY
    for status in statuses:
        if status.rank > result.rank:
            result = status
    return result


class Trend(enum.Enum):
    """Which way the health score is moving over the monitor's trend window."""

    IMPROVING = "improving"
    STABLE = "stable"
    DEGRADING = "degrading"


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    """What one check observed: its status, why, how long it took and when it ran."""

    name: str
    status: HealthStatus
    message: str = ""
    duration: float = 0.0
    checked_at: float = 0.0
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        """True when the status is HEALTHY."""
        return self.status is HealthStatus.HEALTHY

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view of this result."""
        return {
            "name": self.name,
            "status": self.status.value,
            "message": self.message,
            "duration": self.duration,
            "checked_at": self.checked_at,
            "details": dict(self.details),
        }
