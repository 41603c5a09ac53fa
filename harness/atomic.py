"""Atomic file writes: a killed writer leaves the old file or the new one, never a torn one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

__all__ = ["open_atomic", "write_atomic"]


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    The temporary file is flushed and fsynced before ``os.replace``, and the folder is fsynced
    after it, so a crash at any point leaves either the previous content or the new content.
    Parent folders are created. Returns the path written.
    """
    target = Path(path)
    with _replacing(target) as fd, os.fdopen(fd, "wb") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
        fh.flush()
        os.fsync(fh.fileno())
    return target


@contextlib.contextmanager
def open_atomic(path: str | os.PathLike[str]) -> Iterator[TextIO]:
    """A text file to write line by line that appears at ``path`` whole, when the block ends.

    For output streamed as it is produced (a swarm's runs): lines go to a temporary file in the
    same folder; when the block exits normally it is fsynced and renamed over ``path``; when it
    raises, the temporary file is removed and ``path`` is untouched.
    """
    with _replacing(Path(path)) as fd, os.fdopen(fd, "w", encoding="utf-8") as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


@contextlib.contextmanager
def _replacing(target: Path) -> Iterator[int]:
    """A descriptor of a temporary file that replaces ``target`` when the block exits normally."""
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = _mode_for(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, mode)
        yield fd
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def _mode_for(target: Path) -> int:
    """The replaced file's permissions, or what ``open()`` would give a new file (0666 less umask).

    ``mkstemp`` creates 0600 files; without this, reports and baselines would be private.
    """
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_current_umask()


def _current_umask() -> int:
    """The process umask, read without changing it where the OS allows (os.umask sets it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def _fsync_dir(folder: Path) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
