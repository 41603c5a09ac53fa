"""The live scenario format: services, dependencies, real requests, group faults, experiments.

Every bad input is one short message naming the file, the line and the field.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import InvalidScenario
from harness.mode import Mode
from harness.scenario import parse_scenario
from harness.scenario.model import DependencyKind, FlowKind, HttpMethod, ScenarioFaultKind
from harness.scenario.modes import mode_problems
from harness.scenario.templates import TemplateContext, TemplateError, render, template_names

GOOD = """\
name: live-ok
description: a ChAP experiment cutting the experiment group's Redis
duration: 60s
window: 10s
dependencies:
  redis: {kind: redis, service: redis}
  downstream: {kind: http, url: "http://127.0.0.1:9100"}
services:
  app:
    command: [python, -m, app, --port, "${port}", --version, "${vars.version}"]
    env: {REDIS_URL: "${deps.redis.url}", DOWNSTREAM_URL: "${deps.downstream.url}", GROUP: "${group}"}
    ready: {http: /health, timeout: 10s}
  redis:
    command: [redis-server, --port, "${port}", --save, ""]
    ready: {tcp: true, timeout: 5s}
    shared: true
versions:
  v1: {http: {service: app, vars: {version: good}}}
traffic:
  mix:
    - name: checkout
      method: POST
      path: /checkout
      headers: {content-type: application/json}
      check: {status: [200], json: {ok: true}, contains: total}
faults:
  - {kind: outage, target: redis, at: 20s, duration: 20s, groups: [experiment]}
flow:
  kind: experiment
  stable: v1
  experiment: {share: 5, abort: {error_rate: 5%, p99: 800ms}}
expectations:
  steady_state:
    - {name: control untouched, metric: error_rate, max: 0.0, group: control}
  outcome: {experiment: passed}
