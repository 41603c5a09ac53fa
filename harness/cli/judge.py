"""``harness judge``: compare a canary's metrics with a baseline's, as a CI step or an analysis Job.

    harness judge --baseline-file base.json --canary-file canary.json
    harness judge --prometheus http://127.0.0.1:9090 --range 5m \
        --baseline 'version="good"' --canary 'version="slow"'
    harness judge serve --prometheus http://127.0.0.1:9090 --port 8099

Metric files are ``{"latency": [seconds...], "errors": n, "requests": m}``. The calibrated canary
judge compares p95 latency and error rate within the allowances. Exit 0 when the canary passes,
1 when it does not (a finding: fail, marginal, or no data to judge), 2 on bad input.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from harness.cli._options import duration_option
from harness.errors import InvalidConfig
from harness.load.metric_sets import JudgeAllowances, MetricSet, read_metric_set
from harness.load.prometheus import PrometheusSource

__all__ = ["judge", "register", "serve"]

EXIT_OK, EXIT_FINDING = 0, 1


def _sets(
    baseline_file: Path | None,
    canary_file: Path | None,
    prometheus: str | None,
    selectors: tuple[str | None, str | None],
    window: tuple[float, float | None, float | None],
) -> tuple[MetricSet, MetricSet]:
    baseline, canary = selectors
    if baseline_file is not None and canary_file is not None:
        return read_metric_set(baseline_file), read_metric_set(canary_file)
    if prometheus is None or baseline is None or canary is None:
        raise InvalidConfig(
            "give --baseline-file and --canary-file, or --prometheus with --baseline and --canary selectors",
            field="baseline",
        )
    span, start, end = window
    end = end if end is not None else time.time()
    start = start if start is not None else end - span
    source = PrometheusSource(prometheus)
    return source.metric_set(baseline, start, end), source.metric_set(canary, start, end)


def judge(  # noqa: PLR0917 - typer maps each parameter to a CLI option
    ctx: typer.Context,
    baseline_file: Annotated[Path | None, typer.Option(help="The baseline's metric set (JSON).")] = None,
    canary_file: Annotated[Path | None, typer.Option(help="The canary's metric set (JSON).")] = None,
    prometheus: Annotated[str | None, typer.Option(help="Prometheus URL to query instead of files.")] = None,
    baseline: Annotated[str | None, typer.Option(help='Baseline label matchers, e.g. version="v1".')] = None,
    canary: Annotated[str | None, typer.Option(help='Canary label matchers, e.g. version="v2".')] = None,
    range_: Annotated[
        float,
        typer.Option(
            "--range",
            parser=duration_option,
            metavar="DURATION",
            show_default="5m",
            help="How far back from --end to look.",
        ),
    ] = 300.0,
    start: Annotated[
        float | None, typer.Option(help="Range start, unix seconds (overrides --range).")
    ] = None,
    end: Annotated[float | None, typer.Option(help="Range end, unix seconds (default: now).")] = None,
    max_latency_increase: Annotated[float, typer.Option(help="p95 increase that still passes.")] = 0.1,
    max_error_rate_ratio: Annotated[float, typer.Option(help="Error rate ratio that still passes.")] = 1.25,
    alpha: Annotated[float, typer.Option(help="Significance level per metric.")] = 0.05,
    as_json: Annotated[bool, typer.Option("--json", help="Print the judgement as JSON.")] = False,
) -> None:
    """Judge a canary against a baseline; exit 0 pass, 1 not passed, 2 bad input."""
    if ctx.invoked_subcommand is not None:
        return
    from harness.servers.judge import judgement

    allowances = JudgeAllowances(
        max_latency_increase=max_latency_increase, max_error_rate_ratio=max_error_rate_ratio, alpha=alpha
    )
    base, cand = _sets(baseline_file, canary_file, prometheus, (baseline, canary), (range_, start, end))
    body = judgement(cand, base, allowances)
    console = Console(soft_wrap=True, highlight=False)
    if as_json:
        console.print_json(json.dumps(body))
    else:
        for m in body["metrics"]:
            console.print(f"{m['name']}: {m['classification']} ({m['message']})", markup=False)
        console.print(f"verdict {body['verdict']}, score {body['score']}", markup=False)
    raise typer.Exit(EXIT_OK if body["passed"] else EXIT_FINDING)


def serve(
    prometheus: Annotated[str, typer.Option(help="Prometheus URL the judge queries.")],
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0 picks a free one).")
    ] = 8099,
    max_latency_increase: Annotated[float, typer.Option(help="p95 increase that still passes.")] = 0.1,
    max_error_rate_ratio: Annotated[float, typer.Option(help="Error rate ratio that still passes.")] = 1.25,
    alpha: Annotated[float, typer.Option(help="Significance level per metric.")] = 0.05,
) -> None:
    """Serve GET /judge?baseline=...&canary=...&range=5m on 127.0.0.1 (Argo Rollouts, Flagger)."""
    from aiohttp import web

    from harness.servers.judge import judge_app

    allowances = JudgeAllowances(
        max_latency_increase=max_latency_increase, max_error_rate_ratio=max_error_rate_ratio, alpha=alpha
    )
    app = judge_app(PrometheusSource(prometheus), allowances)
    print(f"harness judge serving on http://127.0.0.1:{port}/judge", flush=True)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


def register(app: typer.Typer) -> None:
    """Add ``harness judge`` and ``harness judge serve`` to the CLI."""
    group = typer.Typer(name="judge", help="Judge a canary's metrics against a baseline's.")
    group.callback(invoke_without_command=True)(judge)
    group.command(name="serve")(serve)
    app.add_typer(group, name="judge")
