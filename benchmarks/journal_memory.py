"""Peak memory of digesting a large journal, as ``harness replay`` does.

    python benchmarks/journal_memory.py [--events 1000000] [--root CHECKOUT]

Writes a journal of ``events`` window events (about 200 bytes a line: 1 M events is about 200 MB)
to a temporary folder, then digests it in a fresh process and prints that process's peak resident
set size (``ru_maxrss``). It uses ``harness.journal.JournalFile`` when the checkout has it (read a
line at a time), else ``Journal.read`` (the whole file in memory), so ``--root`` another checkout
compares the two on one machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DIGEST = """
import resource, sys, time
sys.path.insert(0, {root!r})
import harness.journal as journal
start = time.perf_counter()
if hasattr(journal, "JournalFile"):
    how, digest = "JournalFile(path).digest()", journal.JournalFile({path!r}).digest()
else:
    how, digest = "Journal.read(path).digest()", journal.Journal.read({path!r}).digest()
elapsed = time.perf_counter() - start
print(how, digest[:12], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, round(elapsed, 1))
"""


def _write(path: Path, events: int) -> None:
    with path.open("w") as handle:
        handle.write(json.dumps({"journal": 1, "meta": {"seed": 1, "mode": "simulated"}}) + "\n")
        for i in range(events):
            data = {"requests": 1000 + i % 97, "errors": i % 7, "p50": 0.0123, "p95": 0.0456, "p99": 0.0789}
            event = {"t": i * 0.5, "kind": "window", "source": f"version/v{i % 3}", "data": data}
            handle.write(json.dumps(event, sort_keys=True, separators=(",", ":")) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--root", type=Path, nargs="+", default=[ROOT], help="checkouts to compare")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "journal.jsonl"
        _write(path, args.events)
        size = path.stat().st_size
        print(f"journal of {args.events:,} events, {size / 2**20:.0f} MiB")
        for root in args.root:
            code = DIGEST.format(root=str(root), path=str(path))
            proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                print(f"{root}: failed (exit {proc.returncode})")
                continue
            how, digest, peak, elapsed = proc.stdout.rsplit(maxsplit=3)
            print(f"{root}: {how} {digest}  peak RSS {int(peak) / 1024:.0f} MiB  {elapsed} s")


if __name__ == "__main__":
    main()
