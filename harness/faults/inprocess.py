"""In-process faults: what can go wrong inside one call, and the seeded decision to apply it.

A fault is a small frozen value: ``raise_error(TimeoutError, rate=0.1)``, ``add_latency(Uniform(0.05,
0.2), rate=0.5)``, ``corrupt_result(lambda r: None)``, ``hang()``. Deciding whether it fires is pure
(:func:`decide` takes a call number and a ``random.Random``); applying it is the adapter's job
(:mod:`harness.faults.inject`, the Redis wrapper), so the same decisions drive every adapter.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, TypeAlias, runtime_checkable

from harness._checks import invalid, non_negative, positive, probability, within
from harness.errors import InvalidConfig

__all__ = [
    "AddLatency",
    "CorruptResult",
    "Fault",
    "FaultDecision",
    "FaultKind",
    "Fixed",
    "Hang",
    "LatencyDistribution",
    "LogNormal",
    "Normal",
    "RaiseError",
    "Uniform",
    "add_latency",
    "corrupt_result",
    "decide",
    "hang",
    "raise_error",
]


class FaultKind(StrEnum):
    """The kinds of in-process fault (used for swarm activation and event records)."""

    RAISE_ERROR = "raise_error"
    ADD_LATENCY = "add_latency"
    CORRUPT_RESULT = "corrupt_result"
    HANG = "hang"


def _check_rate(rate: float) -> None:
    probability("rate", rate, "use 1.0 to fault every call")


def _check_seconds(name: str, value: float) -> None:
    non_negative(name, value, "for example 0.2", unit="seconds")


@runtime_checkable
class LatencyDistribution(Protocol):
    """Where injected delays come from: ``sample(rng)`` returns seconds >= 0."""

    def sample(self, rng: random.Random) -> float:
        """One delay in seconds, drawn from ``rng``."""
        ...


@dataclass(frozen=True, slots=True)
class Fixed:
    """Always the same delay."""

    seconds: float

    def __post_init__(self) -> None:
        _check_seconds("seconds", self.seconds)

    def sample(self, rng: random.Random) -> float:
        """``seconds``; ``rng`` is not consumed."""
        return float(self.seconds)


@dataclass(frozen=True, slots=True)
class Uniform:
    """A delay uniform in ``[low, high]`` seconds."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _check_seconds("low", self.low)
        _check_seconds("high", self.high)
        if self.high < self.low:
            raise invalid("high", self.high, f">= low={self.low!r}", "high must be >= low; swap them")

    def sample(self, rng: random.Random) -> float:
        """A uniform draw in ``[low, high]``."""
        return rng.uniform(self.low, self.high)


@dataclass(frozen=True, slots=True)
class Normal:
    """A normal delay (``mean``, ``stddev`` seconds), clipped at zero."""

    mean: float
    stddev: float

    def __post_init__(self) -> None:
        _check_seconds("mean", self.mean)
        _check_seconds("stddev", self.stddev)

    def sample(self, rng: random.Random) -> float:
        """A normal draw, never negative."""
        return max(0.0, rng.gauss(self.mean, self.stddev))


@dataclass(frozen=True, slots=True)
class LogNormal:
    """A long-tailed delay: log-normal with the given ``median`` seconds and shape ``sigma``.

    ``sigma=1`` puts p99 near 10x the median, the tail shape of real network latency.
    """

    median: float
    sigma: float = 1.0

    def __post_init__(self) -> None:
        positive("median", self.median, "the typical delay of LogNormal, e.g. 0.05", unit="seconds")
        _check_seconds("sigma", self.sigma)

    def sample(self, rng: random.Random) -> float:
        """A log-normal draw around ``median``."""
        return rng.lognormvariate(math.log(self.median), self.sigma)


@dataclass(frozen=True, slots=True, kw_only=True)
class RaiseError:
    """Raise an exception instead of calling the target."""

    error: BaseException | type[BaseException] | Callable[[], BaseException]
    rate: float = 1.0
    kind: FaultKind = FaultKind.RAISE_ERROR

    def __post_init__(self) -> None:
        _check_rate(self.rate)
        if not (isinstance(self.error, BaseException) or callable(self.error)):
            raise InvalidConfig(
                f"raise_error({self.error!r}): pass an exception class, instance or factory, "
                "for example raise_error(TimeoutError).",
                field="error",
                value=self.error,
            )

    def make(self) -> BaseException:
        """A fresh exception to raise (instances are copied so tracebacks never accumulate)."""
        if isinstance(self.error, BaseException):
            return _copy_exception(self.error)
        made = self.error()
        if not isinstance(made, BaseException):
            raise InvalidConfig(
                f"raise_error factory {self.error!r} returned {made!r}, not an exception.",
                field="error",
                value=made,
            )
        return made

    def describe(self) -> str:
        """A short label for event records."""
        err = self.error
        name = type(err).__name__ if isinstance(err, BaseException) else getattr(err, "__name__", repr(err))
        return f"raise_error({name})"


