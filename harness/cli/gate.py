"""``harness gate``: fail CI on a performance regression the runs can show, never on one run's luck.

``harness gate BASELINE CURRENT`` compares result files (pytest-benchmark JSON, a run's
``result.json``, a metrics file or a saved baseline). Either side may be a quoted glob that matches
several runs (``'runs/base-*.json'``): the runs are then the unit. ``--update`` promotes CURRENT
(one run or several) to BASELINE; a baseline of several runs keeps each run's median, so it
carries its run-to-run noise. ``--ab 'CMD_A' 'CMD_B' --runs N`` runs both commands alternately,
N times each, and judges the pairs.

With one run per side, a change beyond the threshold is a regression only if the run-to-run noise
is known (``--noise 5%``, or zero for a seeded simulation); otherwise it is *inconclusive*, which
exits 0 (1 with ``--strict``) and prints the commands that would decide.

Exit 0: no regression; 1: a regression, or a baseline metric missing from the current results
(unless ``--allow-missing``); 2: bad input (a bad file, flag or expression, named); 3: an internal
error.
"""

from __future__ import annotations

import glob
import json
import math
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

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
from harness.gate.intervals import noise_to_decide
from harness.gate.rules import parse_noise
from harness.gate.runs import partial_metrics, pool_runs

__all__ = ["gate", "register"]

EXIT_OK = 0
EXIT_FINDING = 1
DEFAULT_RUNS = 10
_GLOB_CHARS = frozenset("*?[")


def _rules(expressions: list[str] | None) -> list[Rule]:
    return [Rule.parse(text) for text in expressions or []]


def _noise(text: str | None) -> float | None:
    return None if text is None else parse_noise(text, field="--noise")


@dataclass(frozen=True, slots=True)
class _Outputs:
    console: Console
    markdown: Path | None = None
    json: Path | None = None


@dataclass(frozen=True, slots=True)
class _Decision:
    """How a comparison turns into an exit code and what to print after it."""

    strict: bool = False
    advice: tuple[str, ...] = ()

    def exit_code(self, result: GateResult) -> int:
        if self.strict and result.inconclusive:
            return EXIT_FINDING
        return result.exit_code


def _emit(result: GateResult, outputs: _Outputs) -> None:
    console, markdown = outputs.console, outputs.markdown
    if outputs.json is not None:
        write_atomic(outputs.json, json.dumps(result.to_dict(), indent=1) + "\n")
    console.print(gate_table(result))
    for name in result.missing:
        console.print(f"[yellow]missing from current: {escape(name)}[/]")
    if result.missing_failed:
        console.print(
            "[yellow]a benchmark that stopped running fails the gate; --allow-missing accepts it.[/]"
        )
    for note in result.notes:
        console.print(f"[dim]note: {escape(note)}[/]")
    if markdown is not None:
        text = gate_markdown(result)
        if str(markdown) == "-":
            console.print(text, markup=False, highlight=False)
        else:
            write_atomic(markdown, text)


def _advice(result: GateResult, files: list[str], confidence: float) -> tuple[str, ...]:
    """The commands that would decide the inconclusive metrics, with the files given."""
    if not result.inconclusive:
        return ()
    levels = [noise_to_decide(c.baseline, c.current, confidence) for c in result.inconclusive]
    known = [level for level in levels if level is not None]
    noise = f"{math.floor(min(known) * 1000) / 10:g}%" if known else "5%"
    names = ", ".join(c.name for c in result.inconclusive[:3]) + (
        " ..." if len(result.inconclusive) > 3 else ""
    )
    lines = [
        f"inconclusive: {names} changed beyond the threshold within one run per side, which cannot tell a "
        "change from the difference between two runs of the same code. To decide:",
        "  harness gate --ab 'CMD_BASELINE' 'CMD_CURRENT' --runs 10  # interleaved runs in one job (best)",
        "  harness gate 'BASELINE-*.json' 'CURRENT-*.json'  # 5 or more result files per side",
        f"  harness gate {shlex.join(files)} --noise {noise}  # decides them if a run's median varies "
        "by at most this (sd) between runs of the same code",
    ]
    return tuple(lines)


def _print_decision(result: GateResult, decision: _Decision, console: Console) -> int:
    for line in decision.advice:
        console.print(line, markup=False, highlight=False)
    if decision.strict and result.inconclusive:
        console.print("--strict: an inconclusive comparison fails the gate.")
    return decision.exit_code(result)


def _expand(spec: str, side: str) -> list[Path]:
    """A file, or every file a glob matches (sorted): one run each."""
    path = Path(spec)
    if path.exists() or not _GLOB_CHARS & set(spec):
        return [path]
    matches = sorted(glob.glob(spec))
    if not matches:
        raise UsageError(f"the {side} pattern {spec!r} matches no file.")
    return [Path(m) for m in matches]


def _load_side(spec: str, side: str, console: Console) -> Baseline:
    runs = [Baseline.load(p) for p in _expand(spec, side)]
    for name in partial_metrics(runs):
        console.print(f"[dim]note: {escape(name)} is not in every {side} run; left out of the {side}.[/]")
    return pool_runs(runs, name=spec)


