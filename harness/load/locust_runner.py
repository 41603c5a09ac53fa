"""Run Locust headless in subprocesses and read its statistics back as typed results.

Importing Locust monkey-patches the importing process with gevent, which breaks asyncio code and
pytest-xdist workers, so this module never imports it: it writes a small locustfile, starts
``python -m locust`` (one process, or a master and ``workers`` worker processes on 127.0.0.1),
waits with a time limit, and parses the CSV files Locust leaves in ``output_dir`` (kept, with
the HTML report and each process's log).

Several machines: start the master here with ``workers=0`` and ``extra_args=("--master",
"--expect-workers", "4", "--master-bind-host", "0.0.0.0")`` (or run ``locust --master`` by
hand), and on each load machine ``python -m locust -f <the generated locustfile> --worker
--master-host <master>``; the master's CSV holds the merged statistics. See the README section.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import socket
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from harness._checks import integer, invalid, positive
from harness._extras import require
from harness.atomic import write_atomic
from harness.errors import InvalidConfig, UsageError
from harness.load.profiles import Profile, profile_to_dict
from harness.load.targets import ensure_loopback

__all__ = [
    "EndpointStats",
    "LocustConfig",
    "LocustResult",
    "LocustRunError",
    "run_locust",
    "run_locust_async",
]

_PERCENTILES = ("50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%")
_QUANTILES = {q: float(q.rstrip("%")) / 100.0 for q in _PERCENTILES}


class LocustRunError(UsageError):
    """Locust did not run to the end (bad locustfile, crash, time limit); its log is named."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LocustConfig:
    """One headless Locust run.

    Give a ``profile`` (the shape drives the user count and the built-in user paces itself to
    the profile's rate) or ``users``/``spawn_rate``/``duration`` (closed model: users send as
    fast as responses return unless their own ``wait_time`` says otherwise). User classes are
    ``"module:Class"`` references or a ``locustfile`` path; without either, a built-in
    ``FastHttpUser`` cycles through ``paths``.
    """

    host: str
    output_dir: Path
    profile: Profile | None = None
    users: int | None = None
    spawn_rate: float = 100.0
    duration: float | None = None
    user_classes: tuple[str, ...] = ()
    locustfile: Path | None = None
    paths: tuple[str, ...] = ("/",)
    user_rate: float = 10.0  # requests/s per built-in user when following a profile
    workers: int = 0  # 0: one process; N: a master and N local workers
    allow_remote: bool = False
    time_limit: float | None = None  # wall seconds before the run is killed (default duration + 60)
    extra_args: tuple[str, ...] = ()
    python: str = field(default_factory=lambda: sys.executable)

    def __post_init__(self) -> None:
        ensure_loopback(self.host, allow_remote=self.allow_remote)
        object.__setattr__(self, "output_dir", Path(self.output_dir))
        if self.profile is None and (self.users is None or self.duration is None):
            raise InvalidConfig(
                "give either profile= or both users= and duration= (closed model); Locust needs to "
                "know how many users to run and for how long.",
                field="profile",
                value=None,
            )
        if self.profile is not None and (self.users is not None or self.duration is not None):
            raise InvalidConfig(
                "give either profile= (it sets users and duration over time) or users= and duration=, "
                "not both.",
                field="profile",
                value=self.profile,
            )
        if self.users is not None:
            integer("users", self.users, "concurrent Locust users", at_least=1)
        if self.duration is not None:
            positive("duration", self.duration, "how long the load lasts", unit="seconds")
        if self.duration is not None and not float(self.duration).is_integer():
            raise InvalidConfig(
                f"duration={self.duration!r}: Locust's --run-time counts whole seconds; give an integer "
                "or use a profile for finer timing.",
                field="duration",
                value=self.duration,
            )
        if self.spawn_rate is not None:
            positive("spawn_rate", self.spawn_rate, "users started per second")
        if self.user_rate is not None:
            positive("user_rate", self.user_rate, "requests per second each user sends")
        integer("workers", self.workers, "0 runs Locust in a single process", at_least=0)
        if not self.paths or any(not p.startswith("/") for p in self.paths):
            raise invalid(
                "paths", self.paths, "non-empty, each starting with '/'", "for example ('/checkout',)"
            )
        for ref in self.user_classes:
            if ":" not in ref:
                raise invalid(
                    "user_classes", ref, "'module:Class'", "imported inside the Locust process only"
                )
        if self.locustfile is not None and not Path(self.locustfile).is_file():
            raise InvalidConfig(
                f"locustfile {str(self.locustfile)!r} does not exist.",
                field="locustfile",
                value=self.locustfile,
            )

    @property
    def run_seconds(self) -> float:
        """How long the load lasts."""
        if self.duration is not None:
            return self.duration
        assert self.profile is not None
        return self.profile.duration


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointStats:
    """One row of Locust's statistics; times in seconds."""

    method: str
    name: str
    requests: int
    failures: int
    rps: float
    mean: float
    min: float
    max: float
    percentiles: dict[str, float]  # "50%" ... "100%"

    @property
    def error_rate(self) -> float:
        """Failures per request."""
        return self.failures / self.requests if self.requests else 0.0

    def percentile(self, q: str) -> float:
        """``percentile("99%")`` in seconds."""
        return self.percentiles[q]


