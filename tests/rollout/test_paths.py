"""Lineages and migration paths: hand-written cases, and random lineages against a brute-force oracle.

The oracle enumerates every simple route between two versions in the undirected lineage graph
(networkx ``all_simple_paths``), keeps the routes whose inner versions are deployable stops or
crossable quarantined versions (no declared migration), and scores each by (breaking steps,
steps) between consecutive stops. It shares no code with the search under test.
"""

from __future__ import annotations

import itertools
import json

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import InvalidConfig
from harness.rollout import (
    Compatibility,
    Lineage,
    Migration,
    MigrationDirection,
    MigrationPath,
    MigrationRefused,
    PathPolicy,
    PathRefusal,
    compatibility,
    find_path,
)

from ._lineages import P, Q, lineages, node

DATA, CONFIG = Migration.DATA, Migration.CONFIG


def test_lineage_rejects_unknown_parents_cycles_and_repeats() -> None:
    with pytest.raises(InvalidConfig, match="parent 'v9' is not in the lineage"):
        Lineage([node("v1", "1.0.0", ["v9"])])
    with pytest.raises(InvalidConfig, match="cycle through a, b"):
        Lineage([node("a", "1.0.0", ["b"]), node("b", "1.1.0", ["a"])])
    with pytest.raises(InvalidConfig, match="appears twice"):
        Lineage([node("a", "1.0.0"), node("a", "1.1.0")])
    with pytest.raises(InvalidConfig, match="each named once"):
        node("a", "1.0.0", ["a"])


def test_ancestors_and_descendants_are_transitive_and_newest_first() -> None:
    lineage = Lineage(
        [
            node("v1", "1.0.0"),
            node("v2", "1.1.0", ["v1"]),
            node("hotfix", "1.0.1", ["v1"]),
            node("v3", "1.2.0", ["v2", "hotfix"]),
        ]
    )
    assert lineage.ancestors("v3") == ("v2", "hotfix", "v1")
    assert lineage.descendants("v1") == ("v3", "v2", "hotfix")
    assert lineage.children("v1") == ("hotfix", "v2")
    assert Lineage.from_dict(json.loads(json.dumps(lineage.to_dict()))) == lineage
    with pytest.raises(InvalidConfig, match="not in the lineage; known: v1, hotfix, v2, v3"):
        lineage.ancestors("v4")


def test_a_path_crosses_a_quarantined_version_that_declares_no_migration() -> None:
    """v3 -> v1 passes over quarantined v2 (never deployed); v3's own data migration is reverted."""
    lineage = Lineage(
        [
            node("v1", "1.0.0", lifecycle=P),
            node("v2", "1.1.0", ["v1"], Q, note="leaks connections"),
            node("v3", "1.2.0", ["v2"], migrations=[DATA]),
        ]
    )
    path = find_path(lineage, "v3", "v1")
    assert path.versions == ("v3", "v1")
    (step,) = path.steps
    assert step.crosses == ("v2",)
    assert step.compatibility is Compatibility.COMPATIBLE
    assert [(m.version, m.kind, m.direction) for m in step.migrations] == [
        ("v3", DATA, MigrationDirection.REVERT)
    ]
    back = path.reversed()
    assert back.versions == ("v1", "v3")
    assert [str(m) for m in back.migrations] == ["apply the data migration of v3"]
    assert MigrationPath.from_dict(json.loads(json.dumps(path.to_dict()))) == path


def test_a_quarantined_version_whose_migration_would_run_blocks_the_route() -> None:
    lineage = Lineage(
        [
            node("v1", "1.0.0", lifecycle=P),
            node("v2", "1.1.0", ["v1"], Q, migrations=[CONFIG], note="bad config schema"),
            node("v3", "1.2.0", ["v2"]),
        ]
    )
    blocked = r"v2 \(quarantine: bad config schema\) declares a config"
    with pytest.raises(MigrationRefused, match=blocked) as err:
        find_path(lineage, "v3", "v1")
    assert err.value.refusal is PathRefusal.QUARANTINED_ROUTE
    assert err.value.blocked == ("v2",)


def test_quarantined_destinations_and_unrelated_versions_are_refused() -> None:
    lineage = Lineage([node("v1", "1.0.0", lifecycle=Q, note="corrupts state"), node("v2", "1.1.0", ["v1"])])
    lineage = Lineage([*lineage, node("other", "3.0.0")])
    with pytest.raises(MigrationRefused, match=r"corrupts state\) is quarantined") as err:
        find_path(lineage, "v2", "v1")
    assert err.value.refusal is PathRefusal.QUARANTINED_DESTINATION
    with pytest.raises(MigrationRefused, match="share no lineage") as err:
        find_path(lineage, "v2", "other")
    assert err.value.refusal is PathRefusal.NO_LINEAGE
    assert find_path(lineage, "v1", "v2").versions == ("v1", "v2")  # leaving a quarantined start is fine
    assert find_path(lineage, "v2", "v2").steps == ()


