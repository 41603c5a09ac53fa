"""``harness versions``: a version registry's versions, lineage, migration paths and history.

    harness versions list --storage registry.json
    harness versions show 1.2.0 --storage redis://127.0.0.1:6379/0
    harness versions path 1.2.0 1.0.0 --storage registry.json --policy no-breaking
    harness versions history 1.2.0 --storage registry.json --json

``--storage`` is a JSON file written by ``MemoryStorage.save`` (optionally ``file://``) or a Redis
URL (``redis://``, ``rediss://``, ``unix://``; a fakeredis ``TcpFakeServer`` answers on one too).
``--service`` names the registry; it may be left out when the storage holds only one.
Exit 0 when the answer was found, 1 when a migration path is refused (the reason is printed), 2 on
a usage error: an unknown version or service, a bad storage URL or file, an unreachable server.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from harness.errors import InvalidConfig

if TYPE_CHECKING:
    from harness.rollout import HistoryEntry, MigrationPath, Version, VersionRegistry, VersionStats
    from harness.storage import Storage

__all__ = ["history", "list_versions", "open_storage", "path", "register", "show"]

_T = TypeVar("_T")
_REDIS_SCHEMES = ("redis", "rediss", "unix")
_LIFECYCLE_STYLE = {"production": "green", "experimental": "yellow", "quarantine": "red"}

StorageOption = Annotated[
    str,
    typer.Option(
        "--storage",
        help="A MemoryStorage JSON file (MemoryStorage.save) or a Redis URL (redis://host:port/db).",
    ),
]
ServiceOption = Annotated[
    str | None, typer.Option("--service", help="The registry's service name (default: the only one).")
]
NamespaceOption = Annotated[str, typer.Option("--namespace", help="Redis key namespace.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def open_storage(spec: str, *, namespace: str = "harness") -> Storage:
    """The storage named by ``--storage``: a Redis URL, or a MemoryStorage snapshot file."""
    from harness.storage import MemoryStorage, RedisStorage

    scheme, found, rest = spec.partition("://")
    if found and scheme in _REDIS_SCHEMES:
        return RedisStorage.from_url(spec, namespace=namespace)
    if found and scheme != "file":
        raise InvalidConfig(
            f"--storage {spec!r}: unsupported scheme {scheme!r}; give a JSON file written by "
            "MemoryStorage.save or a redis://host:port/db URL.",
            field="storage",
            value=spec,
        )
    return MemoryStorage.load(rest if found else spec)


async def _service(storage: Storage, service: str | None) -> str:
    from harness.rollout import VersionRegistry

    names = await VersionRegistry.names(storage)
    if service is not None and service in names:
        return service
    found = ", ".join(names) or "none"
    if service is not None:
        raise InvalidConfig(f"no registry {service!r} in this storage; found: {found}.", field="service")
    if len(names) != 1:
        raise InvalidConfig(f"name the registry with --service; found: {found}.", field="service")
    return names[0]


def _run(
    spec: str, namespace: str, service: str | None, work: Callable[[VersionRegistry], Awaitable[_T]]
) -> _T:
    """Open the storage, find the registry, run ``work`` on it, close the storage."""
    from harness.clock import WallClock
    from harness.rollout import VersionRegistry

    async def main() -> _T:
        storage = open_storage(spec, namespace=namespace)
        try:
            name = await _service(storage, service)
            return await work(VersionRegistry(storage, name, clock=WallClock()))
        finally:
            await storage.close()

    return asyncio.run(main())


def _console() -> Console:
    """Full-width tables even when piped (rich would squeeze them into 80 columns)."""
    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)


def _when(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _span(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "m")) if v]
    return " ".join([*parts, f"{secs}s"] if secs or not parts else parts)


def _lifecycle(value: str) -> str:
    return f"[{_LIFECYCLE_STYLE.get(value, '')}]{value}[/]"


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, sort_keys=True))


# -- list ------------------------------------------------------------------------------------------


def _versions_table(service: str, rows: list[tuple[Version, str, float | None]]) -> Table:
    table = Table(title=f"{service}: {len(rows)} version{'s' if len(rows) != 1 else ''}")
    for column in ("version", "lifecycle", "parents", "migrations", "checksum", "registered", "note"):
        table.add_column(column)
    for version, note, registered in rows:
        table.add_row(
            str(version.semver),
            _lifecycle(version.lifecycle.value),
            ", ".join(version.parents) or "-",
            ", ".join(sorted(m.value for m in version.migrations)) or "-",
            version.checksum[:12] or "-",
            _when(registered) if registered is not None else "-",
            note or "",
        )
    return table


def list_versions(
    storage: StorageOption,
    service: ServiceOption = None,
    namespace: NamespaceOption = "harness",
    as_json: JsonOption = False,
) -> None:
    """Every version: lifecycle, parents, migrations, checksum, when registered and why it is where it is."""

    async def work(reg: VersionRegistry) -> tuple[str, list[tuple[Version, str, float | None]]]:
        lineage = await reg.lineage()
        rows = []
        for version in await reg.versions():
            entries = await reg.history(version.version)
            note = lineage.node(str(version.semver)).note
            rows.append((version, note, entries[0].t if entries else None))
        return reg.name, rows

    name, rows = _run(storage, namespace, service, work)
    if as_json:
        _echo_json(
            {"service": name, "versions": [v.to_dict() | {"note": n, "registered": t} for v, n, t in rows]}
        )
    else:
        _console().print(_versions_table(name, rows))


# -- show ------------------------------------------------------------------------------------------


def _show_table(version: Version, facts: dict[str, Any], stats: VersionStats) -> Table:
    table = Table(title=f"{version.key}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("lifecycle", _lifecycle(version.lifecycle.value))
    for label in ("note", "parents", "children", "ancestors", "descendants", "migrations"):
        value = facts[label]
        table.add_row(label, ", ".join(value) if isinstance(value, list) else str(value) or "-")
    table.add_row("checksum", version.checksum or "-")
    for state, seconds in stats.time_in.items():
        table.add_row(f"time {state.value}", _span(seconds))
    counts = stats.to_dict()
    for label in ("rollouts_started", "promoted", "rolled_back", "rollback_target", "rolled_forward"):
        table.add_row(label.replace("_", " "), str(counts[label]))
    table.add_row("aborted", str(stats.aborted))
    table.add_row("integrity failures", str(stats.integrity_failures))
    return table


def show(
    version: Annotated[str, typer.Argument(help="The version, for example 1.2.0.")],
    storage: StorageOption,
    service: ServiceOption = None,
    namespace: NamespaceOption = "harness",
    as_json: JsonOption = False,
) -> None:
    """One version: its lineage, time in each lifecycle state and rollout counts."""

    async def work(reg: VersionRegistry) -> tuple[Version, dict[str, Any], VersionStats]:
        found = await reg.get(version)
        lineage = await reg.lineage()
        vid = str(found.semver)
        facts = {
            "note": lineage.node(vid).note,
            "parents": list(lineage.parents(vid)),
            "children": list(lineage.children(vid)),
            "ancestors": list(lineage.ancestors(vid)),
            "descendants": list(lineage.descendants(vid)),
            "migrations": sorted(m.value for m in found.migrations),
        }
        return found, facts, await reg.stats(vid)

    found, facts, stats = _run(storage, namespace, service, work)
    if as_json:
        _echo_json(found.to_dict() | facts | {"stats": stats.to_dict()})
    else:
        _console().print(_show_table(found, facts, stats))


# -- path ------------------------------------------------------------------------------------------


def _path_table(found: MigrationPath) -> Table:
    table = Table(title=f"{found.start} -> {found.end}: {len(found.steps)} step(s)")
    for column in ("step", "from", "to", "compatibility", "crosses (quarantined)", "migrations"):
        table.add_column(column)
    for i, step in enumerate(found.steps, start=1):
        style = "red" if step.breaking else "green"
        table.add_row(
            str(i),
            step.source,
            step.target,
            f"[{style}]{step.compatibility.value}[/]",
            ", ".join(step.crosses) or "-",
            "; ".join(str(m) for m in step.migrations) or "-",
        )
    return table


def path(  # noqa: PLR0917 - typer maps each parameter to a CLI option
    start: Annotated[str, typer.Argument(help="The version to start from.")],
    end: Annotated[str, typer.Argument(help="The version to reach.")],
    storage: StorageOption,
    service: ServiceOption = None,
    namespace: NamespaceOption = "harness",
    policy: Annotated[
        str, typer.Option(help="fewest-breaking (default) or no-breaking (refuse a breaking step).")
    ] = "fewest-breaking",
    as_json: JsonOption = False,
) -> None:
    """The migration path between two versions, step by step; exit 1 when it is refused."""
    from harness._checks import one_of
    from harness.rollout import MigrationRefused, PathPolicy

    chosen = one_of("policy", policy, PathPolicy)

    async def work(reg: VersionRegistry) -> MigrationPath:
        return await reg.migration_path(start, end, policy=chosen)

    try:
        found = _run(storage, namespace, service, work)
    except MigrationRefused as refused:
        if as_json:
            best = None if refused.best is None else refused.best.to_dict()
            _echo_json(
                {
                    "from": refused.start,
                    "to": refused.end,
                    "refused": refused.refusal.value,
                    "reason": str(refused),
                    "blocked": list(refused.blocked),
                    "best": best,
                }
            )
        raise
    if as_json:
        _echo_json(found.to_dict())
        return
    console = _console()
    console.print(_path_table(found))
    console.print(
        f"{found.breaking_steps} breaking step(s); "
        f"{'migrations to run: ' + str(len(found.migrations)) if found.needs_migration else 'no migration'}"
    )


# -- history ---------------------------------------------------------------------------------------


def _what(entry: HistoryEntry) -> str:
    if entry.data.get("from") and entry.data.get("to") and entry.kind.value == "lifecycle":
        return f"lifecycle {entry.data['from']} -> {entry.data['to']}"
    flow = entry.data.get("flow")
    return f"{entry.kind.value} ({flow})" if flow else entry.kind.value


def _history_table(service: str, entries: list[HistoryEntry]) -> Table:
    table = Table(title=f"{service}: {len(entries)} history entr{'y' if len(entries) == 1 else 'ies'}")
    for column in ("#", "when", "version", "what", "who", "why"):
        table.add_column(column)
    for e in entries:
        table.add_row(str(e.seq), _when(e.t), e.version, _what(e), e.actor, e.reason or "-")
    return table


def history(
    storage: StorageOption,
    version: Annotated[str | None, typer.Argument(help="One version (default: the whole registry).")] = None,
    service: ServiceOption = None,
    namespace: NamespaceOption = "harness",
    as_json: JsonOption = False,
) -> None:
    """Every lifecycle change and rollout decision: who, what, when, why."""

    async def work(reg: VersionRegistry) -> tuple[str, list[HistoryEntry]]:
        return reg.name, await reg.history(version)

    name, entries = _run(storage, namespace, service, work)
    if as_json:
        _echo_json([e.to_dict() for e in entries])
    else:
        _console().print(_history_table(name, entries))


def register(app: typer.Typer) -> None:
    """Add ``harness versions list|show|path|history`` to the CLI."""
    group = typer.Typer(
        name="versions",
        help="A version registry: versions, lineage, migration paths and history.",
        no_args_is_help=True,
    )
    group.command(name="list")(list_versions)
    group.command(name="show")(show)
    group.command(name="path")(path)
    group.command(name="history")(history)
    app.add_typer(group, name="versions")
