"""Hostile API input gets a 4xx with a clear message, and the server keeps serving."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.faults import ApiServer, serve_api
from tests.faults.test_api_conformance import request
from tests.faults.wire import connect, echo_server, recv_exactly

TOXICS = "/proxies/healthy/toxics"


@pytest.fixture(scope="module")
def api() -> Iterator[ApiServer]:
    with serve_api(port=0) as server:
        yield server


@pytest.fixture(scope="module")
def healthy(api: ApiServer) -> Iterator[int]:
    """A proxy that must keep working whatever else is thrown at the server."""
    with echo_server(api) as port:
        handle = api.client().create("healthy", f"127.0.0.1:{port}")
        yield handle.port


def _assert_alive(api: ApiServer, port: int) -> None:
    status, _, _ = request(api, "GET", "/proxies/healthy")
    assert status == 200
    with connect(port) as sock:
        sock.sendall(b"ok")
        assert recv_exactly(sock, 2) == b"ok"


def _error(api: ApiServer, method: str, path: str, body: str | bytes | None) -> tuple[int, str]:
    status, headers, raw = request(api, method, path, body)
    assert 400 <= status < 500, (status, raw)
    assert headers["Content-Type"].startswith(("text/plain", "application/json"))
    return status, json.loads(raw)["error"]


@pytest.mark.parametrize(
    "case",
    [
        ("/proxies", "[1,2]", 400, "cannot unmarshal array"),
        ("/proxies", "null", 400, "cannot unmarshal null"),
        ("/proxies", "", 400, "bad request body: EOF"),
        ("/proxies", '{"name": 5, "upstream": "x:1"}', 400, "Proxy.name of type string"),
        ("/proxies", '{"name": "n", "upstream": "x:1", "enabled": "yes"}', 400, "Proxy.enabled of type bool"),
        ("/proxies", '{"name": "' + "a" * 5000 + '", "upstream": "x:1"}', 400, "characters long"),
        ("/proxies", '{"name": "a/b", "upstream": "x:1"}', 400, "contain no '/'"),
        ("/proxies", '{"name": "nan", "upstream": "x:1", "listen": NaN}', 400, "bad request body"),
        ("/proxies", "[" * 100_000, 400, "bad request body"),
        ("/proxies", "x" * (2 << 20), 413, "too large"),
        (TOXICS, '{"type": "bandwidth", "attributes": {"rate": -1}}', 400, "rate=-1"),
        (
            "/proxies/healthy/toxics",
            '{"type": "latency", "attributes": {"latncy": 5}}',
            400,
            "unknown attribute",
        ),
        (
            "/proxies/healthy/toxics",
            '{"type": "latency", "attributes": {"latency": 1e12}}',
            400,
            "must be in",
        ),
        (TOXICS, '{"type": "latency", "attributes": {"latency": 1.5}}', 400, "int64"),
        (TOXICS, '{"type": "latency", "attributes": {"latency": true}}', 400, "int64"),
        (TOXICS, '{"type": "latency", "attributes": [1]}', 400, "cannot unmarshal array"),
        (TOXICS, '{"type": "latency", "toxicity": 2}', 400, "toxicity=2"),
        (TOXICS, '{"type": "latency", "toxicity": "x"}', 400, "float32"),
        (TOXICS, '{"type": ["latency"]}', 400, "Toxic.type of type string"),
        (TOXICS, '{"type": "rm -rf"}', 400, "invalid toxic type"),
        (TOXICS, '{"type": "noop", "stream": 7}', 400, "stream was invalid"),
        (TOXICS, '"just a string"', 400, "cannot unmarshal string"),
        ("/proxies/nope/toxics", '{"type": "noop"}', 404, "proxy not found"),
        ("/populate", '[{"name": "ok", "upstream": "x:1"}, 7]', 400, "proxy 2 is not an object"),
        ("/populate", '[{"name": "p", "upstream": "x:1", "toxics": [{"type": "zap"}]}]', 400, "at proxy 1"),
    ],
)
def test_bad_requests_are_refused_clearly(
    api: ApiServer, healthy: int, case: tuple[str, str, int, str]
) -> None:
    """Each malformed request gets the right 4xx and a message naming the problem."""
    path, body, status, message = case
    got_status, error = _error(api, "POST", path, body)
    assert got_status == status
    assert message in error
    _assert_alive(api, healthy)


def test_populate_validation_creates_nothing(api: ApiServer, healthy: int) -> None:
    """A populate that fails validation creates none of its proxies."""
    _error(api, "POST", "/populate", '[{"name": "fresh", "upstream": "x:1"}, {"upstream": "x:2"}]')
    status, _, _ = request(api, "GET", "/proxies/fresh")
    assert status == 404


def test_populate_accepts_toxics(api: ApiServer, healthy: int) -> None:
    """Our addition: toxics inside /populate entries."""
    toxic = {"type": "latency", "attributes": {"latency": 5}}
    body = [{"name": "with-toxics", "upstream": "127.0.0.1:1", "toxics": [toxic]}]
    status, _, raw = request(api, "POST", "/populate", json.dumps(body))
    assert status == 201
    [proxy] = json.loads(raw)["proxies"]
    assert proxy["toxics"][0]["name"] == "latency_downstream"
    request(api, "DELETE", "/proxies/with-toxics")


def test_unknown_path_and_method(api: ApiServer) -> None:
    """Unknown paths answer 404 and wrong methods 405, as Toxiproxy does."""
    assert request(api, "GET", "/nope")[0] == 404
    assert request(api, "PUT", "/proxies")[0] == 405
    assert request(api, "DELETE", "/version")[0] == 405


def test_browser_user_agent_is_refused(api: ApiServer) -> None:
    """A browser cannot drive the API (cross-site request guard)."""
    status, _, body = request(api, "GET", "/proxies", None, **{"User-Agent": "Mozilla/5.0 (X11)"})
    assert status == 403
    assert body == b"User agent not allowed\n"


@given(
    st.dictionaries(
        st.sampled_from(["type", "name", "stream", "toxicity", "attributes", "extra"]),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-(2**70), 2**70),
            st.floats(allow_nan=False),
            st.text(max_size=300),
            st.lists(st.integers(), max_size=3),
            st.dictionaries(st.text(max_size=12), st.integers(-(2**40), 2**40), max_size=3),
        ),
    )
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_toxic_bodies_never_crash_the_server(
    api: ApiServer, healthy: int, body: dict[str, object]
) -> None:
    """Whatever the body, the answer is 200 or a 4xx with a JSON error, never a 5xx."""
    status, _, raw = request(api, "POST", "/proxies/healthy/toxics", json.dumps(body))
    assert status == 200 or 400 <= status < 500, raw
    if status == 200:
        name = json.loads(raw)["name"]
        assert request(api, "DELETE", f"/proxies/healthy/toxics/{quote(name, safe='')}")[0] == 204
    else:
        assert json.loads(raw)["error"]
    _assert_alive(api, healthy)
