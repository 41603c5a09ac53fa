"""``harness judge serve``: the calibrated judge over HTTP for Argo Rollouts and Flagger analysis.

``GET /judge?baseline=SELECTOR&canary=SELECTOR&range=5m`` (or ``start``/``end`` unix seconds)
queries Prometheus for both versions over the range, runs the judge and answers JSON::

    {"passed": true, "verdict": "pass", "score": 100.0, "metrics": [...], "baseline": {...}, "canary": {...}}

Argo Rollouts' web metric provider reads a field of it with ``jsonPath: "{$.passed}"`` and a
``successCondition: result == true``; a Flagger webhook reads the status: 200 when the canary
passes, 412 when it does not (Flagger halts the canary on a non-2xx answer), 400 on a bad query,
502 when Prometheus cannot answer. ``GET /health`` answers ``ok``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from harness.errors import UsageError
from harness.load.metric_sets import JudgeAllowances, MetricSet, judge_sets
from harness.load.prometheus import PrometheusError, PrometheusSource
from harness.stats import Verdict
from harness.units import duration_seconds

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["judge_app", "judgement"]


def judgement(canary: MetricSet, baseline: MetricSet, allowances: JudgeAllowances) -> dict[str, Any]:
    """The JSON answer for two metric sets: passed, verdict, score and every metric's result."""
    result = judge_sets(canary, baseline, allowances)
    body = result.to_dict()
    body["passed"] = result.verdict is Verdict.PASS
    summary = {"requests": 0, "errors": 0, "latencies": 0}
    for name, s in (("canary", canary), ("baseline", baseline)):
        body[name] = {**summary, "requests": s.requests, "errors": s.errors, "latencies": len(s.latency)}
    return body


def _range(query: Any, now: float) -> tuple[float, float]:
    if "start" in query or "end" in query:
        try:
            start, end = float(query["start"]), float(query.get("end", now))
        except (KeyError, ValueError):
            raise UsageError(
                "start and end are unix seconds, start required with end", field="start"
            ) from None
    else:
        end = now
        start = end - duration_seconds(query.get("range", "5m"))
    if not start < end:
        raise UsageError(f"the range must end after it starts (start={start}, end={end})", field="range")
    return start, end


def judge_app(
    source: PrometheusSource, allowances: JudgeAllowances, *, now: Callable[[], float] = time.time
) -> web.Application:
    """The aiohttp application judging ``canary`` against ``baseline`` from ``source``."""
    from aiohttp import web

    async def judge(request: web.Request) -> web.Response:
        query = request.query
        try:
            if "baseline" not in query or "canary" not in query:
                raise UsageError('give both baseline and canary selectors, e.g. baseline=version="v1"')
            start, end = _range(query, now())
            baseline = source.metric_set(query["baseline"], start, end)
            canary = source.metric_set(query["canary"], start, end)
        except PrometheusError as exc:
            return web.json_response({"error": str(exc)}, status=502)
        except UsageError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        body = judgement(canary, baseline, allowances)
        return web.json_response(body, status=200 if body["passed"] else 412)

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/judge", judge)
    app.router.add_get("/health", health)
    return app
