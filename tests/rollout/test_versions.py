"""Versions, lifecycle and the Storage-backed registry."""

import warnings

import pytest

from harness.clock import VirtualClock
from harness.errors import InvalidConfig
from harness.rollout import (
    Compatibility,
    HistoryKind,
    Lifecycle,
    SemVer,
    Version,
    VersionQuarantined,
    VersionRegistry,
    compatibility,
)
from harness.storage import MemoryStorage


def _v(
    version: str,
    content: str = "model",
    lifecycle: Lifecycle = Lifecycle.EXPERIMENTAL,
    parents: tuple[str, ...] = (),
) -> Version:
    return Version(
        name="ranker",
        version=version,
        checksum=Version.checksum_of(content),
        lifecycle=lifecycle,
        parents=parents,
    )


def test_semver_parsing_and_precedence() -> None:
    """Pre-releases sort before their release; build metadata is ignored in comparisons."""
    order = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "2.0.0"]
    parsed = [SemVer.parse(v) for v in order]
    shuffled = [parsed[i] for i in (3, 0, 7, 5, 1, 6, 2, 4)]
    assert sorted(shuffled) == parsed
    assert SemVer.parse("v1.2.3+build.7") == SemVer.parse("1.2.3")
    assert str(SemVer.parse("1.2.3-rc.1+b")) == "1.2.3-rc.1+b"
    with pytest.raises(InvalidConfig, match=r"MAJOR\.MINOR\.PATCH"):
        SemVer.parse("1.2")


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.2.3", "1.2.3", Compatibility.SAME),
        ("1.2.3", "1.2.9", Compatibility.PATCH),
        ("1.2.3", "1.5.0", Compatibility.COMPATIBLE),
        ("1.2.3", "2.0.0", Compatibility.BREAKING),
        ("0.2.0", "0.3.0", Compatibility.BREAKING),
        ("1.0.0", "1.0.1-rc.1", Compatibility.BREAKING),
    ],
)
def test_compatibility_levels(a: str, b: str, expected: Compatibility) -> None:
    """Patch / compatible / breaking follow semver (0.x minors and pre-releases break)."""
    assert compatibility(SemVer.parse(a), SemVer.parse(b)) is expected


def test_lifecycle_moves_forward_and_quarantine_is_read_only() -> None:
    """experimental -> production -> quarantine; quarantined versions warn on use and refuse changes."""
    v = _v("1.0.0")
    prod = v.transition("production")
    assert prod.lifecycle is Lifecycle.PRODUCTION
    with pytest.raises(InvalidConfig, match="cannot move from production to experimental"):
        prod.transition(Lifecycle.EXPERIMENTAL)
    q = prod.transition(Lifecycle.QUARANTINE)
    with pytest.warns(DeprecationWarning, match="quarantined"):
        assert q.use() is q
    with pytest.raises(VersionQuarantined, match="read-only"):
        q.transition(Lifecycle.PRODUCTION)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prod.use()
    assert q.compatibility_with(_v("1.0.1")) is Compatibility.PATCH


def test_version_validation() -> None:
    """Bad names, checksums and lifecycles are rejected with the fix."""
    with pytest.raises(InvalidConfig, match="sha256"):
        Version(name="a", version="1.0.0", checksum="abc")
    with pytest.raises(InvalidConfig, match="without '/'"):
        Version(name="a/b", version="1.0.0")
    with pytest.raises(InvalidConfig, match="valid: experimental"):
        Version(name="a", version="1.0.0", lifecycle="beta")  # type: ignore[arg-type]


async def test_registry_persists_versions_history_and_paths() -> None:
    """Register, promote, quarantine; ordered history; paths cross a quarantined, migration-free version."""
    storage = MemoryStorage()
    clock = VirtualClock()
    reg = VersionRegistry(storage, "ranker", clock=clock)
    parent: tuple[str, ...] = ()
    for ver in ["1.0.0", "1.1.0", "1.2.0", "2.0.0"]:
        await reg.register(_v(ver, content=ver, parents=parent))
        parent = (ver,)
        clock.advance(1.0)
    assert await reg.register(_v("1.0.0", content="1.0.0")) == _v("1.0.0", content="1.0.0")
    with pytest.raises(InvalidConfig, match="needs a new version number"):
        await reg.register(_v("1.0.0", content="different"))
    with pytest.raises(InvalidConfig, match="cannot change after registration"):
        await reg.register(_v("1.1.0", content="1.1.0", parents=()))
    await reg.promote("1.0.0")
    await reg.promote("1.2.0")
    await reg.quarantine("1.1.0", actor="oncall", reason="leaks connections")
    assert (await reg.production()).version == "1.2.0"  # type: ignore[union-attr]
    assert [v.version for v in await reg.baselines()] == ["1.2.0", "1.1.0", "1.0.0"]
    history = await reg.history()
    assert [e.kind for e in history] == [HistoryKind.REGISTERED] * 4 + [HistoryKind.LIFECYCLE] * 3
    assert [e.seq for e in history] == sorted(e.seq for e in history)
    assert (history[-1].lifecycle, history[-1].actor, history[-1].reason) == (
        Lifecycle.QUARANTINE,
        "oncall",
        "leaks connections",
    )
    assert await reg.compatibility("1.0.0", "2.0.0") is Compatibility.BREAKING
    path = await reg.migration_path("1.0.0", "2.0.0")
    assert path.versions == ("1.0.0", "1.2.0", "2.0.0")
    assert path.steps[0].crosses == ("1.1.0",)
    assert path.breaking_steps == 1
    assert (await reg.migration_path("2.0.0", "1.0.0")).versions == ("2.0.0", "1.2.0", "1.0.0")
    again = VersionRegistry(storage, "ranker", clock=clock)
    assert [v.version for v in await again.versions()] == ["1.0.0", "1.1.0", "1.2.0", "2.0.0"]
    assert (await again.get("1.1.0")).quarantined
    assert await again.history() == history
    with pytest.raises(InvalidConfig, match=r"not registered; known: 1\.0\.0"):
        await again.get("9.9.9")
    with pytest.raises(InvalidConfig, match="belongs to"):
        await reg.register(Version(name="other", version="1.0.0"))


async def test_registry_works_on_embedded_redis() -> None:
    """The registry runs unchanged on the fakeredis-backed storage."""
    from harness.storage import RedisStorage

    storage = RedisStorage.embedded()
    try:
        reg = VersionRegistry(storage, "svc")
        await reg.register(Version(name="svc", version="0.1.0"))
        await reg.promote("0.1.0")
        assert (await reg.production()) is not None
    finally:
        await storage.close()
