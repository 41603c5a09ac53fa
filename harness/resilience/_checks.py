"""Exception matching shared by the resilience configurations and policies (the numeric checks are
``harness._checks``)."""

from __future__ import annotations

from collections.abc import Callable

from harness._checks import invalid

__all__ = ["ExceptionMatcher", "check_matcher", "matches"]

ExceptionMatcher = tuple[type[BaseException], ...] | Callable[[BaseException], bool]
"""Which exceptions a rule applies to: a tuple of classes, or a predicate."""


def check_matcher(name: str, value: ExceptionMatcher) -> None:
    """Refuse ``value`` unless it is a tuple of exception classes or a callable predicate."""
    if isinstance(value, tuple):
        for item in value:
            if not (isinstance(item, type) and issubclass(item, BaseException)):
                raise invalid(
                    name,
                    value,
                    "a tuple of exception classes or a predicate",
                    f"{item!r} is not an exception class",
                )
    elif not callable(value):
        raise invalid(name, value, "a tuple of exception classes or a predicate taking the exception")


def matches(matcher: ExceptionMatcher, exc: BaseException) -> bool:
    """Whether ``exc`` is one of ``matcher``'s classes, or satisfies its predicate."""
    if isinstance(matcher, tuple):
        return isinstance(exc, matcher)
    return bool(matcher(exc))
