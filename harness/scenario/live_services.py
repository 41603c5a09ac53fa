"""The user's services in live mode: start them (or attach), wait until ready, stop them on every path.

A started service runs in its own session (process group), so stopping it reaches every process
it spawned and a Ctrl-C at the terminal reaches the harness only; the harness then stops it:
SIGTERM to the group, ``stop_timeout`` to exit, then SIGKILL. Its standard output and error go to a
log file; when it exits early or its readiness probe times out, the error quotes the log's tail.
Readiness is polled on the engine's clock: an HTTP GET answered below 400, or an open TCP port.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.clock import Clock
from harness.errors import UsageError
from harness.scenario.model import ReadySpec, ServiceSpec
from harness.scenario.templates import TemplateContext

__all__ = [
    "LOG_TAIL_LINES",
    "Notify",
    "ServiceFailed",
    "ServiceProcess",
    "free_port",
    "http_ready",
    "log_tail",
    "tcp_ready",
]

LOG_TAIL_LINES = 20
"""Lines of a failed service's log quoted in the error."""
_POLL = 0.05  # seconds between readiness probes
_PROBE_TIMEOUT = 1.0  # seconds one probe may take
_DEFAULT_READY = ReadySpec(tcp=True)

Notify = Callable[[str], None]
"""Told one line when a service is ready (the CLI prints it)."""


class ServiceFailed(UsageError):
    """A service of the scenario did not start: it exited, or did not become ready in time.

    A usage error (exit 2): the scenario's command does not run as written. ``log`` is the log
    file, ``tail`` its last lines.
    """

    def __init__(self, message: str, *, service: str, log: Path | None, tail: str) -> None:
        where = f"\n--- last lines of {log} ---\n{tail}" if tail else ""
        super().__init__(f"{message}{where}", service=service, log=str(log) if log else None)
        self.service = service
        self.log = log
        self.tail = tail


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of ``path`` (empty if it does not exist)."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass(slots=True)
class _Launch:
    argv: list[str]
    env: dict[str, str]
    cwd: Path | None


class ServiceProcess:
    """One instance of a started service (``name`` is ``service`` or ``service@group``)."""

    def __init__(
        self,
        name: str,
        spec: ServiceSpec,
        context: TemplateContext,
        *,
        log: Path,
        clock: Clock,
        notify: Notify | None = None,
    ) -> None:
        if spec.command is None:
            raise UsageError(f"service {name!r} has no command to start", service=name)
        self.name = name
        self.spec = spec
        self.context = context
        self.log = log
        self.clock = clock
        self.port = context.port
        self.notify = notify
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``: where the instance listens."""
        return f"127.0.0.1:{self.port}"

    def _launch(self) -> _Launch:
        spec, context = self.spec, self.context
        assert spec.command is not None
        env = dict(os.environ)
        env.update({key: context.render(value) for key, value in spec.env.items()})
        return _Launch(
            argv=[context.render(item) for item in spec.command],
            env=env,
            cwd=Path(spec.cwd) if spec.cwd is not None else None,
        )

    async def start(self) -> None:
        """Start the process and wait until it is ready; on failure stop it and raise ServiceFailed."""
        launch = self._launch()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            try:
                # The scenario's own command, as an argument list (no shell); Popen returns at once.
                self.proc = subprocess.Popen(  # noqa: S603, ASYNC220
                    launch.argv,
                    env=launch.env,
                    cwd=launch.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ServiceFailed(
                    f"service {self.name!r} could not start {launch.argv[0]!r}: {exc.strerror or exc}",
                    service=self.name,
                    log=None,
                    tail="",
                ) from None
        try:
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise
        if self.notify is not None:
            self.notify(f"service {self.name} ready at {self.address} (pid {self.pid}, log {self.log})")

    @property
    def pid(self) -> int | None:
        """The process id (None before start)."""
        return self.proc.pid if self.proc is not None else None

    async def _wait_ready(self) -> None:
        ready = self.spec.ready or _DEFAULT_READY
        deadline = self.clock.now() + ready.timeout
        while True:
            code = self.proc.poll() if self.proc is not None else None
            if code is not None:
                raise self._failed(f"exited with status {code} before it was ready")
            if await self._probe(ready):
                return
            if self.clock.now() >= deadline:
                raise self._failed(f"was not ready within {ready.timeout:g}s ({self._probe_text(ready)})")
            await self.clock.sleep(_POLL)

    def _probe_text(self, ready: ReadySpec) -> str:
        return f"GET http://{self.address}{ready.http}" if ready.http else f"TCP connect to {self.address}"

    def _failed(self, what: str) -> ServiceFailed:
        return ServiceFailed(
            f"service {self.name!r} {what}", service=self.name, log=self.log, tail=log_tail(self.log)
        )

    async def _probe(self, ready: ReadySpec) -> bool:
        if ready.http is not None:
            return await http_ready(f"http://{self.address}{ready.http}")
        return await tcp_ready("127.0.0.1", int(self.port or 0))

    async def stop(self) -> None:
        """SIGTERM the process group, wait ``stop_timeout``, then SIGKILL; idempotent."""
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        _signal_group(proc, signal.SIGTERM)
        deadline = self.clock.now() + self.spec.stop_timeout
        while proc.poll() is None and self.clock.now() < deadline:
            await self.clock.sleep(_POLL)
        if proc.poll() is None:
            _signal_group(proc, signal.SIGKILL)
            await asyncio.to_thread(proc.wait)
        _signal_group(proc, signal.SIGKILL)  # whatever it left behind in its group

    def kill_now(self) -> None:
        """SIGKILL the process group at once (the last resort when the loop is gone)."""
        if self.proc is not None and self.proc.poll() is None:
            _signal_group(self.proc, signal.SIGKILL)
            self.proc.wait()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


async def tcp_ready(host: str, port: int) -> bool:
    """Whether ``host:port`` accepts a TCP connection now."""
    try:
        async with asyncio.timeout(_PROBE_TIMEOUT):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def http_ready(url: str, headers: Mapping[str, str] | None = None) -> bool:
    """Whether ``url`` answers a GET with a status below 400 now."""
    import aiohttp

    try:
        timeout = aiohttp.ClientTimeout(total=_PROBE_TIMEOUT)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, headers=dict(headers or {})) as resp,
        ):
            await resp.read()
            return resp.status < 400
    except (aiohttp.ClientError, TimeoutError, OSError):
        return False