@dataclass(frozen=True, slots=True, kw_only=True)
class LocustResult:
    """Locust's merged statistics for one run, and where its files are."""

    total: EndpointStats
    endpoints: tuple[EndpointStats, ...]
    failures: tuple[dict[str, str], ...]
    returncode: int
    workers: int
    output_dir: Path
    csv_prefix: Path
    html: Path
    logs: tuple[Path, ...]

    @property
    def requests_per_second(self) -> float:
        """Aggregated requests per second as Locust computed it."""
        return self.total.rps

    def endpoint(self, name: str) -> EndpointStats:
        """Statistics of the endpoint named ``name`` (the request's ``name``, usually its path)."""
        for row in self.endpoints:
            if row.name == name:
                return row
        raise KeyError(f"{name!r} is not an endpoint of this run; seen: {[r.name for r in self.endpoints]}")

    def metrics(self) -> dict[str, float]:
        """Flat metrics for thresholds. Locust measures service time only (not CO-corrected)."""
        t = self.total
        out: dict[str, float] = {}
        pairs = {"p50": "50%", "p90": "90%", "p95": "95%", "p99": "99%", "p99.9": "99.9%", "max": "100%"}
        for prefix in ("", "service_"):
            for key, column in pairs.items():
                out[prefix + key] = t.percentiles[column]
            out[prefix + "mean"] = t.mean
        out.update(
            error_rate=t.error_rate,
            dropped_rate=0.0,
            rps=t.rps,
            requests=float(t.requests),
            errors=float(t.failures),
        )
        return out


@dataclass(frozen=True, slots=True)
class _Plan:
    """The processes to start and the files they leave (no I/O)."""

    commands: tuple[tuple[str, ...], ...]  # master/standalone first
    locustfile: Path
    csv_prefix: Path
    html: Path
    json: Path  # Locust's final statistics, written after the run stops (the source of the result)
    logs: tuple[Path, ...]
    env: dict[str, str]
    time_limit: float


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spec(config: LocustConfig) -> dict[str, Any]:
    default_user = not config.user_classes and config.locustfile is None
    return {
        "profile": profile_to_dict(config.profile) if config.profile is not None else None,
        "user_classes": list(config.user_classes),
        "paths": list(config.paths),
        "user_rate": config.user_rate,
        "spawn_rate": config.spawn_rate,
        "default_user": default_user,
    }


