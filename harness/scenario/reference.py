"""The scenario file reference in Markdown, generated from the format's JSON Schema so it cannot drift.

``python -m harness.scenario.reference > docs/scenario-reference.md`` regenerates the document; a
test fails when the schema changed and the document was not regenerated. Every object of the
format gets a section (its docstring, then one row per field: type, default, rules, and its
meaning from the field's attribute docstring), in the order the top level reaches them. Durations
are text with a unit (``300ms``, ``30s``, ``2m``); their defaults print the same way.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from harness.scenario.loader import scenario_schema

__all__ = ["scenario_reference"]

_HEADER = """# Scenario file reference

Generated from the scenario format's JSON Schema (`harness scenarios schema`) by
`python -m harness.scenario.reference > docs/scenario-reference.md`; a test fails when the two
differ. A scenario file is YAML; unknown fields are refused, with the file, line and field.

Units: a **duration** is text with a unit (`250us`, `300ms`, `1.5s`, `2m`, `1h`, `1m30s`); a bare
number is refused. Rates (`rate`, `peak`) are requests per second; fractions (`error_rate`,
`alpha`, `max_latency_increase`) are bare numbers in [0, 1]; canary `steps` and the champion split
are percentages written as bare numbers. A `target` or `payload` is `module:attribute`, imported
relative to the working folder.
"""


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _anchor(name: str) -> str:
    return name.lower()


def _is_duration(prop: Mapping[str, Any]) -> bool:
    return prop.get("title") == "Duration" or ("pattern" in prop and "ms" in str(prop.get("examples", "")))


def _type(prop: Mapping[str, Any]) -> str:  # noqa: PLR0911 - one branch per schema construct
    if "$ref" in prop:
        name = _ref_name(prop["$ref"])
        return f"[{name}](#{_anchor(name)})"
    if "allOf" in prop:
        return " and ".join(_type(part) for part in prop["allOf"])
    if "anyOf" in prop:
        parts = [part for part in prop["anyOf"] if part.get("type") != "null"]
        text = " or ".join(_type(part) for part in parts)
        return f"{text} (or null)" if len(parts) < len(prop["anyOf"]) else text
    if "enum" in prop:
        return "one of " + ", ".join(f"`{value}`" for value in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    if _is_duration(prop):
        return "duration"
    kind = prop.get("type")
    if kind == "array":
        return f"list of {_type(prop.get('items', {}))}"
    if kind == "object" and isinstance(prop.get("additionalProperties"), dict):
        return f"map of name to {_type(prop['additionalProperties'])}"
    return str(kind or "any")


def _duration_text(seconds: float) -> str:
    if seconds and abs(seconds) < 1:
        return f"{seconds * 1000:g}ms"
    return f"{seconds:g}s"


def _default(prop: Mapping[str, Any], required: bool) -> str:
    if required:
        return "required"
    if "default" not in prop:
        return "optional"
    value = prop["default"]
    duration = _is_duration(prop) or any(_is_duration(part) for part in prop.get("anyOf", ()))
    if duration and isinstance(value, int | float) and not isinstance(value, bool):
        return f"`{_duration_text(float(value))}`"
    return f"`{json.dumps(value)}`"


_RULES = (
    ("minimum", ">= {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "<= {}"),
    ("exclusiveMaximum", "< {}"),
    ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"),
    ("minItems", "at least {} items"),
    ("maxItems", "at most {} items"),
)


def _rules(prop: Mapping[str, Any]) -> str:
    found = [template.format(prop[key]) for key, template in _RULES if key in prop]
    for part in prop.get("anyOf", ()):
        found += [template.format(part[key]) for key, template in _RULES if key in part]
    if "pattern" in prop and not _is_duration(prop):
        found.append(f"matches `{prop['pattern']}`")
    return "; ".join(found) or "-"


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield _ref_name(node["$ref"])
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _order(schema: Mapping[str, Any]) -> list[str]:
    """The definitions in the order the top level reaches them (breadth first), then any others."""
    defs: Mapping[str, Any] = schema.get("$defs", {})
    seen: list[str] = []
    queue = list(_refs(schema.get("properties", {})))
    while queue:
        name = queue.pop(0)
        if name in seen or name not in defs:
            continue
        seen.append(name)
        queue.extend(_refs(defs[name].get("properties", {})))
    return seen + sorted(set(defs) - set(seen))


def _meaning(prop: Mapping[str, Any]) -> str:
    """The field's own description (its attribute docstring), on one line, safe inside a table."""
    text = " ".join(str(prop.get("description", "")).split()).replace("``", "`")
    return text.replace("|", "\\|") or "-"


def _doc(text: str) -> str:
    paragraphs = [" ".join(part.split()) for part in text.strip().split("\n\n") if part.strip()]
    return "\n\n".join(paragraphs).replace("``", "`")


def _section(name: str, node: Mapping[str, Any], *, level: str = "##") -> list[str]:
    lines = [f"{level} {name}", ""]
    if node.get("description"):
        lines += [_doc(node["description"]), ""]
    if "enum" in node:
        lines += ["One of: " + ", ".join(f"`{value}`" for value in node["enum"]) + ".", ""]
        return lines
    required = set(node.get("required", ()))
    lines += ["| field | type | default | rules | meaning |", "|---|---|---|---|---|"]
    for field, prop in node.get("properties", {}).items():
        cells = (_type(prop), _default(prop, field in required), _rules(prop), _meaning(prop))
        lines.append(f"| `{field}` | " + " | ".join(cells) + " |")
    return [*lines, ""]


def scenario_reference(schema: Mapping[str, Any] | None = None) -> str:
    """The Markdown reference of the scenario format (of ``schema``, default the current one)."""
    schema = schema if schema is not None else json.loads(scenario_schema())
    lines = [_HEADER, *_section("Scenario (the top level of a file)", schema)]
    defs: Mapping[str, Any] = schema.get("$defs", {})
    for name in _order(schema):
        lines += _section(name, defs[name])
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover - the regeneration command
    sys.stdout.write(scenario_reference())
