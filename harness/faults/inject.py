"""``inject(target, *faults)``: patch a function with seeded faults, and always restore it.

The target is a dotted path ``"pkg.module:attr"`` (``attr`` may be ``Class.method``) or a
callable: a module-level function, a method of a class or a bound method of an object. While the
injection is active the attribute is replaced by a wrapper that, on each call, asks
:func:`~harness.faults.inprocess.decide` which faults fire (from a stream seeded by the run seed
and the target's name) and applies them. It works as a context manager (sync or async), as a
decorator, and by hand with ``start()``/``stop()``. The attribute is restored on every exit path.

Several injections on one target compose: the attribute holds one dispatcher per target with the
stack of active injections, oldest innermost, so a call passes through every active injection's
faults. Stopping them in any order removes exactly that injection's faults, and the last one to
stop puts back exactly what the attribute held before the first one started.

Every fault that fires is recorded as a :class:`FaultEvent` (time, target, fault, call number),
kept on the injection and, when a :class:`~harness.journal.Journal` is given, appended to it::

    with inject("myapp.cache:get", raise_error(ConnectionError, rate=0.2), seed=7) as inj:
        run_checkout()
    assert all(e.fault == "raise_error(ConnectionError)" for e in inj.events)
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import inspect
import math
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType, TracebackType
from typing import Any, TypeVar, cast

from harness._checks import invalid
from harness.clock import Clock, SystemClock
from harness.errors import InvalidConfig, UsageError
from harness.faults.inprocess import (
    AddLatency,
    CorruptResult,
    Fault,
    FaultDecision,
    Hang,
    RaiseError,
    decide,
)
from harness.faults.schedule import FaultSchedule, Swarm
from harness.journal import Event, Journal
from harness.seeding import Seeds

__all__ = ["FaultEvent", "FaultInjector", "Injection", "inject"]

_F = TypeVar("_F", bound=Callable[..., Any])
_FAULT_TYPES = (RaiseError, AddLatency, CorruptResult, Hang)


@dataclass(frozen=True, slots=True)
class FaultEvent:
    """One fault that fired: when, where, which, and on which call (1-based)."""

    t: float
    target: str
    fault: str
    kind: str
    call: int
    delay: float = 0.0

    def to_event(self) -> Event:
        """The journal form (kind ``fault``, source ``faults/<target>``)."""
        data: dict[str, str | int | float] = {
            "target": self.target,
            "fault": self.fault,
            "kind": str(self.kind),
            "call": self.call,
        }
        if self.delay:
            data["delay"] = self.delay
        return Event(t=self.t, kind="fault", source=f"faults/{self.target}", data=data)


@dataclass(frozen=True, slots=True)
class _Site:
    """Where a target lives: ``getattr(owner, name)``."""

    owner: Any
    name: str


def _resolve_path(path: str) -> tuple[str, Any, _Site]:
    module_name, sep, attr_path = path.partition(":")
    if not sep or not module_name or not attr_path:
        raise InvalidConfig(
            f"target {path!r} must look like 'package.module:attribute' (e.g. 'myapp.cache:get').",
            field="target",
            value=path,
        )
    try:
        owner: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidConfig(
            f"target {path!r}: cannot import {module_name!r}: {exc}", field="target"
        ) from None
    parts = attr_path.split(".")
    for part in parts[:-1]:
        owner = _getattr_or_fail(owner, part, path)
    func = _getattr_or_fail(owner, parts[-1], path)
    return path, func, _site(owner, parts[-1])


def _getattr_or_fail(owner: Any, name: str, path: str) -> Any:
    try:
        return getattr(owner, name)
    except AttributeError:
        raise InvalidConfig(
            f"target {path!r}: {owner!r} has no attribute {name!r}; check the spelling.", field="target"
        ) from None


def _site(owner: Any, name: str) -> _Site:
    return _Site(owner=owner, name=name)


def _resolve_callable(func: Callable[..., Any]) -> tuple[str, Any, _Site | None]:
    owner = getattr(func, "__self__", None)
    name = getattr(func, "__name__", None)
    if owner is not None and name is not None and not isinstance(owner, ModuleType):
        label = f"{type(owner).__module__}:{type(owner).__qualname__}.{name}"
        if isinstance(owner, type):
            label = f"{owner.__module__}:{owner.__qualname__}.{name}"
        return label, func, _site(owner, name)
    module = sys.modules.get(getattr(func, "__module__", "") or "")
    qualname = getattr(func, "__qualname__", "") or ""
    label = f"{getattr(func, '__module__', '?')}:{qualname or repr(func)}"
    if module is None or not qualname or "<" in qualname:
        return label, func, None
    holder: Any = module
    parts = qualname.split(".")
    for part in parts[:-1]:
        holder = getattr(holder, part, None)
    if holder is None or getattr(holder, parts[-1], None) is not func:
        return label, func, None
    return label, func, _site(holder, parts[-1])


_STACK_ATTR = "__harness_injections__"
_PATCH_LOCK = threading.RLock()
"""Guards every target's stack: an attribute of a module or class is shared by the whole process."""


