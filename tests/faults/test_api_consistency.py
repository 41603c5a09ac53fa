"""Concurrent and failing changes through the proxy API leave consistent state; bad addresses are 400s.

Concurrent deletes answer 204 once and 404 after (never a 500); an update that cannot be applied
changes nothing; an upstream that is the proxy itself, or a host that does not resolve, is refused
with a 400 naming it; silent or slow API clients are disconnected after the idle timeout.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from harness.faults import ApiServer, serve_api
from tests.faults.wire import connect, echo_server, recv_exactly


@pytest.fixture
def api() -> Iterator[ApiServer]:
    with serve_api(port=0, seed=11, idle_timeout=0.5) as server:
        yield server


def call(api: ApiServer, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
    try:
        payload = None if body is None else json.dumps(body)
        conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    text = raw.decode()
    return response.status, json.loads(text) if text.strip() else None


def test_concurrent_deletes_answer_204_once_then_404(api: ApiServer) -> None:
    """Three DELETEs at once of a proxy with open connections: 204, 404, 404, in every round."""
    with echo_server(api) as port:
        for round_ in range(5):
            name = f"busy{round_}"
            status, proxy = call(api, "POST", "/proxies", {"name": name, "upstream": f"127.0.0.1:{port}"})
            assert status == 201
            _, listen_port = proxy["listen"].rsplit(":", 1)
            clients = [connect(int(listen_port)) for _ in range(4)]
            for client in clients:
                client.sendall(b"hi")
                assert recv_exactly(client, 2) == b"hi"
            statuses: list[int] = []
            start = threading.Barrier(3)

            def delete(
                name: str = name, start: threading.Barrier = start, statuses: list[int] = statuses
            ) -> None:
                start.wait(timeout=30)
                statuses.append(call(api, "DELETE", f"/proxies/{name}")[0])

            threads = [threading.Thread(target=delete) for _ in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            for client in clients:
                client.close()
            assert sorted(statuses) == [204, 404, 404], statuses
            assert call(api, "GET", f"/proxies/{name}")[0] == 404


def _assert_serving(api: ApiServer, name: str, before: dict[str, Any]) -> None:
    status, now = call(api, "GET", f"/proxies/{name}")
    assert status == 200
    assert (now["listen"], now["upstream"], now["enabled"]) == (
        before["listen"],
        before["upstream"],
        before["enabled"],
    )
    _, port = now["listen"].rsplit(":", 1)
    with connect(int(port)) as client:
        client.sendall(b"still")
        assert recv_exactly(client, 5) == b"still"


def test_update_with_a_bad_listen_address_changes_nothing(api: ApiServer) -> None:
    """A listen address that does not parse, or cannot be bound, leaves the proxy as it was; /reset works."""
    with echo_server(api) as port:
        _, before = call(api, "POST", "/proxies", {"name": "p", "upstream": f"127.0.0.1:{port}"})
        status, body = call(api, "POST", "/proxies/p", {"listen": "garbage"})
        assert (status, body["error"]) == (500, "listen tcp: address garbage: missing port in address")
        _assert_serving(api, "p", before)
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            address = f"127.0.0.1:{taken.getsockname()[1]}"
            status, body = call(api, "POST", "/proxies/p", {"listen": address, "enabled": False})
        assert status == 500
        assert "address already in use" in body["error"]
        _assert_serving(api, "p", before)
        assert call(api, "POST", "/reset")[0] == 204
        _assert_serving(api, "p", before)


def test_upstream_that_is_the_proxy_itself_is_refused(api: ApiServer) -> None:
    """Creating or updating a proxy to dial its own listen address is a 400; nothing changes."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    status, body = call(
        api,
        "POST",
        "/proxies",
        {"name": "loop", "listen": f"127.0.0.1:{free}", "upstream": f"localhost:{free}"},
    )
    assert status == 400
    assert "own listen address" in body["error"]
    assert call(api, "GET", "/proxies/loop")[0] == 404
    with echo_server(api) as port:
        _, before = call(api, "POST", "/proxies", {"name": "p", "upstream": f"127.0.0.1:{port}"})
        status, body = call(api, "POST", "/proxies/p", {"upstream": before["listen"]})
        assert status == 400
        assert "own listen address" in body["error"]
        _assert_serving(api, "p", before)


@pytest.mark.parametrize(
    ("method", "path", "body", "host"),
    [
        ("POST", "/proxies", {"name": "u", "upstream": "no-such-host.invalid:80"}, "no-such-host.invalid"),
        (
            "POST",
            "/proxies",
            {"name": "l", "upstream": "127.0.0.1:1", "listen": "nowhere.invalid:0"},
            "nowhere.invalid",
        ),
        ("POST", "/populate", [{"name": "q", "upstream": "gone.invalid:1"}], "gone.invalid"),
    ],
    ids=["create-upstream", "create-listen", "populate-upstream"],
)
def test_unresolvable_host_is_a_400_naming_it(
    api: ApiServer, method: str, path: str, body: Any, host: str
) -> None:
    """A host that does not resolve is the client's error (400), and the message names the host."""
    status, answer = call(api, method, path, body)
    assert status == 400
    assert repr(host) in answer["error"]
    assert call(api, "GET", "/proxies")[1] == {}


def test_update_to_an_unresolvable_upstream_is_a_400(api: ApiServer) -> None:
    """PATCH with an upstream that does not resolve: 400 naming the host, the proxy unchanged."""
    with echo_server(api) as port:
        _, before = call(api, "POST", "/proxies", {"name": "p", "upstream": f"127.0.0.1:{port}"})
        status, body = call(api, "PATCH", "/proxies/p", {"upstream": "no-such-host.invalid:6379"})
        assert status == 400
        assert "'no-such-host.invalid'" in body["error"]
        _assert_serving(api, "p", before)


def _closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closes ``sock`` (after any answer, such as a 408) within its timeout."""
    try:
        while sock.recv(1024):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def test_idle_and_slow_clients_are_disconnected(api: ApiServer) -> None:
    """Silent connections and half-sent requests are closed after the idle timeout (0.5 s here)."""
    socks: list[socket.socket] = []
    try:
        for i in range(300):
            sock = socket.create_connection(("127.0.0.1", api.port), timeout=30)
            if i % 3 == 1:
                sock.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n")  # headers never finished
            elif i % 3 == 2:
                sock.sendall(b"POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            socks.append(sock)
        start = time.perf_counter()
        closed = sum(_closed_by_server(sock) for sock in socks)
        elapsed = time.perf_counter() - start
    finally:
        for sock in socks:
            sock.close()
    assert closed == len(socks)
    assert elapsed < 25
    assert call(api, "GET", "/version")[0] == 200
