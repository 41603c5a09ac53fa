"""An interrupt that lands inside a Dask client call is held until the call returns."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.swarm.stream import deferred_interrupts, ordered


class _Future:
    def __init__(self, value: int) -> None:
        self.value = value
        self.released = False

    def result(self) -> int:
        return self.value

    def release(self) -> None:
        self.released = True

    def add_done_callback(self, fn: Callable[[_Future], None]) -> None:
        fn(self)  # finished from the start


class _InterruptedClient:
    """A client on which Ctrl-C arrives while ``submit`` runs, after the task reached the cluster."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.submitted: list[_Future] = []
        self.cancelled: list[_Future] = []

    def submit(self, fn: Callable[[int], int], job: int, pure: bool) -> _Future:
        future = _Future(fn(job))
        self.submitted.append(future)
        signal.raise_signal(self.signum)
        return future

    def cancel(self, futures: list[_Future]) -> None:
        self.cancelled.extend(futures)


@pytest.fixture
def interrupt_handlers() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt, and so does SIGTERM (as ``harness swarm`` sets it)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in previous.items():
        signal.signal(signum, handler)


@pytest.mark.usefixtures("interrupt_handlers")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_a_task_submitted_when_ctrl_c_arrives_is_cancelled(signum: int) -> None:
    """Raised inside ``submit``, the interrupt lost the future of a task the cluster already had:
    nothing cancelled it and it ran on. Held until ``submit`` returns, the future is cancelled."""
    client = _InterruptedClient(signum)
    results = ordered(client, lambda job: job * 10, iter([1, 2, 3]), in_flight=2)  # type: ignore[arg-type]
    with pytest.raises(KeyboardInterrupt):
        next(results)
    assert len(client.submitted) == 1
    assert client.cancelled == client.submitted


@pytest.mark.usefixtures("interrupt_handlers")
def test_the_held_interrupt_is_delivered_once_when_the_block_ends() -> None:
    reached: list[str] = []
    handler = signal.getsignal(signal.SIGINT)

    def interrupted_twice() -> None:
        with deferred_interrupts():
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)
            reached.append("end of the block")

    with pytest.raises(KeyboardInterrupt):
        interrupted_twice()
    assert reached == ["end of the block"]
    assert signal.getsignal(signal.SIGINT) is handler


def test_results_come_in_order_and_are_released() -> None:
    class Client:
        def __init__(self) -> None:
            self.futures: list[_Future] = []

        def submit(self, fn: Callable[[int], int], job: int, pure: bool) -> _Future:
            self.futures.append(_Future(fn(job)))
            return self.futures[-1]

        def cancel(self, futures: list[Any]) -> None:
            raise AssertionError("nothing to cancel")

    client = Client()
    assert list(ordered(client, lambda job: job + 1, range(5), in_flight=2)) == [1, 2, 3, 4, 5]  # type: ignore[arg-type]
    assert all(f.released for f in client.futures)


class _Calls:
    """A client whose every call records its start and end, and on which Ctrl-C arrives in the
    middle of the call named ``interrupted`` (the first time it runs)."""

    def __init__(self, interrupted: str) -> None:
        self.interrupted = interrupted
        self.log: list[str] = []
        self.cancelled: list[_CallsFuture] = []

    def call(self, name: str) -> None:
        self.log.append(f"start {name}")
        if name == self.interrupted and f"end {name}" not in self.log:
            signal.raise_signal(signal.SIGINT)
        self.log.append(f"end {name}")

    def nthreads(self) -> dict[str, int]:
        self.call("nthreads")
        return {"worker": 1}

    def submit(self, fn: Callable[[int], int], job: int, pure: bool) -> _CallsFuture:
        self.call("submit")
        return _CallsFuture(self, fn(job))

    def cancel(self, futures: list[_CallsFuture]) -> None:
        self.call("cancel")
        self.cancelled.extend(futures)


class _CallsFuture:
    def __init__(self, client: _Calls, value: int) -> None:
        self.client = client
        self.value = value

    def add_done_callback(self, fn: Callable[[_CallsFuture], None]) -> None:
        fn(self)

    def result(self) -> int:
        self.client.call("result")
        return self.value

    def release(self) -> None:
        self.client.call("release")


@pytest.mark.usefixtures("interrupt_handlers")
@pytest.mark.parametrize("call", ["nthreads", "submit", "result", "release"])
def test_ctrl_c_during_a_client_call_waits_for_the_call_to_return(call: str) -> None:
    """Cut short, ``Client.sync`` calls (``nthreads``, ``result``) log a NameError traceback from
    distributed's clean-up, and ``submit``/``release`` leave the cluster's state unknown; held,
    each call ends, then the interrupt stops the stream and what is in flight is cancelled."""
    client = _Calls(call)
    results = ordered(client, lambda job: job, iter(range(10)))  # type: ignore[arg-type]
    with pytest.raises(KeyboardInterrupt):
        list(results)
    started = [entry.removeprefix("start ") for entry in client.log if entry.startswith("start")]
    ended = [entry.removeprefix("end ") for entry in client.log if entry.startswith("end")]
    assert started == ended
    assert call in ended
    nothing_submitted = call == "nthreads"  # asked first, for the default in-flight limit
    assert client.log[-1] == ("end nthreads" if nothing_submitted else "end cancel")


class _NeverFinished(_Future):
    def add_done_callback(self, fn: Callable[[_Future], None]) -> None:
        """The task runs on; Ctrl-C comes from another thread, as a terminal's does."""
        threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGINT)).start()


@pytest.mark.usefixtures("interrupt_handlers")
def test_waiting_for_a_task_stays_interruptible() -> None:
    class Client:
        def __init__(self) -> None:
            self.cancelled: list[_Future] = []

        def submit(self, fn: Callable[[int], int], job: int, pure: bool) -> _Future:
            return _NeverFinished(job)

        def cancel(self, futures: list[_Future]) -> None:
            self.cancelled.extend(futures)

    client = Client()
    with pytest.raises(KeyboardInterrupt):
        list(ordered(client, lambda job: job, range(3), in_flight=2))  # type: ignore[arg-type]
    assert [f.value for f in client.cancelled] == [0, 1]
