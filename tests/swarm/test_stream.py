"""An interrupt that lands inside a Dask client call is held until the call returns."""

from __future__ import annotations

import signal
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
