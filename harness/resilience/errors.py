"""Errors a resilience strategy raises to its caller instead of (or after) calling the function.

They are neither usage errors nor findings: they are the strategy doing its job (a breaker
rejecting, a bulkhead full, a deadline hit). Construction is cheap and they hold no reference to
earlier failures, so rejecting thousands of calls keeps memory flat.
"""

from __future__ import annotations

from typing import Any

from harness.errors import HarnessError

__all__ = [
    "BulkheadFull",
    "CircuitOpenError",
    "OperationTimeout",
    "RateLimited",
    "ResilienceError",
]


class ResilienceError(HarnessError):
    """Base class of the errors resilience strategies raise on purpose."""

    def __init__(self, *args: Any) -> None:
        # Subclasses keep their fields in ``args``; the message is built only when printed.
        Exception.__init__(self, *args)

    @property
    def message(self) -> str:  # type: ignore[override]
        """The human-readable message."""
        return str(self)

    @property
    def fields(self) -> dict[str, Any]:  # type: ignore[override]
        """Structured fields for reports."""
        return {}


class CircuitOpenError(ResilienceError):
    """A circuit breaker rejected the call without running it.

    ``name`` is the breaker's name; ``remaining`` the seconds until it lets trial calls through
    (0.0 when it is HALF_OPEN and every trial slot is taken).
    """

    # Built in C: no Python frame per rejection.
    __init__ = Exception.__init__

    @property
    def name(self) -> str:
        """The breaker's name."""
        return str(self.args[0])

    @property
    def remaining(self) -> float:
        """Seconds until the breaker admits trial calls again."""
        return float(self.args[1])

    @property
    def fields(self) -> dict[str, Any]:  # type: ignore[override]
        """``name`` and ``remaining``."""
        return {"name": self.name, "remaining": self.remaining}

    def __str__(self) -> str:
        if self.remaining > 0:
            return f"circuit {self.name!r} is open; trial calls allowed in {self.remaining:.3f}s"
        return f"circuit {self.name!r} is half-open and every trial slot is taken"


class BulkheadFull(ResilienceError):
    """A bulkhead had no free slot and no room (or time) left to wait for one."""

    def __init__(self, name: str, max_concurrent: int, waited: float) -> None:
        Exception.__init__(self, name, max_concurrent, waited)

    @property
    def fields(self) -> dict[str, Any]:  # type: ignore[override]
        """``name``, ``max_concurrent`` and ``waited``."""
        return {"name": self.args[0], "max_concurrent": self.args[1], "waited": self.args[2]}

    def __str__(self) -> str:
        name, limit, waited = self.args
        return f"bulkhead {name!r} is full ({limit} concurrent calls); gave up after waiting {waited:.3f}s"


class RateLimited(ResilienceError):
    """A rate limiter refused a permit; ``retry_after`` says when one will be available."""

    def __init__(self, name: str, retry_after: float) -> None:
        Exception.__init__(self, name, retry_after)

    @property
    def retry_after(self) -> float:
        """Seconds until a permit is available."""
        return float(self.args[1])

    @property
    def fields(self) -> dict[str, Any]:  # type: ignore[override]
        """``name`` and ``retry_after``."""
        return {"name": self.args[0], "retry_after": self.retry_after}

    def __str__(self) -> str:
        return f"rate limiter {self.args[0]!r} refused the call; retry after {self.retry_after:.3f}s"


class OperationTimeout(ResilienceError, TimeoutError):
    """An operation did not finish within its timeout (also a ``TimeoutError``)."""

    def __init__(self, name: str, timeout: float) -> None:
        Exception.__init__(self, name, timeout)

    @property
    def timeout(self) -> float:
        """The timeout in seconds."""
        return float(self.args[1])

    @property
    def fields(self) -> dict[str, Any]:  # type: ignore[override]
        """``name`` and ``timeout``."""
        return {"name": self.args[0], "timeout": self.timeout}

    def __str__(self) -> str:
        return f"{self.args[0]!r} timed out after {self.timeout:.3f}s"
