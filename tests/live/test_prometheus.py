"""The Prometheus metric source and ``harness judge`` against a real Prometheus server.

A seeded set of latencies and statuses is recorded in the live sample service's metrics
(``ServiceMetrics``: the same names and buckets), exported on 127.0.0.1 and scraped by a real
``prometheus`` every 100 ms. The oracle is the same data measured directly: counts must match
exactly, latencies must be the direct values placed at their bucket's upper bound, and the
judge's verdicts on Prometheus data must equal its verdicts on the direct data.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import start_http_server

from harness.cli import main
from harness.examples.live_service.app import ServiceMetrics
from harness.load.metric_sets import JudgeAllowances, MetricSet, judge_sets
from harness.load.prometheus import PrometheusError, PrometheusSource
from harness.scenario.live_services import free_port
from harness.servers.judge import judge_app
from harness.stats import Verdict

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("prometheus") is None, reason="needs the prometheus binary (.ci/run installs it)"
    ),
]

SEED = 20261203
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# version -> (latency scale in seconds, error probability)
VERSIONS = {"good": (0.02, 0.01), "twin": (0.02, 0.01), "slow": (0.035, 0.01)}
SETTLED = 0.2  # seconds the full count must have been in Prometheus before the range ends


def _until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@dataclass
class Recorded:
    url: str
    start: float
    end: float
    direct: dict[str, MetricSet]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    print(f"seed {SEED}")
    rng = np.random.default_rng(SEED)
    metrics = ServiceMetrics.create()
    direct = {}
    for version, (scale, p_error) in VERSIONS.items():
        latency = rng.lognormal(np.log(scale), 0.5, size=600)
        failed = rng.random(600) < p_error
        for value, error in zip(latency, failed, strict=True):
            metrics.duration.labels(version).observe(float(value))
            metrics.requests.labels(version, "500" if error else "200").inc()
        direct[version] = MetricSet(latency=tuple(latency), errors=int(failed.sum()), requests=600)
    exporter_port, prom_port = free_port(), free_port()
    server, thread = start_http_server(exporter_port, addr="127.0.0.1", registry=metrics.registry)
    folder = tmp_path_factory.mktemp("prometheus")
    config = folder / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 100ms, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: sample\n    static_configs: [{{targets: ['127.0.0.1:{exporter_port}']}}]\n"
    )
    start = time.time() - 1.0  # before any scrape: every series starts from nothing
    log = (folder / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    url = f"http://127.0.0.1:{prom_port}"
    source = PrometheusSource(url)
    try:

        def scraped() -> bool:
            # Asked at 0.2 s ago, so the sample is at least two 0.1 s range-query steps
            # before ``end``: a range query's last step (somewhere in ``(end - 0.1, end]``)
            # could otherwise fall before a scrape made just before ``end`` and see nothing.
            try:
                values = source.query("sum(sample_requests_total)", time.time() - SETTLED)
            except PrometheusError:
                return False
            return bool(values) and values[0][1] == 600 * len(VERSIONS)

        _until(scraped, "prometheus to scrape the exporter")
        yield Recorded(url=url, start=start, end=time.time(), direct=direct)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _binned(values: tuple[float, ...]) -> list[float]:
    """Each value at its bucket's upper bound (twice the top bound beyond it): the oracle."""
    edges = np.asarray(BUCKETS)
    index = np.searchsorted(edges, np.asarray(values), side="left")
    return sorted(float(edges[i]) if i < len(edges) else 2 * BUCKETS[-1] for i in index)


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_a_metric_set_from_prometheus_is_the_data_the_service_counted(
    recorded: Recorded, version: str
) -> None:
    source = PrometheusSource(recorded.url)
    got = source.metric_set(f'{{version="{version}"}}', recorded.start, recorded.end)
    want = recorded.direct[version]
    assert (got.requests, got.errors) == (want.requests, want.errors)
    assert sorted(got.latency) == _binned(want.latency)


def test_range_queries_return_the_counter_over_time(recorded: Recorded) -> None:
    series = PrometheusSource(recorded.url).query_range(
        'sum(sample_requests_total{version="good"})', recorded.start, recorded.end, 0.1
    )
    assert len(series) == 1
    assert series[0][1][-1][1] == 600


@pytest.mark.parametrize(("canary", "verdict"), [("twin", Verdict.PASS), ("slow", Verdict.FAIL)])
def test_the_judge_agrees_on_prometheus_data_and_on_the_data_measured_directly(
    recorded: Recorded, canary: str, verdict: Verdict
) -> None:
    source = PrometheusSource(recorded.url)
    prom = {v: source.metric_set(f'version="{v}"', recorded.start, recorded.end) for v in ("good", canary)}
    on_prometheus = judge_sets(prom[canary], prom["good"])
    directly = judge_sets(recorded.direct[canary], recorded.direct["good"])
    assert on_prometheus.verdict is directly.verdict is verdict


@pytest.mark.parametrize(("canary", "code"), [("twin", 0), ("slow", 1)])
def test_harness_judge_exits_0_on_a_pass_and_1_on_a_fail(
    recorded: Recorded, canary: str, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["judge", "--prometheus", recorded.url, "--baseline", 'version="good"', "--canary"]
    argv += [f'version="{canary}"', "--start", str(recorded.start), "--end", str(recorded.end)]
    assert main(argv) == code
    assert ("verdict pass" if code == 0 else "verdict fail") in capsys.readouterr().out


def test_harness_judge_compares_metric_files_and_refuses_bad_ones(recorded: Recorded, tmp_path: Path) -> None:
    import json

    for name in ("good", "slow"):
        (tmp_path / f"{name}.json").write_text(json.dumps(recorded.direct[name].to_dict()))
    files = ["judge", "--baseline-file", str(tmp_path / "good.json"), "--canary-file"]
    assert main([*files, str(tmp_path / "slow.json")]) == 1
    assert main([*files, str(tmp_path / "good.json")]) == 0
    (tmp_path / "bad.json").write_text('{"latency": [0.1], "errors": 3, "requests": 1}')
    assert main([*files, str(tmp_path / "bad.json")]) == 2


async def test_the_judge_endpoint_answers_argo_and_flagger(recorded: Recorded) -> None:
    """Argo Rollouts' web provider reads ``$.passed``; Flagger reads the status code."""
    app = judge_app(PrometheusSource(recorded.url), JudgeAllowances(), now=lambda: recorded.end)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        span = {"start": str(recorded.start), "end": str(recorded.end), "baseline": 'version="good"'}
        ok = await client.get("/judge", params={**span, "canary": 'version="twin"'})
        bad = await client.get("/judge", params={**span, "canary": 'version="slow"'})
        refused = await client.get("/judge", params={"canary": 'version="slow"'})
        assert (ok.status, (await ok.json())["passed"]) == (200, True)
        body = await bad.json()
        assert (bad.status, body["passed"], body["verdict"]) == (412, False, "fail")
        assert body["canary"]["requests"] == 600
        assert refused.status == 400


def test_an_unreachable_prometheus_is_a_clear_error() -> None:
    with pytest.raises(PrometheusError, match="cannot reach Prometheus"):
        PrometheusSource(f"http://127.0.0.1:{free_port()}", timeout=2).query("up", time.time())
