"""``harness health check``: exit codes and output against loopback targets."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.cli import main
from tests.support import serving


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = 503 if self.path == "/down" else 200
        body = json.dumps({"status": "DOWN" if code == 503 else "UP"}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def http_target() -> Iterator[str]:
    """A loopback HTTP server: /up answers 200 UP, /down 503 DOWN."""
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _Handler)) as port:
        yield f"http://127.0.0.1:{port}"


def test_healthy_targets_exit_0(http_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    """All targets healthy: exit 0 and a JSON report naming each one."""
    assert main(["health", "check", f"{http_target}/up", "--json", "--timeout", "5s"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["checks"][f"{http_target}/up"]["status"] == "healthy"


def test_an_unhealthy_target_exits_1(http_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    """One unhealthy target: exit 1 (a finding) naming it."""
    assert main(["health", "check", f"{http_target}/up", f"{http_target}/down"]) == 1
    captured = capsys.readouterr()
    assert f"unhealthy: {http_target}/down" in captured.err
    assert "healthy" in captured.out


def test_unreachable_redis_is_unhealthy(capsys: pytest.CaptureFixture[str]) -> None:
    """A Redis URL with nothing listening is an unhealthy target, not a crash."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["health", "check", f"redis://127.0.0.1:{port}/0", "--timeout", "1s"]) == 1


def test_bad_url_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A target that is neither http(s) nor Redis exits 2 with the fix."""
    assert main(["health", "check", "ftp://example"]) == 2
    assert "must start with http" in capsys.readouterr().err
