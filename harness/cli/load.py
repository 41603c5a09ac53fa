"""``harness load``: drive an HTTP endpoint at a constant arrival rate, or run Locust headless.

``harness load drive URL --rate 200 --duration 30s --threshold 'p99 < 300ms'`` (or ``--profile
step.yaml``) prints corrected and service-time percentiles, the failed requests by status or error
type, and each threshold in its own unit. It exits 0 when the run is valid and every threshold
held; 96 (``EXIT_NO_SUCCESS``) when no request succeeded; 95 (``EXIT_DRIVER_BOUND``) when the
driver was late or out of CPU, so the numbers measure the driver; 99 (``EXIT_THRESHOLDS``) when a
threshold failed; 2 on a usage error and 3 on an internal error.
``harness load locust URL --users 50 --duration 1m --workers 2 --output-dir reports/locust``
runs Locust in subprocesses and prints its merged statistics.
Only loopback targets are accepted unless ``--allow-remote`` is given.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import typer

from harness.cli._options import duration_flag
from harness.errors import InvalidConfig

if TYPE_CHECKING:
    from harness.load.checks import ResponseChecks

__all__ = ["drive", "locust", "register"]

load_app = typer.Typer(help="Load: open-model driver and headless Locust.", no_args_is_help=True)


def _print_driver(result: Any) -> None:
    rows = [("corrected", result.corrected), ("service", result.service), ("sched lag", result.lag)]
    typer.echo(
        f"target {result.target_rate:.1f} req/s  achieved {result.achieved_rate:.1f} req/s  "
        f"sent {result.sent}  errors {result.errors}  dropped {result.dropped}"
    )
    for name, s in rows:
        typer.echo(
            f"{name:>10}  p50 {s.p50 * 1e3:8.2f} ms  p90 {s.p90 * 1e3:8.2f}  p99 {s.p99 * 1e3:8.2f}  "
            f"p99.9 {s.p999 * 1e3:8.2f}  max {s.max * 1e3:8.2f}"
        )
    if result.failed_statuses:
        breakdown = sorted(result.failed_statuses.items(), key=lambda item: (-item[1], item[0]))
        typer.echo("failed     " + "  ".join(f"{label}: {count}" for label, count in breakdown))
    typer.echo(result.verdict())
    for outcome in result.thresholds.outcomes:
        typer.echo(f"threshold {outcome.describe()}")


def _read_profile(path: Path) -> Any:
    """A profile from a YAML or JSON mapping, e.g. ``{kind: step, start_rate: 50, step: 50, ...}``."""
    from harness.errors import InvalidConfig
    from harness.inputs import parse_yaml
    from harness.load import profile_from_dict

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidConfig(
            f"cannot read profile file {str(path)!r}: {exc}", field="profile", value=str(path)
        ) from None
    data, _ = parse_yaml(text, source=str(path))
    return profile_from_dict(data)


@load_app.command("drive")
def drive(  # noqa: PLR0917 - typer turns each parameter into an option
    url: Annotated[str, typer.Argument(help="URL to request, e.g. http://127.0.0.1:8080/checkout")],
    rate: Annotated[float, typer.Option(help="requests per second (open model)")] = 100.0,
    duration: Annotated[float, duration_flag("10s", "how long to send, e.g. 30s or 2m")] = 10.0,
    connections: Annotated[int, typer.Option(help="concurrent connections")] = 64,
    threshold: Annotated[list[str] | None, typer.Option(help="e.g. 'p99 < 300ms'; repeatable")] = None,
    latency_target: Annotated[
        float, duration_flag("100ms", "latency the driver must stay under, e.g. 100ms")
    ] = 0.1,
    allow_remote: Annotated[bool, typer.Option(help="permit a non-loopback target")] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the result as JSON here")] = None,
    profile_file: Annotated[
        Path | None, typer.Option("--profile", help="YAML/JSON profile ({kind: ramp, ...}); replaces --rate")
    ] = None,
    method: Annotated[str, typer.Option(help="HTTP method")] = "GET",
    header: Annotated[list[str] | None, typer.Option(help="'Name: value' request header; repeatable")] = None,
    body: Annotated[str | None, typer.Option(help="request body text (e.g. JSON)")] = None,
    body_file: Annotated[Path | None, typer.Option(help="request body from a file")] = None,
    status: Annotated[
        list[int] | None, typer.Option(help="a status that counts as success; repeatable")
    ] = None,
    json_field: Annotated[
        list[str] | None, typer.Option(help="PATH=VALUE the JSON body must hold (ok=true); repeatable")
    ] = None,
    contains: Annotated[str | None, typer.Option(help="a substring the body must contain")] = None,
) -> None:
    """Send RATE requests/s (or a --profile) to URL; report coordinated-omission-corrected latency.

    Requests carry --method, --header and --body/--body-file; a response is a success when it
    passes --status, --json-field and --contains (default: a status below 400), k6-style.
    """
    from harness.atomic import write_atomic
    from harness.load import (
        ConstantArrival,
        DriverConfig,
        FastHttpTarget,
        HttpTarget,
        OpenModelDriver,
        Threshold,
    )

    thresholds = tuple(Threshold.parse(t) for t in threshold or [])
    profile = _read_profile(profile_file) if profile_file else ConstantArrival(rate=rate, duration=duration)
    config = DriverConfig(
        profile=profile,
        connections=connections,
        thresholds=thresholds,
        latency_target=latency_target,
    )
    target: FastHttpTarget | HttpTarget
    request = _request_options(method, header, body, body_file)
    checks = _checks(status, json_field, contains)
    if url.startswith("http://") and checks is None and request == ("GET", {}, None):
        target = FastHttpTarget(url, allow_remote=allow_remote)
    else:
        verb, headers, data = request
        target = HttpTarget(
            url, method=verb, headers=headers, body=data, allow_remote=allow_remote, checks=checks
        )
    result = asyncio.run(OpenModelDriver(config, target).run())
    _print_driver(result)
    if json_out is not None:
        write_atomic(json_out, json.dumps(result.as_dict(), indent=2, sort_keys=True))
    raise typer.Exit(result.exit_code)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _request_options(
    method: str, header: list[str] | None, body: str | None, body_file: Path | None
) -> tuple[str, dict[str, str], bytes | None]:
    """The method, headers and body of ``harness load drive``'s requests, checked."""
    verb = method.upper()
    if verb not in _METHODS:
        raise InvalidConfig(
            f"method={method!r} must be one of {', '.join(_METHODS)}", field="method", value=method
        )
    headers = {}
    for line in header or []:
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise InvalidConfig(f"header {line!r} must be 'Name: value'", field="header", value=line)
        headers[name.strip()] = value.strip()
    if body is not None and body_file is not None:
        raise InvalidConfig("give --body or --body-file, not both", field="body")
    data = body.encode() if body is not None else None
    if body_file is not None:
        try:
            data = body_file.read_bytes()
        except OSError as exc:
            raise InvalidConfig(f"{body_file}: {exc.strerror or exc}", field="body_file") from None
    return verb, headers, data


