"""The pytest plugin: a session chaos seed, per-test seed streams, a virtual clock, storage.

Loaded through the ``pytest11`` entry point as ``harness``; disable with ``-p no:harness``.
A test that uses none of these fixtures pays for one set lookup when it reports.

``--chaos-seed=N`` (or the ``chaos_seed`` ini setting) fixes the session seed; otherwise a random
one is drawn and shown in the report header. Each test's streams depend only on that seed and the
test's node id, so a test draws the same values alone, in a full run, or on any xdist worker.
When a test that used the seed fails, its report ends with the line that replays it.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from harness.errors import InvalidConfig
from harness.seeding import parse_seed, random_seed

if TYPE_CHECKING:
    from harness.clock import VirtualClock
    from harness.seeding import Seeds
    from harness.storage import MemoryStorage

__all__ = [
    "OPTION_CHAOS_SEED",
    "chaos_seed",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_configure_node",
    "pytest_report_header",
    "pytest_runtest_makereport",
    "reproduce_command",
    "seed_of",
    "seeds",
    "storage",
    "virtual_clock",
]

# Fixture modules of the other subsystems, loaded with this plugin (and disabled with it).
pytest_plugins: list[str] = [
    "harness.pytest_fixtures.load",
    "harness.pytest_fixtures.health",
    "harness.pytest_fixtures.report",
    "harness.pytest_fixtures.faults",
    "harness.pytest_fixtures.scenario",
]

OPTION_CHAOS_SEED = "--chaos-seed"
"""The command-line option that fixes the chaos seed of a test session."""
INI_CHAOS_SEED = "chaos_seed"
MARKERS = (
    "chaos(seed=None, faults=None): a chaos test; its seed is printed with a replay line when it fails. "
    "seed= pins this test's seed regardless of --chaos-seed; faults={target: fault(s)} injects them "
    "around the test call.",
)
_WORKER_KEY = "harness_chaos_seed"
_SEED_KEY = pytest.StashKey[int]()
_ITEM_SEED_KEY = pytest.StashKey[int]()
SECTION = "chaos-harness"


def _seed_arg(text: str) -> int:
    try:
        return parse_seed(text)
    except InvalidConfig as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--chaos-seed`` and its ini twin."""
    group = parser.getgroup("chaos-harness")
    group.addoption(
        OPTION_CHAOS_SEED,
        action="store",
        type=_seed_arg,
        default=None,
        metavar="N",
        help="seed for every chaos test's randomness (default: random, shown in the header).",
    )
    parser.addini(INI_CHAOS_SEED, "default chaos seed when --chaos-seed is not given.", default="")


def _session_seed(config: pytest.Config) -> int:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None and _WORKER_KEY in workerinput:
        return int(workerinput[_WORKER_KEY])
    cli: int | None = config.getoption(OPTION_CHAOS_SEED)
    if cli is not None:
        return cli
    ini = str(config.getini(INI_CHAOS_SEED)).strip()
    if ini:
        try:
            return parse_seed(ini)
        except InvalidConfig as exc:
            raise pytest.UsageError(f"ini setting {INI_CHAOS_SEED}: {exc}") from None
    return random_seed()


def pytest_configure(config: pytest.Config) -> None:
    """Fix the session seed before collection and register the markers."""
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    config.stash[_SEED_KEY] = _session_seed(config)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Under xdist, hand the controller's seed to every worker."""
    node.workerinput[_WORKER_KEY] = node.config.stash[_SEED_KEY]


def pytest_report_header(config: pytest.Config) -> str:
    """Show the seed in effect and how to replay the session."""
    seed = config.stash[_SEED_KEY]
    return f"chaos-harness: chaos seed {seed} (replay with {OPTION_CHAOS_SEED}={seed})"


def reproduce_command(nodeid: str, seed: int) -> str:
    """The command line that replays one test with one seed."""
    return f"pytest {shlex.quote(nodeid)} {OPTION_CHAOS_SEED}={seed}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Append the replay line to the report of a failed test that used the seed."""
    report = yield
    if report.failed:
        seed = item.stash.get(_ITEM_SEED_KEY, None)
        if seed is not None:
            report.sections.append((SECTION, f"Reproduce with: {reproduce_command(item.nodeid, seed)}"))
    return report


def seed_of(node: pytest.Item | pytest.FixtureRequest) -> int:
    """The seed in effect for a test: its ``@pytest.mark.chaos(seed=...)``, else the session seed.

    Takes the test's item (in hooks) or a fixture's ``request``. Fixture modules and hooks derive
    every per-test seed from this, so a pinned seed means the same thing everywhere.
    """
    item = node.node if isinstance(node, pytest.FixtureRequest) else node
    marker = item.get_closest_marker("chaos")
    pinned = marker.kwargs.get("seed") if marker is not None else None
    if pinned is None:
        return item.config.stash[_SEED_KEY]
    try:
        return parse_seed(pinned)
    except InvalidConfig as exc:
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.chaos(seed=...): {exc}") from None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse a chaos marker whose seed is not a seed before any test runs."""
    for item in items:
        marker = item.get_closest_marker("chaos")
        if marker is not None and "seed" in marker.kwargs:
            seed_of(item)


@pytest.fixture
def chaos_seed(request: pytest.FixtureRequest) -> int:
    """The seed in effect for this test (``--chaos-seed``, the chaos marker's seed, or random)."""
    seed = seed_of(request)
    request.node.stash[_ITEM_SEED_KEY] = seed
    return seed


@pytest.fixture
def seeds(request: pytest.FixtureRequest, chaos_seed: int) -> Seeds:
    """Named random streams for this test, derived from the seed and the test's node id."""
    from harness.seeding import Seeds

    return Seeds(chaos_seed).child(request.node.nodeid)


@pytest.fixture
def virtual_clock() -> VirtualClock:
    """A fresh virtual clock at t=0; ``virtual_clock.run(coro)`` runs asyncio code on it."""
    from harness.clock import VirtualClock

    return VirtualClock()


@pytest.fixture
def storage(virtual_clock: VirtualClock) -> MemoryStorage:
    """An in-memory ``Storage`` whose expiry follows ``virtual_clock``."""
    from harness.storage import MemoryStorage

    return MemoryStorage(clock=virtual_clock)
