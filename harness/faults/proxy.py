"""``FaultProxy``: an asyncio TCP proxy that applies Toxiproxy's toxics, with seeded randomness.

While a proxy has no toxic, each accepted connection is carried by a
:class:`~harness.faults.relay.Relay`: two threads with blocking calls, the lowest-latency path
Python offers (``FastPath.THREADS``, the default, up to ``max_relays`` connections). When a toxic
is added the relay hands its sockets to the event loop. There each connection has two pipes,
``upstream`` (client to server) and ``downstream`` (server to client). A pipe with no toxic
forwards each buffer from the protocol callback (no queue, no task); with toxics, chunks are
stamped with their arrival time, planned by :class:`~harness.faults.toxics.ToxicState` (pure)
and sent when due by one task per pipe.

Randomness comes from ``Seeds(seed)`` streams named
``proxy/<proxy>/conn-<n>/<direction>/<toxic>``, so a seed replays toxicity and jitter draws per
connection. Toxics added, changed or removed apply to connections already open."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import socket
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from harness.clock import Clock, SystemClock
from harness.faults.relay import Relay, RelayEnd
from harness.faults.toxics import Piece, Stream, Toxic, ToxicError, ToxicState, ToxicType, check_name
from harness.journal import Event
from harness.seeding import Seeds

__all__ = ["ConnectionInfo", "FastPath", "FaultProxy", "format_address", "parse_address"]

_HIGH_WATER = 1 << 20  # queued bytes before a slow pipe pauses its reader
_WRITE_HIGH = 1 << 20
_EOF = b""
_CONNECT_TIMEOUT = 10.0  # seconds to reach the upstream before the client is closed
_EVENTS_KEPT = 10_000
_WRITES_PER_TURN = 64  # writes a toxic pipe makes before it yields to the event loop


def parse_address(text: str, *, what: str = "listen") -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` to a (host, port) pair; ``ToxicError`` (500) otherwise."""
    host, sep, port_text = text.rpartition(":")
    if not sep:
        raise ToxicError(f"{what} tcp: address {text}: missing port in address", status=500, value=text)
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ToxicError(f"{what} tcp: address {text}: invalid port", status=500, value=text)
    return host or "127.0.0.1", int(port_text)


