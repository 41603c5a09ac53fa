"""Scenario files: bad input is a short message naming the file, line and field; never a traceback."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import InvalidScenario
from harness.scenario import load_scenario, parse_scenario
from harness.scenario.strategies import scenario_yaml
from harness.units import parse_duration

GOOD = """\
name: ok
description: a valid scenario
duration: 2m
versions:
  v1:
    model:
      latency: {kind: lognormal, median: 50ms, sigma: 0.5}
      error_rate: 0.01
  v2: {model: {}}
flow: {kind: canary, stable: v1, candidate: v2}
"""


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (
            GOOD.replace("error_rate: 0.01", "error_rat: 0.01"),
            8,
            "versions.v1.model.error_rat: unknown field",
        ),
        (GOOD.replace("error_rate: 0.01", "error_rate: high"), 8, "versions.v1.model.error_rate"),
        (GOOD.replace("error_rate: 0.01", "error_rate: 7"), 8, "less than or equal to 1"),
        (GOOD.replace("kind: canary", "kind: canery"), 10, "'canery' is not valid"),
        (GOOD.replace("kind: lognormal", "kind: gaussian"), 7, "'gaussian' is not valid"),
        (GOOD.replace("duration: 2m", "duration: 2 fortnights"), 3, "is not a duration"),
        (GOOD.replace("duration: 2m", "duration: 9000h"), 3, "longer than a week"),
        (
            GOOD.replace("candidate: v2", "candidate: v3"),
            None,
            "flow.candidate='v3' is not a declared version",
        ),
        (
            GOOD + "faults:\n  - {kind: meteor, target: v1, at: 1s, duration: 1s}\n",
            12,
            "'meteor' is not valid",
        ),
        (GOOD + "faults:\n  - {kind: outage, target: db, at: 1s, duration: 1s}\n", None, "neither a version"),
        (GOOD + "traffic: {rate: 1e12}\n", 11, "traffic.rate"),
        (
            GOOD.replace("duration: 2m", "duration: 100h") + "live: {window: 1s}\n",
            None,
            "live mode would run",
        ),
        ("name: x\n  bad: [\n", 2, "YAML syntax error"),
        ("- just\n- a list\n", 1, "a scenario is a mapping"),
        ("", 1, "a scenario is a mapping"),
    ],
)
def test_bad_scenarios_name_line_and_field(text: str, line: int | None, fragment: str) -> None:
    with pytest.raises(InvalidScenario) as info:
        parse_scenario(text, source="bad.yaml")
    message = str(info.value)
    assert message.startswith("bad.yaml")
    if line is not None:
        assert info.value.line == line, message
    assert fragment in message


def test_absurd_traffic_volume_is_refused() -> None:
    text = GOOD.replace("duration: 2m", "duration: 168h") + "traffic: {rate: 900000}\n"
    with pytest.raises(InvalidScenario, match="requests; lower the rate or the duration"):
        parse_scenario(text, source="big.yaml")


NO_FLOW = GOOD.replace("flow: {kind: canary, stable: v1, candidate: v2}\n", "")


@pytest.mark.parametrize(
    ("text", "expect", "field", "message"),
    [
        (GOOD, "breaker_opened: true", "breaker_opened", "no breaker to measure without a resilience: block"),
        (
            GOOD,
            "max_retry_ratio: 0.1",
            "max_retry_ratio",
            "no retries to measure without a resilience: block",
        ),
        (NO_FLOW, "promoted: true", "promoted", "flow.kind is 'none'"),
        (GOOD, "winner: v2", "winner", "only a champion_challenger flow decides winner"),
        (GOOD, "no_winner: true", "no_winner", "only a champion_challenger flow decides no_winner"),
        (GOOD, "detected_fields: [total]", "detected_fields", "only a shadow flow decides detected_fields"),
        (GOOD, "clean_fields: [total]", "clean_fields", "only a shadow flow decides clean_fields"),
        (GOOD, "state_restored: true", "state_restored", "only a rollback flow decides state_restored"),
        (GOOD, "rolled_back_to: v1", "rolled_back_to", "only a rollback flow decides rolled_back_to"),
        (NO_FLOW, "rolled_back: false", "rolled_back", "only a canary or rollback flow decides"),
        (NO_FLOW, "rolled_back_within: 1m", "rolled_back_within", "only a canary or rollback flow"),
    ],
)
def test_an_expectation_the_scenario_cannot_produce_is_refused_at_load(
    text: str, expect: str, field: str, message: str
) -> None:
    """It would pass (or fail) whatever the system did: refused with its line and field, not run."""
    document = text + f"expectations:\n  outcome:\n    {expect}\n"
    with pytest.raises(InvalidScenario, match=message) as info:
        parse_scenario(document, source="vacuous.yaml")
    assert info.value.location == f"expectations.outcome.{field}"
    assert info.value.line == document.count("\n")
    assert str(info.value).startswith(f"vacuous.yaml:{info.value.line}: expectations.outcome.{field}: ")


@pytest.mark.parametrize(
    ("extra", "location", "message"),
    [
        (
            "flow: {kind: champion_challenger, stable: v1, candidate: v2}\n"
            "expectations: {outcome: {winner: v1}}\n",
            "expectations.outcome.winner",
            "'v1' can never be the winner",
        ),
        (
            "flow: {kind: shadow, stable: v1, candidate: v2, shadow: {ignore: [latency_ms]}}\n"
            "expectations: {outcome: {detected_fields: [latency_ms]}}\n",
            "expectations.outcome.detected_fields.0",
            "is in flow.shadow.ignore, so it is never compared",
        ),
        (
            "flow: {kind: shadow, stable: v1, candidate: v2}\n"
            "expectations: {outcome: {clean_fields: [colour]}}\n",
            "expectations.outcome.clean_fields.0",
            "field 'colour' is in no response",
        ),
        (
            "expectations: {steady_state: [{name: calm, metric: error_rate, max: 0.1, phase: during}]}\n",
            "expectations.steady_state.0.phase",
            "phase 'during' is measured around faults; this scenario has none",
        ),
        (
            "faults: [{kind: errors, target: v1, at: 0s, duration: 2m}]\n"
            "expectations: {steady_state: [{name: calm, metric: error_rate, max: 0.1, phase: after}]}\n",
            "expectations.steady_state.0.phase",
            "no 10s window lies after the faults",
        ),
    ],
)
def test_expectations_no_run_can_exercise_are_refused(extra: str, location: str, message: str) -> None:
    with pytest.raises(InvalidScenario, match=message) as info:
        parse_scenario(NO_FLOW + extra, source="vacuous.yaml")
    assert info.value.location == location


def test_producible_expectations_still_load() -> None:
    resilience = "resilience: {dependency: redis}\n"
    text = (
        GOOD.replace("model: {}", "model: {dependencies: [redis]}")
        + resilience
        + "expectations: {outcome: {promoted: true, rolled_back: false, breaker_opened: false, "
        "max_retry_ratio: 0.5}}\n"
    )
    scenario = parse_scenario(text)
    assert scenario.expectations.outcome.breaker_opened is False


@pytest.mark.parametrize(
    "candidate",
    [
        '{http: {url: "http://127.0.0.1:9/"}}',
        '{callable: {target: "harness.examples.scenario_versions:slow"}}',
    ],
)
def test_a_shadow_expectation_on_real_responses_loads(candidate: str) -> None:
    """A live service's or a callable's response fields are known only when it runs: not refused."""
    text = (
        "name: s\ndescription: d\nduration: 1m\n"
        f"versions:\n  v1: {candidate}\n  v2: {candidate}\n"
        "flow: {kind: shadow, stable: v1, candidate: v2}\n"
        "expectations: {outcome: {detected_fields: [price], clean_fields: [currency]}}\n"
    )
    scenario = parse_scenario(text)
    assert scenario.expectations.outcome.detected_fields == ["price"]


def test_a_good_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(GOOD)
    scenario = load_scenario(path)
    assert scenario.duration == 120.0
    assert scenario.versions["v1"].model is not None
    assert scenario.versions["v1"].model.latency.median == 0.05


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidScenario, match="no such file"):
        load_scenario(tmp_path / "absent.yaml")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InvalidScenario, match="not UTF-8"):
        load_scenario(binary)


def test_yaml_is_loaded_safely() -> None:
    with pytest.raises(InvalidScenario, match="YAML"):
        parse_scenario("name: !!python/object/apply:os.system ['echo pwned']\n")


@pytest.mark.parametrize(("text", "seconds"), [("250ms", 0.25), ("30s", 30), ("2m", 120), ("1h", 3600)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        (
            "duration: 2m",
            "duration: 120",
            3,
            "bad.yaml:3: duration: 120 has no unit; write 120s (or 120000ms)",
        ),
        (
            "median: 50ms",
            "median: 0.05",
            7,
            "versions.v1.model.latency.median: 0.05 has no unit; write 0.05s",
        ),
        (
            "flow: {kind: canary",
            "traffic: {rate: 10, profile: step, at: 30}\nflow: {kind: canary",
            10,
            "bad.yaml:10: traffic.at: 30 has no unit; write 30s (or 30000ms)",
        ),
    ],
)
def test_a_bare_number_is_no_duration_in_a_file(old: str, new: str, line: int, message: str) -> None:
    """In a scenario file a duration carries its unit; the error names file, line, field and the fix."""
    with pytest.raises(InvalidScenario) as info:
        parse_scenario(GOOD.replace(old, new), source="bad.yaml")
    assert info.value.line == line
    assert message in str(info.value)


def test_a_latency_probe_bound_is_a_duration() -> None:
    """A steady-state bound on p95 is written with a unit; an error-rate bound stays a fraction."""
    probes = "expectations:\n  steady_state:\n    - {name: fast, metric: p95, max: %s}\n"
    scenario = parse_scenario(GOOD + probes % "300ms")
    assert scenario.expectations.steady_state[0].max == 0.3
    assert parse_scenario(scenario_yaml(scenario)) == scenario
    with pytest.raises(InvalidScenario, match=r"max: 0.3 has no unit; write 0.3s \(or 300ms\)"):
        parse_scenario(GOOD + probes % "0.3", source="bad.yaml")
    rate = parse_scenario(GOOD + probes.replace("p95", "error_rate") % "0.02")
    assert rate.expectations.steady_state[0].max == 0.02


def test_python_callers_give_seconds() -> None:
    """Built from Python (not a file), a duration is a float of seconds."""
    scenario = parse_scenario(GOOD)
    assert scenario.model_validate(scenario.model_dump() | {"duration": 90.0}).duration == 90.0


def test_the_old_duration_parser_is_importable_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match="harness.units.parse_duration"):
        from harness.scenario.model import parse_duration as old
    assert old is parse_duration


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20))
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30,
)
_keys = st.sampled_from(
    [
        "name",
        "description",
        "duration",
        "window",
        "versions",
        "traffic",
        "faults",
        "flow",
        "expectations",
        "seed",
        "live",
        "resilience",
        "baseline",
        "extra",
    ]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.dictionaries(_keys, _values, max_size=8))
def test_fuzzed_structures_parse_or_raise_a_usage_error(doc: dict[str, object]) -> None:
    try:
        text = yaml.safe_dump(doc)
    except yaml.YAMLError:
        return
    try:
        parse_scenario(text, source="fuzz.yaml")
    except InvalidScenario as exc:
        message = str(exc)
    else:
        return
    assert message.startswith("fuzz.yaml")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_fuzzed_text_parses_or_raises_a_usage_error(text: str) -> None:
    with contextlib.suppress(InvalidScenario):
        parse_scenario(text, source="fuzz.yaml")
