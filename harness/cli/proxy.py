"""``harness proxy``: serve the Toxiproxy-compatible fault proxy API until interrupted.

``harness proxy --port 8474 --seed 7 --config proxies.json`` starts the API (default
127.0.0.1:8474), optionally creates the proxies (and toxics) listed in a JSON or YAML file in
``/populate`` form, prints the URL and the seed, and serves until Ctrl-C (or ``--duration``).
Any Toxiproxy client (toxiproxy-cli, toxiproxy-python, testcontainers) can then drive it.
Toxic attributes in the config keep Toxiproxy's units (``latency``, ``jitter``, ``timeout`` and
``delay`` in integer milliseconds), the one exception to :mod:`harness.units`; ``--duration``
follows the rule (``--duration 10m``).
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Annotated, Any

import typer

from harness.cli._options import duration_flag
from harness.errors import UsageError

__all__ = ["proxy", "register"]


def _load_config(path: Path) -> Any:
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read proxy config {str(path)!r}: {exc.strerror or exc}") from None
    from harness.inputs import parse_json, parse_yaml

    if path.suffix in (".yaml", ".yml"):
        return parse_yaml(text, source=str(path))[0]
    return parse_json(text, source=str(path))


async def _serve(host: str, port: int, seed: int, config: Any, duration: float) -> None:
    from harness.faults import ToxicError, start_api

    api = await start_api(host, port, seed=seed)
    try:
        if config is not None:
            try:
                result = await api.registry.populate(config)
            except ToxicError as exc:
                raise UsageError(f"proxy config: {exc.message}") from None
            if result.error is not None:
                raise UsageError(f"proxy config: {result.error.message}")
        typer.echo(f"fault proxy API listening on {api.url} (Toxiproxy API 2.12, seed {seed})")
        for proxy in api.registry.all():
            typer.echo(f"  {proxy.name}: {proxy.listen} -> {proxy.upstream}")
        if math.isinf(duration):
            await asyncio.Event().wait()
        else:
            await asyncio.sleep(duration)
    finally:
        await api.stop()


def proxy(
    host: Annotated[
        str, typer.Option(help="Interface for the API (keep loopback unless you must).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="API port (0 picks a free one).")] = 8474,
    seed: Annotated[
        int | None, typer.Option(help="Seed for toxicity and jitter draws (default: random).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="JSON or YAML list of proxies (with optional toxics) to create.")
    ] = None,
    duration: Annotated[
        float, duration_flag("until Ctrl-C", "Stop after this long, e.g. 30s or 10m.")
    ] = math.inf,
) -> None:
    """Serve the Toxiproxy-compatible fault proxy API."""
    from harness.seeding import parse_seed, random_seed

    chosen = random_seed() if seed is None else parse_seed(seed)
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(
            f"warning: serving the proxy API on {host}: anyone who can reach it can create proxies; "
            "keep it on 127.0.0.1 unless this network is trusted.",
            err=True,
        )
    loaded = _load_config(config) if config is not None else None
    try:
        asyncio.run(_serve(host, port, chosen, loaded, duration))
    except KeyboardInterrupt:
        typer.echo("fault proxy stopped")


def register(app: typer.Typer) -> None:
    """Add ``harness proxy`` to the CLI."""
    app.command("proxy")(proxy)
