"""Toxics: what a fault proxy does to the bytes of a connection, and the pure plan for each chunk.

A :class:`Toxic` is a frozen, validated value in Toxiproxy's vocabulary (type, name, stream,
toxicity, integer attributes). :func:`parse_toxic` builds one from an API body with Toxiproxy's
defaults and our stricter validation. :class:`ToxicState` turns a chunk that arrived at a time into
timed pieces (``Piece``): when to send which bytes, or that the connection must close. It never
sleeps or touches a socket; the proxy carries the plan out.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from harness.errors import InvalidConfig

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_PIECES",
    "Piece",
    "Stream",
    "Toxic",
    "ToxicError",
    "ToxicState",
    "ToxicType",
    "check_name",
    "parse_stream",
    "parse_toxic",
    "update_toxic",
]

MAX_NAME_LENGTH = 200
"""Longest proxy or toxic name we accept (names appear in URLs and metrics labels)."""
MAX_PIECES = 256
"""Most pieces one plan makes (see :meth:`ToxicState.plan_bytes`)."""


class ToxicError(InvalidConfig):
    """A toxic or proxy definition is invalid; ``status`` is the HTTP status the API answers."""

    def __init__(
        self, message: str, *, status: int = 400, field: str | None = None, value: Any = None
    ) -> None:
        super().__init__(message, field=field, value=value)
        self.status = status


class Stream(StrEnum):
    """Which direction a toxic acts on: upstream is client to server, downstream the reverse."""

    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"


class ToxicType(StrEnum):
    """Toxiproxy's toxics, plus ``drop`` (lose whole chunks, like packet loss)."""

    LATENCY = "latency"
    BANDWIDTH = "bandwidth"
    SLOW_CLOSE = "slow_close"
    TIMEOUT = "timeout"
    RESET_PEER = "reset_peer"
    SLICER = "slicer"
    LIMIT_DATA = "limit_data"
    NOOP = "noop"
    DROP = "drop"


# Attribute names in Toxiproxy's output order, the Go struct name (for error messages), and the
# largest value we accept (one hour of milliseconds, 1 GB/s, 1 GiB ...).
_HOUR_MS = 3_600_000
_ATTRIBUTES: dict[ToxicType, tuple[str, dict[str, int]]] = {
    ToxicType.LATENCY: ("LatencyToxic", {"latency": _HOUR_MS, "jitter": _HOUR_MS}),
    ToxicType.BANDWIDTH: ("BandwidthToxic", {"rate": 1_000_000_000}),
    ToxicType.SLOW_CLOSE: ("SlowCloseToxic", {"delay": _HOUR_MS}),
    ToxicType.TIMEOUT: ("TimeoutToxic", {"timeout": _HOUR_MS}),
    ToxicType.RESET_PEER: ("ResetToxic", {"timeout": _HOUR_MS}),
    ToxicType.SLICER: (
        "SlicerToxic",
        {"average_size": 1 << 30, "size_variation": 1 << 30, "delay": _HOUR_MS * 1000},
    ),
    ToxicType.LIMIT_DATA: ("LimitDataToxic", {"bytes": 1 << 50}),
    ToxicType.NOOP: ("NoopToxic", {}),
    ToxicType.DROP: ("DropToxic", {"percent": 100}),
}


def parse_stream(text: object) -> Stream:
    """Parse a stream name case-insensitively (Toxiproxy's rule)."""
    if isinstance(text, str):
        try:
            return Stream(text.lower())
        except ValueError:
            pass
    raise ToxicError("stream was invalid, can be either upstream or downstream", field="stream", value=text)


def _go_type(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (int, float)):
        return f"number {value}"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _unmarshal_error(value: object, where: str, go_type: str) -> ToxicError:
    return ToxicError(
        f"bad request body: json: cannot unmarshal {_go_type(value)} "
        f"into Go struct field {where} of type {go_type}",
        field=where,
        value=value,
    )


def check_name(value: object, what: str) -> str:
    """A proxy or toxic name: a non-empty printable string without '/', at most 200 characters."""
    if not isinstance(value, str):
        raise _unmarshal_error(value, f"{what}.name", "string")
    if len(value) > MAX_NAME_LENGTH:
        raise ToxicError(
            f"{what.lower()} name is {len(value)} characters long; use at most {MAX_NAME_LENGTH}.",
            field="name",
            value=value[:40] + "...",
        )
    if "/" in value or not value.isprintable():
        raise ToxicError(
            f"{what.lower()} name {value!r} must be printable and contain no '/'; it appears in URLs.",
            field="name",
            value=value,
        )
    return value


