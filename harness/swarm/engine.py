"""The swarm's driver: batches of seeds submitted to Dask, results counted as they complete.

At most ``in_flight`` tasks are on the cluster at once (twice the worker threads, so no worker
waits for the client; see :mod:`harness.swarm.stream`); each finished task's records are counted
into the tallies and released, and the next batch is submitted. The client therefore holds a
bounded number of futures and one record per failure, whatever the number of seeds. A crash (a
run that raised) stops the swarm; Ctrl-C cancels the tasks in flight and returns what finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from harness._version import __version__
from harness.mode import Mode
from harness.swarm.cluster import client_paths
from harness.swarm.plan import BatchSizer, SeedRange, SwarmScenario
from harness.swarm.stream import completed, worker_threads
from harness.swarm.tally import ScenarioStats, Tally, all_stats, flakiness_level
from harness.swarm.task import Batch, SeedCrash, SeedRun, run_batch

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["SwarmProgress", "SwarmResult", "batches", "run_swarm"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SwarmProgress:
    """Where a swarm is: runs done of ``total``, failures so far."""

    done: int
    total: int
    failures: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SwarmResult:
    """A finished (or interrupted) swarm: every scenario's figures and how the swarm ran."""

    scenarios: tuple[ScenarioStats, ...]
    seeds: SeedRange
    mode: Mode
    workers: int
    scheduler: str
    batch: int | None
    seconds: float
    started_at: str
    interrupted: bool = False
    crash: SeedCrash | None = None
    package_version: str = __version__
    level: float = field(default=0.05)

    @property
    def runs(self) -> int:
        """Runs finished, all scenarios."""
        return sum(s.runs for s in self.scenarios)

    @property
    def failures(self) -> int:
        """Failed runs, all scenarios."""
        return sum(s.failures for s in self.scenarios)

    @property
    def total(self) -> int:
        """Runs asked for: scenarios times seeds."""
        return len(self.scenarios) * len(self.seeds)

    @property
    def above_bound(self) -> list[ScenarioStats]:
        """Scenarios whose failure rate is significantly above their bound."""
        return [s for s in self.scenarios if s.exceeds_bound]

    @property
    def passed(self) -> bool:
        """Every run finished without a crash and every failure rate is within its bound."""
        return not self.interrupted and self.crash is None and not self.above_bound


def batches(
    scenarios: Sequence[SwarmScenario],
    seeds: SeedRange,
    sizer: BatchSizer,
    *,
    mode: Mode = Mode.SIMULATED,
    paths: tuple[str, ...] = (),
) -> Iterator[Batch]:
    """Batches of seeds, one scenario after another in turn, sized by ``sizer`` when each is made."""
    cursors = {sc.index: seeds.first for sc in scenarios}
    while cursors:
        for sc in scenarios:
            start = cursors.get(sc.index)
            if start is None:
                continue
            stop = min(seeds.last, start + sizer.size(sc.index) - 1)
            yield Batch(
                scenario=sc.index,
                source=sc.source,
                text=sc.text,
                seeds=tuple(range(start, stop + 1)),
                mode=mode,
                paths=paths,
            )
            if stop == seeds.last:
                del cursors[sc.index]
            else:
                cursors[sc.index] = stop + 1


@dataclass(slots=True)
class _Collector:
    """Counts records into tallies and tells the sizer how long runs take."""

    tallies: list[Tally]
    sizer: BatchSizer
    on_run: Callable[[SeedRun], None] | None
    done: int = 0
    failures: int = 0
    crash: SeedCrash | None = None

    def take(self, records: Sequence[SeedRun | SeedCrash]) -> None:
        for record in records:
            if isinstance(record, SeedCrash):
                self.crash = self.crash or record
                return
            self.tallies[record.scenario].add(record)
            self.sizer.observe(record.scenario, record.seconds)
            self.done += 1
            self.failures += not record.passed
            if self.on_run is not None:
                self.on_run(record)


def run_swarm(
    client: Client,
    scenarios: Sequence[SwarmScenario],
    seeds: SeedRange,
    *,
    mode: Mode = Mode.SIMULATED,
    batch: int | None = None,
    in_flight: int | None = None,
    on_run: Callable[[SeedRun], None] | None = None,
    progress: Callable[[SwarmProgress], None] | None = None,
    on_start: Callable[[], None] | None = None,
) -> SwarmResult:
    """Run every scenario at every seed on ``client``'s cluster and count the results.

    ``on_start`` is called once the swarm is under way (from then on an interrupt returns a
    result); ``on_run`` sees every run as it arrives (to stream them to a file); ``progress`` is
    called after each finished task. Ctrl-C (``KeyboardInterrupt``) cancels the tasks in flight
    and returns the result so far with ``interrupted`` set.
    """
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    start = time.monotonic()
    tallies = [Tally(sc, mode) for sc in scenarios]
    collector = _Collector(tallies, BatchSizer(fixed=batch), on_run)
    todo = batches(scenarios, seeds, collector.sizer, mode=mode, paths=client_paths())
    total = len(scenarios) * len(seeds)
    interrupted = False
    results = completed(client, run_batch, todo, in_flight=in_flight)
    try:
        if on_start is not None:
            on_start()
        for records in results:
            collector.take(records)
            if collector.crash is not None:
                break
            if progress is not None:
                progress(SwarmProgress(done=collector.done, total=total, failures=collector.failures))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        results.close()
    return SwarmResult(
        scenarios=tuple(all_stats(tallies)),
        seeds=seeds,
        mode=mode,
        workers=worker_threads(client),
        scheduler=str(client.scheduler.address) if client.scheduler is not None else "",
        batch=batch,
        seconds=time.monotonic() - start,
        started_at=started_at,
        interrupted=interrupted,
        crash=collector.crash,
        level=flakiness_level(len(scenarios)),
    )
