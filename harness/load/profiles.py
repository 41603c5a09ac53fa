"""Load profiles as data: target arrival rate over time, composable in sequence.

A profile says how many requests per second should *start* at each instant of a run (an open
model). The open-model driver turns it into intended start times (:func:`arrival_times`); the
Locust runner turns it into a ``LoadTestShape`` whose users pace themselves to the same rate.
Every profile is a frozen, validated dataclass; ``a.then(b)`` (or ``a + b``) plays ``b`` after
``a``; :func:`profile_to_dict` / :func:`profile_from_dict` carry a profile across processes and
to and from files, where durations carry their unit (``duration: 30s``, see :mod:`harness.units`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from harness._checks import Interval, finite, integer, invalid, positive, within
from harness.errors import InvalidConfig
from harness.units import format_duration, parse_duration

__all__ = [
    "ArrivalProcess",
    "ConstantArrival",
    "DiurnalLoad",
    "Profile",
    "RampLoad",
    "SequenceLoad",
    "SoakLoad",
    "SpikeLoad",
    "StepLoad",
    "arrival_times",
    "profile_from_dict",
    "profile_to_dict",
]

FloatArray = npt.NDArray[np.float64]


@runtime_checkable
class Profile(Protocol):
    """A target arrival rate over ``[0, duration]`` seconds."""

    @property
    def duration(self) -> float:
        """Length of the profile in seconds."""
        ...

    def rate_at(self, t: float) -> float:
        """Target requests per second at ``t`` seconds into the profile (0 outside it)."""
        ...

    def cumulative(self, t: FloatArray) -> FloatArray:
        """Expected number of arrivals in ``[0, t]`` for each ``t`` (clipped to the profile)."""
        ...


_RATE_FIX = "give finite requests per second, such as 100 (a zero or negative rate sends nothing)"


def _check_rate(name: str, value: float) -> None:
    finite(name, value, _RATE_FIX)
    within(name, value, "[0, inf)", _RATE_FIX, what="")


def _check_positive_rate(name: str, value: float) -> None:
    finite(name, value, _RATE_FIX)
    within(name, value, "(0, inf)", _RATE_FIX, what="")


def _check_duration(name: str, value: float) -> None:
    positive(name, value, "such as 60", unit="seconds")


class _Composable:
    """``then``/``+`` for every profile."""

    __slots__ = ()

    def then(self, *others: Profile) -> SequenceLoad:
        """This profile followed by ``others`` in order."""
        return SequenceLoad(parts=(self, *others))  # type: ignore[arg-type]

    def __add__(self, other: Profile) -> SequenceLoad:
        return self.then(other)

    def users_at(self, t: float, user_rate: float) -> int:
        """Locust users needed at ``t`` when each user sends at most ``user_rate`` requests/s."""
        rate: float = self.rate_at(t)  # type: ignore[attr-defined]
        return math.ceil(rate / user_rate - 1e-9) if rate > 0 else 0


def _clip(t: FloatArray, duration: float) -> FloatArray:
    return np.clip(np.asarray(t, dtype=np.float64), 0.0, duration)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConstantArrival(_Composable):
    """``rate`` requests per second for ``duration`` seconds (open model: arrivals never wait)."""

    kind: ClassVar[str] = "constant"
    rate: float
    duration: float

    def __post_init__(self) -> None:
        _check_positive_rate("rate", self.rate)
        _check_duration("duration", self.duration)

    def rate_at(self, t: float) -> float:
        """Target requests per second at ``t``."""
        return self.rate if 0 <= t < self.duration else 0.0

    def cumulative(self, t: FloatArray) -> FloatArray:
        """Expected arrivals in ``[0, t]``."""
        return self.rate * _clip(t, self.duration)


@dataclass(frozen=True, slots=True, kw_only=True)
class RampLoad(_Composable):
    """A linear ramp from ``start_rate`` to ``end_rate`` requests/s over ``duration`` seconds."""

    kind: ClassVar[str] = "ramp"
    start_rate: float
    end_rate: float
    duration: float

    def __post_init__(self) -> None:
        _check_rate("start_rate", self.start_rate)
        _check_rate("end_rate", self.end_rate)
        _check_duration("duration", self.duration)
        if self.start_rate == self.end_rate:
            raise InvalidConfig(
                f"RampLoad from {self.start_rate!r} to {self.end_rate!r} requests/s goes nowhere; "
                "use ConstantArrival for a flat rate or give different start_rate and end_rate.",
                field="end_rate",
                value=self.end_rate,
            )

    def rate_at(self, t: float) -> float:
        """Target requests per second at ``t``."""
        if not 0 <= t < self.duration:
            return 0.0
        return self.start_rate + (self.end_rate - self.start_rate) * t / self.duration

    def cumulative(self, t: FloatArray) -> FloatArray:
        """Expected arrivals in ``[0, t]``."""
        x = _clip(t, self.duration)
        slope = (self.end_rate - self.start_rate) / self.duration
        return self.start_rate * x + slope * x * x / 2.0


@dataclass(frozen=True, slots=True, kw_only=True)
class StepLoad(_Composable):
    """``steps`` plateaus of ``step_duration`` seconds, starting at ``start_rate``, each ``step`` higher.

    A negative ``step`` steps down; every plateau's rate must stay >= 0.
    """

    kind: ClassVar[str] = "step"
    start_rate: float
    step: float
    step_duration: float
    steps: int

    def __post_init__(self) -> None:
        _check_rate("start_rate", self.start_rate)
        _check_duration("step_duration", self.step_duration)
        integer("steps", self.steps, "use ConstantArrival for a single plateau", at_least=2)
        if finite("step", self.step, "requests/s added at each step") == 0:
            raise invalid("step", self.step, "non-zero", "a zero step goes nowhere (use ConstantArrival)")
        last = self.start_rate + self.step * (self.steps - 1)
        if last < 0:
            raise InvalidConfig(
                f"StepLoad ends at {last!r} requests/s (start_rate={self.start_rate!r}, step={self.step!r}, "
                f"steps={self.steps!r}); lower the number of steps or the step so every rate is >= 0.",
                field="step",
                value=self.step,
            )

    @property
    def duration(self) -> float:
        """``steps * step_duration`` seconds."""
        return self.steps * self.step_duration

    def rate_at(self, t: float) -> float:
        """Target requests per second at ``t``."""
        if not 0 <= t < self.duration:
            return 0.0
        return self.start_rate + self.step * min(int(t // self.step_duration), self.steps - 1)

    def cumulative(self, t: FloatArray) -> FloatArray:
        """Expected arrivals in ``[0, t]``."""
        x = _clip(t, self.duration)
        k = np.minimum(np.floor(x / self.step_duration), self.steps - 1)
        done = self.step_duration * (self.start_rate * k + self.step * k * (k - 1) / 2.0)
        result: FloatArray = done + (self.start_rate + self.step * k) * (x - k * self.step_duration)
        return result


@dataclass(frozen=True, slots=True, kw_only=True)
class SpikeLoad(_Composable):
    """``base_rate`` with a burst of ``spike_rate`` from ``spike_at`` for ``spike_for`` seconds."""

    kind: ClassVar[str] = "spike"
    base_rate: float
    spike_rate: float
    duration: float
    spike_at: float
    spike_for: float

    def __post_init__(self) -> None:
        _check_rate("base_rate", self.base_rate)
        _check_positive_rate("spike_rate", self.spike_rate)
        _check_duration("duration", self.duration)
        _check_duration("spike_for", self.spike_for)
        if self.spike_rate <= self.base_rate:
            raise InvalidConfig(
                f"spike_rate={self.spike_rate!r} must exceed base_rate={self.base_rate!r}; "
                "a spike that is not higher than the base goes nowhere.",
                field="spike_rate",
                value=self.spike_rate,
            )
        within(
            "spike_at",
            self.spike_at,
            Interval(0.0, self.duration, False, True),
            "the spike starts in the run",
        )
        if self.spike_at + self.spike_for > self.duration:
            raise InvalidConfig(
                f"the spike ends at {self.spike_at + self.spike_for!r}s, after duration={self.duration!r}s; "
                "shorten spike_for or lengthen duration.",
                field="spike_for",
                value=self.spike_for,
            )

    def rate_at(self, t: float) -> float:
        """Target requests per second at ``t``."""
        if not 0 <= t < self.duration:
            return 0.0
        in_spike = self.spike_at <= t < self.spike_at + self.spike_for
        return self.spike_rate if in_spike else self.base_rate

    def cumulative(self, t: FloatArray) -> FloatArray:
        """Expected arrivals in ``[0, t]``."""
        x = _clip(t, self.duration)
        spiked = np.clip(x - self.spike_at, 0.0, self.spike_for)
        return self.base_rate * x + (self.spike_rate - self.base_rate) * spiked


@dataclass(frozen=True, slots=True, kw_only=True)
class SoakLoad(_Composable):
    """A long steady ``rate``, reached by a linear ``ramp_up`` from zero (part of ``duration``)."""

    kind: ClassVar[str] = "soak"
    rate: float
    duration: float
    ramp_up: float = 0.0

    def __post_init__(self) -> None:
        _check_positive_rate("rate", self.rate)
        _check_duration("duration", self.duration)
        fix = f"shorter than duration={self.duration!r}: a soak needs time at its steady rate"
        within("ramp_up", self.ramp_up, Interval(0.0, self.duration, False, True), fix)

    def rate_at(self, t: float) -> float:
        """Target requests per second at ``t``."""
        if not 0 <= t < self.duration:
            return 0.0
        return self.rate * t / self.ramp_up if t < self.ramp_up else self.rate

    def cumulative(self, t: FloatArray) -> FloatArray:
        """Expected arrivals in ``[0, t]``."""
        x = _clip(t, self.duration)
        if self.ramp_up == 0:
            return self.rate * x
        r = np.minimum(x, self.ramp_up)
        return self.rate * r * r / (2.0 * self.ramp_up) + self.rate * np.maximum(x - self.ramp_up, 0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class DiurnalLoad(_Composable):
    """A compressed day: a cosine between ``min_rate`` and ``peak_rate`` over ``duration`` seconds.

    ``peak_at`` is the fraction of the day (0..1) where the rate peaks; the trough is half a day
    away. ``DiurnalLoad(min_rate=20, peak_rate=200, duration=240)`` plays a day in four minutes.
    """

    kind: ClassVar[str] = "diurnal"
    min_rate: float
    peak_rate: float
    duration: float
    peak_at: float = 0.5

    def __post_init__(self) -> None:
        _check_rate("min_rate", self.min_rate)
        _check_positive_rate("peak_rate", self.peak_rate)
        _check_duration("duration", self.duration)
        if self.peak_rate <= self.min_rate:
            raise InvalidConfig(
                f"peak_rate={self.peak_rate!r} must exceed min_rate={self.min_rate!r}; "
                "use ConstantArrival for a flat day.",
                field="peak_rate",
                value=self.peak_rate,
            )
        within("peak_at", self.peak_at, "[0, 1]", "where in the day the rate peaks", what="a fraction")

    def rate_at(self, t: float) -> float:
        """Target requests per second at ``t``."""
        if not 0 <= t < self.duration:
            return 0.0
        phase = 2 * math.pi * (t / self.duration - self.peak_at)
        return self.min_rate + (self.peak_rate - self.min_rate) * (1 + math.cos(phase)) / 2

    def cumulative(self, t: FloatArray) -> FloatArray:
        """Expected arrivals in ``[0, t]``."""
        x = _clip(t, self.duration)
        amp = (self.peak_rate - self.min_rate) / 2
        w = 2 * math.pi / self.duration
        shift = w * self.peak_at * self.duration
        wave = (np.sin(w * x - shift) - math.sin(-shift)) / w
        return self.min_rate * x + amp * (x + wave)


@dataclass(frozen=True, slots=True, kw_only=True)
class SequenceLoad(_Composable):
    """Profiles played one after another; built by ``a.then(b)`` or ``a + b``."""

    kind: ClassVar[str] = "sequence"
    parts: tuple[Profile, ...]

    def __post_init__(self) -> None:
        if len(self.parts) < 1:
            raise InvalidConfig("SequenceLoad needs at least one profile in parts.", field="parts", value=())
        flat: list[Profile] = []
        for part in self.parts:
            if not isinstance(part, Profile):
                raise InvalidConfig(
                    f"{part!r} is not a load profile; compose ConstantArrival, RampLoad, StepLoad, "
                    "SpikeLoad, SoakLoad or DiurnalLoad.",
                    field="parts",
                    value=part,
                )
            flat.extend(part.parts if isinstance(part, SequenceLoad) else (part,))
        object.__setattr__(self, "parts", tuple(flat))

    @property
    def duration(self) -> float:
        """Sum of the parts' durations."""
        return float(sum(p.duration for p in self.parts))

    def _starts(self) -> list[float]:
        starts, acc = [], 0.0
        for part in self.parts:
            starts.append(acc)
            acc += part.duration
        return starts

    def rate_at(self, t: float) -> float:
        """Target requests per second at ``t``."""
        for start, part in zip(self._starts(), self.parts, strict=True):
            if start <= t < start + part.duration:
                return part.rate_at(t - start)
        return 0.0

    def cumulative(self, t: FloatArray) -> FloatArray:
        """Expected arrivals in ``[0, t]``."""
        x = np.asarray(t, dtype=np.float64)
        total = np.zeros_like(x)
        for start, part in zip(self._starts(), self.parts, strict=True):
            total = total + part.cumulative(x - start)
        return total


