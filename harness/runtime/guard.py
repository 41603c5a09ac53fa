"""Closing the real world off from a simulated run: refused calls, and what runs on virtual time.

A real-code simulation is only reproducible if the code under test takes time, randomness and
I/O from the run. :class:`RealWorldGuard` enforces that for the thread that runs the simulation,
from ``__enter__`` to ``__exit__`` (undone on every exit path, exceptions included); other threads
(a test runner's, a logger's) are never affected.

Patched to the run (safe, and documented in the README):

- ``time.time``, ``time.monotonic``, ``time.perf_counter`` and their ``_ns`` forms read the run's
  virtual clock (``time.time`` counts from :data:`EPOCH`), including names bound with
  ``from time import monotonic`` in modules outside the standard library;
- the module-level ``random`` functions draw from a stream of the run's seed (their state is put
  back afterwards), as does numpy's legacy global generator when numpy is loaded;
- ``uuid.uuid4``, ``os.urandom`` and ``random.SystemRandom`` (so ``secrets``) draw from the run's
  stream.

Refused with :class:`ForbiddenCall` (a usage error: exit 2), naming the call, the file and line of
the code that made it, and how to inject the thing instead:

- real sockets (``connect``, ``connect_ex``, ``bind``, ``sendto``) and DNS (``getaddrinfo``,
  ``gethostbyname``...): use a simulated dependency (``dependencies:``), whose URL the app reads;
- starting a thread (``threading.Thread.start``, so also ``run_in_executor``, ``to_thread`` and
  sync endpoints that frameworks run in a thread pool): write ``async def``;
- ``time.sleep`` (it would hold the event loop in real time): ``await asyncio.sleep``;
- ``uuid.uuid1`` (the host's clock and MAC address): ``uuid.uuid4``.

Not covered: ``datetime.now()`` and ``date.today()`` read the wall clock in C and are neither
patched nor refused; ``harness run --check-determinism`` finds what they change.

The first refused call is also kept on the guard (:attr:`RealWorldGuard.violation`), because the
code under test may catch it (a fallback ``except Exception``) and carry on; the engine stops the
run with it all the same.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import socket
import sys
import sysconfig
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

from harness.clock import VirtualClock
from harness.errors import UsageError

__all__ = ["EPOCH", "ForbiddenCall", "RealWorldGuard", "caller_line"]

EPOCH = 1_767_225_600.0
"""``time.time()`` at virtual time 0 of a run: 2026-01-01T00:00:00Z, the same in every run."""

_HARNESS_DIR = str(Path(__file__).resolve().parents[1])
_STDLIB_DIRS = tuple({sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]})
_THIS_FILE = __file__


def _library(path: str) -> bool:
    return "site-packages" in path or "dist-packages" in path or path.startswith("<frozen")


def _stdlib(path: str) -> bool:
    return any(path.startswith(d) for d in _STDLIB_DIRS) and not _library(path)


def caller_line(frame: FrameType | None) -> str:
    """``file:line`` of the code that made a call: the innermost frame of the user's own code.

    Frames of the harness, the standard library and installed libraries are skipped, so a socket
    opened deep inside a client library is reported at the line of the user's code that called it;
    if every frame is a library's, the innermost library frame is named.
    """
    fallback = None
    while frame is not None:
        path = frame.f_code.co_filename
        if path != _THIS_FILE and not path.startswith(_HARNESS_DIR):
            where = f"{path}:{frame.f_lineno}"
            if not _stdlib(path) and not _library(path):
                return where
            fallback = fallback or where
        frame = frame.f_back
    return fallback or "<unknown>"


class ForbiddenCall(UsageError):
    """Code under simulation tried to reach the real world (a socket, the real clock, a thread)."""

    def __init__(self, call: str, fix: str, where: str) -> None:
        super().__init__(
            f"{where}: {call} is refused in a simulated run: {fix}", call=call, where=where, fix=fix
        )
        self.call = call
        self.where = where
        self.fix = fix


_NETWORK_FIX = (
    "a simulated run has no network; declare the service under dependencies: and point the code "
    "at ${deps.NAME.url} (redis.asyncio and httpx.AsyncClient are routed to simulated dependencies)"
)
_DNS_FIX = "a simulated run resolves no names; use a dependency's simulated URL (${deps.NAME.url})"
_THREAD_FIX = (
    "threads run outside virtual time and make runs irreproducible; write the code as async def "
    "(frameworks run sync endpoints and dependencies in a thread pool)"
)
_SLEEP_FIX = "it would hold the event loop in real time; use await asyncio.sleep(seconds)"
_UUID1_FIX = "it reads the host's clock and MAC address; use uuid.uuid4(), which draws from the run's seed"

_TIME_NAMES = ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns")
_TIME_NAMES_OF: weakref.WeakKeyDictionary[ModuleType, tuple[str, ...]] = weakref.WeakKeyDictionary()
"""For each module scanned, the names that held a ``time`` function (a module is scanned once)."""


class RealWorldGuard:
    """Patches for one run on one thread; a context manager, undone on exit.

    ``clock`` is the run's virtual clock, ``rng`` the run's stream for ``random``, ``uuid4`` and
    ``os.urandom``.
    """

    def __init__(self, clock: VirtualClock, rng: random.Random) -> None:
        self.clock = clock
        self.rng = rng
        self.violation: ForbiddenCall | None = None
        self._thread = 0
        self._undo: list[Callable[[], None]] = []

    # -- what the patches do --------------------------------------------------------------------------

    def _here(self) -> bool:
        return threading.get_ident() == self._thread

    def refuse(self, call: str, fix: str) -> ForbiddenCall:
        """Record (the first) and return the error for a refused ``call``, located at the user's line."""
        error = ForbiddenCall(call, fix, caller_line(sys._getframe(1)))
        if self.violation is None:
            self.violation = error
        return error

    def _refusing(self, original: Callable[..., Any], call: str, fix: str) -> Callable[..., Any]:
        guard = self

        def refused(*args: Any, **kwargs: Any) -> Any:
            if guard._here():
                raise guard.refuse(call, fix)
            return original(*args, **kwargs)

        return refused

    def _virtual(self, name: str, original: Callable[[], Any]) -> Callable[[], Any]:
        clock, here = self.clock, self._here
        if name == "time":
            return lambda: EPOCH + clock.now() if here() else original()
        if name == "time_ns":
            return lambda: int((EPOCH + clock.now()) * 1e9) if here() else original()
        if name.endswith("_ns"):
            return lambda: int(clock.now() * 1e9) if here() else original()
        return lambda: clock.now() if here() else original()

    def _urandom(self, original: Callable[[int], bytes]) -> Callable[[int], bytes]:
        rng, here = self.rng, self._here

        def urandom(n: int) -> bytes:
            return rng.randbytes(n) if here() else original(n)

        return urandom

    def _uuid4(self) -> uuid.UUID:
        if not self._here():
            return uuid.UUID(bytes=os.urandom(16), version=4)
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    # -- installing and undoing -------------------------------------------------------------------------

    def _set(self, owner: Any, name: str, value: Any) -> None:
        if isinstance(owner, type) and name not in owner.__dict__:
            setattr(owner, name, value)  # an inherited method: shadow it, then remove the shadow
            self._undo.append(lambda: delattr(owner, name))
            return
        original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        setattr(owner, name, value)
        self._undo.append(lambda: setattr(owner, name, original))

    def _patch_network(self) -> None:
        for method in ("connect", "connect_ex", "bind", "sendto"):
            original = getattr(socket.socket, method)
            self._set(socket.socket, method, self._refusing(original, f"socket.{method}()", _NETWORK_FIX))
        for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo"):
            self._set(socket, name, self._refusing(getattr(socket, name), f"socket.{name}()", _DNS_FIX))

    def _patch_threads_and_sleep(self) -> None:
        start = threading.Thread.start
        self._set(threading.Thread, "start", self._refusing(start, "threading.Thread.start()", _THREAD_FIX))
        self._set(time, "sleep", self._refusing(time.sleep, "time.sleep()", _SLEEP_FIX))
        self._set(uuid, "uuid1", self._refusing(uuid.uuid1, "uuid.uuid1()", _UUID1_FIX))

    def _patch_time(self) -> None:
        originals = {name: getattr(time, name) for name in _TIME_NAMES}
        replacements = {name: self._virtual(name, fn) for name, fn in originals.items()}
        for name, replacement in replacements.items():
            self._set(time, name, replacement)
        by_id = {id(fn): replacements[name] for name, fn in originals.items()}
        for module in list(sys.modules.values()):
            self._rebind(module, by_id)

    def _rebind(self, module: ModuleType | None, by_id: dict[int, Callable[[], Any]]) -> None:
        """Point ``from time import monotonic``-style names of a non-stdlib module at the virtual clock.

        A module's names are scanned once (:data:`_TIME_NAMES_OF`); later runs look at the names
        found then, so entering the guard costs little once the process has imported its modules.
        """
        name = getattr(module, "__name__", None)
        if module is None or name is None or name.partition(".")[0] in sys.stdlib_module_names:
            return
        if name.startswith("harness.") or name == "harness":
            return
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            return
        try:
            known = _TIME_NAMES_OF.get(module)
        except TypeError:  # a module-like object that cannot be weakly referenced: scan it each time
            known = None
        if known is None:
            known = tuple(attr for attr, value in list(namespace.items()) if id(value) in by_id)
            with contextlib.suppress(TypeError):
                _TIME_NAMES_OF[module] = known
        for attr in known:
            value = namespace.get(attr)
            replacement = by_id.get(id(value))
            if replacement is not None:
                namespace[attr] = replacement
                self._undo.append(functools.partial(namespace.__setitem__, attr, value))

    def _patch_random(self) -> None:
        state = random.getstate()
        random.seed(self.rng.getrandbits(64))
        self._undo.append(lambda: random.setstate(state))
        self._set(uuid, "uuid4", self._uuid4)
        self._set(os, "urandom", self._urandom(os.urandom))
        self._set(random, "_urandom", self._urandom(random._urandom))  # type: ignore[attr-defined]
        numpy = sys.modules.get("numpy")
        if numpy is not None:
            np_state = numpy.random.get_state()
            numpy.random.seed(self.rng.getrandbits(32))
            self._undo.append(lambda: numpy.random.set_state(np_state))

    def __enter__(self) -> RealWorldGuard:
        if self._thread:
            raise UsageError("this guard is already in use; make one RealWorldGuard per run")
        self._thread = threading.get_ident()
        try:
            self._patch_network()
            self._patch_threads_and_sleep()
            self._patch_time()
            self._patch_random()
        except BaseException:
            self._restore()
            raise
        return self

    def _restore(self) -> None:
        while self._undo:
            self._undo.pop()()
        self._thread = 0

    def __exit__(self, *exc: object) -> None:
        self._restore()