def test_a_longer_path_without_a_breaking_step_beats_a_shorter_breaking_one() -> None:
    """root -> major -> goal has two breaking steps; the three compatible steps through minor win."""
    lineage = Lineage(
        [
            node("root", "1.4.0"),
            node("major", "2.0.0", ["root"]),
            node("minor", "1.5.0", ["root"]),
            node("patch", "1.5.1", ["minor"]),
            node("goal", "1.6.0", ["major", "patch"]),
        ]
    )
    path = find_path(lineage, "root", "goal")
    assert path.versions == ("root", "minor", "patch", "goal")
    assert path.breaking_steps == 0


def test_no_breaking_policy_refuses_and_names_the_best_breaking_path() -> None:
    lineage = Lineage([node("v1", "1.0.0"), node("v2", "2.0.0", ["v1"])])
    assert find_path(lineage, "v2", "v1").breaking_steps == 1
    best = r"has a breaking step; the best has 1: v2 -> v1 \(breaking\)"
    with pytest.raises(MigrationRefused, match=best) as e:
        find_path(lineage, "v2", "v1", policy=PathPolicy.NO_BREAKING)
    assert e.value.refusal is PathRefusal.BREAKING
    assert e.value.best is not None
    assert e.value.best.versions == ("v2", "v1")


# -- the oracle ---------------------------------------------------------------------------------


def _oracle(lineage: Lineage, start: str, end: str) -> tuple[int, int] | None:
    """The least (breaking steps, steps) over every valid simple route, by exhaustive enumeration."""
    graph = nx.Graph()
    graph.add_nodes_from(n.id for n in lineage)
    graph.add_edges_from((p, n.id) for n in lineage for p in n.parents)
    nodes = {n.id: n for n in lineage}
    if nodes[end].quarantined:
        return None
    best: tuple[int, int] | None = None
    for route in nx.all_simple_paths(graph, start, end):
        inner = [nodes[v] for v in route[1:-1]]
        if any(v.quarantined and v.migrations for v in inner):
            continue
        stops = [start, *(v.id for v in inner if not v.quarantined), end]
        breaking = sum(
            compatibility(nodes[a].semver, nodes[b].semver) is Compatibility.BREAKING
            for a, b in itertools.pairwise(stops)
        )
        score = (breaking, len(stops) - 1)
        best = score if best is None else min(best, score)
    return best


def _assert_walks_the_lineage(lineage: Lineage, path: MigrationPath) -> None:
    """Each step's route follows parent-child edges, stops are deployable, crossings are crossable."""
    walk = [path.start]
    for step in path.steps:
        assert step.source == walk[-1]
        for a, b in itertools.pairwise(step.route):
            assert a in lineage.parents(b) or b in lineage.parents(a)
        for crossed in step.crosses:
            assert lineage.node(crossed).quarantined
            assert not lineage.node(crossed).migrations
        assert not lineage.node(step.target).quarantined
        expected = compatibility(lineage.node(step.source).semver, lineage.node(step.target).semver)
        assert step.compatibility is expected
        walk.extend(step.route[1:])
    assert walk[-1] == path.end
    assert len(walk) == len(set(walk)), f"the path revisits a version: {walk}"


@settings(max_examples=500, deadline=None)
@given(lineage=lineages(), data=st.data())
def test_computed_paths_exist_avoid_quarantine_and_are_never_longer_than_the_oracle(
    lineage: Lineage, data: st.DataObject
) -> None:
    ids = [n.id for n in lineage]
    start = data.draw(st.sampled_from(ids), label="start")
    end = data.draw(st.sampled_from(ids), label="end")
    expected = (0, 0) if start == end else _oracle(lineage, start, end)
    for policy in PathPolicy:
        refusable = expected is None or (policy is PathPolicy.NO_BREAKING and expected[0] > 0)
        if refusable:
            with pytest.raises(MigrationRefused):
                find_path(lineage, start, end, policy=policy)
            continue
        path = find_path(lineage, start, end, policy=policy)
        assert expected is not None, f"found {path.versions} but the oracle found no valid route"
        _assert_walks_the_lineage(lineage, path)
        assert not any(lineage.node(v).quarantined for v in path.versions[1:])
        assert (path.breaking_steps, len(path.steps)) == expected
        json.dumps(path.to_dict())
