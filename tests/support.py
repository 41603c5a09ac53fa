"""Shared test helpers: the Redis URL CI provides, and a skip marker for when it is absent."""

from __future__ import annotations

import os

import pytest

REDIS_URL_ENV = "HARNESS_REDIS_URL"


def redis_url() -> str | None:
    """The real Redis server's URL, or None when no server is configured."""
    return os.environ.get(REDIS_URL_ENV) or None


requires_redis = pytest.mark.skipif(
    redis_url() is None,
    reason=f"needs a real Redis server: set {REDIS_URL_ENV}=redis://127.0.0.1:PORT/0 (.ci/run does)",
)
