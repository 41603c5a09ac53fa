"""``harness proxy`` serves the API, loads a config, stops cleanly, and refuses bad input with exit 2."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import EXIT_OK, EXIT_USAGE, main
from harness.faults import Toxiproxy


def test_serves_until_interrupted(tmp_path: Path) -> None:
    """The command prints its URL, serves the configured proxies and exits 0 on Ctrl-C."""
    config = tmp_path / "proxies.json"
    toxic = {"type": "latency", "attributes": {"latency": 3}}
    config.write_text(json.dumps([{"name": "db", "upstream": "127.0.0.1:5432", "toxics": [toxic]}]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "proxy", "--port", "0", "--seed", "9", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "seed 9" in first
        url = first.split(" on ", 1)[1].split()[0]
        client = Toxiproxy(url)
        assert client.version()["seed"] == 9
        [toxic_back] = client.get("db").toxics()
        assert dict(toxic_back.attributes) == {"latency": 3, "jitter": 0}
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == EXIT_OK
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_duration_stops_the_server(capsys: pytest.CaptureFixture[str]) -> None:
    """--duration serves for a bounded time and exits 0."""
    assert main(["proxy", "--port", "0", "--duration", "50ms", "--seed", "1"]) == EXIT_OK
    assert "listening on http://127.0.0.1:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("{not json", ".json", "not JSON"),
        ("a: [", ".yaml", "YAML syntax error"),
        ('[{"upstream": "x:1"}]', ".json", "missing required field: name at proxy 1"),
        ('{"name": "x"}', ".json", "cannot unmarshal object"),
    ],
)
def test_bad_config_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, suffix: str, message: str
) -> None:
    """A config the server cannot load exits 2 with the reason."""
    path = tmp_path / f"proxies{suffix}"
    path.write_text(content)
    assert main(["proxy", "--port", "0", "--config", str(path), "--duration", "0s"]) == EXIT_USAGE
    assert message in capsys.readouterr().err.replace("\n", " ")


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A config path that does not exist exits 2 naming it."""
    assert main(["proxy", "--config", str(tmp_path / "nope.json")]) == EXIT_USAGE
    assert "nope.json" in capsys.readouterr().err


def test_non_loopback_host_warns(capsys: pytest.CaptureFixture[str]) -> None:
    """Binding beyond loopback is allowed but warned about."""
    assert main(["proxy", "--host", "0.0.0.0", "--port", "0", "--duration", "0s", "--seed", "1"]) == EXIT_OK
    assert "warning: serving the proxy API on 0.0.0.0" in capsys.readouterr().err
