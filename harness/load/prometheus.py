"""Metrics from a real Prometheus server: PromQL over its HTTP API, per version, for the judge.

:class:`PrometheusSource` runs instant and range queries (``/api/v1/query``,
``/api/v1/query_range``) and builds a :class:`~harness.load.metric_sets.MetricSet` for one
version over a time range from a request counter with a ``status`` label and a latency histogram,
the shape Kayenta, Flagger and Argo Rollouts read (for the live sample service:
``sample_requests_total`` and ``sample_request_duration_seconds``). Counts are the counters'
increase between the range's two ends, read at each end (exact integers, no ``increase()``
extrapolation), so the judge sees the same requests the service counted; latencies are the raw
histogram buckets, each observation placed at its bucket's upper bound.
"""

from __future__ import annotations

import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from harness._checks import positive
from harness.errors import UsageError
from harness.load.metric_sets import MetricSet

__all__ = ["PromQueries", "PrometheusError", "PrometheusSource", "Sample", "Series", "selector"]

Sample = tuple[dict[str, str], float]
"""One element of an instant vector: labels and value."""
Series = tuple[dict[str, str], list[tuple[float, float]]]
"""One element of a range matrix: labels and (time, value) points."""


class PrometheusError(UsageError):
    """Prometheus could not be reached, or refused a query (the message quotes its error)."""


def selector(text: str) -> str:
    """Label matchers as written by a user (``version="good"`` or ``{version="good"}``), braces removed."""
    inner = text.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1].strip()
    if not inner or "=" not in inner:
        raise UsageError(
            f'selector {text!r} must be label matchers such as version="good"', field="selector", value=text
        )
    return inner


@dataclass(frozen=True, slots=True, kw_only=True)
class PromQueries:
    """The service's metric names: a request counter labelled by status and a latency histogram."""

    requests: str = "sample_requests_total"
    """A counter of answered requests with a ``status`` label (HTTP status code)."""
    duration: str = "sample_request_duration_seconds"
    """A histogram of request durations in seconds (``_bucket`` series with ``le``)."""
    error_status: str = "5.."
    """A regular expression on ``status`` for the requests that count as errors."""


class PrometheusSource:
    """Queries one Prometheus server (``url`` like ``http://127.0.0.1:9090``)."""

    def __init__(self, url: str, *, timeout: float = 10.0, queries: PromQueries | None = None) -> None:
        positive("timeout", timeout, "seconds one query may take")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(
                f"prometheus={url!r} must be an http(s) URL with a host, for example http://127.0.0.1:9090"
            )
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.queries = queries or PromQueries()

    def _get(self, path: str, params: dict[str, str]) -> Any:
        address = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(address, timeout=self.timeout) as resp:  # noqa: S310 - http(s) only
                body = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise PrometheusError(
                f"Prometheus at {self.url} refused {params.get('query')!r}: {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise PrometheusError(f"cannot reach Prometheus at {self.url}: {exc}") from None
        if body.get("status") != "success":
            raise PrometheusError(f"Prometheus at {self.url}: {body.get('error', body)}")
        return body["data"]

    def query(self, promql: str, at: float) -> list[Sample]:
        """An instant query evaluated at unix time ``at``."""
        data = self._get("/api/v1/query", {"query": promql, "time": f"{at:.3f}"})
        if data["resultType"] == "scalar":
            return [({}, float(data["result"][1]))]
        return [(dict(r["metric"]), float(r["value"][1])) for r in data["result"]]

    def query_range(self, promql: str, start: float, end: float, step: float) -> list[Series]:
        """A range query from ``start`` to ``end`` (unix seconds) every ``step`` seconds."""
        positive("step", step, "seconds between points")
        params = {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        data = self._get("/api/v1/query_range", params)
        return [(dict(r["metric"]), [(float(t), float(v)) for t, v in r["values"]]) for r in data["result"]]

    def _increase(self, promql: str, by: str, start: float, end: float) -> dict[str, float]:
        """``promql`` summed by label ``by``: its value at ``end`` minus its value at ``start``."""
        grouped = f"sum by ({by}) ({promql})"
        before = {labels.get(by, ""): v for labels, v in self.query(grouped, start)}
        return {
            labels.get(by, ""): v - before.get(labels.get(by, ""), 0.0)
            for labels, v in self.query(grouped, end)
        }

    def metric_set(self, match: str, start: float, end: float) -> MetricSet:
        """Latencies and error counts of the series matching ``match``, from ``start`` to ``end``."""
        q, sel = self.queries, selector(match)
        statuses = self._increase(f"{q.requests}{{{sel}}}", "status", start, end)
        errors = sum(v for status, v in statuses.items() if re.fullmatch(q.error_status, status))
        buckets = self._increase(f"{q.duration}_bucket{{{sel}}}", "le", start, end)
        return MetricSet(
            latency=tuple(_observations(buckets)),
            errors=round(errors),
            requests=round(sum(statuses.values())),
        )


def _observations(buckets: dict[str, float]) -> list[float]:
    """Cumulative bucket counts by ``le`` -> one value per observation at its bucket's upper bound.

    Observations in the ``+Inf`` bucket are placed at twice the largest finite bound (they are
    slower than every bound; the judge's rank test needs only their order).
    """
    bounds = sorted((float(le), count) for le, count in buckets.items())
    finite = [b for b, _ in bounds if math.isfinite(b)]
    top = 2.0 * finite[-1] if finite else 1.0
    out: list[float] = []
    below = 0.0
    for bound, cumulative in bounds:
        n = round(cumulative - below)
        below = cumulative
        out.extend([bound if math.isfinite(bound) else top] * max(n, 0))
    return out