def _attributes(kind: ToxicType, raw: object, base: Mapping[str, int]) -> dict[str, int]:
    go_name, limits = _ATTRIBUTES[kind]
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise _unmarshal_error(raw, "Toxic.attributes", f"toxics.{go_name}")
    unknown = sorted(set(raw) - set(limits))
    if unknown:
        valid = ", ".join(limits) or "none"
        raise ToxicError(
            f"unknown attribute {unknown[0]!r} for toxic type {kind.value!r}; valid attributes: {valid}",
            field="attributes",
            value=unknown[0],
        )
    out = {name: int(base.get(name, 0)) for name in limits}
    for name, value in raw.items():
        where = f"{go_name}.attributes.{name}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _unmarshal_error(value, where, "int64")
        if isinstance(value, float) and not value.is_integer():
            raise _unmarshal_error(value, where, "int64")
        number = int(value)
        if not 0 <= number <= limits[name]:
            raise ToxicError(
                f"attribute {name}={value!r} of toxic type {kind.value!r} must be in [0, {limits[name]}]",
                field=name,
                value=value,
            )
        out[name] = number
    return out


def _toxicity(raw: object, default: float) -> float:
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise _unmarshal_error(raw, "Toxic.toxicity", "float32")
    if not 0.0 <= float(raw) <= 1.0:
        raise ToxicError(f"toxicity={raw!r} must be a probability in [0, 1]", field="toxicity", value=raw)
    return float(raw)


@dataclass(frozen=True, slots=True, kw_only=True)
class Toxic:
    """One toxic on a proxy. ``stream_label`` keeps the stream as the client spelt it."""

    type: ToxicType
    name: str
    stream: Stream = Stream.DOWNSTREAM
    toxicity: float = 1.0
    attributes: Mapping[str, int] = field(default_factory=dict)
    stream_label: str = ""

    def __post_init__(self) -> None:
        check_name(self.name, "Toxic")
        _toxicity(self.toxicity, 1.0)
        checked = _attributes(self.type, dict(self.attributes), {})
        object.__setattr__(self, "attributes", MappingProxyType(checked))
        if not self.stream_label:
            object.__setattr__(self, "stream_label", self.stream.value)

    def to_json(self) -> dict[str, Any]:
        """The Toxiproxy JSON form."""
        toxicity: float | int = int(self.toxicity) if self.toxicity in (0.0, 1.0) else self.toxicity
        return {
            "attributes": dict(self.attributes),
            "name": self.name,
            "type": self.type.value,
            "stream": self.stream_label,
            "toxicity": toxicity,
        }

    @classmethod
    def make(
        cls,
        type: ToxicType | str,
        *,
        name: str | None = None,
        stream: Stream | str = Stream.DOWNSTREAM,
        toxicity: float = 1.0,
        **attributes: int,
    ) -> Toxic:
        """Build a toxic in Python: ``Toxic.make("latency", latency=100, jitter=10)``."""
        body: dict[str, Any] = {"type": str(type), "stream": str(stream), "toxicity": toxicity}
        body["attributes"] = attributes
        if name is not None:
            body["name"] = name
        return parse_toxic(body)


def parse_toxic(body: Mapping[str, Any], exists: Callable[[str], bool] | None = None) -> Toxic:
    """A toxic from an API body, with Toxiproxy's defaults and error order.

    Order: toxicity type, stream, type, name already taken (``exists``, 409), then attribute
    types and ranges. Unknown top-level fields are ignored, as Toxiproxy does.
    """
    toxicity = _toxicity(body.get("toxicity"), 1.0)
    stream_raw = body.get("stream", "")
    stream_raw = "downstream" if stream_raw in ("", None) else stream_raw
    stream = parse_stream(stream_raw)
    kind_raw = body.get("type")
    if not isinstance(kind_raw, str) and kind_raw is not None:
        raise _unmarshal_error(kind_raw, "Toxic.type", "string")
    try:
        kind = ToxicType(kind_raw or "")
    except ValueError:
        raise ToxicError("invalid toxic type", field="type", value=kind_raw) from None
    name = body.get("name") or f"{kind.value}_{stream_raw}"
    check_name(name, "Toxic")
    if exists is not None and exists(name):
        raise ToxicError("toxic already exists", status=409, field="name", value=name)
    return Toxic(
        type=kind,
        name=name,
        stream=stream,
        toxicity=toxicity,
        attributes=_attributes(kind, body.get("attributes"), {}),
        stream_label=str(stream_raw),
    )


def update_toxic(toxic: Toxic, body: Mapping[str, Any]) -> Toxic:
    """``toxic`` with attributes merged from ``body`` and toxicity replaced if given."""
    return Toxic(
        type=toxic.type,
        name=toxic.name,
        stream=toxic.stream,
        toxicity=_toxicity(body.get("toxicity"), toxic.toxicity),
        attributes=_attributes(toxic.type, body.get("attributes"), toxic.attributes),
        stream_label=toxic.stream_label,
    )


