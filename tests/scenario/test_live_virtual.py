"""The live engine's control logic on virtual time: windows, flow decisions, fault windows, mirrors.

Callable versions wait only on the clock they are given, so a whole live run (load driver,
request path, control loop) runs on a ``VirtualTimeLoop``: deterministic, and without waiting on
the wall clock.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from harness.clock import VirtualClock
from harness.errors import InvalidConfig
from harness.scenario import Scenario, load_scenario, parse_scenario
from harness.scenario.live import LiveEngine
from harness.scenario.live_traffic import MIRROR_TIMEOUT
from harness.scenario.realcode import RealCodeEngine
from harness.scenario.result import RunResult

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = "tests.scenario.live_callables"


def _live(scenario: Scenario, seed: int = 1) -> RunResult:
    return LiveEngine(scenario, seed, clock=VirtualClock()).run()


def _one_version(faults: str = "") -> Scenario:
    return parse_scenario(
        f"""
name: virtual-live
description: one fixed-latency callable, a minute compressed to twelve seconds
duration: 60s
window: 10s
versions:
  v1: {{callable: {{target: "{VERSIONS}:fast"}}}}
{faults}
live: {{window: 2s, rate: 100}}
"""
    )


def test_windows_close_on_the_clock_at_the_compressed_ends() -> None:
    """A 60 s scenario with 10 s windows, live window 2 s: six windows ending at 2, 4, ... 12 s."""
    result = _live(_one_version())
    points = result.points["v1"]
    assert [p.t_end for p in points] == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    assert all(abs(p.requests - 200) <= 1 for p in points)
    assert all(p.p50 == pytest.approx(0.010) and p.p99 == pytest.approx(0.010) for p in points)
    assert result.user_windows[-1].end == 12.0
    run_end = result.journal.of_kind("run.end")[0].data
    assert run_end["driver_valid"] is True
    assert run_end["achieved_rate"] == pytest.approx(100.0, rel=0.01)


def test_fault_windows_switch_at_their_compressed_times_and_hit_only_their_window() -> None:
    """Errors at 20-30 s and latency at 40-50 s of the scenario land in live windows 3 and 5."""
    faults = """faults:
  - {kind: errors, target: v1, at: 20s, duration: 10s, rate: 1.0}
  - {kind: latency, target: v1, at: 40s, duration: 10s, latency: 100ms}"""
    result = _live(_one_version(faults))
    assert [(e.t, e.kind) for e in result.journal.of_kind("fault")] == [
        (4.0, "fault.on"),
        (6.0, "fault.off"),
        (8.0, "fault.on"),
        (10.0, "fault.off"),
    ]
    points = result.points["v1"]
    assert [p.errors > 0 for p in points] == [False, False, True, False, False, False]
    assert points[2].errors >= 0.99 * points[2].requests
    slow = [i for i, p in enumerate(points) if p.p50 == pytest.approx(0.110)]
    assert slow == [4]


@pytest.mark.parametrize(
    ("name", "rolled_back"), [("sample-canary-slow", True), ("sample-canary-good", False)]
)
def test_bundled_live_canaries_decide_on_virtual_time(name: str, rolled_back: bool) -> None:
    """The sample service's canaries pass on virtual time; decisions fall on window ends and move traffic."""
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    result = _live(scenario, seed=scenario.seed or 1)
    assert result.failed == [], result.failed
    assert result.outcome.rolled_back is rolled_back
    assert result.outcome.promoted is not rolled_back
    decisions = result.journal.of_kind("decision")
    assert decisions
    assert all(float(e.t).is_integer() for e in decisions)  # live windows are 1 s long
    candidate = "slow" if rolled_back else "rebuilt"
    weights = [p.weight for p in result.points[candidate]]
    assert weights[0] == 20.0
    share = result.points[candidate][0].requests / result.user_windows[0].requests
    assert share == pytest.approx(0.20, abs=0.05)


def _canary(seed: int) -> RunResult:
    scenario = parse_scenario(
        f"""
name: virtual-canary
description: a canary between two jittered callables
duration: 2m
window: 10s
versions:
  v1: {{callable: {{target: "{VERSIONS}:jittered"}}}}
  v2: {{callable: {{target: "{VERSIONS}:jittered"}}}}
faults:
  - {{kind: errors, target: v1, at: 30s, duration: 10s, rate: 0.2}}
flow:
  kind: canary
  stable: v1
  candidate: v2
  canary: {{steps: [20, 50, 100], analysis_windows: 2, max_latency_increase: 0.25}}
live: {{window: 1s, rate: 200}}
"""
    )
    return _live(scenario, seed=seed)


