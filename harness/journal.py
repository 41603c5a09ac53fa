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
from harness.errors import InvalidConfig, InvalidInput
from harness.inputs import parse_json

__all__ = ["JOURNAL_FORMAT", "Event", "Journal", "JournalFile", "canonical_json"]

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
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise InvalidConfig(f"journal event {dict(raw)!r} is malformed: {exc!r}") from None
        if not math.isfinite(t):
            raise InvalidConfig(
                f"t={raw['t']!r} must be a finite number of seconds on the run's clock", field="t", value=t
            )
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
        """Read a whole journal file into memory; ``InvalidInput`` names the line of any problem.

        :class:`JournalFile` reads one a line at a time instead (its digest in constant memory).
        """
        recorded = JournalFile(path)
        return cls(meta=recorded.meta, events=recorded.events())


class JournalFile:
    """A journal on disk, read a line at a time: the header's ``meta``, then :meth:`events`.

    Memory stays constant whatever the file's size: :meth:`digest` hashes each event as it is
    read. Problems are :class:`~harness.errors.InvalidInput` naming the file and line: a line
    that is not JSON, a malformed event, a timestamp that is not a finite number.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        first = next(self._lines(), None)
        if first is None:
            raise InvalidInput("empty; a journal starts with a header line", path=str(self.path))
        number, line = first
        header = parse_json(line, source=str(self.path), line=number)
        if not isinstance(header, dict) or header.get("journal") != JOURNAL_FORMAT:
            raise InvalidInput(
                f"not a chaos-harness journal (expected a header with journal={JOURNAL_FORMAT})",
                path=str(self.path),
                line=number,
            )
        meta = header.get("meta") or {}
        if not isinstance(meta, dict):
            raise InvalidInput("the header's meta must be an object", path=str(self.path), line=number)
        self.meta: dict[str, Any] = meta

    def _lines(self) -> Iterator[tuple[int, str]]:
        """(line number, text) of every non-blank line."""
        try:
            with self.path.open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, start=1):
                    if line.strip():
                        yield number, line
        except UnicodeDecodeError:
            raise InvalidInput("not UTF-8 text", path=str(self.path)) from None
        except OSError as exc:
            raise InvalidInput(f"cannot read journal: {exc.strerror or exc}", path=str(self.path)) from None

    def events(self) -> Iterator[Event]:
        """Every event, in file order."""
        return (event for _, event in self._events())

    def _events(self) -> Iterator[tuple[int, Event]]:
        lines = self._lines()
        next(lines, None)  # the header
        where = str(self.path)
        for number, line in lines:
            raw = parse_json(line, source=where, line=number)
            if not isinstance(raw, dict):
                raise InvalidInput("an event must be a JSON object", path=where, line=number)
            try:
                yield number, Event.from_dict(raw)
            except InvalidConfig as exc:
                raise InvalidInput(exc.message, path=where, line=number, location=exc.field) from None

    def digest(self) -> str:
        """The digest of the events in file order, computed while reading.

        For a journal :meth:`Journal.write` wrote (in time order) it is :meth:`Journal.digest`;
        a file whose events were reordered since gets another digest, as any edited file does.
        """
        h = hashlib.sha256()
        for _, event in self._events():
            h.update(canonical_json(event.to_dict()).encode())
            h.update(b"\n")
        return h.hexdigest()
