"""HTTP servers that expose the harness's components to other processes.

- :mod:`harness.servers.health`: ``serve_health(monitor)``, a monitor's health, liveness,
  readiness and Prometheus metrics for Kubernetes probes and scrapers.

The Toxiproxy-compatible control API of the fault proxy is part of :mod:`harness.faults`
(``serve_api``): it is the proxy's own protocol, spoken by the ``Toxiproxy`` client backend too.
Servers bind 127.0.0.1 by default and import aiohttp only when started.
"""

from harness.servers.health import HealthServer, health_app, serve_health

__all__ = ["HealthServer", "health_app", "serve_health"]