def _copy_exception(exc: BaseException) -> BaseException:
    try:
        return type(exc)(*exc.args)
    except Exception:  # noqa: BLE001 - exceptions with unusual constructors are raised as given
        return exc


@dataclass(frozen=True, slots=True, kw_only=True)
class AddLatency:
    """Delay the call by a draw from ``distribution`` on the injected clock, then call it."""

    distribution: LatencyDistribution
    rate: float = 1.0
    kind: FaultKind = FaultKind.ADD_LATENCY

    def __post_init__(self) -> None:
        _check_rate(self.rate)
        if not isinstance(self.distribution, LatencyDistribution):
            raise InvalidConfig(
                f"add_latency({self.distribution!r}): pass seconds or a distribution such as "
                "Uniform(0.05, 0.2), Normal(0.1, 0.02) or LogNormal(0.05).",
                field="distribution",
                value=self.distribution,
            )

    def describe(self) -> str:
        """A short label for event records."""
        return f"add_latency({self.distribution!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class CorruptResult:
    """Call the target, then replace its result by ``fn(result)``."""

    fn: Callable[[Any], Any]
    rate: float = 1.0
    kind: FaultKind = FaultKind.CORRUPT_RESULT

    def __post_init__(self) -> None:
        _check_rate(self.rate)
        if not callable(self.fn):
            raise InvalidConfig(
                f"corrupt_result({self.fn!r}): pass a function of the result, e.g. lambda r: None.",
                field="fn",
                value=self.fn,
            )

    def describe(self) -> str:
        """A short label for event records."""
        return f"corrupt_result({getattr(self.fn, '__name__', 'fn')})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Hang:
    """Never return (async: until cancelled) or wait ``seconds`` on the clock, then call it.

    A synchronous call cannot be cancelled, so on a sync target ``hang`` needs finite seconds.
    """

    seconds: float = math.inf
    rate: float = 1.0
    kind: FaultKind = FaultKind.HANG

    def __post_init__(self) -> None:
        _check_rate(self.rate)
        within("seconds", self.seconds, "[0, inf]", "math.inf hangs until cancelled", unit="seconds")

    def describe(self) -> str:
        """A short label for event records."""
        return f"hang({self.seconds!r})"


Fault: TypeAlias = RaiseError | AddLatency | CorruptResult | Hang
"""Any in-process fault."""


def raise_error(
    error: BaseException | type[BaseException] | Callable[[], BaseException], rate: float = 1.0
) -> RaiseError:
    """Raise ``error`` (class, instance or factory) on a fraction ``rate`` of calls."""
    return RaiseError(error=error, rate=rate)


def add_latency(distribution: LatencyDistribution | float, rate: float = 1.0) -> AddLatency:
    """Delay a fraction ``rate`` of calls; a number means that many seconds every time."""
    if isinstance(distribution, (int, float)):
        return AddLatency(distribution=Fixed(float(distribution)), rate=rate)
    return AddLatency(distribution=distribution, rate=rate)


def corrupt_result(fn: Callable[[Any], Any], rate: float = 1.0) -> CorruptResult:
    """Replace the result of a fraction ``rate`` of calls by ``fn(result)``."""
    return CorruptResult(fn=fn, rate=rate)


def hang(rate: float = 1.0, *, seconds: float = math.inf) -> Hang:
    """Make a fraction ``rate`` of calls hang (forever by default, or ``seconds`` on the clock)."""
    return Hang(seconds=seconds, rate=rate)


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """One fault chosen for one call; ``delay`` is the drawn latency or hang in seconds."""

    fault: Fault
    delay: float = 0.0


def decide(faults: Sequence[Fault], rng: random.Random) -> list[FaultDecision]:
    """Which of ``faults`` fire on one call.

    Every fault draws the same amount from ``rng`` on every call whether or not it fires (a
    uniform number and a 64-bit seed for its own latency draw), so the decisions for call N
    depend only on the seed and N, not on which earlier faults fired.
    """
    chosen: list[FaultDecision] = []
    for fault in faults:
        u = rng.random()
        sub_seed = rng.getrandbits(64)
        if u >= fault.rate:
            continue
        if isinstance(fault, AddLatency):
            sub = random.Random(sub_seed)  # noqa: S311 - simulation, not crypto
            chosen.append(FaultDecision(fault, fault.distribution.sample(sub)))
        elif isinstance(fault, Hang):
            chosen.append(FaultDecision(fault, fault.seconds))
        else:
            chosen.append(FaultDecision(fault))
    return chosen