def format_address(host: str, port: int) -> str:
    """The ``host:port`` form, bracketing IPv6 hosts."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """A live connection through a proxy, as ``GET /proxies/{name}/connections`` lists it."""

    id: int
    client: str
    upstream_bytes: int
    downstream_bytes: int
    toxics: dict[str, bool]

    def to_json(self) -> dict[str, Any]:
        """JSON form: which toxics apply (per ``<direction>/<toxic>``) and bytes per direction."""
        return {
            "id": self.id,
            "client": self.client,
            "bytes": {"upstream": self.upstream_bytes, "downstream": self.downstream_bytes},
            "toxics": self.toxics,
        }


class _Side(asyncio.Protocol):
    """One socket of a proxied connection (the client's or the upstream's)."""

    def __init__(self, conn: _Connection, role: Stream) -> None:
        self.conn = conn
        self.role = role  # the direction of data this side *reads*
        self.transport: asyncio.Transport | None = None
        self.pipe: _Pipe | None = None
        self.peer: _Side | None = None
        self.lost = False
        self.gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pauses: set[str] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.set_write_buffer_limits(high=_WRITE_HIGH)

    def data_received(self, data: bytes) -> None:
        pipe = self.pipe
        assert pipe is not None
        pipe.nbytes += len(data)
        if pipe.idle and not pipe.toxics:
            pipe.dst_write(data)
        else:
            pipe.enqueue(data)

    def eof_received(self) -> bool:
        if self.pipe is not None:
            self.pipe.feed_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if not self.gone.done():
            self.gone.set_result(None)
        if self.pipe is not None:
            self.pipe.source_lost = True
            self.pipe.feed_eof()
        if self.peer is not None and self.peer.transport is not None:
            self.peer.resume("peer-write")

    def pause_writing(self) -> None:
        if self.peer is not None:
            self.peer.pause("peer-write")

    def resume_writing(self) -> None:
        if self.peer is not None:
            self.peer.resume("peer-write")

    def pause(self, reason: str) -> None:
        if not self._pauses and self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()
        self._pauses.add(reason)

    def resume(self, reason: str) -> None:
        self._pauses.discard(reason)
        if not self._pauses and self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()


class _Pipe:
    """Bytes read by ``src`` and written to ``dst`` through the proxy's toxics for a direction."""

    def __init__(self, conn: _Connection, direction: Stream, src: _Side, dst: _Side) -> None:
        self.conn = conn
        self.direction = direction
        self.src = src
        self.dst = dst
        self.toxics: list[Toxic] = conn.proxy._toxics[direction]  # the live list, mutated in place
        self.states: dict[str, ToxicState] = {}
        self.timers: dict[str, asyncio.Task[None]] = {}
        self.queue: deque[tuple[float, bytes]] = deque()
        self.queued = 0
        self.nbytes = 0
        self.idle = False  # becomes True once the upstream is connected
        self.task: asyncio.Task[None] | None = None
        self.eof = False
        self.done = False
        self.source_lost = False
        self.changed = asyncio.Event()
        self.writes = 0  # writes since this pipe last yielded to the event loop

    def dst_write(self, data: bytes) -> None:
        transport = self.dst.transport
        if transport is not None and not self.dst.lost:
            transport.write(data)

    def enqueue(self, data: bytes) -> None:
        self.idle = False
        self.queue.append((self.conn.proxy.clock.now(), data))
        self.queued += len(data)
        if self.queued > _HIGH_WATER:
            self.src.pause("queue")
        self._kick()

    def feed_eof(self) -> None:
        if self.eof:
            return
        self.eof = True
        self.idle = False
        self.queue.append((self.conn.proxy.clock.now(), _EOF))
        self._kick()

    def _kick(self) -> None:
        if self.task is None and self.conn.ready:
            self.task = asyncio.get_running_loop().create_task(self._run())

    def start(self) -> None:
        """The upstream is connected: start forwarding."""
        if self.queue:
            self._kick()
        else:
            self.idle = True

    # --- toxic states -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Bring per-connection toxic states in line with the proxy's toxics (adds, updates, removals)."""
        current = {t.name: t for t in self.toxics}
        for name in list(self.states):
            if name not in current:
                removed = self.states.pop(name)
                self._disarm(name, removed)
        for toxic in self.toxics:
            state = self.states.get(toxic.name)
            if state is None:
                state = ToxicState(toxic, self.conn.proxy._rng(self.conn.id, self.direction, toxic.name))
                self.states[toxic.name] = state
                self.conn.proxy._record(
                    "toxic.decision",
                    conn=self.conn.id,
                    direction=self.direction.value,
                    toxic=toxic.name,
                    applies=state.applies,
                )
            else:
                state.toxic = toxic
            self._arm(state)
        self.changed.set()
        self.changed = asyncio.Event()

    def _arm(self, state: ToxicState) -> None:
        kind = state.toxic.type
        if kind not in (ToxicType.TIMEOUT, ToxicType.RESET_PEER) or not state.applies:
            return
        if state.toxic.name in self.timers:
            return
        millis = state.toxic.attributes["timeout"]
        if kind is ToxicType.TIMEOUT and millis == 0:
            self.timers[state.toxic.name] = asyncio.get_running_loop().create_task(asyncio.sleep(0))
            return
        action = self.conn.close if kind is ToxicType.TIMEOUT else self.conn.reset
        self.timers[state.toxic.name] = asyncio.get_running_loop().create_task(self._fire(millis, action))

    async def _fire(self, millis: int, action: Callable[[], None]) -> None:
        await self.conn.proxy.clock.sleep(millis / 1000.0)
        action()

    def _disarm(self, name: str, state: ToxicState) -> None:
        timer = self.timers.pop(name, None)
        if timer is not None:
            timer.cancel()
        if state.toxic.type is ToxicType.TIMEOUT and state.applies:
            self.conn.close()  # Toxiproxy: removing a timeout toxic closes its connections

    def cancel(self) -> None:
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()
        if self.task is not None:
            self.task.cancel()

    # --- the slow path --------------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            await self._drain()
        finally:
            self.task = None
        if self.queue:
            self._kick()
        elif not self.eof:
            self.idle = True

    async def _drain(self) -> None:
        while self.queue:
            arrival, data = self.queue.popleft()
            self.queued -= len(data)
            if self.queued <= _HIGH_WATER // 2:
                self.src.resume("queue")
            if data is _EOF or not data:
                await self._finish()
                return
            if not await self._send(arrival, data):
                return

    async def _send(self, arrival: float, data: bytes) -> bool:
        """Plan ``data`` with the current toxics and write its pieces when due.

        A large chunk is planned in parts (``ToxicState.plan_bytes``), and the pipe yields to
        the event loop after every part and every ``_WRITES_PER_TURN`` writes, so a connection
        with a thousand tiny slices never freezes the API or the other connections.
        """
        snapshot = tuple(self.toxics)
        states = [self.states[t.name] for t in snapshot if t.name in self.states]
        step = min((n for n in (s.plan_bytes() for s in states) if n is not None), default=len(data))
        offset = 0
        while offset < len(data):
            part = data[offset : offset + step]
            offset += len(part)
            pieces = [Piece(arrival, part)]
            for state in states:
                pieces = state.plan(pieces)
            sent = await self._write_pieces(pieces, snapshot)
            if sent < len(pieces) or (tuple(self.toxics) != snapshot and offset < len(data)):
                # The toxics changed while this data waited: re-plan what is left with the
                # current ones (a removed latency or bandwidth toxic releases it, as in Toxiproxy).
                rest = b"".join(p.data for p in pieces[sent:]) + data[offset:]
                self.queue.appendleft((arrival, rest))
                self.queued += len(rest)
                return True
            if any(s.closed for s in states):
                self.conn.close()
                return False
            if offset < len(data):
                await self._yield()
        return True

    async def _write_pieces(self, pieces: list[Piece], snapshot: tuple[Toxic, ...]) -> int:
        """Write ``pieces`` when due; how many were written (fewer if the toxics changed)."""
        index = 0
        while index < len(pieces):
            piece = pieces[index]
            delay = piece.at - self.conn.proxy.clock.now()
            if delay > 0 and await self._wait(delay) and tuple(self.toxics) != snapshot:
                return index
            if self.conn.proxy.clock.now() >= piece.at:
                self.dst_write(piece.data)
                index += 1
                self.writes += 1
                if self.writes >= _WRITES_PER_TURN:
                    await self._yield()
                    if tuple(self.toxics) != snapshot:
                        return index
        return index

    async def _yield(self) -> None:
        """Let the event loop run other connections and the API before writing on."""
        self.writes = 0
        await asyncio.sleep(0)

    async def _wait(self, delay: float) -> bool:
        """Sleep ``delay`` on the clock (forever if infinite); ``True`` if toxics changed first."""
        changed = asyncio.ensure_future(self.changed.wait())
        if math.isinf(delay):
            await changed
            return True
        sleeper = asyncio.ensure_future(self.conn.proxy.clock.sleep(delay))
        try:
            done, _ = await asyncio.wait({changed, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            changed.cancel()
            sleeper.cancel()
        return changed in done and sleeper not in done

    async def _finish(self) -> None:
        for toxic in self.toxics:
            state = self.states.get(toxic.name)
            if toxic.type is ToxicType.SLOW_CLOSE and state is not None and state.applies:
                await self.conn.proxy.clock.sleep(toxic.attributes["delay"] / 1000.0)
        self.done = True
        self.conn.pipe_done(self)


class _Connection:
    """A client connection and its upstream connection."""

    def __init__(self, proxy: FaultProxy, conn_id: int, *, adopting: bool = False) -> None:
        self.proxy = proxy
        self.id = conn_id
        self.adopting = adopting
        self.client: _Side = _ClientProtocol(self, Stream.UPSTREAM)
        self.server = _Side(self, Stream.DOWNSTREAM)
        self.client.peer, self.server.peer = self.server, self.client
        self.up = _Pipe(self, Stream.UPSTREAM, self.client, self.server)
        self.down = _Pipe(self, Stream.DOWNSTREAM, self.server, self.client)
        self.client.pipe, self.server.pipe = self.up, self.down
        self.ready = False
        self.closed = False
        self.peername = ""

    def client_made(self, transport: asyncio.Transport) -> None:
        if self.closed:
            transport.close()
            return
        transport.pause_reading()
        peer = transport.get_extra_info("peername")
        self.peername = format_address(str(peer[0]), int(peer[1])) if peer else "?"
        self.up.refresh()
        self.down.refresh()
        if not self.adopting:
            self.proxy._track(asyncio.get_running_loop().create_task(self._connect_upstream()))

    async def _connect_upstream(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            host, port = parse_address(self.proxy.upstream, what="dial")
            async with asyncio.timeout(_CONNECT_TIMEOUT):
                await loop.create_connection(lambda: self.server, host, port)
        except (OSError, ToxicError, TimeoutError):
            self.close()
            return
        if self.closed:
            if self.server.transport is not None:
                self.server.transport.close()
            return
        self.make_ready()

    def make_ready(self) -> None:
        """Both sockets are connected: start forwarding."""
        self.ready = True
        self.up.start()
        self.down.start()
        if self.client.transport is not None and not self.client.lost:
            self.client.transport.resume_reading()

    async def adopt(self, relay: Relay) -> None:
        """Take over the sockets of a fast-path relay that handed off (a toxic was added)."""
        assert relay.server is not None
        loop = asyncio.get_running_loop()
        self.up.nbytes = relay.nbytes["upstream"]
        self.down.nbytes = relay.nbytes["downstream"]
        relay.release_pipe()
        try:
            for sock in (relay.client, relay.server):
                sock.setblocking(False)
            await loop.connect_accepted_socket(lambda: self.client, sock=relay.client)
            await loop.create_connection(lambda: self.server, sock=relay.server)
        except OSError:
            relay.close()
            self.close()
            return
        self.peername = relay.peername
        for pipe in (self.up, self.down):
            if relay.ends.get(pipe.direction.value) is RelayEnd.EOF:
                pipe.eof = pipe.done = True
        if self.closed:
            self.close_transports()
            return
        self.make_ready()

    def pipe_done(self, pipe: _Pipe) -> None:
        """A direction reached EOF: half-close the destination, or close all if a side is gone."""
        if pipe.source_lost or pipe.dst.lost:
            self.close()
            return
        transport = pipe.dst.transport
        if transport is not None and transport.can_write_eof() and not transport.is_closing():
            with contextlib.suppress(OSError, RuntimeError):
                transport.write_eof()
        if self.up.done and self.down.done:
            self.close()

    def close(self) -> None:
        """Close both sockets (after flushing what was already written)."""
        if self.closed:
            return
        self.closed = True
        self.close_transports()
        self._forget()

    def close_transports(self) -> None:
        """Close whichever transports exist."""
        for side in (self.client, self.server):
            if side.transport is not None:
                side.transport.close()

    def reset(self) -> None:
        """Close both sockets with a TCP RST (SO_LINGER 0) instead of a FIN."""
        if self.closed:
            return
        self.closed = True
        for side in (self.client, self.server):
            if side.transport is None:
                continue
            sock = side.transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            side.transport.abort()
        self._forget()

    def _forget(self) -> None:
        self.up.cancel()
        self.down.cancel()
        self.proxy.totals[Stream.UPSTREAM] += self.up.nbytes
        self.proxy.totals[Stream.DOWNSTREAM] += self.down.nbytes
        self.proxy._conns.pop(self.id, None)
        self.proxy._record("connection.close", conn=self.id)

    def info(self) -> ConnectionInfo:
        toxics = {
            f"{p.direction.value}/{n}": s.applies for p in (self.up, self.down) for n, s in p.states.items()
        }
        return ConnectionInfo(self.id, self.peername, self.up.nbytes, self.down.nbytes, toxics)


class _ClientProtocol(_Side):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert isinstance(transport, asyncio.Transport)
        self.conn.client_made(transport)


_CLOSE_GRACE = 2.0


async def _wait_gone(conns: list[_Connection]) -> None:
    """Let closed sockets finish closing, so no transport outlives its proxy."""
    futures = [
        side.gone
        for conn in conns
        for side in (conn.client, conn.server)
        if side.transport is not None and not side.gone.done()
    ]
    if futures:
        await asyncio.wait(futures, timeout=_CLOSE_GRACE)


class FastPath(StrEnum):
    """How connections are carried while the proxy has no toxic.

    ``threads``: a :class:`~harness.faults.relay.Relay` per connection (two threads, blocking
    calls; half the added latency), handed back to the event loop when a toxic is added.
    ``asyncio``: protocol callbacks on the event loop (no threads; for thousands of connections).
    """

    THREADS = "threads"
    ASYNCIO = "asyncio"


class FaultProxy:
    """A TCP proxy from ``listen`` to ``upstream`` with toxics; asyncio, one per listener.

    ``seed`` makes toxicity and jitter replay; ``clock`` times every delay (a ``SystemClock`` in
    live use). ``start()`` binds (port 0 picks a free port; :attr:`listen` then holds the real
    address), ``disable()`` closes the listener and every connection but keeps the toxics,
    ``enable()`` listens again on the same address. ``fast_path`` chooses how connections are
    carried while there is no toxic; at most ``max_relays`` use threads at once.
    """

    def __init__(
        self,
        name: str,
        upstream: str,
        *,
        listen: str = "127.0.0.1:0",
        seed: int = 0,
        clock: Clock | None = None,
        fast_path: FastPath = FastPath.THREADS,
        max_relays: int = 128,
    ) -> None:
        self.name = check_name(name, "Proxy")
        self.fast_path = FastPath(fast_path)
        self.max_relays = max_relays
        self._relays: dict[int, Relay] = {}
        self._relay_done: dict[int, asyncio.Future[None]] = {}
        self.upstream = upstream
        self.listen = listen or "127.0.0.1:0"
        parse_address(self.listen)
        self.enabled = False
        self.seeds = Seeds(seed)
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._toxics: dict[Stream, list[Toxic]] = {Stream.UPSTREAM: [], Stream.DOWNSTREAM: []}
        self._order: list[str] = []
        self._listener: socket.socket | None = None
        self._conns: dict[int, _Connection] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self.events: deque[Event] = deque(maxlen=_EVENTS_KEPT)
        self.totals = {Stream.UPSTREAM: 0, Stream.DOWNSTREAM: 0}

    # --- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind and accept; raises ``ToxicError`` (500) with the OS message when binding fails."""
        if self._listener is not None:
            return
        self.listen = self.listen or "127.0.0.1:0"
        host, port = parse_address(self.listen)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            listener = socket.create_server((host, port), family=family, backlog=512)
        except OSError as exc:
            reason = (os.strerror(exc.errno) if exc.errno else str(exc)).lower()
            raise ToxicError(f"listen tcp {self.listen}: bind: {reason}", status=500) from None
        listener.setblocking(False)
        asyncio.get_running_loop().add_reader(listener.fileno(), self._on_accept)
        self._listener = listener
        bound = listener.getsockname()
        self.listen = format_address(str(bound[0]), int(bound[1]))
        self.enabled = True
        self._record("proxy.up", listen=self.listen)

    async def stop(self) -> None:
        """Stop listening and close every connection (toxics are kept)."""
        self.enabled = False
        listener, self._listener = self._listener, None
        if listener is not None:
            asyncio.get_running_loop().remove_reader(listener.fileno())
            listener.close()
        conns = list(self._conns.values())
        for conn in conns:
            conn.close()
        for task in list(self._tasks):
            task.cancel()
        for relay in list(self._relays.values()):
            relay.shutdown()
        pending = [f for f in self._relay_done.values() if not f.done()]
        if pending:
            await asyncio.wait(pending, timeout=_CLOSE_GRACE)
        await _wait_gone(conns)
        self._record("proxy.down")

    async def enable(self) -> None:
        """Listen again (on the address bound before)."""
        await self.start()

    async def disable(self) -> None:
        """Take the proxy down: refuse new connections and drop open ones."""
        await self.stop()

    async def set_upstream(self, upstream: str) -> None:
        """Point new connections at ``upstream``; open connections are closed, as Toxiproxy does."""
        self.upstream = upstream
        if self.enabled:
            await self.stop()
            await self.start()

    def _on_accept(self) -> None:
        listener = self._listener
        while listener is not None:
            try:
                client, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            conn_id = next(self._ids)
            self._record("connection.open", conn=conn_id)
            if self._use_relay():
                self._start_relay(conn_id, client)
            else:
                self._start_asyncio(conn_id, client)

    def _use_relay(self) -> bool:
        return (
            self.fast_path is FastPath.THREADS
            and not any(self._toxics.values())
            and len(self._relays) < self.max_relays
        )

    def _start_asyncio(self, conn_id: int, client: socket.socket) -> None:
        conn = _Connection(self, conn_id)
        self._conns[conn.id] = conn
        client.setblocking(False)
        loop = asyncio.get_running_loop()
        self._track(loop.create_task(self._attach(conn, client)))

    async def _attach(self, conn: _Connection, client: socket.socket) -> None:
        try:
            await asyncio.get_running_loop().connect_accepted_socket(lambda: conn.client, sock=client)
        except OSError:
            client.close()
            conn.close()

    def _start_relay(self, conn_id: int, client: socket.socket) -> None:
        try:
            upstream = parse_address(self.upstream, what="dial")
        except ToxicError:
            client.close()
            self._record("connection.close", conn=conn_id)
            return
        loop = asyncio.get_running_loop()
        client.setblocking(True)

        def ended(relay: Relay) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing left to do
                loop.call_soon_threadsafe(self._relay_ended, relay)

        relay = Relay(conn_id, client, upstream, ended)
        self._relays[conn_id] = relay
        self._relay_done[conn_id] = loop.create_future()
        relay.start()

    def _relay_ended(self, relay: Relay) -> None:
        self._relays.pop(relay.id, None)
        done = self._relay_done.pop(relay.id, None)
        if done is not None and not done.done():
            done.set_result(None)
        ends = set(relay.ends.values())
        handoff = relay.handing_off and RelayEnd.ERROR not in ends and RelayEnd.HANDOFF in ends
        if handoff and self.enabled and relay.server is not None:
            conn = _Connection(self, relay.id, adopting=True)
            self._conns[conn.id] = conn
            self._track(asyncio.get_running_loop().create_task(conn.adopt(relay)))
            return
        relay.close()
        self.totals[Stream.UPSTREAM] += relay.nbytes["upstream"]
        self.totals[Stream.DOWNSTREAM] += relay.nbytes["downstream"]
        self._record("connection.close", conn=relay.id)

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- toxics ---------------------------------------------------------------------------------
    def toxics(self) -> list[Toxic]:
        """Upstream toxics then downstream, each in insertion order (Toxiproxy's listing order)."""
        return [*self._toxics[Stream.UPSTREAM], *self._toxics[Stream.DOWNSTREAM]]

    def get_toxic(self, name: str) -> Toxic | None:
        """The toxic called ``name``, or ``None``."""
        return next((t for t in self.toxics() if t.name == name), None)

    def add_toxic(self, toxic: Toxic) -> Toxic:
        """Add ``toxic``; it applies to open connections at once. 409 if the name is taken."""
        if self.get_toxic(toxic.name) is not None:
            raise ToxicError("toxic already exists", status=409, field="name", value=toxic.name)
        self._toxics[toxic.stream].append(toxic)
        self._refresh()
        return toxic

    def replace_toxic(self, toxic: Toxic) -> Toxic:
        """Swap in an updated toxic with the same name (attributes or toxicity changed)."""
        items = self._toxics[toxic.stream]
        for index, old in enumerate(items):
            if old.name == toxic.name:
                items[index] = toxic
                self._refresh()
                return toxic
        raise ToxicError("toxic not found", status=404, value=toxic.name)

    def remove_toxic(self, name: str) -> None:
        """Remove the toxic called ``name``; 404 if there is none."""
        for items in self._toxics.values():
            for index, old in enumerate(items):
                if old.name == name:
                    del items[index]
                    self._refresh()
                    return
        raise ToxicError("toxic not found", status=404, value=name)

    def clear_toxics(self) -> None:
        """Remove every toxic."""
        for items in self._toxics.values():
            items.clear()
        self._refresh()

    def _refresh(self) -> None:
        if any(self._toxics.values()):
            for relay in self._relays.values():
                relay.request_handoff()
        for conn in list(self._conns.values()):
            conn.up.refresh()
            conn.down.refresh()

    def _rng(self, conn_id: int, direction: Stream, toxic: str) -> Any:
        return self.seeds.stream(f"proxy/{self.name}/conn-{conn_id}/{direction.value}/{toxic}")

    # --- introspection --------------------------------------------------------------------------
    def bytes_total(self, direction: Stream) -> int:
        """Bytes carried in ``direction`` since the proxy was created (closed and open connections)."""
        live = sum((c.up if direction is Stream.UPSTREAM else c.down).nbytes for c in self._conns.values())
        relayed = sum(r.nbytes[direction.value] for r in self._relays.values())
        return self.totals[direction] + live + relayed

    def connections(self) -> list[ConnectionInfo]:
        """The live connections, oldest first."""
        infos = [c.info() for c in self._conns.values()]
        infos += [
            ConnectionInfo(r.id, r.peername, r.nbytes["upstream"], r.nbytes["downstream"], {})
            for r in self._relays.values()
        ]
        return sorted(infos, key=lambda info: info.id)

    def decisions(self) -> list[dict[str, Any]]:
        """Per live connection, direction and toxic: whether it applies and its random draws.

        Two runs with the same seed and the same traffic give equal lists: the replay check.
        """
        out: list[dict[str, Any]] = []
        for conn in sorted(self._conns.values(), key=lambda c: c.id):
            for pipe in (conn.up, conn.down):
                for name, state in pipe.states.items():
                    out.append(
                        {
                            "conn": conn.id,
                            "direction": pipe.direction.value,
                            "toxic": name,
                            "applies": state.applies,
                            "draws": list(state.draws),
                        }
                    )
        return out

    def to_json(self) -> dict[str, Any]:
        """The Toxiproxy JSON form (without the ``Logger`` field Toxiproxy leaks)."""
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [t.to_json() for t in self.toxics()],
        }

    def _record(self, kind: str, **data: Any) -> None:
        self.events.append(Event(t=self.clock.now(), kind=kind, source=f"proxy/{self.name}", data=data))

    def __repr__(self) -> str:
        return f"FaultProxy({self.name!r}, listen={self.listen!r}, upstream={self.upstream!r})"
