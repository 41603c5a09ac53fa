"""Whose fault an exception is: the service failing (a failed request) or a broken harness contract.

A version's code raises for two different reasons. The service may fail (its Redis is down, its
downstream timed out, it has a bug in its business logic): that is a failed request, and rollout
flows and expectations must see it. Or the *adapter* that connects the harness to the service (the
factory named by ``callable: {target: ...}`` and the handler it returns) is wrong, say it reads
``request["itme"]``: then every request fails the same way, a canary rolls back and a scenario
that expects a rollback passes, for a reason that has nothing to do with the service. The second
kind is a usage error: the run stops with exit 2, the exception and the file and line.

:class:`FailurePolicy` tells them apart, and both scenario engines (simulated and live) use it:

- a version that *declares* its failures (``failures: [ConnectionError, myapp.errors:CheckoutError]``)
  fails a request on exactly those exceptions; any other exception breaks the contract;
- otherwise every :class:`Exception` is a failure of the service, except :data:`CONTRACT_ERRORS`
  (``TypeError``, ``KeyError``, ``AttributeError``, ``ImportError``) raised *in the adapter*: in
  the adapter's own source file, or by the harness's call into it (a handler with the wrong
  signature). The same exception raised deeper, in the service's own modules, is the service's bug
  and counts as a failed request.

Every failed request keeps its exception type (:func:`error_type`) so reports and journals can
break errors down by type.
"""

from __future__ import annotations

import builtins
import enum
import importlib
import inspect
import sys
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from harness.errors import InvalidConfig, UsageError

__all__ = [
    "CONTRACT_ERRORS",
    "ContractBroken",
    "FailureKind",
    "FailurePolicy",
    "error_type",
    "raised_at",
    "resolve_exception",
]

CONTRACT_ERRORS: tuple[type[BaseException], ...] = (TypeError, KeyError, AttributeError, ImportError)
"""Exceptions that, raised in an adapter, show it does not keep the harness contract."""

_HARNESS_DIR = str(Path(__file__).resolve().parents[1])


class FailureKind(enum.StrEnum):
    """What an exception from a version means."""

    SERVICE = "service"
    """The service failed this request: count it as a failed request."""
    CONTRACT = "contract"
    """The adapter broke the harness contract: stop the run with a usage error."""


def error_type(exc: BaseException) -> str:
    """The name a failed request is recorded under: the exception's qualified class name."""
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module in {"builtins", "__main__"} else f"{module}.{cls.__qualname__}"


def raised_at(exc: BaseException, files: Iterable[str] = ()) -> tuple[str, int] | None:
    """``(file, line)`` where ``exc`` was raised: its innermost frame in ``files``, else its innermost."""
    frames = traceback.extract_tb(exc.__traceback__)
    wanted = set(files)
    for frame in reversed(frames):
        if frame.filename in wanted:
            return frame.filename, frame.lineno or 0
    if not frames:
        return None
    return frames[-1].filename, frames[-1].lineno or 0


class ContractBroken(UsageError):
    """A version's adapter raised an exception that shows it breaks the harness contract."""

    def __init__(self, version: str, exc: BaseException, where: tuple[str, int] | None) -> None:
        kind = error_type(exc)
        place = f"{where[0]}:{where[1]}: " if where is not None else ""
        super().__init__(
            f"{place}version {version!r}: {kind}: {exc} -- the adapter broke the harness contract, so "
            f"this is not counted as a failure of the service. Fix the adapter, or, if the service "
            f"raises {kind} on purpose, list it under the version's failures.",
            version=version,
            exception=kind,
            where=where,
        )
        self.version = version
        self.exception = exc
        self.where = where


def resolve_exception(name: str) -> type[BaseException]:
    """An exception class from ``"ValueError"`` (a builtin) or ``"package.module:Class"``."""
    module_name, sep, attr = name.partition(":")
    if not sep:
        if "." not in name:
            found = getattr(builtins, name, None)
            if isinstance(found, type) and issubclass(found, BaseException):
                return found
            raise InvalidConfig(
                f"failures: {name!r} is not a builtin exception; write package.module:Class",
                field="failures",
                value=name,
            )
        module_name, _, attr = name.rpartition(".")
    try:
        obj: object = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidConfig(
            f"failures: cannot import {name!r} ({exc})", field="failures", value=name
        ) from None
    if not (isinstance(obj, type) and issubclass(obj, BaseException)):
        raise InvalidConfig(f"failures: {name!r} is not an exception class", field="failures", value=name)
    return obj


def _source_files(modules: Iterable[ModuleType]) -> frozenset[str]:
    files = set()
    for module in modules:
        try:
            path = inspect.getsourcefile(module)
        except TypeError:
            path = None
        if path is not None:
            files.add(path)
    return frozenset(files)


@dataclass(frozen=True, slots=True, kw_only=True)
class FailurePolicy:
    """Classifies a version's exceptions into failed requests and contract breaks.

    ``adapter_files`` are the adapter's source files; ``declared`` the exception types the version
    lists as its failures (empty: every ``Exception`` except contract errors raised in the adapter).
    """

    adapter_files: frozenset[str] = frozenset()
    declared: tuple[type[BaseException], ...] = ()
    contract_errors: tuple[type[BaseException], ...] = field(default=CONTRACT_ERRORS)

    @classmethod
    def for_adapter(cls, adapter: object, failures: Sequence[str] = ()) -> FailurePolicy:
        """The policy of the adapter ``adapter`` (a factory or handler), with declared ``failures``."""
        module = sys.modules.get(getattr(adapter, "__module__", "") or "")
        files = _source_files([module] if module is not None else [])
        return cls(adapter_files=files, declared=tuple(resolve_exception(n) for n in failures))

    @classmethod
    def declaring(cls, failures: Sequence[str] = ()) -> FailurePolicy:
        """The policy of a version without an adapter of its own (an ASGI app), declaring ``failures``."""
        return cls(declared=tuple(resolve_exception(n) for n in failures))

    def _in_adapter(self, exc: BaseException) -> bool:
        frames = traceback.extract_tb(exc.__traceback__)
        if not frames:
            return True
        innermost = frames[-1].filename
        return innermost in self.adapter_files or innermost.startswith(_HARNESS_DIR)

    def classify(self, exc: BaseException) -> FailureKind:
        """Whether ``exc`` is the service failing or the adapter breaking the contract."""
        if self.declared:
            return FailureKind.SERVICE if isinstance(exc, self.declared) else FailureKind.CONTRACT
        if isinstance(exc, self.contract_errors) and self._in_adapter(exc):
            return FailureKind.CONTRACT
        return FailureKind.SERVICE if isinstance(exc, Exception) else FailureKind.CONTRACT

    def check(self, version: str, exc: BaseException) -> str:
        """The recorded type of a failed request; :class:`ContractBroken` for a broken contract."""
        if self.classify(exc) is FailureKind.CONTRACT:
            raise ContractBroken(version, exc, raised_at(exc, self.adapter_files)) from exc
        return error_type(exc)