class _Stack:
    """The injections active on one attribute, oldest first, and what it held before the first.

    The attribute holds one dispatcher for as long as the stack is not empty; each call goes
    through the faults of every active injection (the newest outermost) down to the original.
    """

    def __init__(self, site: _Site) -> None:
        own = getattr(site.owner, "__dict__", {})
        self.site = site
        self.had_own = site.name in own
        self.raw: Any = own.get(site.name)
        self.original: Callable[..., Any] = getattr(site.owner, site.name)
        self.layers: list[Injection] = []
        self.chain: Callable[..., Any] = self.original
        self.dispatcher = self._dispatcher()
        self.installed: Any = self.dispatcher
        if isinstance(self.raw, (staticmethod, classmethod)):
            self.installed = staticmethod(self.dispatcher)

    def _dispatcher(self) -> Callable[..., Any]:
        dispatch: Callable[..., Any]
        if inspect.iscoroutinefunction(self.original):

            async def dispatch_async(*args: Any, **kwargs: Any) -> Any:
                return await self.chain(*args, **kwargs)

            dispatch = dispatch_async
        else:

            def dispatch_sync(*args: Any, **kwargs: Any) -> Any:
                return self.chain(*args, **kwargs)

            dispatch = dispatch_sync
        dispatch = functools.wraps(self.original)(dispatch)
        setattr(dispatch, _STACK_ATTR, self)
        return dispatch

    def _rebuild(self) -> None:
        chain = self.original
        for injection in self.layers:
            chain = injection._around(chain)
        self.chain = chain

    def push(self, injection: Injection) -> None:
        """Put ``injection`` on top and make sure the dispatcher is installed."""
        self.layers.append(injection)
        self._rebuild()
        if _installed_stack(self.site) is not self:
            setattr(self.site.owner, self.site.name, self.installed)

    def remove(self, injection: Injection) -> None:
        """Take ``injection`` out wherever it is; the last one out restores the attribute exactly."""
        self.layers.remove(injection)
        self._rebuild()
        if self.layers or _installed_stack(self.site) is not self:
            return  # someone else patched over the dispatcher: theirs to restore
        if self.had_own:
            setattr(self.site.owner, self.site.name, self.raw)
        else:
            with contextlib.suppress(AttributeError):
                delattr(self.site.owner, self.site.name)


def _installed_stack(site: _Site) -> _Stack | None:
    """The stack whose dispatcher the attribute holds now, if any."""
    value = getattr(site.owner, "__dict__", {}).get(site.name)
    if isinstance(value, staticmethod):
        value = value.__func__
    stack = getattr(value, _STACK_ATTR, None)
    if isinstance(stack, _Stack) and stack.dispatcher is value:
        return stack
    return None


