"""The examples that ship with chaos-harness: the bundled scenarios and the sample systems they run.

- ``scenarios/*.yaml``: the bundled scenario files (shadow, canary, champion-challenger, rollback,
  a Redis outage, a retry storm, the sample checkout service's canaries), shipped as package data.
- ``harness.examples.sample_service``: a small checkout service with good, slow, buggy and flaky
  versions, as Python callables and as an HTTP app (``python -m harness.examples.sample_service``).
- ``harness.examples.scenario_versions``: those versions as scenario callables
  (``callable: {target: "harness.examples.scenario_versions:good"}``).
- ``harness.examples.factories``: polyfactory factories of the sample service's request payloads.
- ``harness.examples.shop``: a Starlette shop (Redis cache-aside with a fallback, a catalog call with
  a timeout and retries, a background refresher) that the ``shop-*`` scenarios run in simulated
  mode on virtual time (needs the ``sim`` extra).

``scenarios_dir()`` finds the scenario files through ``importlib.resources``, so they are found the
same way from a clone, an editable install and an installed wheel. Importing this package imports
none of the examples' own dependencies.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["scenario_files", "scenarios_dir"]


def scenarios_dir() -> Path:
    """The folder of the bundled scenario files inside the installed package."""
    folder = files(__name__).joinpath("scenarios")
    if not isinstance(folder, Path):  # pragma: no cover - only a zipped install has no folder
        raise RuntimeError(f"the bundled scenarios are not on the file system ({folder!r})")
    return folder


def scenario_files() -> list[Path]:
    """The bundled scenario files, sorted by name."""
    return sorted(scenarios_dir().glob("*.yaml"))
