"""``harness gate``: fail CI on a real performance regression, never on noise.

``harness gate BASELINE CURRENT`` compares two result files (pytest-benchmark JSON, a run's
``result.json``, a metrics file or a saved baseline). ``--update`` promotes CURRENT to BASELINE.
``--ab 'CMD_A' 'CMD_B'`` runs both commands alternately and compares the runs (pooled rounds,
checked pair by pair).
Exit 0: no regression; 1: a regression; 2: a usage error (bad file, flag or expression).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from harness.atomic import write_atomic
from harness.cli._options import duration_flag
from harness.errors import UsageError
from harness.gate import (
    DEFAULT_ALPHA,
    ABConfig,
    Baseline,
    GateResult,
    Rule,
    compare,
    compare_interleaved,
    gate_markdown,
    gate_table,
    run_ab,
)

__all__ = ["gate", "register"]

EXIT_OK = 0


def _rules(expressions: list[str] | None) -> list[Rule]:
    return [Rule.parse(text) for text in expressions or []]


@dataclass(frozen=True, slots=True)
class _Outputs:
    console: Console
    markdown: Path | None = None
    json: Path | None = None


def _emit(result: GateResult, outputs: _Outputs) -> None:
    console, markdown = outputs.console, outputs.markdown
    if outputs.json is not None:
        write_atomic(outputs.json, json.dumps(result.to_dict(), indent=1) + "\n")
    console.print(gate_table(result))
    for line in (f"missing from current: {m}" for m in result.missing):
        console.print(f"[yellow]{line}[/]")
    for note in result.notes:
        console.print(f"[dim]note: {note}[/]")
    if markdown is not None:
        text = gate_markdown(result)
        if str(markdown) == "-":
            console.print(text, markup=False, highlight=False)
        else:
            write_atomic(markdown, text)


def _promote(baseline_path: Path, current: Baseline, console: Console) -> None:
    promoted = Baseline(
        metrics=current.metrics,
        source=current.source,
        name=baseline_path.stem,
        machine=current.machine,
        package_version=current.package_version,
    )
    promoted.save(baseline_path)
    console.print(f"baseline {baseline_path} updated with {len(current.metrics)} metrics.")


def _two_files(baseline: Path, current: Path, update: bool) -> tuple[Baseline | None, Baseline]:
    cur = Baseline.load(current)
    if not baseline.exists():
        if update:
            return None, cur
        raise UsageError(
            f"baseline {baseline} does not exist; create it with "
            f"`harness gate {baseline} {current} --update`."
        )
    return Baseline.load(baseline), cur


def _run_interleaved(
    ab: tuple[str, str],
    *,
    rounds: int,
    timeout: float,
    rules: list[Rule],
    alpha: float,
    outputs: _Outputs,
) -> int:
    config = ABConfig(baseline=ab[0], current=ab[1], rounds=rounds, timeout=timeout)
    with tempfile.TemporaryDirectory(prefix="harness-gate-") as tmp:
        outcome = run_ab(config, Path(tmp))
    result = compare_interleaved(outcome.baseline_runs, outcome.current_runs, rules, alpha=alpha)
    outputs.console.print(f"interleaved {rounds} rounds per side, order {''.join(outcome.order[:8])}...")
    _emit(result, outputs)
    return result.exit_code


def gate(
    baseline: Annotated[
        Path | None, typer.Argument(help="Baseline file (a saved baseline or any result file).")
    ] = None,
    current: Annotated[
        Path | None, typer.Argument(help="Current results (pytest-benchmark JSON, result.json ...).")
    ] = None,
    *,
    rule: Annotated[
        list[str] | None,
        typer.Option(
            "--rule",
            "-t",
            help="[PATTERN:]THRESHOLD, repeatable: '10%', '+5%', 'rps:-10%', 'p99:+2ms', 'err*:+0.01'.",
        ),
    ] = None,
    alpha: Annotated[
        float, typer.Option(help="Two-sided significance level of the interval.")
    ] = DEFAULT_ALPHA,
    update: Annotated[bool, typer.Option("--update", help="Promote CURRENT to BASELINE (exit 0).")] = False,
    markdown: Annotated[
        Path | None,
        typer.Option(help="Write the Markdown summary here ('-' for stdout, or $GITHUB_STEP_SUMMARY)."),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the comparison as JSON here (for bots, dashboards).")
    ] = None,
    ab: Annotated[
        tuple[str, str] | None,
        typer.Option(
            help="Run 'CMD_BASELINE' 'CMD_CURRENT' alternately; {out} in a command is its results file."
        ),
    ] = None,
    rounds: Annotated[
        int, typer.Option(help="Rounds per side with --ab (8 or more for a 99% paired interval).")
    ] = 10,
    timeout: Annotated[float, duration_flag("1h", "How long each --ab command may take, e.g. 10m.")] = 3600.0,
) -> None:
    """Compare results with a baseline; exit 1 only on a significant regression beyond its threshold."""
    outputs = _Outputs(console=Console(width=160), markdown=markdown, json=json_out)
    rules = _rules(rule)
    if ab is not None:
        if baseline is not None or current is not None or update:
            raise UsageError("--ab runs both sides itself; pass no BASELINE/CURRENT files and no --update.")
        raise typer.Exit(
            _run_interleaved(
                ab,
                rounds=rounds,
                timeout=timeout,
                rules=rules,
                alpha=alpha,
                outputs=outputs,
            )
        )
    if baseline is None or current is None:
        raise UsageError("pass BASELINE and CURRENT files, or --ab 'CMD_BASELINE' 'CMD_CURRENT'.")
    base, cur = _two_files(baseline, current, update)
    result = compare(base, cur, rules, alpha=alpha) if base is not None else None
    if result is not None:
        _emit(result, outputs)
    if update:
        _promote(baseline, cur, outputs.console)
        raise typer.Exit(EXIT_OK)
    assert result is not None
    raise typer.Exit(result.exit_code)


def register(app: typer.Typer) -> None:
    """Add ``harness gate`` to the CLI."""
    app.command(name="gate")(gate)
