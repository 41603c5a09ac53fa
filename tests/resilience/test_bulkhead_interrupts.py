"""A bulkhead waiter interrupted by an exception never costs the bulkhead a slot."""

from __future__ import annotations

import math
import threading
import types
from collections.abc import Callable

import pytest

import harness.resilience.bulkhead as bulkhead_module
from harness.errors import InvalidConfig
from harness.resilience import Bulkhead, BulkheadConfig


def _interrupting_events(monkeypatch: pytest.MonkeyPatch, before: Callable[[], None]) -> None:
    """Sync waiters' events raise KeyboardInterrupt from ``wait``, as a signal handler would."""

    class InterruptedEvent(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            before()
            raise KeyboardInterrupt

    fake = types.SimpleNamespace(Event=InterruptedEvent, Lock=threading.Lock)
    monkeypatch.setattr(bulkhead_module, "threading", fake)


def _one_slot_one_waiter() -> Bulkhead:
    bulkhead = Bulkhead(BulkheadConfig(max_concurrent=1, max_waiting=1, wait_timeout=30.0))
    bulkhead.acquire()
    return bulkhead


def test_interrupted_sync_waiter_leaves_the_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while queued: the waiter is gone, and the next release frees the slot for real."""
    bulkhead = _one_slot_one_waiter()
    with monkeypatch.context() as patch:
        _interrupting_events(patch, lambda: None)
        with pytest.raises(KeyboardInterrupt):
            bulkhead.acquire()
    assert bulkhead.waiting == 0
    bulkhead.release()
    assert bulkhead.active == 0
    bulkhead.acquire()
    assert (bulkhead.active, bulkhead.waiting) == (1, 0)


def test_sync_waiter_interrupted_as_it_is_handed_a_slot_passes_the_slot_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The slot is released to the waiter, then the interrupt lands: the slot is freed, not lost."""
    bulkhead = _one_slot_one_waiter()
    with monkeypatch.context() as patch:
        _interrupting_events(patch, bulkhead.release)
        with pytest.raises(KeyboardInterrupt):
            bulkhead.acquire()
    assert (bulkhead.active, bulkhead.waiting) == (0, 0)
    assert bulkhead.call(lambda: "ran") == "ran"


def test_nan_wait_timeout_is_refused() -> None:
    """A NaN wait would make queued tasks wait forever; it is refused where it is written."""
    with pytest.raises(InvalidConfig, match="wait_timeout=nan"):
        BulkheadConfig(max_waiting=1, wait_timeout=math.nan)
