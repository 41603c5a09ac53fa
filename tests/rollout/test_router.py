"""The router: sticky weighted split and mirroring that never hurts the primary."""

import asyncio
from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.clock import VirtualClock
from harness.errors import InvalidConfig
from harness.rollout import MirrorConfig, MirrorOutcome, Route, Router, WindowBuilder, validate_weights


def test_split_follows_weights_and_is_sticky() -> None:
    """Keys land on versions in proportion to weights, and the same key always lands the same way."""
    router = Router({"v1": 90, "v2": 10}, seed=7)
    keys = [f"user-{i}" for i in range(20_000)]
    counts = Counter(router.route(k) for k in keys)
    assert counts["v2"] / len(keys) == pytest.approx(0.10, abs=0.01)
    assert [router.route(k) for k in keys[:100]] == [router.route(k) for k in keys[:100]]
    other = Router({"v1": 90, "v2": 10}, seed=8)
    assert [router.route(k) for k in keys[:200]] != [other.route(k) for k in keys[:200]]


def test_raising_the_candidate_only_moves_keys_onto_it() -> None:
    """From 10% to 50% on the candidate, no key leaves the candidate."""
    router = Router({"v1": 90, "v2": 10}, seed=1)
    keys = [f"k{i}" for i in range(5000)]
    before = {k: router.route(k) for k in keys}
    router.set_weights({"v1": 50, "v2": 50})
    after = {k: router.route(k) for k in keys}
    assert all(after[k] == "v2" for k in keys if before[k] == "v2")
    assert sum(v == "v2" for v in after.values()) > sum(v == "v2" for v in before.values())


def test_zero_weight_versions_receive_nothing_and_vectorised_split_agrees() -> None:
    """A 0% version gets no traffic, even at the top edge; split() matches route()."""
    router = Router({"v1": 100, "v2": 0}, seed=3)
    points = np.array([0.0, 50.0, 99.999999999, 100.0 - 1e-12])
    assert {router.versions[i] for i in router.index(points)} == {"v1"}
    router.set_weights({"v1": 70, "v2": 30, "v3": 0})
    pts = np.array([router.point(f"u{i}") for i in range(1000)])
    parts = router.split(pts)
    assert sorted(np.concatenate(list(parts.values()))) == list(range(1000))
    assert all(router.route(f"u{i}") == "v2" for i in parts["v2"])
    assert parts["v3"].size == 0


@pytest.mark.parametrize(
    ("weights", "match"),
    [({}, "empty"), ({"a": 120, "b": -20}, "outside 0-100"), ({"a": 60, "b": 30}, "sum to")],
)
def test_weights_are_validated(weights: dict[str, float], match: str) -> None:
    """Weights outside 0-100 or not summing to 100 are rejected, naming the fix."""
    with pytest.raises(InvalidConfig, match=match):
        validate_weights(weights)


def _handlers(shadow: Any) -> dict[str, Any]:
    async def primary(req: int) -> int:
        await asyncio.sleep(0.010)
        return req * 2

    return {"v1": primary, "v2": primary, "shadow": shadow}


@pytest.mark.parametrize("behaviour", ["slow", "failing", "hanging", "cancelled"])
def test_shadow_never_changes_or_delays_the_primary(behaviour: str) -> None:
    """Whatever the shadow does, the caller gets the primary's result after the primary's latency."""
    outcomes: list[MirrorOutcome[Any]] = []

    async def shadow(req: int) -> int:
        if behaviour == "slow":
            await asyncio.sleep(0.5)
        elif behaviour == "failing":
            raise RuntimeError("shadow exploded")
        elif behaviour == "hanging":
            await asyncio.Event().wait()
        else:
            raise asyncio.CancelledError
        return -1

    async def main() -> tuple[list[int], list[float]]:
        router = Router(
            {"v1": 100},
            seed=1,
            shadows=("shadow",),
            mirror=MirrorConfig(timeout=0.2),
            on_mirror=outcomes.append,
        )
        loop = asyncio.get_running_loop()
        results, latencies = [], []
        for i in range(5):
            t0 = loop.time()
            results.append(await router.call(f"k{i}", i, _handlers(shadow)))
            latencies.append(loop.time() - t0)
        await router.drain()
        return results, latencies

    results, latencies = VirtualClock().run(main())
    assert results == [0, 2, 4, 6, 8]
    assert latencies == pytest.approx([0.010] * 5)
    if behaviour in ("slow", "hanging"):
        assert all(o.timed_out for o in outcomes)
    if behaviour == "failing":
        assert all(isinstance(o.shadow_error, RuntimeError) for o in outcomes)
    assert all(o.primary == int(o.key[1:]) * 2 for o in outcomes)


