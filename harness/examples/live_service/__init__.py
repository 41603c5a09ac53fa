"""A small real service for live chaos runs: a price API with a Redis cache and an HTTP downstream.

``python -m harness.examples.live_service app --port P --version good --redis URL --downstream URL``
serves ``GET /price?item=NAME``: the price comes from Redis when cached, else from the downstream
price service (``python -m harness.examples.live_service downstream --port P``), and is cached for
a few seconds. Versions differ in what they do when a dependency misbehaves:

- ``good``: a Redis failure falls back to the downstream (short Redis timeouts), answers stay right;
- ``slow``: never reads the cache (every request waits for the downstream) and adds 20 ms;
- ``leaky-fallback``: a Redis failure answers at once with no price (``price: null``), so users
  get a 200 with a wrong body: only a response comparison finds it;
- ``no-fallback``: a Redis failure is a 500.

Every instance exports Prometheus metrics at ``/metrics``: ``sample_requests_total{version,status}``
and the histogram ``sample_request_duration_seconds{version}``. ``GET /health`` answers ``ok``.
"""

from __future__ import annotations

from harness.examples.live_service.app import LiveVersion, make_app
from harness.examples.live_service.downstream import make_downstream, price_of

__all__ = ["LiveVersion", "make_app", "make_downstream", "price_of"]