def test_same_seed_same_journal_on_virtual_time_and_another_seed_differs() -> None:
    """Latencies, fault draws, routing and decisions all replay from the seed."""
    first, second, other = _canary(4), _canary(4), _canary(5)
    assert first.digest == second.digest
    assert first.routes == second.routes
    assert first.sequence_digest == second.sequence_digest
    assert other.digest != first.digest
    assert other.routes != first.routes


def test_a_fixed_split_routes_request_k_alike_in_both_engines() -> None:
    """Both engines build the same seeded router; live routes per request as a simulated window does."""
    scenario = parse_scenario(
        f"""
name: virtual-split
description: a fixed half-and-half split that never decides
duration: 30s
window: 10s
versions:
  a: {{callable: {{target: "{VERSIONS}:fast"}}}}
  b: {{callable: {{target: "{VERSIONS}:fast"}}}}
flow: {{kind: champion_challenger, stable: a, candidate: b, champion: {{windows: 1000}}}}
live: {{window: 1s, rate: 200}}
"""
    )
    routes = _live(scenario, seed=9).routes
    assert len(routes) > 500
    router = RealCodeEngine(scenario, 9).router
    simulated = [router.versions[i] for i in router.assign(len(routes))]
    assert list(routes) == simulated
    assert {"a", "b"} == set(routes)


def test_a_hanging_shadow_never_delays_users_and_its_mirrors_are_bounded() -> None:
    """Mirrors to a shadow that never answers: users see only the primary; in-flight mirrors are
    capped at live.connections, the rest dropped; each is cut off after MIRROR_TIMEOUT as a failure."""
    scenario = parse_scenario(
        f"""
name: virtual-shadow
description: a shadow that hangs behind a fast primary
duration: 3m
window: 10s
versions:
  v1: {{callable: {{target: "{VERSIONS}:fast"}}}}
  v2: {{callable: {{target: "{VERSIONS}:hanging"}}}}
flow: {{kind: shadow, stable: v1, candidate: v2, shadow: {{mirror_fraction: 0.5, windows: 1000}}}}
live: {{window: 2s, rate: 100, connections: 8}}
"""
    )
    result = _live(scenario)
    users = np.concatenate([w.latencies for w in result.user_windows])
    assert users.size > 3000
    assert np.allclose(users, 0.010)
    shadow = result.points["v2"]
    assert sum(p.requests for p in shadow) > 0
    assert all(p.errors == p.requests for p in shadow)
    assert all(p.p50 == pytest.approx(MIRROR_TIMEOUT) for p in shadow if p.requests)
    run_end = result.journal.of_kind("run.end")[0].data
    duration = 36.0
    # The hanging candidate's mirrors hold at most 8 slots for MIRROR_TIMEOUT each; the secondary
    # (a second instance of the fast primary, for noise cancellation) answers in 10 ms.
    hanging = sum(p.requests for p in shadow)
    assert hanging <= 8 * (duration / MIRROR_TIMEOUT + 1)
    assert run_end["mirrors_dropped"] > 10 * hanging


def test_http_versions_refuse_virtual_time() -> None:
    """An HTTP service answers in real time: a virtual clock is refused, naming the version."""
    scenario = parse_scenario(
        "name: h\ndescription: d\nduration: 10s\nversions:\n  v1: {http: {url: 'http://127.0.0.1:9/x'}}\n"
        "live: {window: 1s}\n"
    )
    with pytest.raises(InvalidConfig, match="'v1' is an HTTP service"):
        LiveEngine(scenario, 1, clock=VirtualClock())


def test_a_scenario_without_a_live_section_is_told_a_section_that_parses() -> None:
    """The error's example live section is valid: pasted into the scenario, it loads and runs."""
    path = ROOT / "scenarios" / "canary-good.yaml"
    with pytest.raises(InvalidConfig, match="no live section") as info:
        LiveEngine(load_scenario(path), 1)
    hint = re.search(r"live: \{[^}]*\}", str(info.value))
    assert hint is not None
    scenario = parse_scenario(path.read_text() + "\n" + hint.group(0) + "\n")
    assert scenario.live is not None