live: {window: 1s, rate: 200}
"""


def test_a_full_live_scenario_loads() -> None:
    sc = parse_scenario(GOOD, source="ok.yaml", mode=Mode.LIVE)
    assert sc.flow.kind is FlowKind.EXPERIMENT
    assert sc.groups == {"v1": "v1", "control": "v1", "experiment": "v1"}
    assert sc.dependencies["redis"].kind is DependencyKind.REDIS
    assert sc.flow.experiment.abort.error_rate == pytest.approx(0.05)
    assert sc.flow.experiment.abort.p99 == pytest.approx(0.8)
    kind = sc.traffic.mix[0]
    assert kind.method is HttpMethod.POST
    assert kind.check is not None
    assert kind.check.json_fields == {"ok": True}
    assert sc.faults[0].groups == ["experiment"]
    assert sc.services["app"].placeholders() == {
        "port",
        "vars.version",
        "deps.redis.url",
        "deps.downstream.url",
        "group",
    }


def _swap(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (
            _swap("{http: {service: app, vars: {version: good}}}", "{http: {service: ap}}"),
            18,
            "versions.v1.http.service: 'ap' is not a service; services: ['app', 'redis']",
        ),
        (
            _swap(
                "{http: {service: app, vars: {version: good}}}",
                "{http: {service: app, url: 'http://127.0.0.1:1'}}",
            ),
            18,
            "versions.v1.http: an http version needs exactly one of url",
        ),
        (_swap("{kind: redis, service: redis}", "{kind: redis, service: db}"), 6, "'db' is not a service"),
        (_swap("    shared: true\n", ""), 6, "mark services.redis shared: true"),
        (
            _swap("{kind: redis, service: redis}", "{kind: redis, url: 'redis://127.0.0.1:6379/0'}"),
            14,
            "service 'redis' is used by no version",
        ),
        (
            _swap('"${vars.version}"', '"${vars.colour}"'),
            10,
            "services.app.command.6: ${vars.colour} is unknown",
        ),
        (_swap('"${vars.version}"', '"${HOME}"'), 10, "known: deps.downstream.host, deps.downstream.port"),
        (_swap('"${deps.redis.url}"', '"${deps.cache.url}"'), 11, "services.app.env.REDIS_URL"),
        (_swap('--save, ""]', '--save, "${group}"]'), 14, "a shared service has only ${port}"),
        (_swap('--port, "${port}", --save', "--port, '6379', --save"), 14, "must listen on ${port}"),
        (_swap('"${vars.version}"', '"${vars..x}"'), 10, "is not a template name"),
        (
            _swap("groups: [experiment]", "groups: [canary]"),
            27,
            "faults.0.groups.0: 'canary' is not a traffic group",
        ),
        (_swap("group: control}", "group: treatment}"), 34, "expectations.steady_state.0.group"),
        (
            _swap("versions:\n  v1:", "versions:\n  control: {callable: {target: 'a:b'}}\n  v1:"),
            18,
            "'control' is a group of the experiment flow",
        ),
        (_swap("{kind: outage, target: redis,", "{kind: bandwidth, target: redis,"), 27, "needs bandwidth"),
        (
            _swap("{kind: outage, target: redis,", "{kind: outage, jitter: 5ms, target: redis,"),
            27,
            "jitter is for",
        ),
        (
            _swap("abort: {error_rate: 5%, p99: 800ms}", "abort: {}"),
            31,
            "abort needs error_rate, p99 or both",
        ),
        (_swap("error_rate: 5%", "error_rate: 5 percent"), 31, "flow.experiment.abort.error_rate"),
        (_swap("error_rate: 5%", "error_rate: 500%"), 31, "less than or equal to 1"),
        (_swap("status: [200]", "status: [700]"), 25, "traffic.mix.0.check.status.0"),
        (_swap("method: POST", "method: FETCH"), 22, "'FETCH' is not valid"),
        (_swap("path: /checkout", "path: checkout"), 23, "traffic.mix.0.path"),
        (_swap('url: "http://127.0.0.1:9100"', 'url: "127.0.0.1:9100"'), 7, "is not a http address"),
        (_swap("ready: {tcp: true, timeout: 5s}", "ready: {tcp: true, http: /}"), 15, "exactly one of http"),
        (_swap("ready: {tcp: true, timeout: 5s}", "ready: {tcp: true, timeout: 0s}"), 15, "must be > 0"),
        (_swap("    shared: true\n", "    shared: true\n    colour: red\n"), 17, "unknown field 'colour'"),
    ],
)
def test_bad_live_scenarios_name_line_and_field(text: str, line: int, fragment: str) -> None:
    with pytest.raises(InvalidScenario) as info:
        parse_scenario(text, source="bad.yaml")
    message = str(info.value)
    assert message.startswith(f"bad.yaml:{line}: "), message
    assert fragment in message


@pytest.mark.parametrize(
    ("text", "mode", "line", "fragment"),
    [
        (GOOD, Mode.SIMULATED, 18, "versions.v1.http: an HTTP version runs in live mode only"),
        (
            _swap('{kind: http, url: "http://127.0.0.1:9100"}', "{kind: http}"),
            Mode.LIVE,
            None,
            "",
        ),
        (
            _swap("target: redis, at: 20s", "target: downstream, at: 20s").replace(
                'DOWNSTREAM_URL: "${deps.downstream.url}", ', ""
            ),
            Mode.LIVE,
            27,
            "faults.0.target: no group it names reaches 'downstream'",
        ),
        (
            _swap("{kind: outage, target: redis,", "{kind: corrupt, target: redis,"),
            Mode.LIVE,
            27,
            "faults.0.kind: 'corrupt' cannot act on 'redis' (a redis dependency)",
        ),
    ],
)
def test_what_a_mode_cannot_run_is_refused_at_load_with_its_line(
    text: str, mode: Mode, line: int | None, fragment: str
) -> None:
    if line is None:  # valid in this mode: nothing to refuse
        parse_scenario(text, source="m.yaml", mode=mode)
        return
    with pytest.raises(InvalidScenario) as info:
        parse_scenario(text, source="m.yaml", mode=mode)
    message = str(info.value)
    assert message.startswith(f"m.yaml:{line}: "), message
    assert fragment in message


def test_simulated_mode_lists_every_live_only_part() -> None:
    text = _swap("{kind: outage, target: redis,", "{kind: reset, target: redis,")
    problems = mode_problems(parse_scenario(text), Mode.SIMULATED)
    assert [(p.dotted, p.message.split(";")[0]) for p in problems] == [
        ("versions.v1.http", "an HTTP version runs in live mode only"),
        ("services", "services are started in live mode only"),
        ("faults.0.kind", "a reset fault on 'redis' is carried out by the live fault proxy only"),
    ]


def test_a_dependency_fault_without_an_address_is_refused_live() -> None:
    text = _swap("target: redis, at: 20s", "target: cache, at: 20s").replace(
        "  redis: {kind: redis, service: redis}\n",
        "  redis: {kind: redis, service: redis}\n  cache: {kind: tcp}\n",
    )
    with pytest.raises(InvalidScenario, match=r"faults\.0\.target: dependency 'cache' has no address"):
        parse_scenario(text, source="m.yaml", mode=Mode.LIVE)


def test_fault_kinds_of_the_proxy_parse() -> None:
    text = _swap(
        "  - {kind: outage, target: redis, at: 20s, duration: 20s, groups: [experiment]}\n",
        "  - {kind: latency, target: redis, at: 1s, duration: 1s, latency: 50ms, jitter: 10ms}\n"
        "  - {kind: bandwidth, target: redis, at: 1s, duration: 1s, bandwidth: 64}\n"
        "  - {kind: timeout, target: redis, at: 1s, duration: 1s, timeout: 200ms}\n"
        "  - {kind: slicer, target: redis, at: 1s, duration: 1s}\n"
        "  - {kind: reset, target: redis, at: 1s, duration: 1s, rate: 0.5}\n",
    )
    faults = parse_scenario(text, mode=Mode.LIVE).faults
    assert [f.kind for f in faults] == [
        ScenarioFaultKind.LATENCY,
        ScenarioFaultKind.BANDWIDTH,
        ScenarioFaultKind.TIMEOUT,
        ScenarioFaultKind.SLICER,
        ScenarioFaultKind.RESET,
    ]
    assert faults[0].jitter == pytest.approx(0.01)
    assert faults[2].timeout == pytest.approx(0.2)


def test_every_live_field_is_documented_in_the_schema() -> None:
    """The JSON Schema carries a description for each field of the live sections."""
    from harness.scenario.model import (
        AbortSpec,
        DependencySpec,
        ExperimentSpec,
        ReadySpec,
        ResponseCheck,
        ServiceSpec,
    )

    for model in (AbortSpec, DependencySpec, ExperimentSpec, ReadySpec, ResponseCheck, ServiceSpec):
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"


# -- templates ------------------------------------------------------------------------------------


def test_templates_render_ports_groups_vars_and_dependency_addresses() -> None:
    context = TemplateContext(
        port=8001,
        group="experiment",
        version="v1",
        vars={"version": "good"},
        deps={"redis": {"url": "redis://127.0.0.1:7001/0", "host": "127.0.0.1", "port": "7001"}},
    )
    assert context.render("--port=${port} --group ${ group }") == "--port=8001 --group experiment"
    assert context.render("${deps.redis.url}|${deps.redis.port}|${vars.version}") == (
        "redis://127.0.0.1:7001/0|7001|good"
    )
    assert context.render("cost: $${price} at ${port}") == "cost: ${price} at 8001"


def test_an_unknown_template_name_lists_the_known_ones() -> None:
    with pytest.raises(TemplateError, match=r"\$\{deps\.db\.url\} is unknown here; known: group, port"):
        render("${deps.db.url}", {"port": "1", "group": "g"})


def test_template_names_are_only_names() -> None:
    assert template_names("a ${port} b $${x} ${deps.r.url}") == ["port", "deps.r.url"]
    with pytest.raises(TemplateError, match="is not a template name"):
        template_names("${__import__('os')}")


def test_the_readme_live_scenario_is_a_valid_live_scenario() -> None:
    """The README teaches a new user the live format with one example: it must load for live mode."""
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### Live experiments on your own service\n", 1)[1].split("\n### ", 1)[0]
    (example,) = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)
    scenario = parse_scenario(example, source="README.md", mode=Mode.LIVE)
    assert scenario.flow.kind.value == "experiment"
    assert set(scenario.live_groups) == {"v1", "control", "experiment"}