def test_primary_errors_propagate_unchanged_and_reach_the_mirror_callback() -> None:
    """A failing primary raises to the caller; the mirror still records the comparison."""
    seen: list[MirrorOutcome[Any]] = []

    async def primary(req: int) -> int:
        raise ValueError("primary failed")

    async def shadow(req: int) -> int:
        return 1

    async def main() -> None:
        router = Router({"v1": 100}, seed=1, shadows=("s",), on_mirror=seen.append)
        with pytest.raises(ValueError, match="primary failed"):
            await router.call("k", 1, {"v1": primary, "s": shadow})
        await router.drain()

    VirtualClock().run(main())
    assert isinstance(seen[0].primary_error, ValueError)
    assert seen[0].shadow == 1


def test_mirroring_is_bounded_and_can_be_sampled() -> None:
    """At most max_concurrency mirrors run; the excess is dropped and counted; percent samples keys."""

    async def shadow(req: int) -> int:
        await asyncio.sleep(1.0)
        return req

    async def main() -> Router:
        router = Router(
            {"v1": 100}, seed=1, shadows=("shadow",), mirror=MirrorConfig(max_concurrency=3, timeout=5)
        )
        await asyncio.gather(*(router.call(f"k{i}", i, _handlers(shadow)) for i in range(10)))
        assert router.pending == 3
        await router.aclose()
        return router

    router = VirtualClock().run(main())
    assert (router.mirrored, router.dropped) == (3, 7)
    sampled = Router({"v1": 100}, seed=1, shadows=("s",), mirror=MirrorConfig(percent=20))
    share = sum(bool(sampled.decide(f"k{i}").shadows) for i in range(5000)) / 5000
    assert share == pytest.approx(0.2, abs=0.02)
    with pytest.raises(InvalidConfig, match="max_concurrency"):
        MirrorConfig(max_concurrency=0)
    with pytest.raises(InvalidConfig, match="timeout"):
        MirrorConfig(timeout=0)


def test_missing_handler_is_a_usage_error() -> None:
    """Routing to a version without a handler names the version and the known handlers."""

    async def main() -> None:
        router = Router({"v1": 100}, seed=1)
        with pytest.raises(InvalidConfig, match="no handler for version 'v1'; handlers: v2"):
            await router.call("k", 1, {"v2": _handlers(None)["v1"]})

    VirtualClock().run(main())


def test_unkeyed_requests_follow_the_weights_and_replay_from_the_seed() -> None:
    """Without keys each request takes the next seeded draw: shares follow weights, seeds replay."""
    router = Router({"v1": 80, "v2": 20}, seed=5)
    picks = router.assign(50_000)
    assert np.mean(picks == router.versions.index("v2")) == pytest.approx(0.20, abs=0.01)
    assert np.array_equal(Router({"v1": 80, "v2": 20}, seed=5).assign(50_000), picks)
    assert not np.array_equal(Router({"v1": 80, "v2": 20}, seed=6).assign(50_000), picks)


@given(
    share=st.floats(0.0, 100.0),
    windows=st.lists(st.integers(0, 600), min_size=1, max_size=6),
    seed=st.integers(0, 2**32),
)
def test_a_window_routes_as_its_requests_would_one_by_one(
    share: float, windows: list[int], seed: int
) -> None:
    """assign(n) in windows of any size, between single picks, routes as pick() per request does."""
    weights = {"v1": 100.0 - share, "v2": share}
    windowed = Router(weights, seed=seed)
    one_by_one = Router(weights, seed=seed)
    got: list[int] = []
    for n in windows:
        got.extend(windowed.assign(n).tolist())
        got.append(windowed.pick())
    assert got == [one_by_one.pick() for _ in range(sum(windows) + len(windows))]