def _locustfile_text(config: LocustConfig) -> str:
    spec = json.dumps(_spec(config), sort_keys=True)
    return (
        '"""Generated by harness.load.run_locust; runs only inside the Locust process."""\n'
        "from harness.load._locust_shim import install\n\n"
        f"install(globals(), {spec!r})\n"
    )


def _plan(config: LocustConfig) -> _Plan:
    out = config.output_dir
    locustfile = out / "harness_locustfile.py"
    files = str(locustfile) if config.locustfile is None else f"{config.locustfile},{locustfile}"
    base = [config.python, "-m", "locust", "-f", files, "--host", config.host]
    csv_prefix, html, json_prefix = out / "locust", out / "locust.html", out / "locust_final"
    lead = [
        *base,
        "--headless",
        "--csv",
        str(csv_prefix),
        "--html",
        str(html),
        "--json-file",
        str(json_prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "5",
    ]
    if config.profile is None:
        lead += [
            "--users",
            str(config.users),
            "--spawn-rate",
            str(config.spawn_rate),
            "--run-time",
            f"{int(config.duration or 0)}s",
        ]
    commands: list[tuple[str, ...]] = []
    if config.workers:
        port = _free_port()
        lead += [
            "--master",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            str(port),
            "--expect-workers",
            str(config.workers),
            "--expect-workers-max-wait",
            "30",
        ]
        worker = (
            *base,
            "--worker",
            "--master-host",
            "127.0.0.1",
            "--master-port",
            str(port),
            "--loglevel",
            "WARNING",
        )
        commands = [tuple(lead + list(config.extra_args))] + [worker] * config.workers
    else:
        commands = [tuple(lead + list(config.extra_args))]
    logs = tuple(out / (f"worker-{i}.log" if i else "locust.log") for i in range(len(commands)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH", "")]))
    limit = config.time_limit if config.time_limit is not None else config.run_seconds + 60.0
    json_path = json_prefix.with_suffix(".json")
    return _Plan(tuple(commands), locustfile, csv_prefix, html, json_path, logs, env, limit)


def _prepare(config: LocustConfig) -> _Plan:
    require("load", "running Locust")
    config.output_dir.mkdir(parents=True, exist_ok=True)
    plan = _plan(config)
    write_atomic(plan.locustfile, _locustfile_text(config))
    return plan


def run_locust(config: LocustConfig | None = None, /, **options: Any) -> LocustResult:
    """Run Locust headless in subprocesses and return its statistics (blocks until done).

    ``run_locust(host=..., output_dir=..., profile=...)`` or ``run_locust(LocustConfig(...))``.
    Raises :class:`LocustRunError` when Locust fails or exceeds its time limit.
    """
    config = config or LocustConfig(**options)
    plan = _prepare(config)
    handles: list[TextIO] = [path.open("w") for path in plan.logs]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for cmd, log in zip(plan.commands, handles, strict=True):
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=plan.env))  # noqa: S603
        try:
            code = procs[0].wait(timeout=plan.time_limit)
        except subprocess.TimeoutExpired:
            raise LocustRunError(
                f"Locust ran longer than {plan.time_limit:g}s and was stopped; see {plan.logs[0]}."
            ) from None
        for proc in procs[1:]:
            proc.wait(timeout=30)
    finally:
        _stop_all(procs)
        for handle in handles:
            handle.close()
    return _result(config, plan, code)


async def run_locust_async(config: LocustConfig | None = None, /, **options: Any) -> LocustResult:
    """:func:`run_locust` for asyncio code: the event loop keeps running while Locust works."""
    config = config or LocustConfig(**options)
    plan = _prepare(config)
    handles: list[TextIO] = [path.open("w") for path in plan.logs]
    procs: list[asyncio.subprocess.Process] = []
    try:
        for cmd, log in zip(plan.commands, handles, strict=True):
            procs.append(
                await asyncio.create_subprocess_exec(*cmd, stdout=log, stderr=subprocess.STDOUT, env=plan.env)
            )
        try:
            async with asyncio.timeout(plan.time_limit):
                code = await procs[0].wait()
                for proc in procs[1:]:
                    await proc.wait()
        except TimeoutError:
            raise LocustRunError(
                f"Locust ran longer than {plan.time_limit:g}s and was stopped; see {plan.logs[0]}."
            ) from None
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        for handle in handles:
            handle.close()
    return _result(config, plan, code)


def _stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _result(config: LocustConfig, plan: _Plan, code: int) -> LocustResult:
    if code not in (0, 1) or not plan.json.is_file():
        tail = plan.logs[0].read_text(errors="replace")[-2000:] if plan.logs[0].is_file() else ""
        raise LocustRunError(f"Locust exited with code {code}; log {plan.logs[0]}:\n{tail}")
    entries = json.loads(plan.json.read_text())
    if not isinstance(entries, list):
        raise LocustRunError(f"{plan.json} is not Locust's list of statistics entries; see {plan.logs[0]}.")
    endpoints = tuple(_entry(e) for e in entries)
    failures_csv = Path(f"{plan.csv_prefix}_failures.csv")
    failures = tuple(_read_csv(failures_csv)) if failures_csv.is_file() else ()
    return LocustResult(
        total=_entry(_aggregate(entries)),
        endpoints=endpoints,
        failures=failures,
        returncode=code,
        workers=config.workers,
        output_dir=config.output_dir,
        csv_prefix=plan.csv_prefix,
        html=plan.html,
        logs=plan.logs,
    )


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _aggregate(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Locust's "Aggregated" row: every entry's counts and response times added up."""
    times: Counter[str] = Counter()
    for e in entries:
        times.update({str(k): int(v) for k, v in e["response_times"].items()})
    starts = [e["start_time"] for e in entries if e.get("start_time")]
    lasts = [e["last_request_timestamp"] for e in entries if e.get("last_request_timestamp")]
    mins = [e["min_response_time"] for e in entries if e.get("min_response_time") is not None]
    return {
        "method": "",
        "name": "Aggregated",
        "num_requests": sum(e["num_requests"] for e in entries),
        "num_none_requests": sum(e.get("num_none_requests", 0) for e in entries),
        "num_failures": sum(e["num_failures"] for e in entries),
        "total_response_time": sum(e["total_response_time"] for e in entries),
        "max_response_time": max((e["max_response_time"] for e in entries), default=0),
        "min_response_time": min(mins) if mins else None,
        "response_times": dict(times),
        "start_time": min(starts) if starts else None,
        "last_request_timestamp": max(lasts) if lasts else None,
    }


def _percentile(times: list[tuple[float, int]], total: int, q: float) -> float:
    """Locust's own percentile rule over its response-time buckets (milliseconds)."""
    wanted = int(total * q)
    seen = 0
    for value, count in times:  # descending
        seen += count
        if total - seen <= wanted:
            return value
    return 0.0


def _entry(e: dict[str, Any]) -> EndpointStats:
    """One Locust statistics entry (times in ms) as EndpointStats (times in seconds)."""
    requests = int(e["num_requests"])
    timed = requests - int(e.get("num_none_requests", 0))
    times = sorted(((float(k), int(v)) for k, v in e["response_times"].items()), reverse=True)
    start, last = e.get("start_time"), e.get("last_request_timestamp")
    span = (last - start) if start and last and last > start else 0.0
    return EndpointStats(
        method=e.get("method") or "",
        name=e["name"],
        requests=requests,
        failures=int(e["num_failures"]),
        rps=requests / span if span else 0.0,
        mean=float(e["total_response_time"]) / timed / 1000.0 if timed else 0.0,
        min=float(e.get("min_response_time") or 0.0) / 1000.0,
        max=float(e.get("max_response_time") or 0.0) / 1000.0,
        percentiles={q: _percentile(times, timed, _QUANTILES[q]) / 1000.0 for q in _PERCENTILES},
    )