class FaultInjector:
    """The sans-IO core of an injection: which faults fire on each call of one target.

    It never patches, sleeps or reads a clock: the caller passes ``now`` and applies the
    returned decisions (the :class:`Injection` wrapper, the scenario engine's model services).
    Decisions come from the stream ``faults/<target>`` of ``seed``; every fault that fires is
    recorded as a :class:`FaultEvent` and, if a journal is given, appended to it.
    """

    def __init__(
        self,
        target: str,
        faults: Sequence[Fault] = (),
        *,
        seed: int = 0,
        schedule: FaultSchedule | None = None,
        swarm: Swarm | None = None,
        journal: Journal | None = None,
    ) -> None:
        for fault in faults:
            if not isinstance(fault, _FAULT_TYPES):
                raise InvalidConfig(
                    f"inject(): {fault!r} is not a fault; use raise_error, add_latency, "
                    "corrupt_result or hang.",
                    field="faults",
                    value=fault,
                )
        if not target:
            raise invalid("target", target, "a non-empty name", "e.g. 'myapp.cache:get'")
        self.target = target
        self.seed = Seeds(seed).seed
        self.faults: tuple[Fault, ...] = swarm.select(faults) if swarm else tuple(faults)
        self.schedule = schedule
        self._journal = journal
        self._lock = threading.Lock()
        self._rng = Seeds(self.seed).stream(f"faults/{target}")
        self.calls = 0
        self.events: list[FaultEvent] = []

    def decide(self, now: float) -> tuple[int, list[FaultDecision]]:
        """Number this call and decide its faults at time ``now`` (static plus scheduled)."""
        with self._lock:
            self.calls += 1
            call = self.calls
            faults = self.faults
            if self.schedule is not None:
                faults = faults + self.schedule.active(now, self.target)
            decisions = decide(faults, self._rng)
            for d in decisions:
                self._record(now, call, d)
        return call, decisions

    def _record(self, now: float, call: int, d: FaultDecision) -> None:
        delay = d.delay if math.isfinite(d.delay) else 0.0
        event = FaultEvent(now, self.target, d.fault.describe(), d.fault.kind, call, delay)
        self.events.append(event)
        if self._journal is not None:
            self._journal.append(event.to_event())

    def __repr__(self) -> str:
        return f"FaultInjector({self.target!r}, faults={len(self.faults)}, seed={self.seed})"


