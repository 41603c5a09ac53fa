"""SIGTERM handled as Ctrl-C by the commands that start processes or hold work in flight."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["sigterm_as_interrupt"]


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI job cancelled, ``kill``) raises ``KeyboardInterrupt`` inside the block.

    The command then stops as on Ctrl-C: what it started is stopped by the ``finally`` blocks on
    the way out, and ``harness`` exits 130. Without it, SIGTERM ends the process at once and
    leaves the services, proxies or workers it started (each in its own session) running.
    """

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
