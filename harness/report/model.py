"""The input of every report writer: one scenario run, as a schema-versioned pydantic model.

:func:`~harness.report.scenario.scenario_report` fills a :class:`RunReport` from a scenario run;
the pytest plugin fills one for a chaos-marked test; ``harness report`` re-reads one from
``result.json``. Times in series, fault windows and decisions are seconds on the run's clock
(virtual seconds in simulated mode); latencies are seconds. ``started_at`` is wall time and
purely informational.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.errors import InvalidConfig
from harness.expectation import ExpectationResult
from harness.inputs import parse_json
from harness.mode import Mode

__all__ = [
    "REPORT_SCHEMA",
    "REPORT_SCHEMA_VERSION",
    "DecisionReason",
    "DecisionRecord",
    "ExpectationResult",
    "FaultSpan",
    "RunReport",
    "SeriesPoint",
    "load_run_report",
]

REPORT_SCHEMA = "chaos-harness.run-report"
"""The ``schema`` field of every ``result.json``."""
REPORT_SCHEMA_VERSION = 1
"""The version of the run-report schema; readers refuse versions they do not know."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _finite_or_none(value: float | None) -> float | None:
    if value is None or math.isfinite(value):
        return value
    return None


class SeriesPoint(_Model):
    """One metric window of one version: traffic share, volume, errors and latency percentiles."""

    t_start: float
    t_end: float
    weight_percent: float = Field(ge=0.0, le=100.0)
    requests: int = Field(ge=0)
    errors: int = Field(ge=0)
    error_rate: float = Field(ge=0.0, le=1.0)
    p50: float | None = Field(default=None, ge=0.0)
    p95: float | None = Field(default=None, ge=0.0)
    p99: float | None = Field(default=None, ge=0.0)

    @model_validator(mode="after")
    def _check(self) -> SeriesPoint:
        if self.t_end < self.t_start:
            raise ValueError(f"t_end={self.t_end!r} is before t_start={self.t_start!r}; swap them.")
        if self.errors > self.requests:
            raise ValueError(f"errors={self.errors} exceeds requests={self.requests}.")
        return self


class FaultSpan(_Model):
    """A fault that was active on ``target`` from ``start`` to ``end`` (run-clock seconds)."""

    start: float
    end: float
    target: str
    kind: str

    @model_validator(mode="after")
    def _check(self) -> FaultSpan:
        if self.end < self.start:
            raise ValueError(f"end={self.end!r} is before start={self.start!r}; swap them.")
        return self


class DecisionReason(_Model):
    """One piece of evidence behind a decision: ``statistic`` of ``metric`` vs ``threshold``."""

    metric: str
    statistic: str
    value: float | None = None
    threshold: float | None = None
    message: str = ""
    verdict: str = ""

    @field_validator("value", "threshold")
    @classmethod
    def _none_if_not_finite(cls, value: float | None) -> float | None:
        return _finite_or_none(value)


class DecisionRecord(_Model):
    """What a rollout controller decided at time ``t``, the weights it set, and why."""

    t: float
    action: str
    weights: dict[str, float] = Field(default_factory=dict)
    reasons: list[DecisionReason] = Field(default_factory=list)


class RunReport(_Model):
    """Everything a report shows about one run; ``result.json`` is this model as JSON.

    ``series`` maps a version name to its windows in time order; ``summary`` holds the scalar
    metrics (name -> value) that ``harness gate`` compares against a baseline.
    """

    schema_: str = Field(default=REPORT_SCHEMA, alias="schema")
    schema_version: int = REPORT_SCHEMA_VERSION
    scenario: str = Field(min_length=1)
    description: str = ""
    seed: int = Field(ge=0)
    mode: Mode = Mode.SIMULATED
    started_at: str = ""
    duration: float = Field(default=0.0, ge=0.0)
    digest: str = ""
    passed: bool
    replay_command: str = ""
    package_version: str = ""
    expectations: list[ExpectationResult] = Field(default_factory=list)
    series: dict[str, list[SeriesPoint]] = Field(default_factory=dict)
    faults: list[FaultSpan] = Field(default_factory=list)
    decisions: list[DecisionRecord] = Field(default_factory=list)
    summary: dict[str, float] = Field(default_factory=dict)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @field_validator("schema_")
    @classmethod
    def _known_schema(cls, value: str) -> str:
        if value != REPORT_SCHEMA:
            raise ValueError(f"schema={value!r} is not a run report; expected {REPORT_SCHEMA!r}.")
        return value

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != REPORT_SCHEMA_VERSION:
            raise ValueError(
                f"schema_version={value} is not supported; this chaos-harness reads version "
                f"{REPORT_SCHEMA_VERSION}. Re-run the scenario with this version to regenerate it."
            )
        return value

    @field_validator("summary")
    @classmethod
    def _finite_summary(cls, value: dict[str, float]) -> dict[str, float]:
        for name, number in value.items():
            if not math.isfinite(number):
                raise ValueError(
                    f"summary[{name!r}]={number!r} must be a finite number; metrics are measured values"
                )
        return value

    @property
    def failed_expectations(self) -> list[ExpectationResult]:
        """The expectations that did not hold."""
        return [e for e in self.expectations if not e.passed]

    def to_json(self) -> str:
        """``result.json`` content: indented, keys in model order, schema fields first."""
        return self.model_dump_json(by_alias=True, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, *, source: str = "result.json") -> RunReport:
        """Parse ``result.json`` text, raising ``InvalidConfig`` that names the bad field."""
        return cls.from_dict(parse_json(text, source=source), source=source)

    @classmethod
    def from_dict(cls, raw: Any, *, source: str = "result.json") -> RunReport:
        """Validate a decoded ``result.json`` object."""
        if not isinstance(raw, dict) or raw.get("schema") != REPORT_SCHEMA:
            raise InvalidConfig(
                f'{source} is not a chaos-harness run report (expected "schema": {REPORT_SCHEMA!r}); '
                "pass the result.json written by `harness run` or --harness-report."
            )
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise InvalidConfig(f"{source} is not a valid run report: {_first_error(exc)}") from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    extra = f" ({len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{where}: {err['msg']}{extra}"


def load_run_report(path: str | Path) -> RunReport:
    """Read and validate a ``result.json`` file; errors are ``InvalidConfig`` naming the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidConfig(f"cannot read run report {p}: {exc.strerror or exc}") from None
    return RunReport.from_json(text, source=str(p))
