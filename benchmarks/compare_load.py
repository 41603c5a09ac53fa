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
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.load import (  # noqa: E402
    ConstantArrival,
    DriverConfig,
    FastHttpTarget,
    HttpTarget,
    OpenModelDriver,
    run_locust,
)

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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def plain_locust(url: str, users: int, duration: float) -> tuple[float, float]:
    """Requests per second of plain Locust (its own CLI, one process) and its CPU µs per request."""
    cpu0 = _children_cpu()
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
    return requests / (last - start), (_children_cpu() - cpu0) / requests * 1e6


def our_locust(url: str, users: int, duration: float, out_dir: Path) -> tuple[float, float]:
    """Requests per second through run_locust with the same user class, and CPU µs per request."""
    cpu0 = _children_cpu()
    result = run_locust(
        host=url, output_dir=out_dir, users=users, spawn_rate=users, duration=duration, locustfile=LOCUSTFILE
    )
    return result.requests_per_second, (_children_cpu() - cpu0) / result.total.requests * 1e6


def driver(url: str, rate: float, duration: float, client: type = FastHttpTarget) -> dict[str, float | bool]:
    """Run the open-model driver at ``rate`` with ``client`` and report what it achieved."""
    config = DriverConfig(
        profile=ConstantArrival(rate=rate, duration=duration), connections=64, latency_target=0.1
    )
    cpu0 = time.process_time()
    result = asyncio.run(OpenModelDriver(config, client(url + "/ping")).run())
    cpu = time.process_time() - cpu0
    return {
        "cpu_us": cpu / max(result.completed, 1) * 1e6,
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
    plain: list[tuple[float, float]] = []
    ours: list[tuple[float, float]] = []
    runs: dict[str, list[dict[str, float | bool]]] = {"1x": [], "2x": [], "3x": [], "1x aiohttp": []}
    plans = {
        "1x": (1, FastHttpTarget),
        "2x": (2, FastHttpTarget),
        "3x": (3, FastHttpTarget),
        "1x aiohttp": (1, HttpTarget),
    }
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for rnd in range(args.rounds):
                plain.append(plain_locust(url, args.users, args.duration))
                ours.append(our_locust(url, args.users, args.duration, Path(tmp) / f"r{rnd}"))
                for name, (mult, client) in plans.items():
                    runs[name].append(driver(url, plain[-1][0] * mult, args.duration, client))
                row = runs["1x"][-1]
                print(
                    f"round {rnd + 1}: plain {plain[-1][0]:7.0f} req/s  ours {ours[-1][0]:7.0f} req/s  "
                    f"driver@1x {row['achieved']:7.0f} req/s (valid={row['valid']})",
                    flush=True,
                )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    _report(plain, ours, runs)
    return 0


def _median(rows: list[dict[str, float | bool]], key: str) -> float:
    return statistics.median(float(r[key]) for r in rows)


def _report(
    plain: list[tuple[float, float]],
    ours: list[tuple[float, float]],
    runs: dict[str, list[dict[str, float | bool]]],
) -> None:
    p_rate, p_cpu = statistics.median(r for r, _ in plain), statistics.median(c for _, c in plain)
    o_rate, o_cpu = statistics.median(r for r, _ in ours), statistics.median(c for _, c in ours)
    print(
        f"\nmedians over {len(plain)} rounds, {time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"plain Locust FastHttpUser : {p_rate:8.0f} req/s  {p_cpu:6.0f} µs CPU/request  "
        f"one-core rate {1e6 / p_cpu:7.0f} req/s"
    )
    paired = statistics.median(o / p for (o, _), (p, _) in zip(ours, plain, strict=True))
    print(
        f"our Locust path           : {o_rate:8.0f} req/s  {o_cpu:6.0f} µs CPU/request  "
        f"ratio {o_rate / p_rate:5.2f}, per-round median {paired:5.2f} (target >= 0.90)"
    )
    for name, rows in runs.items():
        achieved, cpu_us = _median(rows, "achieved"), _median(rows, "cpu_us")
        valid = sum(bool(r["valid"]) for r in rows)
        print(
            f"driver @ {name:<11}     : {achieved:8.0f} req/s  {cpu_us:6.0f} µs CPU/request  "
            f"ratio {achieved / p_rate:5.2f}  one-core rate {1e6 / cpu_us:7.0f} req/s "
            f"({1e6 / cpu_us / (1e6 / p_cpu):4.1f}x Locust's)  valid {valid}/{len(rows)}  "
            f"dropped {_median(rows, 'dropped'):.0f}  corrected p99 {_median(rows, 'p99_ms'):7.1f} ms  "
            f"lag p99 {_median(rows, 'lag_p99_ms'):5.1f} ms"
        )


if __name__ == "__main__":
    sys.exit(main())
