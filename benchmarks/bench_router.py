"""Routing cost: ``Router`` against the bare code each engine used to route with, in one process.

    python benchmarks/bench_router.py [--repeat 7]

Two cases, each timed side by side with its peer and printed as a ratio:

* a window of 200,000 arrivals split 90/10 (the simulated engine at 20,000 requests/s with 10 s
  windows): ``Router.partition`` against the inline numpy split the engine had (one uniform draw
  per arrival, ``searchsorted`` over cumulative shares, one boolean mask per version);
* one request at a time (the live engine): ``Router.pick`` against a pure-Python weighted pick
  over a ``random.Random`` stream.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.rollout import Router

WEIGHTS = {"v1": 90.0, "v2": 10.0}
WINDOW = 200_000
PICKS = 100_000


def inline_split(
    rng: np.random.Generator, arrivals: npt.NDArray[np.float64]
) -> dict[str, npt.NDArray[np.float64]]:
    """The peer: the simulated engine's own split before it routed through the Router."""
    names = sorted(WEIGHTS)
    shares = np.array([WEIGHTS[n] for n in names])
    cumulative = np.cumsum(shares / shares.sum())
    picks = np.searchsorted(cumulative, rng.random(arrivals.size), side="right")
    picks = np.minimum(picks, len(names) - 1)
    return {name: arrivals[picks == i] for i, name in enumerate(names)}


def python_pick(rng: random.Random) -> str:
    """The peer: the live engine's own per-request pick before it routed through the Router."""
    u = rng.random()
    acc = 0.0
    for name in sorted(WEIGHTS):
        acc += WEIGHTS[name] / 100.0
        if u < acc:
            return name
    return sorted(WEIGHTS)[-1]


def _best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _window_case(repeat: int) -> tuple[float, float]:
    arrivals = np.sort(np.random.default_rng(1).uniform(0, 10, WINDOW))
    router = Router(WEIGHTS, seed=1)
    rng = np.random.default_rng(1)
    ours = _best(lambda: router.partition(arrivals), repeat)
    peer = _best(lambda: inline_split(rng, arrivals), repeat)
    return ours / WINDOW * 1e9, peer / WINDOW * 1e9


def _pick_case(repeat: int) -> tuple[float, float]:
    router = Router(WEIGHTS, seed=1)
    rng = random.Random(1)
    ours = _best(lambda: [router.pick() for _ in range(PICKS)], repeat)
    peer = _best(lambda: [python_pick(rng) for _ in range(PICKS)], repeat)
    return ours / PICKS * 1e9, peer / PICKS * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"routing cost per request, median of {args.repeat} rounds")
    for label, case in (
        (f"window of {WINDOW:,} (partition vs inline numpy)", _window_case),
        ("one request (pick vs pure-Python pick)", _pick_case),
    ):
        ours, peer = case(args.repeat)
        print(f"  {label:48} Router {ours:8.1f} ns  peer {peer:8.1f} ns  Router/peer {ours / peer:.2f}")


if __name__ == "__main__":
    main()
