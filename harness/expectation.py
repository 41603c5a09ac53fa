"""The outcome of one checked expectation: the vocabulary shared by scenarios, tests and reports.

A scenario run checks its steady-state probes, SLOs and flow outcome into
:class:`ExpectationResult` values; a plain pytest test is one (``test passes``); the report layer
renders them and reads them back from ``result.json``. It lives below all of them so that the
scenario layer never imports the reports that sit above it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ExpectationResult"]


class ExpectationResult(BaseModel):
    """One expectation of the run and whether it held (``observed`` vs ``limit``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    passed: bool
    observed: float | str | None = None
    limit: float | str | None = None
    detail: str = ""
