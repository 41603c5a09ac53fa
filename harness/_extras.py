"""The optional extras of the ``chaos-harness`` distribution, and the one check that names a missing one.

The base install is what the pytest plugin needs for resilience and fault tests (pytest, aiohttp
for the fault proxy's HTTP API and HTTP checks, PyYAML for config files, Typer and Rich for the
command line, pydantic for reports). Each extra adds the libraries of one group of features;
``EXTRAS`` lists the modules each one brings (the test suite checks it against
``pyproject.toml``). ``require(extra, feature)`` raises :class:`~harness.errors.MissingExtra`, a
usage error (CLI exit 2) whose one line says what to install, when one of them is missing.
It looks the modules up without importing them. ``missing_extra`` turns the
``ModuleNotFoundError`` of a lazily imported name into the same error.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from harness.errors import MissingExtra

__all__ = ["EXTRAS", "Extra", "extra_of_module", "missing_extra", "missing_modules", "modules_of", "require"]


@dataclass(frozen=True, slots=True)
class Extra:
    """One extra: the top-level ``modules`` of its own libraries, the extras it ``includes``, its use."""

    name: str
    modules: tuple[str, ...]
    provides: str
    includes: tuple[str, ...] = ()


EXTRAS: Mapping[str, Extra] = MappingProxyType(
    {
        extra.name: extra
        for extra in (
            Extra(
                name="stats",
                modules=("hdrh", "numpy", "scipy"),
                provides="statistics and judges, rollout flows, the performance gate, the load driver, SLOs",
            ),
            Extra(
                name="scenarios",
                modules=("hypothesis", "polyfactory"),
                includes=("stats",),
                provides="scenario files and harness run, the bundled examples, Hypothesis fault strategies",
            ),
            Extra(
                name="load",
                modules=("locust",),
                includes=("stats",),
                provides="headless Locust runs (harness load locust, run_locust)",
            ),
            Extra(
                name="redis",
                modules=("fakeredis", "lupa", "redis"),
                provides="Redis storage, shared breakers and rate limits, Redis faults, fakeredis",
            ),
            Extra(
                name="async",
                modules=("pytest_asyncio",),
                provides="async tests and fixtures (pytest-asyncio), such as redis_storage",
            ),
            Extra(
                name="bench",
                modules=("pytest_benchmark",),
                provides="pytest-benchmark, for --baseline-save / --baseline-compare",
            ),
            Extra(
                name="prometheus",
                modules=("prometheus_client",),
                provides="the Prometheus health sink",
            ),
            Extra(
                name="swarm",
                modules=("dask", "distributed"),
                includes=("scenarios",),
                provides="harness swarm: a scenario's seeds across Dask worker processes and machines",
            ),
            Extra(
                name="sim",
                modules=("httpx", "starlette"),
                includes=("scenarios", "redis"),
                provides="real code (callables, ASGI apps) on virtual time with simulated Redis and HTTP",
            ),
        )
    }
)
"""Every optional extra by name."""


def modules_of(extra: str) -> tuple[str, ...]:
    """The top-level modules ``extra`` brings, with those of the extras it includes, sorted."""
    known = EXTRAS.get(extra)
    if known is None:
        raise KeyError(f"unknown extra {extra!r}; known: {', '.join(EXTRAS)}")
    found = set(known.modules)
    for included in known.includes:
        found.update(modules_of(included))
    return tuple(sorted(found))


def missing_modules(extra: str) -> tuple[str, ...]:
    """The modules of ``extra`` that are not installed (looked up, not imported)."""
    return tuple(name for name in modules_of(extra) if importlib.util.find_spec(name) is None)


def require(extra: str, feature: str) -> None:
    """Raise :class:`~harness.errors.MissingExtra` naming ``extra`` when ``feature`` cannot run without it."""
    missing = missing_modules(extra)
    if missing:
        raise MissingExtra(feature, extra=extra, modules=missing)


def extra_of_module(module: str) -> str | None:
    """The first extra (in ``EXTRAS`` order, smallest first) whose own libraries provide ``module``."""
    top = module.partition(".")[0]
    return next((extra.name for extra in EXTRAS.values() if top in extra.modules), None)


def missing_extra(error: ModuleNotFoundError, feature: str) -> ImportError:
    """``MissingExtra`` for ``feature`` when ``error`` is a module of an extra, else ``error`` itself."""
    extra = None if error.name is None else extra_of_module(error.name)
    if extra is None or error.name is None:
        return error
    return MissingExtra(feature, extra=extra, modules=(error.name.partition(".")[0],))
