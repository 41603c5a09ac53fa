"""Loading scenario files: safe YAML, pydantic validation, errors that name the file, line and field."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from harness.errors import InvalidConfig, InvalidScenario
from harness.inputs import parse_yaml
from harness.mode import Mode
from harness.scenario.expectations import Unproducible, unproducible
from harness.scenario.model import TEXT_CONTEXT, Scenario
from harness.scenario.modes import mode_problems

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_SIMULATED_REQUESTS",
    "check_runnable",
    "expand_paths",
    "load_scenario",
    "parse_scenario",
    "scenario_from_data",
    "scenario_schema",
]

MAX_FILE_BYTES = 1_000_000
"""Scenario files larger than this are refused before parsing."""
MAX_SIMULATED_REQUESTS = 2_000_000_000
"""A scenario whose traffic would exceed this many requests is refused as absurd."""


def _node_line(root: yaml.Node | None, location: Sequence[int | str]) -> int | None:
    """The 1-based line of the YAML node at a pydantic error location (the closest ancestor found)."""
    node = root
    line = None if node is None else node.start_mark.line + 1
    for part in location:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            if match is None:
                key = next((k for k, _ in node.value if getattr(k, "value", None) == str(part)), None)
                return key.start_mark.line + 1 if key is not None else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            continue
        line = node.start_mark.line + 1
    return line


def _dotted(location: Sequence[int | str]) -> str:
    parts = [str(p) for p in location if not str(p).startswith(("function-", "union[", "tagged-union["))]
    return ".".join(parts) or "(top level)"


def parse_scenario(text: str, *, source: str = "<scenario>", mode: Mode | None = None) -> Scenario:
    """Parse and validate scenario YAML text; ``InvalidScenario`` names the line and field.

    With ``mode``, also refuse what that mode's engine cannot carry out (see
    :func:`~harness.scenario.modes.mode_problems`), at the line of the field.
    """
    if len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise InvalidScenario(
            f"larger than {MAX_FILE_BYTES} bytes; split it into several scenarios", path=source
        )
    data, root = parse_yaml(text, source=source, error=InvalidScenario)
    return scenario_from_data(data, source=source, root=root, line=1, mode=mode)


def scenario_from_data(
    data: Any,
    *,
    source: str,
    root: yaml.Node | None = None,
    line: int | None = None,
    mode: Mode | None = None,
) -> Scenario:
    """Validate a decoded scenario (from a file, or recorded in a journal) into a :class:`Scenario`.

    ``root`` is the YAML node tree it came from, so an error names its line; without one, errors
    name ``line`` (where the scenario starts in ``source``). ``mode`` as for :func:`parse_scenario`.
    """
    if not isinstance(data, dict):
        raise InvalidScenario(
            "a scenario is a mapping with name, description, duration, versions...; "
            f"got {type(data).__name__}",
            path=source,
            line=line,
        )
    try:
        scenario = Scenario.model_validate(data, context=TEXT_CONTEXT)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        more = len(exc.errors()) - 1
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = f"unknown field {loc[-1]!r}"
        elif err["type"] in {"enum", "literal_error"}:
            message = f"{err['input']!r} is not valid; {message}"
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise InvalidScenario(
            message + suffix,
            path=source,
            line=line if root is None else _node_line(root, loc),
            location=_dotted(loc),
        ) from None
    check_runnable(scenario, source=source, root=root, line=line)
    if mode is not None:
        for problem in mode_problems(scenario, mode)[:1]:
            raise InvalidScenario(
                problem.message,
                path=source,
                line=line if root is None else _node_line(root, problem.location),
                location=problem.dotted,
            )
    return scenario


def check_runnable(
    scenario: Scenario, *, source: str = "<scenario>", root: yaml.Node | None = None, line: int | None = None
) -> None:
    """Refuse what validation of each field alone lets through but no run can honour.

    Traffic beyond :data:`MAX_SIMULATED_REQUESTS`, and expectations whose inputs the scenario
    cannot produce (:func:`~harness.scenario.expectations.unproducible`): they would pass or fail
    whatever the system did. ``InvalidScenario`` names the field, and its line when ``root``
    (the YAML node tree) is given.
    """
    traffic = scenario.traffic
    peak = max(traffic.rate, traffic.peak or 0.0)
    problems = (
        [
            Unproducible(
                ("traffic", "rate"),
                f"traffic of up to {peak:g} req/s for {scenario.duration:g}s is over "
                f"{MAX_SIMULATED_REQUESTS:.0e} requests; lower the rate or the duration",
            )
        ]
        if peak * scenario.duration > MAX_SIMULATED_REQUESTS
        else unproducible(scenario)
    )
    if not problems:
        return
    first, more = problems[0], len(problems) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    raise InvalidScenario(
        first.message + suffix,
        path=source,
        line=line if root is None else _node_line(root, first.location),
        location=_dotted(first.location),
    )


def load_scenario(path: str | Path, *, mode: Mode | None = None) -> Scenario:
    """Read and validate one scenario file (and, with ``mode``, that its engine can run it)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InvalidScenario(f"{size} bytes is larger than {MAX_FILE_BYTES}", path=str(p))
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidScenario("no such file", path=str(p)) from None
    except UnicodeDecodeError:
        raise InvalidScenario("not UTF-8 text", path=str(p)) from None
    except OSError as exc:
        raise InvalidScenario(f"cannot read: {exc.strerror or exc}", path=str(p)) from None
    return parse_scenario(text, source=str(p), mode=mode)


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, and every ``*.yaml``/``*.yml`` in folders named, sorted; a usage error if none."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.extend(sorted(q for q in p.iterdir() if q.suffix in {".yaml", ".yml"} and q.is_file()))
        elif p.exists():
            found.append(p)
        else:
            raise InvalidConfig(f"{p}: no such file or folder", field="path", value=str(p))
    if not found:
        raise InvalidConfig("no scenario files found (*.yaml, *.yml) in the paths given", field="path")
    return found


def scenario_schema() -> str:
    """The JSON Schema of the scenario format, pretty-printed."""
    schema: dict[str, Any] = Scenario.model_json_schema()
    return json.dumps(schema, indent=2, sort_keys=True)