@dataclass(slots=True)
class Piece:
    """Bytes to send no earlier than ``at`` (seconds on the proxy's clock)."""

    at: float
    data: bytes


@dataclass(slots=True)
class ToxicState:
    """One toxic acting on one connection and direction: its seeded draws and running state.

    ``applies`` is decided once from the first draw of ``rng`` (toxicity is per connection and
    direction); later draws give jitter and slice sizes, so a seed replays them exactly.
    """

    toxic: Toxic
    rng: random.Random
    u: float = -1.0
    sent: int = 0
    free_at: float = 0.0
    closed: bool = False
    draws: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.u = self.rng.random()

    @property
    def applies(self) -> bool:
        """Whether this toxic acts on this connection and direction (``u < toxicity``)."""
        return self.u < self.toxic.toxicity

    def plan_bytes(self) -> int | None:
        """The most bytes to plan at once so one plan makes at most ``MAX_PIECES`` pieces.

        ``None``: no limit (this toxic makes few pieces from any chunk). Only a slicer can make a
        piece per byte; a proxy plans a large chunk in parts of this size and yields between
        them, so one connection never holds the event loop for long.
        """
        if not self.applies or self.toxic.type is not ToxicType.SLICER:
            return None
        attrs = self.toxic.attributes
        smallest = max(1, attrs["average_size"] - attrs["size_variation"])
        return smallest * MAX_PIECES

    def plan(self, pieces: list[Piece]) -> list[Piece]:
        """Transform timed pieces; sets ``closed`` when the connection must end after them."""
        if not self.applies:
            return pieces
        handler = _PLANNERS.get(self.toxic.type)
        return pieces if handler is None else handler(self, pieces)

    def _draw(self, value: float) -> float:
        if len(self.draws) < 10_000:
            self.draws.append(value)
        return value


def _latency(state: ToxicState, pieces: list[Piece]) -> list[Piece]:
    attrs = state.toxic.attributes
    for piece in pieces:
        delay = float(attrs["latency"])
        jitter = attrs["jitter"]
        if jitter:
            delay += state._draw(state.rng.uniform(-jitter, jitter))
        piece.at += max(0.0, delay) / 1000.0
    return pieces


def _bandwidth(state: ToxicState, pieces: list[Piece]) -> list[Piece]:
    rate = state.toxic.attributes["rate"] * 1000  # bytes per second
    if rate == 0:
        return [Piece(float("inf"), p.data) for p in pieces]
    step = max(1, rate // 10)  # at most 100 ms worth of bytes per piece
    out: list[Piece] = []
    for piece in pieces:
        for start in range(0, len(piece.data), step):
            part = piece.data[start : start + step]
            state.free_at = max(state.free_at, piece.at) + len(part) / rate
            out.append(Piece(state.free_at, part))
    return out


def _slicer(state: ToxicState, pieces: list[Piece]) -> list[Piece]:
    attrs = state.toxic.attributes
    average, variation, delay = attrs["average_size"], attrs["size_variation"], attrs["delay"] / 1e6
    if average <= 0:
        return pieces
    out: list[Piece] = []
    for piece in pieces:
        at, data, start = piece.at, piece.data, 0
        while start < len(data):
            size = average
            if variation:
                size += int(state._draw(state.rng.randint(-variation, variation)))
            end = start + max(1, size)
            out.append(Piece(at, data[start:end]))
            start = end
            at += delay
    return out


def _limit_data(state: ToxicState, pieces: list[Piece]) -> list[Piece]:
    limit = state.toxic.attributes["bytes"]
    out: list[Piece] = []
    for piece in pieces:
        room = limit - state.sent
        if room <= 0:
            break
        part = piece.data[:room]
        state.sent += len(part)
        out.append(Piece(piece.at, part))
    if state.sent >= limit:
        state.closed = True
    return out


def _drop(state: ToxicState, pieces: list[Piece]) -> list[Piece]:
    percent = state.toxic.attributes["percent"]
    return [p for p in pieces if state._draw(state.rng.random()) * 100 >= percent]


def _timeout(state: ToxicState, pieces: list[Piece]) -> list[Piece]:
    return []


_PLANNERS = {
    ToxicType.LATENCY: _latency,
    ToxicType.BANDWIDTH: _bandwidth,
    ToxicType.SLICER: _slicer,
    ToxicType.LIMIT_DATA: _limit_data,
    ToxicType.DROP: _drop,
    ToxicType.TIMEOUT: _timeout,
}
