"""Plugin cost: 1,000 trivial tests that use none of our fixtures, with and without the plugin.

Both configurations run alternately in one job (A, B, A, B, ...) so machine noise hits both
alike. Each run is measured in CPU seconds of the pytest child (user + system, from
``getrusage``), which a busy machine disturbs far less than wall time; wall time is printed too.
The script prints medians and the ratio (target: within 5%).

    python benchmarks/plugin_overhead.py [--rounds 7] [--tests 1000]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMON = [
    "-q",
    "-p",
    "no:locust",
    "-p",
    "no:cacheprovider",
    "-o",
    "asyncio_default_fixture_loop_scope=function",
]


def _write_suite(folder: Path, tests: int) -> None:
    per_file = 100
    for f in range(tests // per_file):
        body = "\n".join(f"def test_{i}():\n    assert {i} + 1 > {i}\n" for i in range(per_file))
        (folder / f"test_trivial_{f}.py").write_text(body)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(folder: Path, extra: list[str]) -> tuple[float, float]:
    cpu0 = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *COMMON, *extra],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    elapsed = time.perf_counter() - start
    cpu = _children_cpu() - cpu0
    if done.returncode != 0:
        raise SystemExit(f"pytest failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return cpu, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tests", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _write_suite(folder, args.tests)
        _run(folder, [])  # warm the file system and bytecode caches
        on: list[tuple[float, float]] = []
        off: list[tuple[float, float]] = []
        for _ in range(args.rounds):
            on.append(_run(folder, []))
            off.append(_run(folder, ["-p", "no:harness"]))
    print(f"{args.tests} trivial tests, {args.rounds} interleaved rounds")
    for label, index in (("CPU", 0), ("wall", 1)):
        a = statistics.median(r[index] for r in on)
        b = statistics.median(r[index] for r in off)
        print(f"  {label:4}  with plugin {a:.3f} s   without {b:.3f} s   ratio {a / b:.3f}  (target <= 1.05)")


if __name__ == "__main__":
    main()