_KINDS: dict[str, type[Any]] = {
    cls.kind: cls
    for cls in (ConstantArrival, RampLoad, StepLoad, SpikeLoad, SoakLoad, DiurnalLoad, SequenceLoad)
}


_DURATION_FIELDS = frozenset({"duration", "step_duration", "spike_at", "spike_for", "ramp_up"})
"""Fields written as durations with a unit in files (``duration: 30s``); seconds in Python."""


def profile_to_dict(profile: Profile) -> dict[str, Any]:
    """A JSON-ready description of ``profile`` (``{"kind": ..., fields...}``); durations as ``"30s"``."""
    if isinstance(profile, SequenceLoad):
        return {"kind": "sequence", "parts": [profile_to_dict(p) for p in profile.parts]}
    out: dict[str, Any] = {"kind": type(profile).kind}  # type: ignore[attr-defined]
    for f in fields(profile):  # type: ignore[arg-type]
        value = getattr(profile, f.name)
        out[f.name] = format_duration(value) if f.name in _DURATION_FIELDS else value
    return out


def profile_from_dict(data: Mapping[str, Any], *, where: str = "profile") -> Profile:
    """Build a profile from :func:`profile_to_dict` output or a file's mapping.

    Durations carry their unit (``duration: 30s``, ``step_duration: 500ms``); a bare number is
    refused with the fix, naming the field as ``where.field`` (``profile.parts[1].duration``).
    """
    if not isinstance(data, Mapping) or "kind" not in data:
        raise InvalidConfig(
            f"a load profile must be a mapping with a 'kind' key; got {data!r}.", field="kind", value=data
        )
    kind = data["kind"]
    cls = _KINDS.get(kind)
    if cls is None:
        valid = ", ".join(sorted(_KINDS))
        raise InvalidConfig(f"{kind!r} is not a load profile kind; valid: {valid}.", field="kind", value=kind)
    params: dict[str, Any] = {
        k: parse_duration(v, field=f"{where}.{k}") if k in _DURATION_FIELDS else v
        for k, v in data.items()
        if k != "kind"
    }
    if cls is SequenceLoad:
        parts = params.get("parts", [])
        return SequenceLoad(
            parts=tuple(profile_from_dict(p, where=f"{where}.parts[{i}]") for i, p in enumerate(parts))
        )
    try:
        profile: Profile = cls(**params)
    except TypeError as exc:
        names = ", ".join(f.name for f in fields(cls))
        raise InvalidConfig(
            f"bad fields for a {kind!r} profile ({exc}); valid fields: {names}.", field="kind", value=kind
        ) from None
    return profile