def _checks(
    status: list[int] | None, json_field: list[str] | None, contains: str | None
) -> ResponseChecks | None:
    from harness.load.checks import ResponseChecks, parse_json_field

    if not status and not json_field and contains is None:
        return None
    fields = dict(parse_json_field(text) for text in json_field or [])
    return ResponseChecks(status=tuple(status) if status else None, json_fields=fields, contains=contains)


@load_app.command("locust")
def locust(  # noqa: PLR0917 - typer turns each parameter into an option
    url: Annotated[str, typer.Argument(help="base URL (host) of the service")],
    users: Annotated[int, typer.Option(help="concurrent Locust users")] = 10,
    duration: Annotated[float, duration_flag("10s", "how long to run, e.g. 30s or 2m")] = 10.0,
    path: Annotated[list[str] | None, typer.Option(help="path to request; repeatable")] = None,
    user_class: Annotated[
        list[str] | None, typer.Option(help="'module:Class' user class; repeatable")
    ] = None,
    workers: Annotated[int, typer.Option(help="local worker processes (0: single process)")] = 0,
    output_dir: Annotated[Path, typer.Option(help="where Locust's CSV, HTML and logs go")] = Path(
        "reports/locust"
    ),
    threshold: Annotated[list[str] | None, typer.Option(help="e.g. 'p99 < 300ms'; repeatable")] = None,
    allow_remote: Annotated[bool, typer.Option(help="permit a non-loopback host")] = False,
) -> None:
    """Run Locust headless in subprocesses and print its statistics (Locust's own files are kept)."""
    from harness.load import EXIT_NO_SUCCESS, LocustConfig, evaluate_thresholds, run_locust

    parts = urlsplit(url)
    config = LocustConfig(
        host=f"{parts.scheme}://{parts.netloc}",
        output_dir=output_dir,
        users=users,
        duration=duration,
        paths=tuple(path or [parts.path or "/"]),
        user_classes=tuple(user_class or []),
        workers=workers,
        allow_remote=allow_remote,
    )
    result = run_locust(config)
    for row in (*result.endpoints, result.total):
        typer.echo(
            f"{row.name:<30} {row.requests:>8} req  {row.failures:>6} fail  {row.rps:9.1f} req/s  "
            f"p50 {row.percentiles['50%'] * 1e3:7.1f} ms  p99 {row.percentiles['99%'] * 1e3:7.1f} ms"
        )
    for failure in result.failures:
        typer.echo(
            f"failed     {failure.get('Method', '')} {failure.get('Name', '')}: "
            f"{failure.get('Error', '?')} ({failure.get('Occurrences', '?')}x)"
        )
    typer.echo(f"CSV and HTML in {result.output_dir}")
    report = evaluate_thresholds(threshold or [], result.metrics())
    for outcome in report.outcomes:
        typer.echo(f"threshold {outcome.describe()}")
    if result.total.requests == result.total.failures:
        typer.echo(f"NO REQUEST SUCCEEDED ({result.total.failures} of {result.total.requests} failed)")
        raise typer.Exit(EXIT_NO_SUCCESS)
    raise typer.Exit(report.exit_code)


def register(app: typer.Typer) -> None:
    """Add ``harness load`` to the CLI."""
    app.add_typer(load_app, name="load")
