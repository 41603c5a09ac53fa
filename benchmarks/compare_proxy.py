"""Direct vs through our fault proxy, interleaved in one run: round-trip latency and bulk throughput.

Three processes: an echo server, the fault proxy (``serve_api`` with one proxy in front of the
echo), and this client. Each round measures the direct path and the proxied path back to back
(alternating which goes first), so drift on a shared machine hits both alike. Prints medians
and the ratios the targets are stated in:

- 64-byte round trip: p50 added by the proxy (target <= 100 µs; Toxiproxy 2.12: ~30 µs)
- bulk echo throughput through the proxy as a share of direct (target >= 31%, Toxiproxy's)
- latency toxic accuracy: p50 added by a 10 ms latency toxic (target 10 ms ± 2 ms)

Run: ``.venv/bin/python benchmarks/compare_proxy.py [--rounds 7] [--mib 64]``
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

ECHO = r"""
import asyncio, sys

class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport
        transport.set_write_buffer_limits(high=1 << 20)
    def data_received(self, data):
        self.t.write(data)
    def pause_writing(self):
        self.t.pause_reading()
    def resume_writing(self):
        self.t.resume_reading()

async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""

PROXY = r"""
import sys, asyncio
from harness.faults import start_api

async def main():
    api = await start_api("127.0.0.1", 0, seed=1)
    print(api.port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await api.stop()

asyncio.run(main())
"""


@contextmanager
def child(code: str) -> Iterator[int]:
    """Run ``code`` in a subprocess that prints its port; stop it by closing its stdin."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline())
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def api(port: int, method: str, path: str, body: object = None) -> object:
    """One call to the proxy API."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read()
    return json.loads(raw) if raw.strip() else None


def connect(port: int) -> socket.socket:
    """A blocking client with Nagle off."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, n: int) -> None:
    """Read and discard exactly ``n`` bytes."""
    view = memoryview(bytearray(min(n, 1 << 20)))
    left = n
    while left:
        got = sock.recv_into(view, min(left, len(view)))
        if not got:
            raise EOFError
        left -= got


def rtt_p50(port: int, count: int) -> float:
    """Median seconds of ``count`` 64-byte round trips on one connection (after warm-up)."""
    payload = b"x" * 64
    with connect(port) as sock:
        for _ in range(50):
            sock.sendall(payload)
            recv_exactly(sock, 64)
        samples = []
        for _ in range(count):
            start = time.perf_counter()
            sock.sendall(payload)
            recv_exactly(sock, 64)
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bulk_mib_s(port: int, mib: int) -> float:
    """MiB/s echoed: a thread sends ``mib`` MiB while this thread reads them back."""
    block = b"z" * (1 << 20)
    with connect(port) as sock:

        def send() -> None:
            for _ in range(mib):
                sock.sendall(block)

        start = time.perf_counter()
        sender = threading.Thread(target=send)
        sender.start()
        recv_exactly(sock, mib << 20)
        elapsed = time.perf_counter() - start
        sender.join()
    return mib / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--rtts", type=int, default=2000, help="round trips per measurement")
    parser.add_argument("--mib", type=int, default=64, help="MiB per bulk measurement")
    args = parser.parse_args()

    with child(ECHO) as echo_port, child(PROXY) as api_port:
        proxy = api(api_port, "POST", "/proxies", {"name": "echo", "upstream": f"127.0.0.1:{echo_port}"})
        assert isinstance(proxy, dict)
        proxy_port = int(str(proxy["listen"]).rpartition(":")[2])
        direct_rtt, proxied_rtt, direct_bulk, proxied_bulk = [], [], [], []
        for r in range(args.rounds):
            order = [(echo_port, direct_rtt, direct_bulk), (proxy_port, proxied_rtt, proxied_bulk)]
            for port, rtts, bulks in order if r % 2 == 0 else order[::-1]:
                rtts.append(rtt_p50(port, args.rtts))
                bulks.append(bulk_mib_s(port, args.mib))
        plain, toxic = [], []
        for _ in range(args.rounds):
            plain.append(rtt_p50(proxy_port, 100))
            api(api_port, "POST", "/proxies/echo/toxics", {"type": "latency", "attributes": {"latency": 10}})
            toxic.append(rtt_p50(proxy_port, 50))
            api(api_port, "DELETE", "/proxies/echo/toxics/latency_downstream")

    d_rtt, p_rtt = statistics.median(direct_rtt), statistics.median(proxied_rtt)
    d_bulk, p_bulk = statistics.median(direct_bulk), statistics.median(proxied_bulk)
    added = (p_rtt - d_rtt) * 1e6
    ratio = p_bulk / d_bulk
    toxic_added = (statistics.median(toxic) - statistics.median(plain)) * 1e3
    print(f"rounds={args.rounds} round-trips/measurement={args.rtts} bulk={args.mib} MiB")
    print(f"64-byte round trip p50: direct {d_rtt * 1e6:.1f} µs, proxied {p_rtt * 1e6:.1f} µs")
    print(f"  added by proxy: {added:.1f} µs (target <= 100 µs; Toxiproxy 2.12 ~30 µs)")
    print(f"bulk echo: direct {d_bulk:.0f} MiB/s, proxied {p_bulk:.0f} MiB/s")
    print(f"  ratio proxied/direct: {ratio:.1%} (target >= 31%, Toxiproxy 2.12's ratio)")
    print(f"latency toxic 10 ms: p50 added {toxic_added:.2f} ms (target 10 ± 2 ms)")
    ok = added <= 100 and ratio >= 0.31 and abs(toxic_added - 10) <= 2
    print("all targets met" if ok else "TARGET MISSED")


if __name__ == "__main__":
    main()
