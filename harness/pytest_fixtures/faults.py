"""Fault fixtures: ``inject_fault``, ``fault_proxy``, ``process_fault``, and faults in the chaos marker.

Each fixture is a factory; everything it creates is undone at teardown on every exit path
(pass, failure, exception, KeyboardInterrupt: pytest tears fixtures down at session end):
patches restored, proxies deleted (with their toxics), paused processes resumed. Decisions are
seeded from the test's chaos seed, so a failing test replays with its ``--chaos-seed``.

``@pytest.mark.chaos(seed=7, faults={"myapp.cache:get": raise_error(ConnectionError, 0.2)})``
injects faults around the test call (a list of faults per target is accepted too).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from harness.faults import Fault, Injection, ProcessFaults, ProxyHandle

__all__ = [
    "InjectFault",
    "ProxyFactory",
    "fault_proxy",
    "inject_fault",
    "process_fault",
    "pytest_runtest_call",
]


class InjectFault(Protocol):
    """``inject_fault(target, *faults, **options) -> Injection`` (already active)."""

    def __call__(self, target: str | Callable[..., Any], *faults: Fault, **options: Any) -> Injection: ...


class ProxyFactory(Protocol):
    """``fault_proxy(name, upstream=..., listen=...) -> ProxyHandle``."""

    def __call__(self, name: str, upstream: str, *, listen: str = "127.0.0.1:0") -> ProxyHandle: ...


def _seed_for(request: pytest.FixtureRequest, chaos_seed: int, name: str) -> int:
    from harness.seeding import Seeds

    return Seeds(chaos_seed).child(request.node.nodeid).int_seed(name)


@pytest.fixture
def inject_fault(request: pytest.FixtureRequest, chaos_seed: int) -> Iterator[InjectFault]:
    """Patch targets with seeded faults for this test; every patch is restored at teardown."""
    from harness.faults import inject

    active: list[Injection] = []

    def factory(target: str | Callable[..., Any], *faults: Fault, **options: Any) -> Injection:
        options.setdefault("seed", _seed_for(request, chaos_seed, f"inject/{len(active)}"))
        injection = inject(target, *faults, **options)
        injection.start()
        active.append(injection)
        return injection

    try:
        yield factory
    finally:
        for injection in reversed(active):
            injection.stop()


@pytest.fixture
def fault_proxy(request: pytest.FixtureRequest, chaos_seed: int) -> Iterator[ProxyFactory]:
    """Create loopback fault proxies; every proxy and toxic is removed at teardown.

    Uses the real Toxiproxy at ``HARNESS_TOXIPROXY_URL`` when set, else an in-process server
    seeded from the test's seed (started on first use).
    """
    from harness.faults import ApiServer, backend_from_env, serve_api

    backend = backend_from_env()
    server: ApiServer | None = None
    created: list[ProxyHandle] = []

    def factory(name: str, upstream: str, *, listen: str = "127.0.0.1:0") -> ProxyHandle:
        nonlocal server
        client = backend
        if client is None:
            if server is None:
                server = serve_api(port=0, seed=_seed_for(request, chaos_seed, "proxy"))
            client = server.client()
        handle = client.create(name, upstream, listen=listen)
        created.append(handle)
        return handle

    try:
        yield factory
    finally:
        _teardown_proxies(created, server)


def _teardown_proxies(created: Sequence[ProxyHandle], server: Any) -> None:
    from harness.errors import UsageError

    try:
        for handle in reversed(created):
            with contextlib.suppress(UsageError):
                handle.delete()
    finally:
        if server is not None:
            server.close()


@pytest.fixture
def process_fault() -> Iterator[Callable[..., ProcessFaults]]:
    """``process_fault(popen_or_pid, clock=...)``: signals for a child; paused ones resume at teardown.

    If pytest itself dies first (SIGTERM, ``os._exit``, SIGKILL), the process faults' exit hooks
    and watchdog continue every paused child: none is left stopped.
    """
    from harness.faults import ProcessFaults

    made: list[ProcessFaults] = []

    def factory(process: Any, **options: Any) -> ProcessFaults:
        faults = ProcessFaults(process, **options)
        made.append(faults)
        return faults

    try:
        yield factory
    finally:
        for faults in reversed(made):
            faults.close()


def _marker_faults(item: pytest.Item) -> Mapping[str, Any] | None:
    marker = item.get_closest_marker("chaos")
    if marker is None:
        return None
    faults = marker.kwargs.get("faults")
    if faults is None:
        return None
    if not isinstance(faults, Mapping):
        raise pytest.UsageError(
            f"{item.nodeid}: @pytest.mark.chaos(faults=...) takes a dict of target -> fault(s), "
            f"e.g. {{'myapp.cache:get': raise_error(ConnectionError, 0.2)}}; got {faults!r}"
        )
    return faults


def _marker_seed(item: pytest.Item, target: str) -> int:
    from harness.pytest_plugin import seed_of
    from harness.seeding import Seeds

    return Seeds(seed_of(item)).child(item.nodeid).int_seed(f"marker/{target}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Inject the chaos marker's faults around the test call, and restore them after."""
    faults = _marker_faults(item)
    if not faults:
        return (yield)
    from harness.faults import inject

    with contextlib.ExitStack() as stack:
        for target, spec in faults.items():
            listed = tuple(spec) if isinstance(spec, (list, tuple)) else (spec,)
            stack.enter_context(inject(target, *listed, seed=_marker_seed(item, str(target))))
        return (yield)
