"""Rollback target selection from a lineage, and rollback plans that choose their own target."""

from __future__ import annotations

import itertools
import json

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import InvalidConfig
from harness.rollout import (
    Action,
    Compatibility,
    Lineage,
    Migration,
    Outcome,
    RollbackConfig,
    RollbackPlan,
    Verdict,
    VersionWindow,
    Window,
    choose_rollback_target,
    compatibility,
)
from harness.slo import SLO

from ._lineages import P, Q, lineages, node


def _chain() -> Lineage:
    """v1 (production) <- v2 (quarantined, no migration) <- v3 (serving, declares a data migration)."""
    return Lineage(
        [
            node("v0", "0.9.0", lifecycle=P),
            node("v1", "1.0.0", ["v0"], P),
            node("v2", "1.1.0", ["v1"], Q, note="leaks connections under load"),
            node("v3", "1.2.0", ["v2"], migrations=[Migration.DATA]),
        ]
    )


def test_a_quarantined_parent_is_passed_over_with_its_reason() -> None:
    """v3's parent v2 is quarantined, so the rollback goes to v1 and says why."""
    choice = choose_rollback_target(_chain(), "v3")
    assert choice.target == "v1"
    assert choice.path is not None
    assert choice.path.versions == ("v3", "v1")
    assert choice.reasons[0] == "v2 skipped: quarantined: leaks connections under load"
    assert choice.reasons[1].startswith("v1 chosen: the newest production ancestor without a breaking step")
    assert "crosses quarantined v2" in choice.reasons[1]
    assert "revert the data migration of v3" in choice.reasons[1]
    json.dumps(choice.to_dict())


def test_breaking_and_blocked_ancestors_are_refused_and_an_explicit_target_is_checked() -> None:
    lineage = Lineage(
        [
            node("old", "1.9.0", lifecycle=P),
            node("new", "2.0.0", ["old"], P),
            node("bad", "2.1.0", ["new"], Q, migrations=[Migration.CONFIG], note="config drift"),
            node("cur", "2.2.0", ["bad"]),
        ]
    )
    choice = choose_rollback_target(lineage, "cur")
    assert choice.target is None
    assert [c.version for c in choice.candidates] == ["bad", "new", "old", "cur"]
    assert "declares a config migration" in choice.reasons[1]
    assert choice.reasons[-1].startswith("no rollback target")
    assert choose_rollback_target(lineage, "new").target is None  # only breaking: 2.0.0 -> 1.9.0
    explicit = choose_rollback_target(lineage, "new", explicit="old")
    assert explicit.target == "old"
    assert "1 breaking step(s)" in explicit.reasons[0]
    refused = choose_rollback_target(lineage, "cur", explicit="bad")
    assert refused.target is None
    assert "is quarantined" in refused.reasons[0]


@settings(max_examples=300, deadline=None)
@given(lineage=lineages(), data=st.data())
def test_the_chosen_target_is_the_newest_production_ancestor_with_a_non_breaking_path(
    lineage: Lineage, data: st.DataObject
) -> None:
    current = data.draw(st.sampled_from([n.id for n in lineage]), label="current")
    choice = choose_rollback_target(lineage, current)
    qualified = [a for a in _ancestors(lineage, current) if _safe_route_exists(lineage, current, a)]
    newest = max(qualified, key=lambda a: (lineage.node(a).semver, a), default=None)
    assert choice.target == newest
    if choice.target is not None:
        assert choice.path is not None
        assert choice.path.breaking_steps == 0
        assert lineage.node(choice.target).lifecycle is P
        assert choice.candidates[-1].accepted


def _ancestors(lineage: Lineage, version: str) -> set[str]:
    graph = nx.DiGraph()
    graph.add_nodes_from(n.id for n in lineage)
    graph.add_edges_from((p, n.id) for n in lineage for p in n.parents)
    return {a for a in nx.ancestors(graph, version) if lineage.node(a).lifecycle is P}


def _safe_route_exists(lineage: Lineage, start: str, end: str) -> bool:
    """Brute force: a simple route whose stops are deployable and whose steps are never breaking."""
    graph = nx.Graph()
    graph.add_edges_from((p, n.id) for n in lineage for p in n.parents)
    for route in nx.all_simple_paths(graph, start, end):
        inner = [lineage.node(v) for v in route[1:-1]]
        if any(v.quarantined and v.migrations for v in inner):
            continue
        stops = [start, *(v.id for v in inner if not v.quarantined), end]
        if all(
            compatibility(lineage.node(a).semver, lineage.node(b).semver) is not Compatibility.BREAKING
            for a, b in itertools.pairwise(stops)
        ):
            return True
    return False


