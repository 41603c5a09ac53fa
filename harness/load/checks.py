"""Checks on an HTTP response, k6-style: its status, fields of its JSON body, a substring.

One implementation for ``harness load drive --status/--json-field/--contains`` and for the
``check:`` of a live scenario's request kinds. A response failing a check counts as an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from harness.errors import InvalidConfig

__all__ = ["CheckFailed", "JsonScalar", "ResponseChecks", "check_response", "parse_json_field"]

JsonScalar = str | int | float | bool | None


class CheckFailed(Exception):
    """A response did not pass its checks (the message says which one)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseChecks:
    """What a successful response looks like; every check given must hold.

    ``status``: the statuses that count as success (default: any status below 400);
    ``json_fields``: fields of the JSON body by dotted path (``order.state``, ``items.0.id``);
    ``contains``: a substring of the body.
    """

    status: tuple[int, ...] | None = None
    json_fields: Mapping[str, JsonScalar] = field(default_factory=dict)
    contains: str | None = None

    def __post_init__(self) -> None:
        if self.status is not None:
            object.__setattr__(self, "status", tuple(self.status))
        object.__setattr__(self, "json_fields", MappingProxyType(dict(self.json_fields)))

    @property
    def reads_body(self) -> bool:
        """Whether checking needs the body's text."""
        return bool(self.json_fields) or self.contains is not None


def parse_json_field(text: str) -> tuple[str, JsonScalar]:
    """``"order.state=paid"`` -> ``("order.state", "paid")``; the value is JSON if it parses (``ok=true``)."""
    path, sep, raw = text.partition("=")
    if not sep or not path:
        raise InvalidConfig(
            f"json field check {text!r} must be PATH=VALUE, e.g. ok=true or order.state=paid",
            field="json_field",
            value=text,
        )
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    if isinstance(value, (dict, list)):
        raise InvalidConfig(
            f"json field check {text!r} compares one value, not {type(value).__name__}", field="json_field"
        )
    return path, value


def _field(body: object, path: str) -> object:
    for part in path.split("."):
        if isinstance(body, Mapping) and part in body:
            body = body[part]
        elif (
            isinstance(body, Sequence)
            and not isinstance(body, str)
            and part.isdigit()
            and int(part) < len(body)
        ):
            body = body[int(part)]
        else:
            raise KeyError(path)
    return body


def check_response(checks: ResponseChecks | None, status: int, text: str) -> Any:
    """The parsed body (JSON if it parses, else the text); :class:`CheckFailed` if a check fails."""
    ok_status = status < 400 if checks is None or checks.status is None else status in checks.status
    if not ok_status:
        raise CheckFailed(f"HTTP {status}")
    try:
        body: Any = json.loads(text) if text else None
    except ValueError:
        body = text
    if checks is None:
        return body
    for path, expected in checks.json_fields.items():
        try:
            got = _field(body, path)
        except KeyError:
            raise CheckFailed(f"no JSON field {path!r}") from None
        if got != expected:
            raise CheckFailed(f"JSON field {path!r} is {got!r}, not {expected!r}")
    if checks.contains is not None and checks.contains not in text:
        raise CheckFailed(f"body does not contain {checks.contains!r}")
    return body
