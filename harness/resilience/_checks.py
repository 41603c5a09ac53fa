"""Checks and exception matching shared by the resilience configurations and policies."""

from __future__ import annotations

import math
from collections.abc import Callable

from harness.errors import InvalidConfig

__all__ = ["ExceptionMatcher", "check_matcher", "matches", "positive", "positive_int"]

ExceptionMatcher = tuple[type[BaseException], ...] | Callable[[BaseException], bool]
"""Which exceptions a rule applies to: a tuple of classes, or a predicate."""


def positive(name: str, value: float, fix: str) -> None:
    """Refuse ``value`` unless it is a positive finite number; ``fix`` ends the message."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        msg = f"{name}={value!r} must be a positive finite number; {fix}"
        raise InvalidConfig(msg, field=name, value=value)


def positive_int(name: str, value: int, fix: str) -> None:
    """Refuse ``value`` unless it is an integer >= 1; ``fix`` ends the message."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidConfig(f"{name}={value!r} must be an integer >= 1; {fix}", field=name, value=value)


def check_matcher(name: str, value: ExceptionMatcher) -> None:
    """Refuse ``value`` unless it is a tuple of exception classes or a callable predicate."""
    if isinstance(value, tuple):
        for item in value:
            if not (isinstance(item, type) and issubclass(item, BaseException)):
                raise InvalidConfig(
                    f"{name} contains {item!r}, which is not an exception class; "
                    "pass a tuple of exception classes or a predicate.",
                    field=name,
                    value=value,
                )
    elif not callable(value):
        raise InvalidConfig(
            f"{name}={value!r} must be a tuple of exception classes or a predicate taking the exception.",
            field=name,
            value=value,
        )


def matches(matcher: ExceptionMatcher, exc: BaseException) -> bool:
    """Whether ``exc`` is one of ``matcher``'s classes, or satisfies its predicate."""
    if isinstance(matcher, tuple):
        return isinstance(exc, matcher)
    return bool(matcher(exc))
