"""Per-call costs of fault injection: the decision, the patched wrapper, toxic planning per chunk.

Run: ``.venv/bin/pytest benchmarks/test_faults_bench.py --benchmark-enable -p no:cacheprovider``
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from harness.faults import Toxic, decide, inject, raise_error
from harness.faults.toxics import Piece, ToxicState


def _target(x: int) -> int:
    return x + 1


@pytest.fixture
def injected() -> Iterator[None]:
    """``_target`` patched with a fault that never fires (rate 0): the pure overhead."""
    with inject(f"{__name__}:_target", raise_error(ValueError, rate=0.0)):
        yield


def test_bench_decide_one_fault(benchmark) -> None:  # type: ignore[no-untyped-def]
    """One decision for one fault."""
    faults = [raise_error(ValueError, rate=0.1)]
    rng = random.Random(1)
    benchmark(decide, faults, rng)


def test_bench_bare_call(benchmark) -> None:  # type: ignore[no-untyped-def]
    """The unpatched call, for comparison."""
    benchmark(_target, 1)


@pytest.mark.usefixtures("injected")
def test_bench_injected_call_not_firing(benchmark) -> None:  # type: ignore[no-untyped-def]
    """A patched call whose fault does not fire."""
    benchmark(globals()["_target"], 1)


def test_bench_plan_latency_with_jitter(benchmark) -> None:  # type: ignore[no-untyped-def]
    """Planning one chunk through a latency toxic with jitter."""
    state = ToxicState(Toxic.make("latency", latency=10, jitter=2), random.Random(1))
    benchmark(lambda: state.plan([Piece(0.0, b"x" * 1024)]))


def test_bench_plan_slicer(benchmark) -> None:  # type: ignore[no-untyped-def]
    """Planning a 16 KiB chunk through a slicer (about 64 slices)."""
    state = ToxicState(Toxic.make("slicer", average_size=256, size_variation=64), random.Random(1))
    chunk = b"x" * 16_384
    benchmark(lambda: state.plan([Piece(0.0, chunk)]))
