"""Interleaved A/B runner: order, pairing and timing on a virtual clock."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from harness.clock import VirtualClock
from harness.errors import InvalidConfig
from harness.gate import ABConfig, compare, run_ab
from harness.gate.ab import WALL_TIME


def test_order_is_balanced() -> None:
    """A B B A A B B A: each side goes first equally often."""
    assert "".join(ABConfig(baseline="a", current="b", rounds=4).order()) == "ABBAABBA"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"baseline": "", "current": "b"}, "baseline command is empty"),
        ({"baseline": "a 'unclosed", "current": "b"}, "cannot be split"),
        ({"baseline": "a", "current": "b", "rounds": 1}, r"rounds=1"),
        ({"baseline": "a", "current": "b", "timeout": 0}, "timeout=0"),
    ],
)
def test_bad_config(kwargs: dict[str, object], message: str) -> None:
    """Bad A/B settings fail at construction, quoting the value."""
    with pytest.raises(InvalidConfig, match=message):
        ABConfig(**kwargs)  # type: ignore[arg-type]


def test_wall_time_of_commands_on_a_virtual_clock(tmp_path: Path) -> None:
    """Without {out} the command is timed; a 25% slower B regresses, paired by round."""
    clock = VirtualClock()
    ran: list[str] = []
    drift = iter([1.0, 1.0, 1.3, 1.3, 0.9, 0.9, 1.1, 1.1] * 2)

    def runner(argv: Sequence[str], timeout: float) -> None:
        ran.append(argv[0])
        factor = next(drift)
        clock.advance(factor * (1.25 if argv[0] == "new" else 1.0))

    outcome = run_ab(
        ABConfig(baseline="old --x", current="new --x", rounds=8), tmp_path, runner=runner, clock=clock
    )
    assert ran == ["old", "new", "new", "old"] * 4
    a, b = outcome.baseline.metrics[WALL_TIME], outcome.current.metrics[WALL_TIME]
    assert len(a.samples) == len(b.samples) == 8
    result = compare(outcome.baseline, outcome.current, paired=True)
    assert not result.passed
    assert result.comparisons[0].method == "paired hodges-lehmann"
