"""A real redis-server for one test: started on a free port, stopped, continued, killed, restarted.

The storage-fault suite needs a server it may break (SIGSTOP, SIGKILL, REPLICAOF, CONFIG SET), so
it never uses the shared ``HARNESS_REDIS_URL`` server. ``redis-server`` is required in CI (``.ci/run``
installs it) and optional on a developer machine, where the suite is skipped with the reason.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

_READY = b"Ready to accept connections"
_START_TIMEOUT = 30.0


def redis_server_binary() -> str:
    """The path of ``redis-server``; skip (locally) or fail (in CI) when it is missing."""
    binary = shutil.which("redis-server")
    if binary is None:
        reason = "needs the redis-server binary (Debian package redis-server; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return binary


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1 that a test may break and mend."""

    def __init__(self, binary: str, port: int) -> None:
        self.binary = binary
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        self._drainer: threading.Thread | None = None

    def url(self, db: int = 0) -> str:
        """The server's URL for database ``db``."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        """Start the server and return once it accepts connections (it says so on stdout)."""
        args = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
        args += ["--appendonly", "no", "--daemonize", "no", "--logfile", ""]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert self.proc.stdout is not None
        seen = b""
        deadline = time.monotonic() + _START_TIMEOUT
        while _READY not in seen:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, left))
            chunk = os.read(self.proc.stdout.fileno(), 4096) if ready else b""
            if not chunk:
                self.kill()
                raise RuntimeError(f"redis-server did not start on port {self.port}: {seen.decode()[-500:]}")
            seen += chunk
        # Keep reading its log so the server never blocks on a full pipe.
        self._drainer = threading.Thread(target=_drain, args=(self.proc.stdout.fileno(),), daemon=True)
        self._drainer.start()

    def signal(self, signum: signal.Signals) -> None:
        """Send ``signum`` to the server process."""
        assert self.proc is not None
        self.proc.send_signal(signum)

    def kill(self) -> None:
        """SIGKILL the server (idempotent)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.kill()
        proc.wait(timeout=30)
        if self._drainer is not None:
            self._drainer.join(timeout=30)  # the pipe reached end of file with the process
        if proc.stdout is not None:
            proc.stdout.close()


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A started server, killed at the end whatever happened to it."""
    server = RedisServer(redis_server_binary(), free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()


@contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts TCP connections (in its backlog) and never answers; yields the port."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield int(listener.getsockname()[1])