def test_a_single_serving_version_draws_nothing() -> None:
    """While one version has all the weight no draw is spent, so later splits replay unchanged."""
    router = Router({"v1": 100, "v2": 0}, seed=2)
    assert set(router.assign(1000).tolist()) == {0}
    assert router.route() == "v1"
    router.set_weights({"v1": 50, "v2": 50})
    fresh = Router({"v1": 50, "v2": 50}, seed=2)
    assert router.assign(500).tolist() == fresh.assign(500).tolist()


def test_keyed_windows_are_sticky_and_agree_with_single_requests() -> None:
    """assign(keys) and partition(items, keys) route every key as route(key) does."""
    router = Router({"a": 30, "b": 30, "c": 40}, seed=11)
    keys = [f"session-{i}" for i in range(2000)]
    picks = router.assign(keys)
    assert [router.versions[i] for i in picks] == [router.route(k) for k in keys]
    items = np.arange(len(keys))
    parts = router.partition(items, keys)
    assert all(router.route(keys[i]) == name for name, share in parts.items() for i in share)
    assert sorted(np.concatenate(list(parts.values())).tolist()) == items.tolist()


def test_partition_leaves_out_unweighted_versions_and_checks_its_input() -> None:
    """Only versions with weight get a share; keys must match the requests one for one."""
    router = Router({"v1": 60, "v2": 40, "v3": 0}, seed=4)
    parts = router.partition(np.arange(1000.0))
    assert set(parts) == {"v1", "v2"}
    assert parts["v1"].size + parts["v2"].size == 1000
    router.set_weights({"v1": 0, "v2": 100, "v3": 0})
    assert list(router.partition(np.arange(5.0))) == ["v2"]
    with pytest.raises(InvalidConfig, match="one key per request"):
        router.partition(np.arange(3.0), ["a", "b"])
    with pytest.raises(InvalidConfig, match="one key"):
        router.assign("user-1")
    with pytest.raises(InvalidConfig, match=r"Router.index\(points\)"):
        router.assign(np.array([10.0, 90.0]))


def test_mirror_decisions_are_seeded_and_windows_agree_with_requests() -> None:
    """decide() mirrors the configured share; mirror_mask(n) makes the same decisions in a window."""
    router = Router({"v1": 100}, seed=9)
    router.set_mirror(("shadow",), percent=25)
    mask = router.mirror_mask(4000)
    assert mask.mean() == pytest.approx(0.25, abs=0.03)
    again = Router({"v1": 100}, seed=9, shadows=("shadow",), mirror=MirrorConfig(percent=25))
    assert [bool(again.decide().shadows) for _ in range(4000)] == mask.tolist()
    keys = [f"k{i}" for i in range(500)]
    assert router.mirror_mask(keys).tolist() == [bool(router.decide(k).shadows) for k in keys]
    router.set_mirror(())
    assert not router.mirror_mask(100).any()
    assert router.decide() == Route("v1", (), None)


def test_mirrors_of_one_request_are_paired_even_when_keys_repeat_or_are_absent() -> None:
    """A request's secondary and candidate responses form one exchange, whatever its key."""
    builder = WindowBuilder(secondary="v1b", candidate="v2")

    def echo(delay: float) -> Any:
        async def handle(req: int) -> int:
            await asyncio.sleep(delay * (10 - req))
            return req

        return handle

    handlers = {"v1": echo(0.001), "v1b": echo(0.002), "v2": echo(0.003)}

    async def main() -> None:
        router = Router(
            {"v1": 100},
            seed=1,
            shadows=("v1b", "v2"),
            on_mirror=builder.on_mirror,
            mirror=MirrorConfig(max_concurrency=100),
        )
        keys = ["same"] * 5 + [None] * 5
        await asyncio.gather(*(router.call(key, i, handlers) for i, key in enumerate(keys)))
        await router.drain()

    VirtualClock().run(main())
    exchanges = builder.cut(0, 1).exchanges
    assert len(exchanges) == 10
    assert all(e.primary == e.secondary == e.candidate for e in exchanges)
