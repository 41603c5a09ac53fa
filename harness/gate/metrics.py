"""What the gate compares: named metrics with a unit, a better direction and compact samples."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness._checks import finite, invalid, non_negative
from harness.errors import InvalidConfig
from harness.gate.samples import MAX_SAMPLES, compact, sorted_quantiles

__all__ = ["Better", "Evidence", "Metric", "guess_direction"]

_HIGHER_IS_BETTER = re.compile(
    r"(^|[^a-z])(throughput|rps|qps|ops|success|availability|score|hit_rate|requests_per_s)([^a-z]|$)",
    re.IGNORECASE,
)


class Better(enum.StrEnum):
    """Which way is better for a metric: ``Better.LOWER`` for times and errors, ``HIGHER`` for throughput."""

    LOWER = "lower"
    HIGHER = "higher"

    @classmethod
    def parse(cls, text: str) -> Better:
        """``Better("lower")`` with an error that lists the valid values."""
        try:
            return cls(text)
        except ValueError:
            valid = ", ".join(d.value for d in cls)
            raise InvalidConfig(
                f"{text!r} is not a better direction; valid: {valid}.", field="direction", value=text
            ) from None


class Evidence(enum.StrEnum):
    """How much a metric's numbers can say: the statistical method the gate can use on it."""

    SAMPLES = "samples"  # two or more samples: Hodges-Lehmann shift, Mann-Whitney interval
    SUMMARY = "summary"  # median, IQR and rounds only: conservative normal interval
    SINGLE = "single"  # one number: threshold only (exact for simulated, seeded runs)


def guess_direction(name: str) -> Better:
    """Higher is better for throughput-like names (throughput, rps, ops, success, score...)."""
    return Better.HIGHER if _HIGHER_IS_BETTER.search(name) else Better.LOWER


@dataclass(frozen=True, slots=True, kw_only=True)
class Metric:
    """One measured quantity: at most :data:`MAX_SAMPLES` compact samples, or a summary.

    ``count`` is how many raw samples (or benchmark rounds) were measured; ``median`` and ``iqr``
    describe the raw data, so they stay exact after compaction. A metric measured over several
    runs keeps each run's median in ``runs`` (in run order): the runs, not the rounds, are the
    independent units the gate compares. ``noise`` is the run-to-run standard deviation of a run's
    median as a fraction of it (0.05 for 5%) when known without measuring runs here: 0 for a
    seeded simulation, whose runs repeat exactly; ``None`` when unknown.
    """

    name: str
    median: float
    unit: str = ""
    direction: Better = Better.LOWER
    samples: tuple[float, ...] = ()
    count: int = 1
    iqr: float = 0.0
    runs: tuple[float, ...] = ()
    noise: float | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise invalid("name", self.name, "a non-empty string", "name the metric, e.g. 'p99'")
        fix = f"metric {self.name!r} holds measured numbers"
        finite("median", self.median, fix)
        finite("iqr", self.iqr, fix)
        if self.count < max(1, len(self.samples)):
            raise InvalidConfig(
                f"metric {self.name!r}: count={self.count} is below its {len(self.samples)} samples; "
                "count is the number of raw measurements.",
                field="count",
                value=self.count,
            )
        if len(self.samples) > MAX_SAMPLES:
            raise InvalidConfig(
                f"metric {self.name!r} has {len(self.samples)} samples; use Metric.from_samples to "
                f"compact them to at most {MAX_SAMPLES}.",
                field="samples",
            )
        for field, values in (("sample", self.samples), ("run median", self.runs)):
            if not _all_finite(values):
                for value in values:
                    finite(field, value, fix)
        if self.noise is not None:
            non_negative("noise", self.noise, "the run-to-run standard deviation as a fraction, e.g. 0.05")

    @property
    def run_count(self) -> int:
        """How many runs were measured (1 unless ``runs`` holds several run medians)."""
        return max(1, len(self.runs))

    @classmethod
    def from_samples(
        cls, name: str, values: Sequence[float], *, unit: str = "", direction: Better = Better.LOWER
    ) -> Metric:
        """A metric from raw samples: exact median and IQR, compact samples."""
        if len(values) == 0:
            raise InvalidConfig(f"metric {name!r} has no samples.", field="samples")
        data = np.asarray(values, dtype=float)
        if not np.all(np.isfinite(data)):
            raise InvalidConfig(f"metric {name!r} has non-finite samples (NaN or infinity).", field="samples")
        q1, median, q3 = sorted_quantiles(np.sort(data), (0.25, 0.5, 0.75)).tolist()
        return cls(
            name=name,
            unit=unit,
            direction=direction,
            samples=tuple(compact(data.tolist())) if data.size > 1 else (),
            count=int(data.size),
            median=median,
            iqr=q3 - q1,
        )

    @property
    def evidence(self) -> Evidence:
        """Which method can judge this metric."""
        if len(self.samples) >= 2:
            return Evidence.SAMPLES
        if self.count >= 2:
            return Evidence.SUMMARY
        return Evidence.SINGLE

    def to_dict(self) -> dict[str, object]:
        """JSON form, samples rounded to nine significant digits."""
        return {
            "unit": self.unit,
            "direction": self.direction.value,
            "count": self.count,
            "median": _round(self.median),
            "iqr": _round(self.iqr),
            "samples": [_round(v) for v in self.samples],
            **({"runs": [_round(v) for v in self.runs]} if self.runs else {}),
            **({"noise": self.noise} if self.noise is not None else {}),
        }

    @classmethod
    def from_dict(cls, name: str, raw: object, *, source: str) -> Metric:
        """Parse :meth:`to_dict` output, raising ``InvalidConfig`` naming the file and metric."""
        if not isinstance(raw, dict):
            raise InvalidConfig(f"{source}: metric {name!r} must be an object.")
        try:
            return cls(
                name=name,
                unit=str(raw.get("unit", "")),
                direction=Better.parse(str(raw.get("direction", "lower"))),
                samples=tuple(float(v) for v in raw.get("samples", ())),
                count=int(raw["count"]),
                median=float(raw["median"]),
                iqr=float(raw.get("iqr", 0.0)),
                runs=tuple(float(v) for v in raw.get("runs", ())),
                noise=None if raw.get("noise") is None else float(raw["noise"]),
            )
        except InvalidConfig as exc:
            raise InvalidConfig(
                f"{source}: metric {name!r}: {exc}", field=exc.field, value=exc.value
            ) from None
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise InvalidConfig(f"{source}: metric {name!r} is malformed ({exc!r}).") from None


def _all_finite(values: tuple[float, ...]) -> bool:
    """Every value a finite float or int (not a bool); the fast path of the per-value check."""
    try:
        return all(map(math.isfinite, values)) and bool not in set(map(type, values))
    except TypeError:
        return False


def _round(value: float) -> float:
    return float(f"{value:.9g}")
