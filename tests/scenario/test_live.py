"""Live mode: real callables and the sample HTTP service on 127.0.0.1, through the fault proxy."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.scenario import load_scenario, parse_scenario, run_scenario

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["sample-canary-slow", "sample-canary-good"])
def test_bundled_live_scenarios_pass_against_the_sample_service(name: str) -> None:
    result = run_scenario(ROOT / "scenarios" / f"{name}.yaml", mode="live")
    assert result.failed == [], result.failed
    assert result.mode == "live"
    assert result.sequence_digest is not None


@pytest.fixture(scope="module")
def sample_http() -> Iterator[str]:
    """The sample service as a separate process on a free 127.0.0.1 port."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.examples.sample_service", "--port", "0", "--seed", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    try:
        assert url.startswith("http://127.0.0.1:"), url
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def test_http_versions_through_the_fault_proxy(sample_http: str) -> None:
    """Errors injected through the proxy (reset_peer) reach users only inside the fault window,
    and a latency toxic slows only its window; the canary sees the slow version and rolls back."""
    text = f"""
name: http-live
description: good vs slow over HTTP, with an error window on the stable version
duration: 2m
window: 10s
versions:
  good: {{http: {{url: "{sample_http}/v/good/checkout"}}}}
  slow: {{http: {{url: "{sample_http}/v/slow/checkout"}}}}
faults:
  - {{kind: errors, target: good, at: 10s, duration: 10s, rate: 1.0}}
flow:
  kind: canary
  stable: good
  candidate: slow
  canary: {{steps: [20, 50, 100], analysis_windows: 2, max_latency_increase: 0.1}}
expectations:
  steady_state:
    - {{name: errors before the fault, metric: error_rate, max: 0.0, phase: before}}
    - {{name: errors during the fault, metric: error_rate, min: 0.5, phase: during}}
  outcome:
    rolled_back: true
live: {{window: 1s, rate: 150, connections: 32}}
"""
    result = run_scenario(parse_scenario(text), seed=2, mode="live")
    assert result.failed == [], result.failed
    good = result.points["good"]
    assert good[1].requests > 0
    assert good[1].errors >= 0.9 * good[1].requests
    assert good[0].errors == 0


def test_live_routing_sequence_replays(sample_http: str) -> None:
    """With one seed, request number i goes to the same version in every live run (on a fixed
    split); another seed routes differently. The count sent may differ by a request or two at the
    end of a real-time run, so the common prefix is compared."""
    text = f"""
name: http-split
description: a fixed split over HTTP
duration: 30s
window: 10s
versions:
  a: {{http: {{url: "{sample_http}/v/good/checkout"}}}}
  b: {{http: {{url: "{sample_http}/v/good/checkout"}}}}
flow: {{kind: champion_challenger, stable: a, candidate: b, champion: {{metric: latency, windows: 100}}}}
live: {{window: 1s, rate: 100}}
"""
    scenario = parse_scenario(text)
    first, second, other = (run_scenario(scenario, seed=s, mode="live").routes for s in (9, 9, 10))
    common = min(len(first), len(second), len(other))
    assert common > 250
    assert first[:common] == second[:common]
    assert first[:common] != other[:common]
    assert {"a", "b"} == set(first)


def test_live_mode_needs_a_live_section() -> None:
    sc = load_scenario(ROOT / "scenarios" / "canary-good.yaml")
    with pytest.raises(Exception, match="no live section"):
        run_scenario(sc, mode="live")


def test_one_seed_gives_one_replay_digest_and_another_seed_another(sample_http: str) -> None:
    """The replay digest covers routing, fault, proxy-toxic and flow-decision events, not the
    measurements: two real-time runs with seed 9 agree, seed 10 differs, and the journal digests
    (which include measured latencies) differ between the two seed-9 runs."""
    text = f"""
name: http-digest
description: a fixed split over HTTP with a latency window on one version
duration: 40s
window: 10s
versions:
  a: {{http: {{url: "{sample_http}/v/good/checkout"}}}}
  b: {{http: {{url: "{sample_http}/v/good/checkout"}}}}
faults:
  - {{kind: latency, target: b, at: 10s, duration: 20s, latency: 5ms}}
flow: {{kind: champion_challenger, stable: a, candidate: b, champion: {{metric: latency, windows: 100}}}}
live: {{window: 1s, rate: 100}}
"""
    scenario = parse_scenario(text)
    first, second, other = (run_scenario(scenario, seed=s, mode="live") for s in (9, 9, 10))
    kinds = {e.kind for e in first.journal}
    assert {"routing", "fault.on", "fault.off", "proxy.toxic", "decision"} <= kinds
    assert first.replay_digest == second.replay_digest
    assert first.replay_digest != other.replay_digest
    assert first.digest != second.digest


def test_the_replay_digest_ignores_the_order_of_events_at_one_instant() -> None:
    """A proxy thread may journal a toxic's removal before or after the window's decision at the
    same scheduled time: one seed still gives one replay digest. A different time or action does not."""
    from harness.journal import Journal
    from harness.scenario.result import replay_digest

    def journal(order: list[int], when: float = 3.0, action: str = "continue") -> Journal:
        events = [
            (when, "proxy.toxic", "proxy/version-b", {"action": "remove", "fault": 0}),
            (when, "decision", "flow/canary", {"action": action, "weights": {"a": 50.0}, "terminal": False}),
            (when, "fault.off", "faults/b", {"index": 0}),
        ]
        j = Journal()
        for i in order:
            t, kind, source, data = events[i]
            j.record(t, kind, source, **data)
        return j

    digests = {replay_digest(journal(order)) for order in ([0, 1, 2], [1, 0, 2], [2, 1, 0])}
    assert len(digests) == 1
    assert replay_digest(journal([0, 1, 2], when=4.0)) not in digests
    assert replay_digest(journal([0, 1, 2], action="rollback")) not in digests
