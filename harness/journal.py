"""Journals: every event of a run, timestamped on the run's clock, in a canonical order.

A journal is the record that reports are built from and that replays are checked against. Events
are kept in (time, insertion) order; the digest is the SHA-256 of the canonical JSON Lines, so
two runs with the same scenario, seed and package version produce the same digest.

On disk a journal is JSON Lines: a header line (``{"journal": 1, "meta": {...}}``) then one line
per event, written atomically.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.atomic import write_atomic
from harness.errors import InvalidConfig

__all__ = ["JOURNAL_FORMAT", "Event", "Journal", "canonical_json"]

JOURNAL_FORMAT = 1
"""The version of the journal's line format, recorded in its header."""


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces; NaN and infinities are refused."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_default)


def _default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable in a journal")


def _clean(value: Any) -> Any:
    """Replace non-finite floats by None so a journal is always valid JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened at time ``t`` (seconds on the run's clock).

    ``kind`` says what (``window``, ``fault.on``, ``fault.off``, ``decision``, ``expectation``);
    ``source`` says who emitted it (``engine``, ``faults/redis``, ``canary``); ``data`` carries
    the JSON payload.
    """

    t: float
    kind: str
    source: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON-ready dict."""
        return {"t": round(self.t, 9), "kind": self.kind, "source": self.source, "data": _clean(self.data)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Event:
        """Parse an event, raising ``InvalidConfig`` naming the missing or wrong field."""
        try:
            t, kind, source = float(raw["t"]), str(raw["kind"]), str(raw["source"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidConfig(f"journal event {dict(raw)!r} is malformed: {exc!r}") from None
        data = raw.get("data", {})
        if not isinstance(data, Mapping):
            raise InvalidConfig(f"journal event data must be an object, got {type(data).__name__}")
        return cls(t=t, kind=kind, source=source, data=dict(data))


class Journal:
    """An append-only, time-ordered list of events with run metadata and a digest."""

    def __init__(self, meta: Mapping[str, Any] | None = None, events: Iterable[Event] = ()) -> None:
        self.meta: dict[str, Any] = dict(meta or {})
        self._events: list[Event] = []
        self._sorted = True
        for event in events:
            self.append(event)

    def append(self, event: Event) -> None:
        """Add ``event``; events may arrive out of time order and are ordered stably by time."""
        if self._events and event.t < self._events[-1].t:
            self._sorted = False
        self._events.append(event)

    def record(self, t: float, kind: str, source: str, /, **data: Any) -> Event:
        """Build an event from keyword data, append it and return it."""
        event = Event(t=t, kind=kind, source=source, data=data)
        self.append(event)
        return event

    @property
    def events(self) -> list[Event]:
        """Events in canonical order: by time, then by insertion."""
        if not self._sorted:
            self._events.sort(key=lambda e: e.t)
            self._sorted = True
        return list(self._events)

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def of_kind(self, kind: str) -> list[Event]:
        """Events whose kind is ``kind`` (or starts with ``kind.``)."""
        return [e for e in self.events if e.kind == kind or e.kind.startswith(kind + ".")]

    def lines(self) -> list[str]:
        """The canonical JSON Lines: header, then one line per event."""
        header = canonical_json({"journal": JOURNAL_FORMAT, "meta": _clean(self.meta)})
        return [header, *(canonical_json(e.to_dict()) for e in self.events)]

    def digest(self) -> str:
        """SHA-256 (hex) of the canonical event lines, excluding metadata that varies per run.

        The header's ``meta`` is left out so the wall-clock time or host of a run does not change
        it; the scenario, seed and version belong in the events themselves if they must count.
        """
        h = hashlib.sha256()
        for line in self.lines()[1:]:
            h.update(line.encode())
            h.update(b"\n")
        return h.hexdigest()

    def write(self, path: str | Path) -> Path:
        """Write the journal atomically as JSON Lines."""
        return write_atomic(path, "\n".join(self.lines()) + "\n")

    @classmethod
    def read(cls, path: str | Path) -> Journal:
        """Read a journal file, raising ``InvalidConfig`` with the line number of any problem."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidConfig(f"cannot read journal {p}: {exc.strerror or exc}") from None
        rows = [line for line in text.splitlines() if line.strip()]
        if not rows:
            raise InvalidConfig(f"{p} is empty; a journal starts with a header line.")
        parsed: list[Any] = []
        for number, line in enumerate(rows, start=1):
            try:
                parsed.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InvalidConfig(f"{p}:{number}: not JSON ({exc.msg}).") from None
        header = parsed[0]
        if not isinstance(header, dict) or header.get("journal") != JOURNAL_FORMAT:
            raise InvalidConfig(
                f"{p}:1: not a chaos-harness journal (expected a header with journal={JOURNAL_FORMAT})."
            )
        events = []
        for number, raw in enumerate(parsed[1:], start=2):
            if not isinstance(raw, dict):
                raise InvalidConfig(f"{p}:{number}: an event must be a JSON object.")
            events.append(Event.from_dict(raw))
        return cls(meta=header.get("meta") or {}, events=events)