# -- rollback plans --------------------------------------------------------------------------------

HEALTHY = SLO(name="availability", objective=0.99)


def _window(t: float, version: str, errors: int) -> Window:
    return Window(start=t, end=t + 10, versions={version: VersionWindow(requests=1000, errors=errors)})


def test_a_plan_chooses_its_target_and_puts_the_reasons_first() -> None:
    plan = RollbackPlan(
        RollbackConfig(
            from_version="v3",
            weights={"v3": 100.0},
            lineage=_chain(),
            post_checks=(HEALTHY,),
            verify_windows=1,
        )
    )
    assert plan.target == "v1"
    decision = plan.start(0.0)
    assert decision.action is Action.ROLLBACK
    assert dict(decision.weights) == {"v1": 100.0, "v3": 0.0}
    assert [r.statistic for r in decision.reasons[:2]] == ["target", "target"]
    assert decision.reasons[0].message.startswith("v2 skipped: quarantined")
    assert decision.reasons[1].verdict is Verdict.PASS
    assert plan.observe(_window(10, "v1", 0)).action is Action.COMPLETE
    assert plan.outcome is Outcome.ROLLED_BACK
    record = plan.to_dict()
    assert record["to"] == "v1"
    assert record["choice"]["target"] == "v1"
    assert [e["event"] for e in record["history"]] == ["backup", "target", "execute", "rolled_back"]
    assert record["history"][2]["data"]["path"]["versions"] == ["v3", "v1"]
    json.dumps(record)


def test_a_failed_rollback_rolls_forward_along_the_same_path_back() -> None:
    plan = RollbackPlan(
        RollbackConfig(from_version="v3", weights={"v3": 100.0}, lineage=_chain(), post_checks=(HEALTHY,))
    )
    plan.start(0.0)
    final = plan.observe(_window(10, "v1", 500))
    assert plan.outcome is Outcome.ROLLED_FORWARD
    assert dict(final.weights) == {"v3": 100.0}
    back = final.reasons[-1]
    assert back.statistic == "path_back"
    assert back.message == (
        "rolling forward along v1 -> v3: v1 -> v3 (compatible; crosses quarantined v2; "
        "apply the data migration of v3)"
    )
    path_back = plan.history[-1].data["path_back"]
    assert path_back["versions"] == ["v1", "v3"]
    assert plan.path is not None
    assert path_back == plan.path.reversed().to_dict()


def test_a_plan_without_a_qualifying_target_aborts_at_start_and_keeps_the_split() -> None:
    lineage = Lineage([node("v1", "1.0.0", lifecycle=Q, note="bad"), node("v2", "1.1.0", ["v1"])])
    plan = RollbackPlan(RollbackConfig(from_version="v2", weights={"v2": 100.0}, lineage=lineage))
    assert plan.target is None
    decision = plan.start(5.0)
    assert decision.terminal
    assert decision.action is Action.ABORT
    assert plan.outcome is Outcome.ABORTED
    assert dict(decision.weights) == {"v2": 100.0}
    assert decision.reasons[-1].verdict is Verdict.FAIL
    assert decision.reasons[-1].message.startswith("no rollback target")


def test_rollback_config_needs_a_target_or_a_lineage_that_knows_the_version() -> None:
    with pytest.raises(InvalidConfig, match="pass lineage="):
        RollbackConfig(from_version="v3", weights={"v3": 100.0})
    with pytest.raises(InvalidConfig, match="'v9' is not in the lineage"):
        RollbackConfig(from_version="v9", weights={"v9": 100.0}, lineage=_chain())
    explicit = RollbackPlan(
        RollbackConfig(from_version="v3", to_version="v0", weights={"v3": 100.0}, lineage=_chain())
    )
    assert explicit.target == "v0"
    assert explicit.choice is not None
    assert explicit.choice.explicit
    assert RollbackPlan(RollbackConfig(from_version="a", to_version="b", weights={"a": 100})).choice is None