class Injection:
    """Faults patched into one target; see :func:`inject`."""

    def __init__(
        self,
        target: str | Callable[..., Any],
        faults: Sequence[Fault],
        *,
        seed: int = 0,
        clock: Clock | None = None,
        schedule: FaultSchedule | None = None,
        swarm: Swarm | None = None,
        journal: Journal | None = None,
    ) -> None:
        site: _Site | None
        if isinstance(target, str):
            self.target, self._original, site = _resolve_path(target)
        elif callable(target):
            self.target, self._original, site = _resolve_callable(target)
        else:
            raise InvalidConfig(
                f"inject() target {target!r} must be a callable or 'package.module:attribute'.",
                field="target",
                value=target,
            )
        self._site = site
        self._clock: Clock = clock if clock is not None else SystemClock()
        self.injector = FaultInjector(
            self.target, faults, seed=seed, schedule=schedule, swarm=swarm, journal=journal
        )
        self._active = False
        self._stack: _Stack | None = None
        self._is_async = inspect.iscoroutinefunction(self._original)
        self.wrapper: Callable[..., Any] = functools.wraps(self._original)(self._around(self._original))

    @property
    def active(self) -> bool:
        """Whether the target is currently patched."""
        return self._active

    @property
    def patches(self) -> bool:
        """Whether the target can be patched in place (else only :attr:`wrapper` is faulty)."""
        return self._site is not None

    @property
    def seed(self) -> int:
        """The seed of the decision stream."""
        return self.injector.seed

    @property
    def faults(self) -> tuple[Fault, ...]:
        """The static faults (after swarm selection)."""
        return self.injector.faults

    @property
    def calls(self) -> int:
        """Calls made through the wrapper so far."""
        return self.injector.calls

    @property
    def events(self) -> list[FaultEvent]:
        """Every fault that fired, in order."""
        return self.injector.events

    def _decide(self) -> tuple[int, list[FaultDecision]]:
        return self.injector.decide(self._clock.now())

    # --- wrappers ----------------------------------------------------------------------------
    def _around(self, inner: Callable[..., Any]) -> Callable[..., Any]:
        """``inner`` with this injection's faults applied before (errors, delays) and after it."""
        if self._is_async:

            async def async_faulty(*args: Any, **kwargs: Any) -> Any:
                _, decisions = self._decide()
                for d in decisions:
                    await self._before_async(d)
                return _corrupt(decisions, await inner(*args, **kwargs))

            return async_faulty

        def faulty(*args: Any, **kwargs: Any) -> Any:
            _, decisions = self._decide()
            for d in decisions:
                self._before_sync(d)
            return _corrupt(decisions, inner(*args, **kwargs))

        return faulty

    def _before_sync(self, d: FaultDecision) -> None:
        fault = d.fault
        if isinstance(fault, RaiseError):
            raise fault.make()
        if isinstance(fault, Hang) and not math.isfinite(d.delay):
            raise UsageError(
                f"hang() on synchronous target {self.target!r} needs finite seconds, for example "
                "hang(seconds=30): a blocked synchronous call cannot be cancelled."
            )
        if isinstance(fault, (AddLatency, Hang)):
            self._clock.sleep_sync(d.delay)

    async def _before_async(self, d: FaultDecision) -> None:
        fault = d.fault
        if isinstance(fault, RaiseError):
            raise fault.make()
        if isinstance(fault, Hang) and not math.isfinite(d.delay):
            await asyncio.Event().wait()
        if isinstance(fault, (AddLatency, Hang)):
            await self._clock.sleep(d.delay)

    # --- patching ----------------------------------------------------------------------------
    def start(self) -> Injection:
        """Patch the target, on top of any injection already active on it.

        Starting an injection that is already active is a usage error.
        """
        with _PATCH_LOCK:
            if self._active:
                raise UsageError(f"injection into {self.target!r} is already active; stop() it first.")
            if self._site is not None:
                stack = _installed_stack(self._site) or _Stack(self._site)
                stack.push(self)
                self._stack = stack
            self._active = True
        return self

    def stop(self) -> None:
        """Remove this injection's faults; safe to call more than once.

        The target keeps the faults of the injections still active on it; when none is left
        it holds exactly what it held before the first of them started.
        """
        with _PATCH_LOCK:
            if not self._active:
                return
            self._active = False
            stack, self._stack = self._stack, None
            if stack is not None:
                stack.remove(self)

    def __enter__(self) -> Injection:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Injection:
        return self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __call__(self, func: _F) -> _F:
        """Decorate ``func`` so the injection is active while it runs."""
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_run(*args: Any, **kwargs: Any) -> Any:
                async with self:
                    return await func(*args, **kwargs)

            return cast(_F, async_run)

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return cast(_F, run)

    def __repr__(self) -> str:
        state = "active" if self._active else "inactive"
        return f"Injection({self.target!r}, faults={len(self.faults)}, seed={self.seed}, {state})"


def _corrupt(decisions: list[FaultDecision], result: Any) -> Any:
    for d in decisions:
        if isinstance(d.fault, CorruptResult):
            result = d.fault.fn(result)
    return result


def inject(
    target: str | Callable[..., Any],
    *faults: Fault,
    seed: int = 0,
    clock: Clock | None = None,
    schedule: FaultSchedule | None = None,
    swarm: Swarm | None = None,
    journal: Journal | None = None,
) -> Injection:
    """Patch ``target`` with ``faults`` while the returned injection is active.

    ``seed`` seeds the per-target decision stream; ``clock`` times latencies and events;
    ``schedule`` adds the faults of its windows that are open at each call's time; ``swarm``
    switches fault kinds on or off for the run; ``journal`` receives every fault event.
    A callable that cannot be patched in place (a lambda, a local function) is not patched:
    use the injection's ``wrapper`` instead.
    """
    return Injection(target, faults, seed=seed, clock=clock, schedule=schedule, swarm=swarm, journal=journal)
