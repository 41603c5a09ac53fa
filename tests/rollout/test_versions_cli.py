"""``harness versions list|show|path|history`` over a memory file, fakeredis and a real Redis."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import EXIT_FINDING, EXIT_OK, EXIT_USAGE, main
from harness.clock import VirtualClock
from harness.rollout import Lifecycle, Migration, Version, VersionRegistry
from harness.storage import MemoryStorage, RedisStorage, Storage
from tests.support import redis_url, requires_redis, serving

START = 1_750_000_000.0  # 2025-06-15T15:06:40Z


async def _fill(storage: Storage) -> None:
    """ranker: 1.0.0 (production) <- 1.1.0 (quarantined) <- 1.2.0 (data migration) <- 2.0.0."""
    clock = VirtualClock(start=START)
    reg = VersionRegistry(storage, "ranker", clock=clock)

    def v(version: str, *parents: str, **kwargs: object) -> Version:
        return Version(name="ranker", version=version, parents=parents, **kwargs)  # type: ignore[arg-type]

    await reg.register(v("1.0.0", checksum=Version.checksum_of("weights")), actor="ci", reason="build 1")
    clock.advance(3600)
    await reg.promote("1.0.0", actor="canary", reason="canary passed")
    await reg.register(v("1.1.0", "1.0.0"), actor="ci")
    await reg.register(v("1.2.0", "1.1.0", migrations=frozenset({Migration.DATA})), actor="ci")
    clock.advance(60)
    await reg.quarantine("1.1.0", actor="oncall", reason="leaks connections")
    await reg.register(v("2.0.0", "1.2.0"), actor="ci")


@pytest.fixture
def fake_redis_url() -> Iterator[str]:
    """A fakeredis server on a loopback TCP port, speaking the Redis protocol."""
    from fakeredis import TcpFakeServer

    with serving(TcpFakeServer(("127.0.0.1", 0), server_type="redis")) as port:
        yield f"redis://127.0.0.1:{port}/0"


BACKENDS = [
    pytest.param("file", id="memory-file"),
    pytest.param("fakeredis", id="fakeredis"),
    pytest.param("redis", id="redis", marks=[requires_redis, pytest.mark.redis]),
]


@pytest.fixture(params=BACKENDS)
def storage_args(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[str]]:
    """``--storage ... [--namespace ...]`` for a registry filled by :func:`_fill`."""
    if request.param == "file":
        memory = MemoryStorage()
        asyncio.run(_fill(memory))
        yield ["--storage", str(memory.save(tmp_path / "registry.json"))]
        return
    url = request.getfixturevalue("fake_redis_url") if request.param == "fakeredis" else redis_url()
    assert url is not None
    namespace = f"test-{uuid.uuid4().hex[:12]}"

    async def fill() -> None:
        storage = RedisStorage.from_url(url, namespace=namespace)
        await _fill(storage)
        await storage.close()

    async def wipe() -> None:
        storage = RedisStorage.from_url(url, namespace=namespace)
        for key in await storage.scan():
            await storage.delete(key)
        await storage.close()

    asyncio.run(fill())
    yield ["--storage", url, "--namespace", namespace]
    asyncio.run(wipe())


def _json(capsys: pytest.CaptureFixture[str], argv: list[str], code: int = EXIT_OK) -> object:
    assert main(argv) == code
    return json.loads(capsys.readouterr().out)


def test_list_shows_every_version_with_lifecycle_and_why(
    storage_args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["versions", "list", *storage_args]) == EXIT_OK
    out = capsys.readouterr().out
    assert "ranker: 4 versions" in out
    assert "leaks connections" in out
    assert "2025-06-15T15:06:40Z" in out
    listed = _json(capsys, ["versions", "list", *storage_args, "--json"])
    assert isinstance(listed, dict)
    assert [(v["version"], v["lifecycle"]) for v in listed["versions"]] == [
        ("1.0.0", "production"),
        ("1.1.0", "quarantine"),
        ("1.2.0", "experimental"),
        ("2.0.0", "experimental"),
    ]


def test_show_gives_lineage_and_statistics(
    storage_args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    shown = _json(capsys, ["versions", "show", "1.2.0", *storage_args, "--json"])
    assert isinstance(shown, dict)
    assert (shown["ancestors"], shown["descendants"], shown["migrations"]) == (
        ["1.1.0", "1.0.0"],
        ["2.0.0"],
        ["data"],
    )
    quarantined = _json(capsys, ["versions", "show", "1.1.0", *storage_args, "--json"])
    assert isinstance(quarantined, dict)
    assert quarantined["note"] == "leaks connections"
    assert quarantined["stats"]["time_in"]["experimental"] == 60.0
    assert main(["versions", "show", "1.0.0", *storage_args]) == EXIT_OK
    assert "time production" in capsys.readouterr().out


def test_path_prints_each_step_and_a_refusal_exits_1(
    storage_args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["versions", "path", "1.2.0", "1.0.0", *storage_args]) == EXIT_OK
    out = capsys.readouterr().out
    assert "revert the data migration of 1.2.0" in out
    assert "1.1.0" in out  # crossed, never deployed
    found = _json(capsys, ["versions", "path", "2.0.0", "1.0.0", *storage_args, "--json"])
    assert isinstance(found, dict)
    assert (found["versions"], found["breaking_steps"]) == (["2.0.0", "1.2.0", "1.0.0"], 1)
    argv = ["versions", "path", "2.0.0", "1.0.0", *storage_args, "--policy", "no-breaking", "--json"]
    refused = _json(capsys, argv, EXIT_FINDING)
    assert isinstance(refused, dict)
    assert refused["refused"] == "breaking"
    assert main(["versions", "path", "1.2.0", "1.1.0", *storage_args]) == EXIT_FINDING
    assert "is quarantined" in capsys.readouterr().err


def test_history_lists_who_what_when_why(storage_args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["versions", "history", *storage_args]) == EXIT_OK
    out = capsys.readouterr().out
    assert "lifecycle experimental -> quarantine" in out
    assert "oncall" in out
    entries = _json(capsys, ["versions", "history", "1.0.0", *storage_args, "--json"])
    assert isinstance(entries, list)
    assert [(e["kind"], e["actor"], e["reason"], e["t"]) for e in entries] == [
        ("registered", "ci", "build 1", START),
        ("lifecycle", "canary", "canary passed", START + 3600),
    ]
    assert entries[1]["lifecycle"] == Lifecycle.PRODUCTION.value


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["versions", "show", "9.9.9"], "ranker@9.9.9 is not registered; known: 1.0.0, 1.1.0"),
        (["versions", "path", "1.0.0", "nope"], "is not a semantic version"),
        (["versions", "list", "--service", "other"], "no registry 'other' in this storage; found: ranker"),
        (["versions", "path", "1.0.0", "1.2.0", "--policy", "short"], "valid: fewest-breaking, no-breaking"),
    ],
)
def test_unknown_versions_and_bad_options_exit_2(
    storage_args: list[str], capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main([*argv, *storage_args]) == EXIT_USAGE
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("storage", "message"),
    [
        ("http://example/registry", "unsupported scheme 'http'"),
        ("redis://127.0.0.1:0/0", "port 0 is not a server port"),
        ("redis://127.0.0.1:6379/x", "database 'x' is not a number"),
        ("missing.json", "missing.json: no such storage file"),
    ],
)
def test_bad_storage_urls_and_files_exit_2(
    storage: str,
    message: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["versions", "list", "--storage", storage]) == EXIT_USAGE
    assert message in capsys.readouterr().err


def test_a_storage_with_several_registries_needs_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    memory = MemoryStorage()

    async def fill() -> None:
        await _fill(memory)
        search = VersionRegistry(memory, "search", clock=VirtualClock())
        await search.register(Version(name="search", version="0.1.0"))

    asyncio.run(fill())
    path = str(memory.save(tmp_path / "two.json"))
    assert main(["versions", "list", "--storage", path]) == EXIT_USAGE
    assert "name the registry with --service; found: ranker, search" in capsys.readouterr().err
    assert main(["versions", "list", "--storage", f"file://{path}", "--service", "search"]) == EXIT_OK
    assert "search: 1 version" in capsys.readouterr().out
