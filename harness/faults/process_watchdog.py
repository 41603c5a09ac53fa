"""Continue stopped processes when the process that stopped them dies, however it dies.

:mod:`harness.faults.process_faults` runs this file by path in its own session
(``python -I -S process_watchdog.py PARENT_PID``) with its stdin a pipe from the parent. Each line
is ``+PID`` (the parent is about to stop that process) or ``-PID`` (it continued or killed it).
When the pipe reaches end of file, which happens when the parent exits by any means (a normal
exit, ``os._exit``, ``SIGKILL``), it sends ``SIGCONT`` to every process still listed and exits.
``SIGTERM`` to the watchdog does the same. A ``SIGCONT`` to a process that is not stopped does
nothing, so a listed process that was continued meanwhile is unharmed.

Only the standard library: it must start fast, with ``-S``, and needs nothing from the harness.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

__all__ = ["main"]


def _apply(line: bytes, stopped: set[int]) -> None:
    text = line.strip()
    if len(text) < 2 or not text[1:].isdigit():
        return
    pid = int(text[1:])
    if text[:1] == b"+":
        stopped.add(pid)
    elif text[:1] == b"-":
        stopped.discard(pid)


def _continue(stopped: set[int]) -> None:
    for pid in sorted(stopped):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGCONT)


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main(fd: int = 0) -> int:
    """Read ``+PID``/``-PID`` lines from ``fd`` until end of file, then continue every listed pid."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is for the parent
    signal.signal(signal.SIGTERM, _terminated)
    stopped: set[int] = set()
    pending = b""
    try:
        while chunk := os.read(fd, 4096):
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                _apply(line, stopped)
    finally:
        _continue(stopped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
