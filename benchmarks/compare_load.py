"""Side by side on one server for the same duration: plain Locust, our Locust path, the open-model driver.

    .venv/bin/python benchmarks/compare_load.py [--duration 5] [--rounds 3] [--users 20]

The server is a minimal keep-alive HTTP/1.1 responder (asyncio.Protocol, ``GET /ping`` -> ``ok``)
in its own process, faster than any client here, so the clients are what is measured. Each round
runs, interleaved:

1. plain Locust: ``python -m locust -f benchmarks/locustfiles/plain_fast.py --headless`` with
   FastHttpUser and no wait (closed loop, as fast as it can), one process;
2. our Locust path: ``run_locust`` with the same user class, users and duration;
3. the OpenModelDriver (this process, one core, aiohttp) at 1x, 2x and 3x plain Locust's rate,
   reporting achieved rate, dropped starts, corrected p99 and whether the run was valid.

Medians over rounds and the ratios against the targets are printed at the end. This script never
imports Locust; Locust runs in subprocesses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.load import ConstantArrival, DriverConfig, HttpTarget, OpenModelDriver, run_locust  # noqa: E402

LOCUSTFILE = ROOT / "benchmarks" / "locustfiles" / "plain_fast.py"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class _PingProtocol(asyncio.Protocol):
    """Answers every complete request head with a fixed 200 response (keep-alive)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        count = self.buffer.count(b"\r\n\r\n")
        if count:
            self.buffer = self.buffer[self.buffer.rfind(b"\r\n\r\n") + 4 :]
            self.transport.write(RESPONSE * count)  # type: ignore[attr-defined]


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_PingProtocol, "127.0.0.1", 0, backlog=1024)
    print(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


def _start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def plain_locust(url: str, users: int, duration: float) -> float:
    """Requests per second of plain Locust (its own CLI, one process)."""
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        url,
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{duration}s",
        "--json",
        "--only-summary",
        "--loglevel",
        "ERROR",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120, check=False)
    if not out.stdout.strip():
        raise RuntimeError(
            f"plain Locust printed no statistics (exit {out.returncode}):\n{out.stderr[-2000:]}"
        )
    entries = json.loads(out.stdout)
    requests = sum(e["num_requests"] for e in entries)
    start = min(e["start_time"] for e in entries)
    last = max(e["last_request_timestamp"] for e in entries)
    return requests / (last - start)


def our_locust(url: str, users: int, duration: float, out_dir: Path) -> float:
    """Requests per second through run_locust with the same user class."""
    result = run_locust(
        host=url, output_dir=out_dir, users=users, spawn_rate=users, duration=duration, locustfile=LOCUSTFILE
    )
    return result.requests_per_second


def driver(url: str, rate: float, duration: float) -> dict[str, float | bool]:
    """Run the open-model driver at ``rate`` and report what it achieved."""
    config = DriverConfig(
        profile=ConstantArrival(rate=rate, duration=duration), connections=64, latency_target=0.1
    )
    result = asyncio.run(OpenModelDriver(config, HttpTarget(url + "/ping")).run())
    return {
        "target": rate,
        "achieved": result.completed / max(result.elapsed, duration),
        "dropped": result.dropped,
        "p99_ms": result.corrected.p99 * 1e3,
        "lag_p99_ms": result.lag.p99 * 1e3,
        "cpu": result.cpu or 0.0,
        "valid": result.valid and result.dropped == 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve())
        return 0
    os.chdir(ROOT)
    proc, url = _start_server()
    plain: list[float] = []
    ours: list[float] = []
    drives: dict[int, list[dict[str, float | bool]]] = {1: [], 2: [], 3: []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for rnd in range(args.rounds):
                plain.append(plain_locust(url, args.users, args.duration))
                ours.append(our_locust(url, args.users, args.duration, Path(tmp) / f"r{rnd}"))
                base = plain[-1]
                for mult, rows in drives.items():
                    rows.append(driver(url, base * mult, args.duration))
                row = drives[1][-1]
                print(
                    f"round {rnd + 1}: plain {plain[-1]:8.0f} req/s   ours {ours[-1]:8.0f} req/s   "
                    f"driver@1x achieved {row['achieved']:8.0f} (valid={row['valid']})",
                    flush=True,
                )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    _report(plain, ours, drives)
    return 0


def _report(plain: list[float], ours: list[float], drives: dict[int, list[dict[str, float | bool]]]) -> None:
    p, o = statistics.median(plain), statistics.median(ours)
    print(f"\nmedians over {len(plain)} rounds, {time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} CPUs")
    print(f"plain Locust FastHttpUser : {p:9.0f} req/s")
    print(f"our Locust path           : {o:9.0f} req/s   ratio {o / p:5.2f}  (target >= 0.90)")
    for mult, rows in sorted(drives.items()):
        achieved = statistics.median(float(r["achieved"]) for r in rows)
        valid = sum(bool(r["valid"]) for r in rows)
        p99 = statistics.median(float(r["p99_ms"]) for r in rows)
        lag = statistics.median(float(r["lag_p99_ms"]) for r in rows)
        cpu = statistics.median(float(r["cpu"]) for r in rows)
        dropped = statistics.median(float(r["dropped"]) for r in rows)
        print(
            f"driver @ {mult}x plain rate  : {achieved:9.0f} req/s   ratio {achieved / p:5.2f}  "
            f"valid {valid}/{len(rows)}  dropped {dropped:.0f}  corrected p99 {p99:7.1f} ms  "
            f"lag p99 {lag:5.1f} ms  cpu {cpu:4.0%}"
        )


if __name__ == "__main__":
    sys.exit(main())
