"""Interleaved A/B: run the baseline and the current command alternately in one job.

On a noisy CI machine two runs minutes apart differ by more than many regressions; alternating
``A B B A A B ...`` exposes both sides to the same drift. Each command either writes a results
file (put ``{out}`` in the command where the path goes, for example
``pytest benchmarks --benchmark-json={out}``) or is timed as a whole (metric ``command.wall_time``).
:func:`harness.gate.interleaved.compare_interleaved` judges the runs pair by pair: each pair's two
runs shared the machine's drift, so their difference cancels it.

Commands are split with ``shlex`` and run without a shell; wrap them in ``sh -c '...'`` if you
need one.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness._checks import integer, positive
from harness.clock import Clock, SystemClock
from harness.errors import InvalidConfig, UsageError
from harness.gate.baseline import Baseline
from harness.gate.metrics import Metric

__all__ = ["OUT_PLACEHOLDER", "WALL_TIME", "ABConfig", "ABResult", "CommandFailed", "run_ab", "run_command"]

OUT_PLACEHOLDER = "{out}"
WALL_TIME = "command.wall_time"

CommandRunner = Callable[[Sequence[str], float], None]
"""Runs ``argv`` with a timeout in seconds; raises :class:`CommandFailed` when it fails."""


class CommandFailed(UsageError):
    """A command of an A/B comparison exited non-zero or timed out."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ABConfig:
    """Two commands and how many times to run each, alternately (``runs`` per side)."""

    baseline: str
    current: str
    runs: int = 10
    timeout: float = 3600.0

    def __post_init__(self) -> None:
        for name in ("baseline", "current"):
            text = getattr(self, name)
            try:
                argv = shlex.split(text)
            except ValueError as exc:
                raise InvalidConfig(f"{name} command {text!r} cannot be split: {exc}.", field=name) from None
            if not argv:
                raise InvalidConfig(f"the {name} command is empty; pass it as one quoted string.", field=name)
        integer(
            "runs",
            self.runs,
            "5 or more per side give a 99% paired interval some power",
            at_least=2,
            at_most=1000,
        )
        positive("timeout", self.timeout, "how long each command may take", unit="seconds")

    def order(self) -> list[str]:
        """``A B B A A B ...``: balanced, so a linear drift cancels."""
        pairs = [("A", "B") if r % 2 == 0 else ("B", "A") for r in range(self.runs)]
        return [side for pair in pairs for side in pair]


@dataclass(frozen=True, slots=True)
class ABResult:
    """Each run's results, per side in pair order, and the order the runs went in."""

    baseline_runs: tuple[Baseline, ...]
    current_runs: tuple[Baseline, ...]
    order: tuple[str, ...]


def run_command(argv: Sequence[str], timeout: float) -> None:
    """Run ``argv`` without a shell; a non-zero exit or a timeout raises :class:`CommandFailed`."""
    try:
        # The user's own command line, run without a shell.
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        raise CommandFailed(f"`{shlex.join(argv)}` did not finish within {timeout:g} s.") from None
    except OSError as exc:
        raise CommandFailed(f"cannot run `{shlex.join(argv)}`: {exc.strerror or exc}.") from None
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
        raise CommandFailed(f"`{shlex.join(argv)}` exited with {proc.returncode}:\n{tail}")


def _argv(command: str, out: Path) -> list[str]:
    return [part.replace(OUT_PLACEHOLDER, str(out)) for part in shlex.split(command)]


def _wall_time(elapsed: float, name: str) -> Baseline:
    return Baseline(metrics={WALL_TIME: Metric(name=WALL_TIME, median=elapsed, unit="s")}, name=name)


def run_ab(
    config: ABConfig, out_dir: Path, *, runner: CommandRunner = run_command, clock: Clock | None = None
) -> ABResult:
    """Run both commands alternately ``config.runs`` times each and collect each run's metrics."""
    clock = clock or SystemClock()
    commands = {"A": config.baseline, "B": config.current}
    runs: dict[str, list[Baseline]] = {"A": [], "B": []}
    order = config.order()
    for index, side in enumerate(order):
        out = out_dir / f"{side}-{index // 2:03d}.json"
        started = clock.now()
        runner(_argv(commands[side], out), config.timeout)
        elapsed = clock.now() - started
        name = f"{side}{len(runs[side])}"
        runs[side].append(
            Baseline.load(out) if OUT_PLACEHOLDER in commands[side] else _wall_time(elapsed, name)
        )
    return ABResult(baseline_runs=tuple(runs["A"]), current_runs=tuple(runs["B"]), order=tuple(order))