class ArrivalProcess(Enum):
    """How intended start times are spread: evenly (as wrk2 does) or as a Poisson process."""

    UNIFORM = "uniform"
    POISSON = "poisson"


_GRID = 0.001  # seconds between points where the cumulative curve is evaluated before inversion


def _invert(profile: Profile, lo: float, hi: float, targets: FloatArray) -> FloatArray:
    """Times in ``[lo, hi]`` where the cumulative arrival count reaches each target."""
    n = max(2, math.ceil((hi - lo) / _GRID) + 1)
    grid = np.linspace(lo, hi, n)
    cum = profile.cumulative(grid)
    idx = np.clip(np.searchsorted(cum, targets, side="left"), 1, n - 1)
    c0, c1 = cum[idx - 1], cum[idx]
    span = np.where(c1 > c0, c1 - c0, 1.0)
    frac = np.clip((targets - c0) / span, 0.0, 1.0)
    result: FloatArray = grid[idx - 1] + frac * (grid[idx] - grid[idx - 1])
    return result


def arrival_times(
    profile: Profile,
    *,
    process: ArrivalProcess = ArrivalProcess.UNIFORM,
    rng: np.random.Generator | None = None,
    chunk: float = 1.0,
) -> Iterator[FloatArray]:
    """Intended start times (seconds from the profile's start), in ascending chunks.

    With ``UNIFORM`` the k-th request starts where the expected count reaches k (k = 0, 1, ...),
    so any window's count is within one of the integral of the rate. ``POISSON`` draws
    exponential gaps on the same time scale from ``rng`` (required), reproducible by seed.
    """
    if process is ArrivalProcess.POISSON and rng is None:
        raise InvalidConfig(
            "ArrivalProcess.POISSON needs rng=, a seeded numpy Generator (seeds.numpy(name))."
        )
    _check_duration("chunk", chunk)
    next_target = 0.0 if process is ArrivalProcess.UNIFORM else float(rng.exponential(1.0))  # type: ignore[union-attr]
    lo = 0.0
    while lo < profile.duration:
        hi = min(lo + chunk, profile.duration)
        end = float(profile.cumulative(np.array([hi]))[0])
        targets = _targets(next_target, end, process, rng)
        if targets.size:
            next_target = float(targets[-1]) + (1.0 if process is ArrivalProcess.UNIFORM else 0.0)
            if process is ArrivalProcess.POISSON:
                next_target = float(targets[-1]) + float(rng.exponential(1.0))  # type: ignore[union-attr]
            yield _invert(profile, lo, hi, targets)
        lo = hi


def _targets(
    first: float, end: float, process: ArrivalProcess, rng: np.random.Generator | None
) -> FloatArray:
    """Cumulative-count targets in ``[first, end)``."""
    if first >= end:
        return np.empty(0)
    if process is ArrivalProcess.UNIFORM:
        return np.arange(first, end, 1.0)
    assert rng is not None
    out = [first]
    while True:
        gaps = rng.exponential(1.0, size=max(16, int((end - out[-1]) * 1.2) + 16))
        more = out[-1] + np.cumsum(gaps)
        keep = more[more < end]
        out.extend(keep.tolist())
        if keep.size < more.size:
            return np.asarray(out)
