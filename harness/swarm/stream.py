"""Tasks streamed through a Dask cluster with a bounded number in flight.

:func:`completed` yields results as tasks finish; :func:`ordered` yields them in submission order
(what ``map`` promises). Both keep at most ``in_flight`` tasks on the cluster, so the client holds
a bounded number of futures and results however many jobs there are, and both cancel what is in
flight when the consumer stops early, raises, or is interrupted (Ctrl-C).
:func:`swarm_map` is a drop-in ``map`` for seeded calibration loops; :func:`swarm_mapper` gives
the built-in ``map``, or ``swarm_map`` on a local or remote cluster, from command-line options.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import itertools
import signal
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from harness._checks import integer

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = [
    "Mapper",
    "completed",
    "default_in_flight",
    "deferred_interrupts",
    "ordered",
    "swarm_map",
    "swarm_mapper",
    "worker_threads",
]

J = TypeVar("J")
R = TypeVar("R")
T = TypeVar("T")

Mapper = Callable[[Callable[[Any], Any], Iterable[Any]], Iterator[Any]]
"""What ``map`` is: a function and an iterable in, the results in order out."""


_HELD = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends, then deliver them to the handlers in place.

    Around every Dask client call that returns promptly (``submit``, ``cancel``, ``release``,
    ``nthreads``, ``result`` of a finished future): an interrupt raised inside one lands between
    the client registering a future and the caller holding it, so the caller cannot cancel that
    task, or between queuing a message and its IO thread sending it, or inside
    ``distributed.utils.sync`` before its coroutine started, whose clean-up then fails with a
    ``NameError`` traceback on the client's loop (distributed 2026.8). Waiting for a task to
    finish stays interruptible, and is done outside ``Client.sync`` (:func:`_settled`, or
    ``as_completed``). Only the main thread receives signals; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: object) -> None:
        pending.append(signum)

    previous = {signum: signal.signal(signum, hold) for signum in _HELD}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for held in dict.fromkeys(pending):
            signal.raise_signal(held)


def worker_threads(client: Client) -> int:
    """How many tasks the cluster runs at once (its workers' threads), at least 1."""
    with deferred_interrupts():
        threads: dict[str, int] = client.nthreads()
    return max(1, sum(threads.values()))


def default_in_flight(client: Client) -> int:
    """Twice the cluster's worker threads: every worker has its next task while the client collects."""
    return 2 * worker_threads(client)


def completed(
    client: Client, fn: Callable[[J], R], jobs: Iterable[J], *, in_flight: int | None = None
) -> Generator[R]:
    """``fn(job)`` for every job on the cluster, yielded as each finishes (any order)."""
    from distributed import as_completed

    limit = integer("in_flight", in_flight or default_in_flight(client), at_least=1)
    todo = iter(jobs)
    running: set[Future[R]] = set()
    queue = as_completed()

    def submit_next() -> None:
        job = next(todo, None)
        if job is not None:
            with deferred_interrupts():
                future = client.submit(fn, job, pure=False)
                running.add(future)
                queue.add(future)

    try:
        for _ in range(limit):
            submit_next()
        for future in queue:  # the one wait, interruptible
            with deferred_interrupts():
                running.discard(future)
                result: R = future.result()  # finished: only its data to fetch
                future.release()
            yield result
            submit_next()
    finally:
        queue.clear()
        if running:
            with deferred_interrupts():
                client.cancel(list(running))


def ordered(
    client: Client, fn: Callable[[J], R], jobs: Iterable[J], *, in_flight: int | None = None
) -> Generator[R]:
    """``fn(job)`` for every job on the cluster, yielded in the order of ``jobs``."""
    limit = integer("in_flight", in_flight or default_in_flight(client), at_least=1)
    window: deque[Future[R]] = deque()
    try:
        for job in jobs:
            with deferred_interrupts():
                window.append(client.submit(fn, job, pure=False))
            if len(window) >= limit:
                yield _take(window)
        while window:
            yield _take(window)
    finally:
        if window:
            with deferred_interrupts():
                client.cancel(list(window))


def _settled(future: Future[Any]) -> None:
    """Wait, interruptibly, until ``future`` has finished, failed or been cancelled.

    Not ``future.result()``: that waits inside ``Client.sync``, whose interrupt clean-up can fail
    (see :func:`deferred_interrupts`). The done callback runs on Dask's callback thread; the wait
    wakes every 0.1 s, so an interrupt delivered to another thread is seen within that time.
    """
    done = threading.Event()
    future.add_done_callback(lambda _: done.set())
    while not done.wait(0.1):
        pass


def _take(window: deque[Future[R]]) -> R:
    _settled(window[0])
    with deferred_interrupts():
        result: R = window[0].result()
        window.popleft().release()
    return result


def _apply_all(fn: Callable[[T], R], chunk: list[T]) -> list[R]:
    return [fn(item) for item in chunk]


def swarm_map(client: Client, *, batch: int = 100, in_flight: int | None = None) -> Mapper:
    """A ``map`` that runs on ``client``'s cluster: ``batch`` items per task, results in order.

    For seeded calibration loops whose items are independent (each run draws from its own
    stream): ``calibrate(..., map=swarm_map(client))`` gives the same result as the built-in
    ``map``, computed on every worker. ``fn`` travels to the workers by cloudpickle, so a function
    defined in a script works too.
    """
    integer("batch", batch, at_least=1)

    def mapper(fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        chunks = iter(functools.partial(_chunk, iter(items), batch), [])
        for results in ordered(client, functools.partial(_apply_all, fn), chunks, in_flight=in_flight):
            yield from results

    return mapper


@contextlib.contextmanager
def swarm_mapper(
    *, workers: int | None = None, scheduler: str | None = None, batch: int = 1
) -> Iterator[Callable[..., Iterable[Any]]]:
    """The built-in ``map`` when neither ``workers`` nor ``scheduler`` is given, else :func:`swarm_map`
    on a local cluster of ``workers`` processes or on the cluster at ``scheduler`` (closed on exit).

    For calibration scripts whose ``--workers``/``--scheduler`` options pick where the batches run;
    ``batch`` is items per task (1 when each item is already a batch of runs).
    """
    if workers is None and scheduler is None:
        yield builtins.map
        return
    from harness.swarm.cluster import swarm_client

    with swarm_client(workers=workers, scheduler=scheduler) as client:
        yield swarm_map(client, batch=batch)


def _chunk(items: Iterator[T], size: int) -> list[T]:
    return list(itertools.islice(items, size))
