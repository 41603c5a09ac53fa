"""Harness overhead of a health round: 100 trivial checks, with and without the monitor.

Target (issue 9): a round of 100 checks costs under 5 ms of harness overhead beyond the checks
themselves. Variants, interleaved in one process (the order rotates every repetition, so drift
on a shared machine hits all alike); each sample is the mean of ``--rounds`` rounds:

- ``bare``: the 100 check functions called directly (what the checks themselves cost)
- ``round/min``: ``HealthMonitor.run_round()`` over 100 minimal ``HealthCheck`` objects
- ``round/callable``: the same over 100 ``CallableCheck`` (timeout, error handling), NoOpSink
- ``round/callable/serial``: as above with ``max_concurrency=1`` (no worker tasks)
- ``round/callable/prometheus``: as above reporting every metric to a ``PrometheusSink``

Prints the median per variant and its overhead over ``bare``.
Run: ``.venv/bin/python benchmarks/bench_health.py [--repeats 15] [--rounds 20]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from harness.clock import SystemClock
from harness.health import (
    CallableCheck,
    CheckResult,
    HealthMonitor,
    HealthMonitorConfig,
    HealthStatus,
    PrometheusSink,
)

N_CHECKS = 100
TARGET_MS = 5.0


def _ok() -> bool:
    return True


class MinimalCheck:
    """The least a HealthCheck can be: a name and a coroutine returning a prebuilt result."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._result = CheckResult(name=name, status=HealthStatus.HEALTHY)

    async def check(self) -> CheckResult:
        return self._result


def _monitor(checks: list[object], **config: int) -> HealthMonitor:
    monitor = HealthMonitor(clock=SystemClock(), config=HealthMonitorConfig(**config))
    for check in checks:
        monitor.register(check)  # type: ignore[arg-type]
    return monitor


def variants() -> dict[str, Callable[[], Awaitable[object]]]:
    fns = [_ok] * N_CHECKS

    async def bare() -> None:
        for fn in fns:
            fn()

    callables = [CallableCheck(f"c{i}", _ok) for i in range(N_CHECKS)]
    minimal = _monitor([MinimalCheck(f"m{i}") for i in range(N_CHECKS)])
    plain = _monitor(list(callables))
    serial = _monitor(list(callables), max_concurrency=1)
    prom = _monitor(list(callables))
    prom.sink = PrometheusSink()
    return {
        "bare": bare,
        "round/min": minimal.run_round,
        "round/callable": plain.run_round,
        "round/callable/serial": serial.run_round,
        "round/callable/prometheus": prom.run_round,
    }


async def _sample(fn: Callable[[], Awaitable[object]], rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        await fn()
    return (time.perf_counter() - start) / rounds


async def measure(repeats: int, rounds: int) -> dict[str, list[float]]:
    table = variants()
    names = list(table)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm up: metric creation, code paths
        await _sample(table[name], 3)
    for rep in range(repeats):
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for name in order:
            samples[name].append(await _sample(table[name], rounds))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    samples = asyncio.run(measure(args.repeats, args.rounds))
    bare = statistics.median(samples["bare"])
    print(f"health round of {N_CHECKS} trivial checks; medians of {args.repeats} x {args.rounds} rounds")
    print(f"{'variant':28} {'median':>10} {'overhead':>10}  target")
    for name, values in samples.items():
        median = statistics.median(values)
        overhead = median - bare
        verdict = "" if name == "bare" else ("ok" if overhead * 1e3 < TARGET_MS else "MISSED")
        print(f"{name:28} {median * 1e3:8.3f}ms {overhead * 1e3:8.3f}ms  < {TARGET_MS:g} ms {verdict}")


if __name__ == "__main__":
    main()
