"""The HTTP API answers the recorded Toxiproxy 2.12 transcript with the same statuses and bodies."""

from __future__ import annotations

import ast
import http.client
import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.faults import ApiServer, serve_api

TRANSCRIPT = Path("/work/shared/reference/toxiproxy-2.12-api-transcript.txt")
if not TRANSCRIPT.exists():
    TRANSCRIPT = Path(__file__).with_name("toxiproxy-2.12-api-transcript.txt")

# Responses whose text comes from Go's JSON decoder: we keep the prefix, not Go's wording.
_PREFIX_ONLY = {"bad request body: "}
_LISTEN = re.compile(r'"listen":"(?:\[[^\]]*\]|[0-9.]+):[1-9][0-9]*"')


@dataclass(frozen=True, slots=True)
class Exchange:
    """One recorded request and its response."""

    method: str
    path: str
    body: str | None
    status: int
    headers: dict[str, str]
    response: bytes


def parse_transcript(text: str) -> list[Exchange]:
    """Exchanges from the transcript's three-line records."""
    out: list[Exchange] = []
    lines = [line for line in text.splitlines() if line.strip()]
    for request, status_line, body_line in zip(lines[0::3], lines[1::3], lines[2::3], strict=True):
        method, path, raw_body = request.split(" ", 2)
        status_text, _, headers_text = status_line.strip()[3:].partition(" ")
        body = None if raw_body == "None" else ast.literal_eval(raw_body)
        out.append(
            Exchange(
                method,
                path,
                body,
                int(status_text),
                ast.literal_eval(headers_text),
                ast.literal_eval(body_line.strip()),
            )
        )
    return out


def request(server: ApiServer, method: str, path: str, body: str | bytes | None = None, **headers: str):
    """Send one request with the standard library; return (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers={"User-Agent": "toxiproxy-cli", **headers})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def normalise(body: bytes) -> str:
    """Drop Go's leaked Logger field and replace bound ports, which differ per run."""
    text = body.decode().replace(',"Logger":{}', "")
    return _LISTEN.sub('"listen":"BOUND"', text)


@pytest.fixture
def api() -> Iterator[ApiServer]:
    with serve_api(port=0, seed=5) as server:
        yield server


def test_transcript_parses() -> None:
    """The transcript has the exchanges the conformance test replays."""
    exchanges = parse_transcript(TRANSCRIPT.read_text())
    assert len(exchanges) >= 45
    assert exchanges[0].path == "/version"


def test_replays_transcript_with_same_statuses_and_bodies(api: ApiServer) -> None:
    """Every recorded request gets the recorded status, content type and (normalised) body."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    busy_port = str(busy.getsockname()[1])
    try:
        for ex in parse_transcript(TRANSCRIPT.read_text()):
            body = ex.body.replace("18474", busy_port) if ex.body else ex.body
            headers = {"User-Agent": "Mozilla/5.0"} if ex.status == 403 else {}
            status, got_headers, got = request(api, ex.method, ex.path, body, **headers)
            where = f"{ex.method} {ex.path} {ex.body}"
            assert status == ex.status, f"{where}: {got!r}"
            if "Content-Type" in ex.headers:
                assert got_headers.get("Content-Type") == ex.headers["Content-Type"], where
            assert ("X-Toxiproxy-Request-Id" in got_headers) == ("X-Toxiproxy-Request-Id" in ex.headers), (
                where
            )
            expected = ex.response.replace(b"18474", busy_port.encode())
            _compare(ex, expected, got, where)
    finally:
        busy.close()


def _compare(ex: Exchange, expected: bytes, got: bytes, where: str) -> None:
    if ex.path == "/version":
        assert json.loads(got)["version"].startswith("2.12")
        assert json.loads(got)["seed"] == 5
        assert got.endswith(b"\n")
        return
    if ex.path == "/metrics":
        assert got.startswith(b"# HELP")
        return
    if ex.status >= 400 and expected.startswith(b"{"):
        want, have = json.loads(expected), json.loads(got)
        assert have["status"] == want["status"], where
        assert have.get("proxies", "absent") == want.get("proxies", "absent") or (
            normalise(json.dumps(have["proxies"], separators=(",", ":")).encode())
            == normalise(json.dumps(want["proxies"], separators=(",", ":")).encode())
        ), where
        prefix = next((p for p in _PREFIX_ONLY if want["error"].startswith(p)), None)
        if prefix and "Go struct field" not in want["error"]:
            assert have["error"].startswith(prefix), where
        else:
            assert have["error"] == want["error"], where
        assert got.endswith(b"\n") == expected.endswith(b"\n"), where
        return
    assert normalise(got) == normalise(expected), where
