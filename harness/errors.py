"""The two families of errors: usage errors (you wrote something wrong) and findings.

``UsageError`` means the input to the harness is wrong: a bad configuration value, a bad scenario
file, an unparsable condition. ``Finding`` means the system under test misbehaved. Both carry
structured fields so reports can be built from them instead of parsing messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "Finding",
    "HarnessError",
    "InvalidConfig",
    "InvalidInput",
    "InvalidScenario",
    "MissingExtra",
    "Reproduction",
    "StorageFailure",
    "StorageUnavailable",
    "UsageError",
]


@dataclass(frozen=True, slots=True)
class Reproduction:
    """How to replay a failing run: the seed and the command that replays it."""

    seed: int
    command: str

    def __str__(self) -> str:
        return f"Reproduce with: {self.command}"


class HarnessError(Exception):
    """Base class of every error the harness raises on purpose."""

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, Any] = dict(fields)

    def __str__(self) -> str:
        return self.message


class UsageError(HarnessError):
    """The harness was used wrongly: a bad value, file, URL or expression.

    Messages quote the offending value and say how to fix it.
    """


class InvalidConfig(UsageError):
    """A configuration value is out of range or inconsistent.

    ``field`` names the setting, ``value`` the rejected value.
    """

    def __init__(self, message: str, *, field: str | None = None, value: Any = None) -> None:
        super().__init__(message, field=field, value=value)
        self.field = field
        self.value = value


class InvalidInput(InvalidConfig):
    """A file's content is wrong: ``path``, ``line`` and ``location`` (a dotted field path) say where.

    The message reads ``path:line: location: problem``, each part present when known; ``field``
    is the ``location``.
    """

    unnamed = "<input>"
    """What the message calls the input when only its line is known."""

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, location: str | None = None
    ) -> None:
        where = path or self.unnamed
        if line is not None:
            where = f"{where}:{line}"
        prefix = f"{where}: " if path or line is not None else ""
        field_part = f"{location}: " if location else ""
        super().__init__(f"{prefix}{field_part}{message}", field=location)
        self.fields.update(path=path, line=line, location=location)
        self.path = path
        self.line = line
        self.location = location


class InvalidScenario(InvalidInput):
    """A scenario file is malformed: ``path``, ``line`` and ``location`` (a dotted field path) say where."""

    unnamed = "<scenario>"


class StorageFailure(StrEnum):
    """How a storage operation failed (``StorageUnavailable.failure``)."""

    UNREACHABLE = "unreachable"
    """No connection: refused, reset, or closed by the server."""
    TIMEOUT = "timeout"
    """Connected, but no answer within the timeout (a stopped or overloaded server)."""
    READ_ONLY = "read_only"
    """The server is a read-only replica (after a failover) and refuses writes."""
    OUT_OF_MEMORY = "out_of_memory"
    """The server reached its memory limit and refuses writes."""
    ERROR_RESPONSE = "error_response"
    """Any other error reply: a missing database, an unknown script, a key of the wrong type."""
    CORRUPT = "corrupt"
    """A stored value is not what the reader wrote there (not JSON, not the expected shape)."""


class StorageUnavailable(UsageError):
    """A storage backend (for example a Redis URL) could not serve an operation.

    ``failure`` says how: unreachable, timed out, or an error reply (read-only replica, out of
    memory, missing database...). Components that share state through storage treat every kind
    alike: they carry on with local state and resynchronise when the storage answers again.
    """

    def __init__(
        self, message: str, *, url: str, failure: StorageFailure = StorageFailure.UNREACHABLE
    ) -> None:
        super().__init__(message, url=url, failure=failure)
        self.url = url
        self.failure = failure


class MissingExtra(UsageError, ImportError):
    """A feature needs an optional extra that is not installed: ``extra`` names it, ``modules`` the gaps.

    Also an ``ImportError``, so ``except ImportError`` around an optional import still catches it.
    """

    def __init__(self, feature: str, *, extra: str, modules: tuple[str, ...]) -> None:
        super().__init__(
            f"{feature} needs chaos-harness[{extra}]: pip install 'chaos-harness[{extra}]'",
            feature=feature,
            extra=extra,
            modules=modules,
        )
        self.name = modules[0] if modules else None
        self.feature = feature
        self.extra = extra
        self.modules = modules


class Finding(HarnessError):
    """The system under test misbehaved: an SLO was missed, a steady state was violated.

    ``observed`` and ``limit`` say what was measured against what; ``seed`` and ``scenario`` say
    how to replay it. When a seed is known the message ends with the reproduction line.
    """

    def __init__(
        self,
        message: str,
        *,
        observed: Any = None,
        limit: Any = None,
        seed: int | None = None,
        scenario: str | None = None,
        reproduce: Reproduction | None = None,
    ) -> None:
        full = message if reproduce is None else f"{message}\n{reproduce}"
        super().__init__(full, observed=observed, limit=limit, seed=seed, scenario=scenario)
        self.observed = observed
        self.limit = limit
        self.seed = seed
        self.scenario = scenario
        self.reproduce = reproduce
