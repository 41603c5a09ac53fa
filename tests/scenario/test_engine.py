"""The simulated engine's behaviour: resilience counterfactuals, routing, faults, callables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.errors import InvalidConfig, InvalidScenario
from harness.scenario import load_scenario, parse_scenario, run_scenario

ROOT = Path(__file__).resolve().parents[2]


def _scenario(name: str):  # type: ignore[no-untyped-def]
    return load_scenario(ROOT / "scenarios" / f"{name}.yaml")


def test_retry_budget_is_what_keeps_the_retry_ratio_bounded() -> None:
    sc = _scenario("retry-storm-brownout")
    assert sc.resilience is not None
    unbudgeted = sc.model_copy(update={"resilience": sc.resilience.model_copy(update={"retry_budget": None})})
    with_budget = run_scenario(sc)
    without = run_scenario(unbudgeted)
    assert with_budget.dependency is not None
    assert without.dependency is not None
    assert with_budget.dependency.retry_ratio <= 0.25
    assert without.dependency.retry_ratio > with_budget.dependency.retry_ratio * 2
    assert not without.passed


def test_without_a_fallback_the_outage_reaches_users() -> None:
    sc = _scenario("canary-redis-outage")
    assert sc.resilience is not None
    bare = sc.model_copy(update={"resilience": sc.resilience.model_copy(update={"fallback_latency": None})})
    result = run_scenario(bare)
    during = next(e for e in result.expectations if "during" in e.name)
    assert not during.passed
    assert isinstance(during.observed, float)
    assert during.observed > 0.5
    assert result.journal.of_kind("breaker.transition")


def test_faults_only_hit_their_window() -> None:
    sc = parse_scenario(
        """
name: window-check
description: errors only inside the fault window
duration: 60s
window: 10s
versions:
  v1: {model: {latency: {kind: fixed, value: 10ms}}}
traffic: {rate: 100}
faults:
  - {kind: errors, target: v1, at: 20s, duration: 10s}
  - {kind: latency, target: v1, at: 40s, duration: 10s, latency: 100ms}
"""
    )
    result = run_scenario(sc, seed=3)
    points = result.points["v1"]
    rates = [p.errors / p.requests for p in points]
    assert rates == [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    p50s = [p.p50 for p in points]
    assert p50s[4] == pytest.approx(0.110)
    assert all(p == pytest.approx(0.010) for i, p in enumerate(p50s) if i != 4)
    kinds = [e.kind for e in result.journal.of_kind("fault")]
    assert kinds == ["fault.on", "fault.off", "fault.on", "fault.off"]


def test_canary_routes_the_configured_share_to_the_candidate() -> None:
    result = run_scenario(_scenario("canary-good"))
    first = result.points["v2"][0]
    assert first.weight == 10.0
    total = first.requests + result.points["v1"][0].requests
    assert 0.07 < first.requests / total < 0.13


def test_callable_versions_run_on_per_request_virtual_time() -> None:
    sc = parse_scenario(
        """
name: callables
description: the sample service's slow version on virtual time
duration: 2m
versions:
  v1: {callable: {target: "harness.examples.scenario_versions:slow"}}
traffic: {rate: 50}
"""
    )
    result = run_scenario(sc, seed=1)
    p50 = np.median([p.p50 for p in result.points["v1"] if p.p50 is not None])
    assert 0.05 <= p50 <= 0.07


def test_async_callable_awaits_asyncio_on_virtual_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An async handler may await anything on the loop: its asyncio.sleep is virtual latency."""
    (tmp_path / "io_version.py").write_text(
        "import asyncio\n"
        "def make(rng, clock):\n"
        "    async def handle(request):\n"
        "        await asyncio.sleep(0.01)\n"
        "    return handle\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sc = parse_scenario(
        "name: io\ndescription: d\nduration: 10s\nversions:\n  v1: {callable: {target: 'io_version:make'}}\n"
    )
    result = run_scenario(sc)
    assert [p.p50 for p in result.points["v1"]] == [pytest.approx(0.01)]


def test_http_versions_need_live_mode() -> None:
    sc = parse_scenario(
        "name: h\ndescription: d\nduration: 10s\nversions:\n  v1: {http: {url: 'http://127.0.0.1:9/x'}}\n"
    )
    with pytest.raises(InvalidScenario, match=r"versions\.v1\.http: an HTTP version runs in live mode only"):
        run_scenario(sc)


def test_model_versions_need_simulated_mode() -> None:
    sc = parse_scenario(
        "name: m\ndescription: d\nduration: 10s\nversions:\n  v1: {model: {}}\nlive: {window: 1s}\n"
    )
    with pytest.raises(InvalidScenario, match=r"versions\.v1\.model: .*live mode needs callable or http"):
        run_scenario(sc, mode="live")


def test_request_mix_builds_seeded_payloads_and_scales_model_latency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "echo_version.py").write_text(
        "SEEN = []\n"
        "def make(rng, clock):\n"
        "    def handle(request):\n"
        "        SEEN.append(request)\n"
        "        clock.sleep_sync(0.01 if request['endpoint'] == 'checkout' else 0.03)\n"
        "        return request\n"
        "    return handle\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import echo_version  # type: ignore[import-not-found]

    text = """
name: mix
description: two request kinds with factory payloads
duration: 60s
versions:
  v1: {callable: {target: "echo_version:make"}}
traffic:
  rate: 100
  mix:
    - {name: checkout, weight: 3, payload: "harness.examples.factories:CheckoutRequestFactory"}
    - {name: browse, weight: 1, payload: "harness.examples.factories:BrowseRequestFactory"}
"""
    run_scenario(parse_scenario(text), seed=4)
    first = list(echo_version.SEEN)
    browse = [r for r in first if r["endpoint"] == "browse"]
    assert 0.2 < len(browse) / len(first) < 0.3
    assert all(1 <= r["page"] <= 50 for r in browse)
    assert all(1 <= r["quantity"] <= 5 and r["item"].isalpha() for r in first)
    echo_version.SEEN.clear()
    run_scenario(parse_scenario(text), seed=4)
    assert first == echo_version.SEEN

    model = parse_scenario(
        """
name: mix-model
description: a search costs three times a ping
duration: 60s
versions:
  v1: {model: {latency: {kind: fixed, value: 10ms}}}
traffic:
  rate: 200
  mix:
    - {name: ping, weight: 3}
    - {name: search, weight: 1, latency_factor: 3}
"""
    )
    point = run_scenario(model, seed=1).points["v1"][0]
    assert point.p50 == pytest.approx(0.010)
    assert point.p99 == pytest.approx(0.030)


def test_a_payload_that_is_not_a_factory_is_a_usage_error() -> None:
    sc = parse_scenario(
        "name: m\ndescription: d\nduration: 10s\nversions:\n  v1: {model: {}}\n"
        "traffic: {mix: [{name: a, payload: 'harness.examples.factories:CheckoutRequest'}]}\n"
    )
    with pytest.raises(InvalidConfig, match="not a polyfactory factory"):
        run_scenario(sc)
