"""Real clients drive the API: the toxiproxy-python package and our own Toxiproxy backend."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
import toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from harness.errors import InvalidConfig
from harness.faults import ApiServer, Toxic, Toxiproxy, ToxiproxyError, backend_from_env, serve_api


@pytest.fixture
def api() -> Iterator[ApiServer]:
    with serve_api(port=0, seed=11) as server:
        yield server


@pytest.fixture
def client(api: ApiServer) -> Iterator[toxiproxy.Toxiproxy]:
    """toxiproxy-python pointed at our server (its API consumer is class-level state)."""
    saved = (APIConsumer.host, APIConsumer.port)
    server = toxiproxy.Toxiproxy()
    server.update_api_consumer("127.0.0.1", api.port)
    try:
        yield server
    finally:
        APIConsumer.host, APIConsumer.port = saved


def test_toxiproxy_python_full_lifecycle(client: toxiproxy.Toxiproxy) -> None:
    """Create, list, get, toxics, disable/enable, reset and destroy through the real client."""
    assert client.running()
    assert b'"version"' in client.version()
    proxy = client.create(upstream="127.0.0.1:6379", name="redis")
    assert proxy.listen.startswith("127.0.0.1:")
    assert not proxy.listen.endswith(":0")
    assert set(client.proxies()) == {"redis"}
    assert client.get_proxy("redis").upstream == "127.0.0.1:6379"

    proxy.add_toxic(type="latency", attributes={"latency": 100, "jitter": 5})
    proxy.add_toxic(type="bandwidth", stream="upstream", name="bw", attributes={"rate": 50}, toxicity=0.5)
    toxics = proxy.toxics()
    assert list(toxics) == ["bw", "latency_downstream"]  # upstream first, then downstream
    assert toxics["latency_downstream"].attributes == {"latency": 100, "jitter": 5}
    assert toxics["bw"].toxicity == 0.5

    with proxy.down():
        assert client.get_proxy("redis").enabled is False
    assert client.get_proxy("redis").enabled is True

    proxy.destroy_toxic("bw")
    assert list(proxy.toxics()) == ["latency_downstream"]
    assert client.reset()
    assert proxy.toxics() == {}
    client.destroy(proxy)
    assert client.proxies() == {}


def test_toxiproxy_python_error_mapping(client: toxiproxy.Toxiproxy) -> None:
    """404, 409 and 400 answers map to the client's NotFound, ProxyExists and InvalidToxic."""
    proxy = client.create(upstream="127.0.0.1:1", name="p")
    with pytest.raises(ProxyExists):
        client.create(upstream="127.0.0.1:1", name="p")  # the client checks first
    proxy.add_toxic(type="noop", name="n")
    with pytest.raises(ProxyExists):
        proxy.add_toxic(type="noop", name="n")
    with pytest.raises(InvalidToxic, match="invalid toxic type"):
        proxy.add_toxic(type="nosuch")
    with pytest.raises(InvalidToxic, match="must be in"):
        proxy.add_toxic(type="bandwidth", name="neg", attributes={"rate": -1})
    with pytest.raises(NotFound):
        proxy.destroy_toxic("missing")
    proxy.destroy()
    with pytest.raises(NotFound):
        proxy.destroy()


def test_toxiproxy_python_populate(client: toxiproxy.Toxiproxy) -> None:
    """The client's populate creates, keeps unchanged and replaces changed proxies."""
    made = client.populate(
        [
            {"name": "a", "upstream": "127.0.0.1:1", "listen": "127.0.0.1:0"},
            {"name": "b", "upstream": "127.0.0.1:2", "listen": "127.0.0.1:0"},
        ]
    )
    assert [p.name for p in made] == ["a", "b"]
    assert set(client.proxies()) == {"a", "b"}


def test_backend_same_interface(api: ApiServer) -> None:
    """Our backend: handles with listen, add/update/remove, down/up, connections."""
    backend = api.client()
    handle = backend.create("svc", "127.0.0.1:1")
    assert handle.port > 0
    added = handle.add("latency", latency=30, jitter=3, toxicity=0.5)
    assert added.name == "latency_downstream"
    handle.add(Toxic.make("limit_data", name="cap", stream="upstream", bytes=10))
    updated = handle.update("latency_downstream", jitter=7)
    assert dict(updated.attributes) == {"latency": 30, "jitter": 7}
    assert updated.toxicity == 0.5
    assert [t.name for t in handle.toxics()] == ["cap", "latency_downstream"]
    handle.remove("cap")
    handle.down()
    assert not handle.enabled
    with pytest.raises(ConnectionRefusedError):
        _connect(handle.host, handle.port)
    handle.up()
    assert handle.enabled
    _connect(handle.host, handle.port).close()
    assert handle.connections() == [] or isinstance(handle.connections(), list)
    with pytest.raises(ToxiproxyError) as info:
        backend.create("svc", "127.0.0.1:1")
    assert info.value.status == 409
    with handle.disabled():
        assert not backend.get("svc").enabled
    assert backend.get("svc").enabled
    backend.delete_all()
    assert backend.proxies() == {}


def _connect(host: str, port: int):  # type: ignore[no-untyped-def]
    import socket

    return socket.create_connection((host, port), timeout=5)


def test_backend_rejects_bad_url() -> None:
    """A URL that is not http(s) is a configuration error."""
    with pytest.raises(InvalidConfig, match="must look like"):
        Toxiproxy("redis://x")


def test_backend_unreachable_is_usage_error() -> None:
    """An API that is not there fails fast with the URL in the message."""
    import socket

    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(Exception, match="cannot reach the proxy API"):
        Toxiproxy(f"http://127.0.0.1:{port}", timeout=2).proxies()


@pytest.fixture
def toxiproxy_server() -> Iterator[Toxiproxy]:
    """The Toxiproxy named by HARNESS_TOXIPROXY_URL, else ``harness proxy`` serving the API from a
    separate process on a free 127.0.0.1 port: the HTTP backend always talks to a server over the wire."""
    named = backend_from_env()
    if named is not None:
        yield named
        return
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "proxy", "--port", "0", "--seed", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, f"harness proxy printed {line!r}"
        yield Toxiproxy(match.group(1))
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_toxiproxy_backend_round_trip_with_a_server_process(toxiproxy_server: Toxiproxy) -> None:
    """The same handle interface drives a Toxiproxy API server in another process."""
    handle = toxiproxy_server.create("harness-backend-test", "127.0.0.1:1")
    try:
        handle.add("latency", latency=10)
        assert [t.name for t in handle.toxics()] == ["latency_downstream"]
        handle.down()
        assert not handle.refresh().enabled
        handle.up()
        assert handle.refresh().enabled
    finally:
        handle.delete()
    assert "harness-backend-test" not in toxiproxy_server.proxies()
