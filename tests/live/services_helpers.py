"""Small real programs the service tests start: each listens on the port it is given."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path


def _listen(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def stubborn(port: int, pid_file: Path) -> None:
    """Ignore SIGTERM, start a child that ignores it too, write its pid, listen forever."""
    import signal
    import subprocess

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)",
        ]
    )
    pid_file.write_text(str(child.pid))
    sock = _listen(port)
    print(f"listening on {port}, child {child.pid}", flush=True)
    while True:
        conn, _ = sock.accept()
        conn.close()


if __name__ == "__main__":
    stubborn(int(sys.argv[1]), Path(sys.argv[2]))
    os._exit(0)
