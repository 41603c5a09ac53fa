"""Atomic writes and journals: never torn, digests stable, bad files named precisely."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pytest

from harness.atomic import write_atomic
from harness.errors import InvalidConfig, InvalidInput
from harness.journal import Event, Journal, JournalFile, canonical_json


def test_write_atomic_replaces_content_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "file.json"
    write_atomic(target, "old")
    write_atomic(target, b"new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.json"]


def test_a_writer_killed_mid_write_leaves_old_or_new_never_torn(tmp_path: Path) -> None:
    """A child rewrites a 4 MB file in a loop; SIGKILL after a varying number of writes (and so
    at varying points inside the next one) never leaves a torn file or a temp file behind."""
    target = tmp_path / "baseline.json"
    size = 4_000_000
    write_atomic(target, "A" * size)
    script = textwrap.dedent(
        f"""
        from harness.atomic import write_atomic
        for i in range(10_000):
            write_atomic({str(target)!r}, ("B" if i % 2 == 0 else "A") * {size})
            print("w", flush=True)
        """
    )
    for writes_before_kill in range(8):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        for _ in range(writes_before_kill):
            assert proc.stdout.readline().strip() == "w"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        content = target.read_text()
        assert content in ("A" * size, "B" * size)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "baseline.json"]
    # A killed writer may leave its private temp file; the target itself is never torn.
    assert all(name.startswith(".baseline.json.") for name in leftovers)


def test_journal_orders_by_time_and_digest_is_stable(tmp_path: Path) -> None:
    j = Journal(meta={"scenario": "x", "started_at": "whenever"})
    j.record(2.0, "decision", "canary", action="promote")
    j.record(1.0, "fault.on", "faults/redis", kind="outage")
    j.record(1.0, "window", "engine", requests=10, p99=float("nan"))
    assert [e.kind for e in j.events] == ["fault.on", "window", "decision"]
    path = j.write(tmp_path / "journal.jsonl")
    again = Journal.read(path)
    assert again.digest() == j.digest()
    assert again.events[1].data["p99"] is None
    other = Journal(meta={"scenario": "x", "started_at": "another day"}, events=j.events)
    assert other.digest() == j.digest()
    other.record(3.0, "decision", "canary", action="rollback")
    assert other.digest() != j.digest()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("not json\n", ":1: not JSON"),
        ('{"journal": 99}\n', "not a chaos-harness journal"),
        ('{"journal": 1, "meta": {}}\n[1, 2]\n', ":2: an event must be a JSON object"),
        ('{"journal": 1, "meta": {}}\n{"t": "x", "kind": "k", "source": "s"}\n', "malformed"),
    ],
)
def test_bad_journal_files_name_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text(content)
    with pytest.raises(InvalidConfig, match=message):
        Journal.read(path)


def test_missing_journal_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfig, match="cannot read journal"):
        Journal.read(tmp_path / "absent.jsonl")


def test_event_round_trip() -> None:
    e = Event(t=1.5, kind="k", source="s", data={"a": [1, 2]})
    assert Event.from_dict(e.to_dict()) == e


def test_written_files_get_ordinary_permissions(tmp_path: Path) -> None:
    """Reports and baselines are readable like any file (mkstemp alone would make them 0600)."""
    umask = os.umask(0o022)
    try:
        fresh = write_atomic(tmp_path / "new.json", "{}")
        assert fresh.stat().st_mode & 0o777 == 0o644
        fresh.chmod(0o640)
        write_atomic(fresh, "{}")
        assert fresh.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(umask)


def test_open_atomic_appears_whole_at_the_end_and_not_at_all_on_error(tmp_path: Path) -> None:
    """Lines written through open_atomic show up only when the block ends; an error leaves no file."""
    from harness.atomic import open_atomic

    target = tmp_path / "runs.jsonl"
    with open_atomic(target) as fh:
        fh.write("one\n")
        assert not target.exists()
        fh.write("two\n")
    assert target.read_text() == "one\ntwo\n"

    def interrupted() -> None:
        with open_atomic(target) as fh:
            fh.write("three\n")
            raise RuntimeError("stopped")

    with pytest.raises(RuntimeError):
        interrupted()
    assert target.read_text() == "one\ntwo\n"
    assert [p.name for p in tmp_path.iterdir()] == ["runs.jsonl"]


def _events_file(path: Path, events: int) -> Path:
    """A journal of ``events`` window events, written a line at a time (as large as a long run's)."""
    with path.open("w") as handle:
        handle.write('{"journal": 1, "meta": {"seed": 1}}\n')
        for i in range(events):
            event = Event(
                t=i * 0.5, kind="window", source="version/v1", data={"requests": 1000 + i, "p99": 0.25}
            )
            handle.write(canonical_json(event.to_dict()) + "\n")
    return path


def test_a_journal_file_is_digested_as_it_was_written(tmp_path: Path) -> None:
    """The streamed digest of a written journal is the in-memory one (events appended out of order)."""
    j = Journal(meta={"seed": 3})
    j.record(5.0, "window", "engine", requests=3)
    j.record(1.0, "fault.on", "faults/redis")
    j.record(5.0, "decision", "canary", action="hold")
    path = j.write(tmp_path / "journal.jsonl")
    recorded = JournalFile(path)
    assert recorded.meta == {"seed": 3}
    assert recorded.digest() == j.digest() == Journal.read(path).digest()
    assert list(recorded.events()) == j.events


def test_reading_a_journal_takes_the_same_memory_whatever_its_size(tmp_path: Path) -> None:
    """Digesting 10 MB or 40 MB of journal keeps well under 1 MiB (Journal.read held ~12x the file)."""
    peaks = []
    for events in (50_000, 200_000):
        path = _events_file(tmp_path / f"{events}.jsonl", events)
        tracemalloc.start()
        try:
            JournalFile(path).digest()
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    print(f"peak traced memory: {peaks[0] / 1024:.0f} KiB (50 k events), {peaks[1] / 1024:.0f} KiB (200 k)")
    assert max(peaks) < 2**20


@pytest.mark.parametrize(
    ("t", "message"),
    [
        ('"inf"', "t: t='inf' must be a finite number"),
        ('"nan"', "t: t='nan' must be a finite number"),
        ("1e999", "1e999 is beyond the range of a float"),
        ("NaN", "NaN is not a JSON number"),
    ],
)
def test_non_finite_timestamps_are_refused_with_their_line(tmp_path: Path, t: str, message: str) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text(
        '{"journal": 1, "meta": {}}\n{"t": 0, "kind": "k", "source": "s"}\n{"t": '
        + t
        + ', "kind": "k", "source": "s"}\n'
    )
    with pytest.raises(InvalidInput, match=message) as caught:
        JournalFile(path).digest()
    assert str(caught.value).startswith(f"{path}:3: ")
