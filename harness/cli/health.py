"""``harness health check``: probe HTTP health endpoints and Redis servers once, from a shell or CI.

    harness health check http://127.0.0.1:8080/health redis://127.0.0.1:6379/0 --timeout 2

Every target is probed concurrently (``HttpHealthCheck`` for http(s) URLs, ``RedisHealthCheck``
for redis/rediss/unix URLs). Exit 0 when none is UNHEALTHY (DEGRADED is reported, not failed),
1 when one is, 2 on a usage error (a bad URL or option).
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from harness._checks import positive
from harness.cli._options import duration_flag
from harness.errors import Finding

__all__ = ["check", "register"]

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_STYLE = {"healthy": "green", "degraded": "yellow", "unhealthy": "red"}


async def _probe(urls: list[str], probe_timeout: float, degraded_after: float) -> dict[str, object]:
    from harness.health import HealthMonitor, HealthMonitorConfig, HttpHealthCheck, RedisHealthCheck
    from harness.storage import RedisStorage

    monitor = HealthMonitor(config=HealthMonitorConfig(round_timeout=probe_timeout * 2))
    storages = []
    try:
        for url in urls:
            if url.startswith(_REDIS_SCHEMES):
                storage = RedisStorage.from_url(
                    url, connect_timeout=probe_timeout, command_timeout=probe_timeout
                )
                storages.append(storage)
                check = RedisHealthCheck(
                    storage, name=storage.url, timeout=probe_timeout, degraded_after=degraded_after
                )
                monitor.register(check)
            else:
                monitor.register(HttpHealthCheck(url, timeout=probe_timeout, degraded_after=degraded_after))
        report = await monitor.run_round()
    finally:
        for storage in storages:
            await storage.close()
    return report.as_dict()


def _table(report: dict[str, object]) -> Table:
    table = Table(title=f"health: {report['status']} (score {report['score']:.0f})")
    for column in ("target", "status", "ms", "message"):
        table.add_column(column)
    checks = report["checks"]
    assert isinstance(checks, dict)
    for name, result in checks.items():
        status = str(result["status"])
        style = _STYLE.get(status, "")
        table.add_row(
            name, f"[{style}]{status}[/]", f"{result['duration'] * 1000:.1f}", str(result["message"])
        )
    return table


def check(
    urls: Annotated[
        list[str], typer.Argument(help="http(s):// health URLs and redis:// / unix:// Redis URLs.")
    ],
    timeout: Annotated[float, duration_flag("5s", "How long each probe may take, e.g. 500ms.")] = 5.0,
    degraded_after: Annotated[float, duration_flag("1s", "A probe slower than this is DEGRADED.")] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Probe each target once; exit 1 if any is UNHEALTHY."""
    positive("--timeout", timeout, "how long each probe may take, e.g. 5s", unit="seconds")
    positive(
        "--degraded-after", degraded_after, "a probe slower than this is DEGRADED, e.g. 1s", unit="seconds"
    )
    report = asyncio.run(_probe(urls, timeout, degraded_after))
    if as_json:
        typer.echo(json.dumps(report, indent=2, sort_keys=True, default=str))
    else:
        Console().print(_table(report))
    checks = report["checks"]
    assert isinstance(checks, dict)
    failed = sorted(n for n, r in checks.items() if r["status"] == "unhealthy")
    if failed:
        raise Finding(f"unhealthy: {', '.join(failed)}", observed=failed, limit="no unhealthy target")


def register(app: typer.Typer) -> None:
    """Add ``harness health check`` to the CLI."""
    group = typer.Typer(name="health", help="Probe health endpoints and Redis servers.", no_args_is_help=True)
    group.command(name="check")(check)
    app.add_typer(group, name="health")
