"""``harness load drive`` sends real requests (method, headers, body) and checks responses k6-style."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.cli import main
from harness.load.checks import CheckFailed, ResponseChecks, check_response, parse_json_field
from harness.load.thresholds import EXIT_NO_SUCCESS


class _Echo(BaseHTTPRequestHandler):
    """Answers every request with JSON naming its method, a header and its body."""

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        payload = {"method": self.command, "tenant": self.headers.get("x-tenant"), "body": body, "ok": True}
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def echo() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/orders"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _drive(echo: str, tmp_path: Path, *extra: str, exit_code: int = 0) -> dict[str, object]:
    out = tmp_path / "result.json"
    code = main(["load", "drive", echo, "--rate", "40", "--duration", "1s", "--json", str(out), *extra])
    assert code == exit_code
    result: dict[str, object] = json.loads(out.read_text())
    return result


def test_drive_posts_the_body_with_headers_and_every_response_passes_its_checks(
    echo: str, tmp_path: Path
) -> None:
    body = tmp_path / "order.json"
    body.write_text('{"item": "fig"}')
    result = _drive(
        echo,
        tmp_path,
        *("--method", "POST", "--header", "x-tenant: blue", "--body-file", str(body)),
        *("--status", "200", "--json-field", "method=POST", "--json-field", "tenant=blue"),
        *("--json-field", "ok=true", "--contains", "fig"),
    )
    assert result["sent"] == 40
    assert result["errors"] == 0


def test_a_response_failing_a_check_is_an_error_named_by_the_check(echo: str, tmp_path: Path) -> None:
    # every response fails its check, so no request succeeded: exit 96 (EXIT_NO_SUCCESS)
    checks = ("--method", "PUT", "--body", "{}", "--json-field", "method=POST")
    result = _drive(echo, tmp_path, *checks, exit_code=EXIT_NO_SUCCESS)
    assert result["sent"] == 40
    assert result["errors"] == 40
    assert result["statuses"] == {"JSON field 'method' is 'PUT', not 'POST'": 40}


def test_bad_request_options_exit_2(echo: str) -> None:
    assert main(["load", "drive", echo, "--duration", "1s", "--method", "BREW"]) == 2
    assert main(["load", "drive", echo, "--duration", "1s", "--header", "no colon"]) == 2
    assert main(["load", "drive", echo, "--duration", "1s", "--json-field", "nothing"]) == 2


def test_checks_read_dotted_json_paths_and_say_which_failed() -> None:
    checks = ResponseChecks(status=(201,), json_fields=dict([parse_json_field("order.items.0=fig")]))
    assert check_response(checks, 201, '{"order": {"items": ["fig"]}}') == {"order": {"items": ["fig"]}}
    with pytest.raises(CheckFailed, match="HTTP 200"):
        check_response(checks, 200, "{}")
    with pytest.raises(CheckFailed, match=r"no JSON field 'order\.items\.0'"):
        check_response(checks, 201, '{"order": {}}')
    assert parse_json_field("ok=true") == ("ok", True)
    assert parse_json_field("state=paid") == ("state", "paid")
