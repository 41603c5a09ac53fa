"""Reading JSON and YAML that a user hands the harness: nesting and numbers bounded, errors located.

Every file the harness reads from a user (scenario files, journals, result and benchmark files,
profiles, proxy configurations, storage snapshots) goes through :func:`parse_json` or
:func:`parse_yaml`, so hostile or broken input is a usage error that names its file and line
(``file:line: field: message``), never a crash:

- nesting deeper than :data:`MAX_NESTING` levels is refused (Python's parsers and every consumer
  of the parsed value recurse, and would stop with ``RecursionError`` a few hundred levels down);
- a number a float cannot hold is refused (a 500-digit integer, ``1e999``), as are ``NaN`` and
  ``Infinity``, which JSON does not define: every number the harness reads is a measurement,
  a count or a setting, and each one ends up as a finite float.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

import yaml

from harness.errors import InvalidInput

__all__ = ["MAX_NESTING", "check_nesting", "parse_json", "parse_yaml"]

MAX_NESTING = 64
"""The deepest nesting of lists and mappings accepted in an input file (real ones stay under 10)."""

_MAX_INT_DIGITS = 308  # 10**308 is about the largest float (1.8e308); longer integers cannot be one
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}\n]')


class _Refused(ValueError):
    """A number token a float cannot hold; ``token`` is its text, to find its line."""

    def __init__(self, token: str, message: str) -> None:
        super().__init__(message)
        self.token = token
        self.message = message


def _json_int(token: str) -> int:
    digits = len(token.lstrip("-"))
    if digits > _MAX_INT_DIGITS:
        raise _Refused(
            token,
            f"an integer of {digits} digits is beyond the range of a float (about 1.8e308); "
            "every number here is a measurement, a count or a setting",
        )
    return int(token)


def _json_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise _Refused(token, f"{token} is beyond the range of a float (about 1.8e308)")
    return value


def _json_constant(token: str) -> float:
    raise _Refused(token, f"{token} is not a JSON number; write a finite number or null")


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, max(index, 0)) + 1


def _json_deep_line(text: str, limit: int) -> int | None:
    """The line where JSON ``text`` first nests deeper than ``limit`` (strings skipped)."""
    depth, line = 0, 1
    for match in _JSON_TOKEN.finditer(text):
        part = match.group()
        if part == "\n":
            line += 1
        elif part in "[{":
            depth += 1
            if depth > limit:
                return line
        elif part in "]}":
            depth -= 1
        else:
            line += part.count("\n")
    return None


def _too_deep(what: str) -> str:
    return f"{what} nests deeper than {MAX_NESTING} levels; no input of the harness needs more"


def parse_json(
    text: str, *, source: str, line: int | None = None, error: type[InvalidInput] = InvalidInput
) -> Any:
    """Decode JSON ``text`` from ``source``; ``error`` (``InvalidInput``) names the file, line and problem.

    ``line`` is the line ``text`` starts on in ``source`` (for one line of a JSON Lines file).
    """
    first = line or 1
    try:
        value = json.loads(text, parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant)
    except json.JSONDecodeError as exc:
        raise error(f"not JSON ({exc.msg})", path=source, line=first + exc.lineno - 1) from None
    except _Refused as exc:
        raise error(exc.message, path=source, line=first - 1 + _line_of(text, text.find(exc.token))) from None
    except RecursionError:
        deep = _json_deep_line(text, MAX_NESTING)
        where = None if deep is None else first - 1 + deep
        raise error(_too_deep("the document"), path=source, line=where) from None
    except ValueError as exc:  # Python's own limit on the digits of an integer, for one
        raise error(f"not JSON ({exc})", path=source, line=line) from None
    check_nesting(value, source=source, line=line, error=error)
    return value


def check_nesting(
    value: Any,
    *,
    source: str,
    line: int | None = None,
    limit: int = MAX_NESTING,
    error: type[InvalidInput] = InvalidInput,
) -> None:
    """Refuse ``value`` (decoded JSON or YAML) if its lists and mappings nest deeper than ``limit``.

    Iterative, so it never recurses itself; shared sub-values (YAML aliases) are visited once.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    seen: set[int] = set()
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if id(item) in seen:
            continue
        seen.add(id(item))
        if depth > limit:
            raise error(_too_deep("the document"), path=source, line=line)
        stack.extend((child, depth + 1) for child in children)


def _yaml_deep_line(text: str, limit: int) -> int | None:
    """The line where YAML ``text`` first nests deeper than ``limit``, from its event stream."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > limit:
                    mark = event.start_mark
                    return None if mark is None else mark.line + 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None
    return None


def parse_yaml(
    text: str, *, source: str, error: type[InvalidInput] = InvalidInput
) -> tuple[Any, yaml.Node | None]:
    """Decode YAML ``text`` safely: the value and its node tree (for the line of any later error).

    Syntax errors, nesting deeper than :data:`MAX_NESTING` and non-finite or oversized numbers are
    ``error`` (``InvalidInput``) naming the file and line.
    """
    try:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            if root is not None:
                _check_nodes(root, loader, source, error)
            value = None if root is None else loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = None if mark is None else mark.line + 1
        raise error(f"YAML syntax error: {exc.problem or exc}", path=source, line=where) from None
    except yaml.YAMLError as exc:
        raise error(f"YAML error: {exc}", path=source) from None
    except RecursionError:
        deep = _yaml_deep_line(text, MAX_NESTING)
        raise error(_too_deep("the document"), path=source, line=deep) from None
    return value, root


_YAML_INT = "tag:yaml.org,2002:int"
_YAML_FLOAT = "tag:yaml.org,2002:float"


def _check_nodes(root: yaml.Node, loader: yaml.SafeLoader, source: str, error: type[InvalidInput]) -> None:
    """Refuse nesting deeper than :data:`MAX_NESTING` and numbers a float cannot hold, by line and field.

    Iterative, and each node once (an alias shares its node), so hostile trees cost linear time.
    """
    stack: list[tuple[yaml.Node, tuple[str, ...]]] = [(root, ())]
    seen: set[int] = set()
    while stack:
        node, location = stack.pop()
        line = node.start_mark.line + 1
        field = _dotted(location)
        if isinstance(node, yaml.ScalarNode):
            problem = _scalar_problem(node, loader)
            if problem is not None:
                raise error(problem, path=source, line=line, location=field)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        if len(location) >= MAX_NESTING:
            raise error(_too_deep("this value"), path=source, line=line, location=field)
        if isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):
                name = key.value if isinstance(key, yaml.ScalarNode) else "?"
                stack.extend(((value, (*location, name)), (key, location)))
        else:
            stack.extend((child, (*location, str(i))) for i, child in reversed(list(enumerate(node.value))))


def _dotted(location: tuple[str, ...]) -> str | None:
    """``a.b.c``; a deep path keeps its first parts (``a.b.c.d...``)."""
    if len(location) > 6:
        return ".".join(location[:4]) + "..."
    return ".".join(location) or None


def _scalar_problem(node: yaml.ScalarNode, loader: yaml.SafeLoader) -> str | None:
    if node.tag == _YAML_INT:
        digits = sum(c.isdigit() for c in node.value)
        if digits > _MAX_INT_DIGITS:
            return (
                f"an integer of {digits} digits is beyond the range of a float (about 1.8e308); "
                "every number here is a measurement, a count or a setting"
            )
    elif node.tag == _YAML_FLOAT:
        value = loader.construct_yaml_float(node)
        if not math.isfinite(value):
            return f"{node.value!r} is not a finite number; write a finite number"
    return None
