"""Shared test helpers: the Redis URL CI provides, a skip marker for when it is absent, servers on threads."""

from __future__ import annotations

import contextlib
import os
import socketserver
import threading
from collections.abc import Iterator

import pytest

REDIS_URL_ENV = "HARNESS_REDIS_URL"


def redis_url() -> str | None:
    """The real Redis server's URL, or None when no server is configured."""
    return os.environ.get(REDIS_URL_ENV) or None


requires_redis = pytest.mark.skipif(
    redis_url() is None,
    reason=f"needs a real Redis server: set {REDIS_URL_ENV}=redis://127.0.0.1:PORT/0 (.ci/run does)",
)


@contextlib.contextmanager
def serving(server: socketserver.TCPServer) -> Iterator[int]:
    """Serve ``server`` on a thread and yield its port; shut it down and close it on exit."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
