"""Wire behaviour of each toxic over real loopback sockets, measured against generous bounds."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from harness.faults import ApiServer, ProxyHandle, serve_api
from tests.faults.wire import connect, echo_server, recv_all, recv_exactly, rtt_p50


@pytest.fixture
def api() -> Iterator[ApiServer]:
    with serve_api(port=0, seed=3) as server:
        yield server


@pytest.fixture
def proxy(api: ApiServer) -> Iterator[ProxyHandle]:
    with echo_server(api) as port:
        yield api.client().create("echo", f"127.0.0.1:{port}")


def test_no_toxic_round_trip(proxy: ProxyHandle) -> None:
    """Bytes pass unchanged both ways."""
    with connect(proxy.port) as sock:
        sock.sendall(b"hello")
        assert recv_exactly(sock, 5) == b"hello"


def test_latency_adds_configured_delay_at_p50(proxy: ProxyHandle) -> None:
    """A 40 ms downstream latency adds 40 ms (within a few ms) to the median round trip."""
    with connect(proxy.port) as sock:
        base = rtt_p50(sock, count=10)
        proxy.add("latency", latency=40)
        added = rtt_p50(sock, count=15) - base
    assert 0.039 <= added <= 0.050, added


def test_latency_on_both_streams_adds_up(proxy: ProxyHandle) -> None:
    """Upstream and downstream latency both apply to a round trip."""
    proxy.add("latency", latency=20, stream="upstream")
    proxy.add("latency", latency=20)
    with connect(proxy.port) as sock:
        assert 0.039 <= rtt_p50(sock, count=7) <= 0.052


def test_bandwidth_paces_within_ten_percent(proxy: ProxyHandle) -> None:
    """200 KB/s downstream carries 100 KB in 0.5 s (+-10%)."""
    proxy.add("bandwidth", rate=200)
    payload = b"b" * 100_000
    with connect(proxy.port) as sock:
        start = time.perf_counter()
        sock.sendall(payload)
        recv_exactly(sock, len(payload))
        elapsed = time.perf_counter() - start
    assert 0.45 <= elapsed <= 0.55, elapsed


def test_timeout_drops_data_then_closes(proxy: ProxyHandle) -> None:
    """Data vanishes and the connection closes after the timeout."""
    proxy.add("timeout", timeout=100, stream="upstream")
    with connect(proxy.port) as sock:
        start = time.perf_counter()
        sock.sendall(b"lost")
        assert recv_all(sock) == b""
        elapsed = time.perf_counter() - start
    assert 0.09 <= elapsed <= 0.5, elapsed


def test_timeout_zero_holds_until_toxic_removed(proxy: ProxyHandle) -> None:
    """timeout=0 holds the connection open; removing the toxic closes it."""
    proxy.add("timeout", timeout=0)
    with connect(proxy.port) as sock:
        sock.sendall(b"x")
        sock.settimeout(0.2)
        with pytest.raises(TimeoutError):
            sock.recv(10)
        sock.settimeout(5)
        proxy.remove("timeout_downstream")
        assert recv_all(sock) == b""


def test_reset_peer_sends_rst(proxy: ProxyHandle) -> None:
    """After the timeout the client sees a connection reset, not a clean close."""
    proxy.add("reset_peer", timeout=50)
    with connect(proxy.port) as sock:
        sock.sendall(b"x")
        assert recv_exactly(sock, 1) == b"x"
        start = time.perf_counter()
        with pytest.raises(ConnectionResetError):
            sock.recv(10)
        assert time.perf_counter() - start <= 1.0


def test_limit_data_closes_after_bytes(proxy: ProxyHandle) -> None:
    """Only the first N bytes pass downstream, then the connection closes."""
    proxy.add("limit_data", bytes=10)
    with connect(proxy.port) as sock:
        sock.sendall(b"0123456789abcdefghij")
        assert recv_all(sock) == b"0123456789"


def test_slicer_splits_and_spaces_chunks(proxy: ProxyHandle) -> None:
    """A 50-byte reply arrives in 10-byte slices 10 ms apart."""
    proxy.add("slicer", average_size=10, size_variation=0, delay=10_000)
    with connect(proxy.port) as sock:
        start = time.perf_counter()
        sock.sendall(b"s" * 50)
        reads = []
        got = 0
        while got < 50:
            part = sock.recv(100)
            reads.append(len(part))
            got += len(part)
        elapsed = time.perf_counter() - start
    assert got == 50
    assert len(reads) >= 3
    assert max(reads) <= 20
    assert 0.038 <= elapsed <= 0.2, elapsed


def test_slow_close_delays_the_close(proxy: ProxyHandle) -> None:
    """The client sees EOF only after the slow_close delay."""
    proxy.add("slow_close", delay=150)
    with connect(proxy.port) as sock:
        sock.sendall(b"bye")
        recv_exactly(sock, 3)
        start = time.perf_counter()
        sock.shutdown(socket.SHUT_WR)
        assert recv_all(sock) == b""
        elapsed = time.perf_counter() - start
    assert 0.14 <= elapsed <= 0.6, elapsed


def test_drop_loses_chunks(proxy: ProxyHandle) -> None:
    """percent=100 drops every chunk; removing it lets data through again."""
    proxy.add("drop", percent=100, stream="upstream")
    with connect(proxy.port) as sock:
        sock.sendall(b"gone")
        sock.settimeout(0.15)
        with pytest.raises(TimeoutError):
            sock.recv(10)
        proxy.remove("drop_upstream")
        sock.settimeout(5)
        sock.sendall(b"back")
        assert recv_exactly(sock, 4) == b"back"


def test_toxic_added_later_applies_to_open_connection(proxy: ProxyHandle) -> None:
    """An open connection feels a toxic added after it connected, and its removal."""
    with connect(proxy.port) as sock:
        assert rtt_p50(sock, count=3) < 0.03
        proxy.add("latency", latency=60)
        assert rtt_p50(sock, count=3) >= 0.058
        proxy.remove("latency_downstream")
        assert rtt_p50(sock, count=3) < 0.03


def test_down_refuses_and_drops_then_up_accepts(proxy: ProxyHandle) -> None:
    """A downed proxy drops open connections and refuses new ones; up accepts again."""
    with connect(proxy.port) as sock:
        sock.sendall(b"a")
        recv_exactly(sock, 1)
        proxy.down()
        assert recv_all(sock) == b""
    with pytest.raises(ConnectionRefusedError):
        connect(proxy.port)
    proxy.up()
    with connect(proxy.port) as sock:
        sock.sendall(b"again")
        assert recv_exactly(sock, 5) == b"again"


def test_bulk_transfer_intact(proxy: ProxyHandle) -> None:
    """Several megabytes pass through the fast path byte for byte."""
    payload = bytes(range(256)) * 16_384  # 4 MiB
    with connect(proxy.port) as sock:
        import threading

        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        got = recv_exactly(sock, len(payload))
        sender.join(timeout=10)
    assert got == payload


def test_upstream_unreachable_closes_client(api: ApiServer) -> None:
    """A proxy whose upstream refuses closes the client connection."""
    import contextlib

    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    handle = api.client().create("dead", f"127.0.0.1:{dead}")
    with connect(handle.port) as sock:
        assert recv_all(sock) == b""


def test_connections_listing(proxy: ProxyHandle) -> None:
    """GET /proxies/{name}/connections lists live connections with bytes and toxic decisions."""
    proxy.add("latency", latency=1, toxicity=0.5)
    with connect(proxy.port) as sock:
        sock.sendall(b"abc")
        recv_exactly(sock, 3)
        [conn] = proxy.connections()
    assert conn["bytes"] == {"upstream": 3, "downstream": 3}
    assert set(conn["toxics"]) == {"downstream/latency_downstream"}


def test_removing_latency_releases_waiting_data(proxy: ProxyHandle) -> None:
    """Data held by a long latency toxic passes as soon as the toxic is removed, as in Toxiproxy."""
    proxy.add("latency", latency=5_000)
    with connect(proxy.port) as sock:
        start = time.perf_counter()
        sock.sendall(b"held")
        sock.settimeout(0.1)
        with pytest.raises(TimeoutError):
            sock.recv(10)
        sock.settimeout(5)
        proxy.remove("latency_downstream")
        assert recv_exactly(sock, 4) == b"held"
        assert time.perf_counter() - start < 1.0


def test_bandwidth_zero_stalls_until_removed(proxy: ProxyHandle) -> None:
    """rate=0 stalls the direction; removing the toxic lets the data through."""
    proxy.add("bandwidth", rate=0)
    with connect(proxy.port) as sock:
        sock.sendall(b"stall")
        sock.settimeout(0.1)
        with pytest.raises(TimeoutError):
            sock.recv(10)
        sock.settimeout(5)
        proxy.remove("bandwidth_downstream")
        assert recv_exactly(sock, 5) == b"stall"


def test_handoff_mid_transfer_loses_nothing(proxy: ProxyHandle) -> None:
    """A toxic added while a fast-path connection streams data moves it to the toxic path intact."""
    import threading

    payload = bytes(range(256)) * 32_768  # 8 MiB
    with connect(proxy.port) as sock:
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        first = recv_exactly(sock, 1 << 20)
        proxy.add("noop", stream="upstream")
        proxy.add("latency", latency=0, jitter=0)
        rest = recv_exactly(sock, len(payload) - len(first))
        sender.join(timeout=10)
    assert first + rest == payload


def test_asyncio_fast_path_option() -> None:
    """FastPath.ASYNCIO carries no-toxic connections on the event loop, no threads."""
    import asyncio

    from harness.faults import FaultProxy
    from harness.faults.proxy import FastPath

    async def main() -> bytes:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while data := await reader.read(100):
                writer.write(data)
                await writer.drain()
            writer.close()
            await writer.wait_closed()

        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        proxy = FaultProxy("a", f"127.0.0.1:{port}", fast_path=FastPath.ASYNCIO)
        await proxy.start()
        host, _, lport = proxy.listen.rpartition(":")
        reader, writer = await asyncio.open_connection(host, int(lport))
        writer.write(b"async")
        data = await reader.read(100)
        assert proxy.connections()[0].toxics == {}
        writer.close()
        await writer.wait_closed()
        await proxy.stop()
        server.close()
        await server.wait_closed()
        return data

    assert asyncio.run(main()) == b"async"
