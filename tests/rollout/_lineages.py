"""Builders for lineage tests: small hand-written lineages and a Hypothesis strategy of random ones."""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import strategies as st

from harness.rollout import Lifecycle, Lineage, LineageNode, Migration, SemVer

Q, P, E = Lifecycle.QUARANTINE, Lifecycle.PRODUCTION, Lifecycle.EXPERIMENTAL


def node(
    id: str,
    version: str,
    parents: Iterable[str] = (),
    lifecycle: Lifecycle = E,
    *,
    migrations: Iterable[Migration] = (),
    note: str = "",
) -> LineageNode:
    """A lineage node from short arguments."""
    return LineageNode(
        id=id,
        semver=SemVer.parse(version),
        parents=tuple(parents),
        lifecycle=lifecycle,
        migrations=frozenset(migrations),
        note=note,
    )


_ROOT_VERSIONS = st.builds(
    lambda major, minor, patch, pre: f"{major}.{minor}.{patch}{'-rc.1' if pre else ''}",
    st.integers(0, 2),
    st.integers(0, 2),
    st.integers(0, 2),
    st.sampled_from([False, False, False, True]),
)
_BUMPS = st.sampled_from(["patch", "patch", "minor", "minor", "major", "pre"])


def _bump(version: SemVer, bump: str) -> str:
    """A child's version: mostly patch or minor bumps of a parent, sometimes a major or a pre-release."""
    if bump == "major":
        return f"{version.major + 1}.0.0"
    if bump == "minor":
        return f"{version.major}.{version.minor + 1}.0"
    if bump == "patch":
        return f"{version.major}.{version.minor}.{version.patch + 1}"
    return f"{version.major}.{version.minor}.{version.patch + 1}-rc.1"


_MIGRATIONS = st.sampled_from([frozenset(), frozenset(), frozenset()]) | st.sets(
    st.sampled_from(list(Migration)), min_size=1, max_size=2
)


@st.composite
def lineages(draw: st.DrawFn, max_size: int = 9) -> Lineage:
    """A random DAG: each version has one or two parents among the earlier ones (sometimes none).

    Quarantined versions are common and most versions declare no migration, so paths often
    cross quarantined versions, are blocked by them, or need several steps.
    """
    size = draw(st.integers(3, max_size))
    nodes = []
    for i in range(size):
        earlier = [f"n{j}" for j in range(i)]
        fewest = draw(st.sampled_from([0, 1, 1, 1, 1])) if earlier else 0
        parents = (
            draw(st.lists(st.sampled_from(earlier), min_size=fewest, max_size=2, unique=True))
            if earlier
            else []
        )
        if parents:
            base = nodes[int(draw(st.sampled_from(parents))[1:])].semver
            version = _bump(base, draw(_BUMPS))
        else:
            version = draw(_ROOT_VERSIONS)
        nodes.append(
            node(
                f"n{i}",
                version,
                parents,
                draw(st.sampled_from([E, P, P, Q, Q])),
                migrations=draw(_MIGRATIONS),
            )
        )
    return Lineage(nodes)
