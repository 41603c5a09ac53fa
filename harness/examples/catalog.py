"""The bundled examples as a catalog: each scenario's name and description, and a copy to edit.

``copy_examples(folder)`` writes the scenario files to ``folder/scenarios/`` and the sample systems
they import to ``folder/chaos_examples/``, with every ``harness.examples.`` reference in them
rewritten to ``chaos_examples.``, so ``harness run scenarios/`` from ``folder`` runs the copies
(scenario targets import relative to the working directory). Nothing existing is overwritten
unless ``force=True``; the check covers every file before the first is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.atomic import write_atomic
from harness.errors import UsageError
from harness.examples import scenario_files, scenarios_dir

__all__ = [
    "COPY_PACKAGE",
    "ExampleScenario",
    "copy_examples",
    "example_scenarios",
    "planned_copy",
    "write_files",
]

COPY_PACKAGE = "chaos_examples"
"""The package name the copied sample systems take (``harness.examples.`` becomes ``chaos_examples.``)."""

_SOURCES = ("factories.py", "scenario_versions.py", "sample_service")
_COPY_INIT = '''"""Sample systems copied by ``harness examples copy`` from chaos-harness: edit freely."""
'''


@dataclass(frozen=True, slots=True, kw_only=True)
class ExampleScenario:
    """One bundled scenario: its file, ``name`` and one-line ``description`` (as the file states them)."""

    path: Path
    name: str
    description: str


def example_scenarios() -> list[ExampleScenario]:
    """The bundled scenarios, sorted by file name."""
    found = []
    for path in scenario_files():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        found.append(
            ExampleScenario(
                path=path,
                name=str(data.get("name", path.stem)),
                description=" ".join(str(data.get("description", "")).split()),
            )
        )
    return found


def _rewrite(text: str) -> str:
    return text.replace("harness.examples.", f"{COPY_PACKAGE}.")


def planned_copy(folder: Path) -> dict[Path, str]:
    """Every file ``copy_examples(folder)`` writes, with its text."""
    package = scenarios_dir().parent
    plan: dict[Path, str] = {
        folder / "scenarios" / path.name: path.read_text("utf-8") for path in scenario_files()
    }
    plan[folder / COPY_PACKAGE / "__init__.py"] = _COPY_INIT
    for name in _SOURCES:
        source = package / name
        files = sorted(source.rglob("*.py")) if source.is_dir() else [source]
        for path in files:
            plan[folder / COPY_PACKAGE / path.relative_to(package)] = path.read_text("utf-8")
    return {path: _rewrite(text) for path, text in plan.items()}


def copy_examples(folder: Path, *, force: bool = False) -> list[Path]:
    """Write the examples under ``folder`` to edit and run there; returns the files written.

    Raises :class:`~harness.errors.UsageError` naming the files that exist when ``force`` is false.
    """
    return write_files(planned_copy(folder), force=force)


def write_files(files: Mapping[Path, str], *, force: bool = False) -> list[Path]:
    """Write ``files`` atomically; unless ``force``, first refuse (a usage error) if any exists."""
    existing = sorted(path for path in files if path.exists())
    if existing and not force:
        shown = ", ".join(str(path) for path in existing[:3]) + (" ..." if len(existing) > 3 else "")
        raise UsageError(f"{len(existing)} file(s) exist: {shown}; pass --force to overwrite them.")
    for path, text in files.items():
        write_atomic(path, text)
    return sorted(files)