def _promote(baseline_path: Path, current: Baseline, console: Console) -> None:
    promoted = Baseline(
        metrics=current.metrics,
        source=current.source,
        name=baseline_path.stem,
        machine=current.machine,
        package_version=current.package_version,
    )
    promoted.save(baseline_path)
    runs = max(m.run_count for m in current.metrics.values())
    console.print(
        f"baseline {baseline_path} updated with {len(current.metrics)} metrics from {runs} run(s).",
        markup=False,
    )


def _two_sides(files: list[str], update: bool, console: Console) -> tuple[Baseline | None, Baseline]:
    if len(files) != 2:
        raise UsageError(
            f"pass BASELINE and CURRENT (got {len(files)} paths); for several runs per side quote a glob: "
            "harness gate 'runs/base-*.json' 'runs/cur-*.json'."
        )
    baseline, current = files
    cur = _load_side(current, "current", console)
    if update and _GLOB_CHARS & set(baseline):
        raise UsageError(f"--update writes one baseline file; {baseline!r} is a pattern.")
    if update and not Path(baseline).exists():
        return None, cur
    if not Path(baseline).exists() and not _GLOB_CHARS & set(baseline):
        raise UsageError(
            f"baseline {baseline} does not exist; create it with "
            f"`harness gate {shlex.quote(baseline)} {shlex.quote(current)} --update`."
        )
    return _load_side(baseline, "baseline", console), cur


@dataclass(frozen=True, slots=True)
class _Judging:
    rules: list[Rule]
    alpha: float
    noise: float | None
    allow_missing: bool
    strict: bool


def _run_interleaved(
    ab: tuple[str, str], *, runs: int, timeout: float, judging: _Judging, outputs: _Outputs
) -> int:
    config = ABConfig(baseline=ab[0], current=ab[1], runs=runs, timeout=timeout)
    with tempfile.TemporaryDirectory(prefix="harness-gate-") as tmp:
        outcome = run_ab(config, Path(tmp))
    result = compare_interleaved(
        outcome.baseline_runs,
        outcome.current_runs,
        judging.rules,
        alpha=judging.alpha,
        allow_missing=judging.allow_missing,
    )
    outputs.console.print(f"interleaved {runs} runs per side, order {''.join(outcome.order[:8])}...")
    _emit(result, outputs)
    return _print_decision(result, _Decision(strict=judging.strict), outputs.console)


def _run_files(files: list[str], *, update: bool, judging: _Judging, outputs: _Outputs) -> int:
    base, cur = _two_sides(files, update, outputs.console)
    code = EXIT_OK
    if base is not None:
        result = compare(
            base,
            cur,
            judging.rules,
            alpha=judging.alpha,
            noise=judging.noise,
            allow_missing=judging.allow_missing,
        )
        _emit(result, outputs)
        advice = _advice(result, files, 1.0 - judging.alpha)
        code = _print_decision(result, _Decision(strict=judging.strict, advice=advice), outputs.console)
    if update:
        _promote(Path(files[0]), cur, outputs.console)
        return EXIT_OK
    return code


def gate(
    files: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="BASELINE CURRENT",
            help="Baseline and current results: files, or quoted globs matching several runs each.",
            show_default=False,
        ),
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
    noise: Annotated[
        str | None,
        typer.Option(
            help="Run-to-run noise of one run's median (sd, e.g. 5%), for one run per side; "
            "without it such a change beyond the threshold is inconclusive."
        ),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when a metric is inconclusive.")] = False,
    allow_missing: Annotated[
        bool,
        typer.Option(
            "--allow-missing", help="Pass although baseline metrics are missing from the current results."
        ),
    ] = False,
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
    runs: Annotated[
        int | None, typer.Option(help=f"Runs per side with --ab (default {DEFAULT_RUNS}; 5 or more).")
    ] = None,
    rounds: Annotated[int | None, typer.Option(hidden=True, help="Old name of --runs.")] = None,
    timeout: Annotated[float, duration_flag("1h", "How long each --ab command may take, e.g. 10m.")] = 3600.0,
) -> None:
    """Compare results with a baseline; exit 1 only on a regression the runs can show."""
    outputs = _Outputs(console=Console(width=160), markdown=markdown, json=json_out)
    judging = _Judging(_rules(rule), alpha, _noise(noise), allow_missing, strict)
    if ab is None:
        if runs is not None or rounds is not None:
            raise UsageError(
                "--runs re-runs the --ab commands; for result files pass a glob of several runs."
            )
        raise typer.Exit(_run_files(list(files or []), update=update, judging=judging, outputs=outputs))
    if files or update:
        raise UsageError("--ab runs both sides itself; pass no BASELINE/CURRENT files and no --update.")
    if rounds is not None:
        outputs.console.print("[yellow]--rounds is now --runs; the old name goes in the next release.[/]")
    count = runs if runs is not None else rounds if rounds is not None else DEFAULT_RUNS
    raise typer.Exit(_run_interleaved(ab, runs=count, timeout=timeout, judging=judging, outputs=outputs))


def register(app: typer.Typer) -> None:
    """Add ``harness gate`` to the CLI."""
    app.command(name="gate")(gate)
