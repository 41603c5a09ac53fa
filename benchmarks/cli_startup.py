"""Startup of ``harness --version`` side by side with ``python -c "import json"`` (the issue's yardstick).

Runs the two commands alternately (interleaved, so drift on a shared machine hits both alike),
``--rounds`` times each, and prints each median and the ratio. ``--max-ratio 3`` exits 1 when the
ratio of medians is above it. ``--python`` picks the interpreter (default: this one); the
``harness`` console script next to it is used when present, else ``python -m harness``.

    python benchmarks/cli_startup.py --rounds 30
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--max-ratio", type=float, default=None)
    args = parser.parse_args()
    script = Path(args.python).with_name("harness")
    harness = [str(script)] if script.exists() else [args.python, "-m", "harness"]
    commands = {
        "python -c 'import json'": [args.python, "-c", "import json"],
        "harness --version": [*harness, "--version"],
    }
    for cmd in commands.values():  # warm the file cache and the bytecode
        _time(cmd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.rounds):
        for name, cmd in commands.items():
            times[name].append(_time(cmd))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"{name:28s} median {value * 1000:7.1f} ms over {args.rounds} interleaved runs")
    ratio = medians["harness --version"] / medians["python -c 'import json'"]
    print(f"ratio harness --version / import json: {ratio:.2f}x")
    if args.max_ratio is not None and ratio > args.max_ratio:
        print(f"over the target of {args.max_ratio:g}x")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
