"""``scenario_runner`` and ``redis_storage`` in real pytest runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import redis_url, requires_redis

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
BASE = ("-p", "no:locust", "-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function")


def test_scenario_runner_uses_the_marker_and_the_tests_seed(pytester: pytest.Pytester) -> None:
    scenario = ROOT / "scenarios" / "rollback-corrupt-state.yaml"
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.scenario(path={str(scenario)!r})
        def test_rollback(scenario_runner):
            result = scenario_runner()
            assert result.passed, result.explain()
            print("SEED", result.seed)

        def test_strict(scenario_runner):
            result = scenario_runner({str(scenario)!r}, seed=3)
            assert result.seed == 3
            assert False, result.explain()
        """
    )
    first = pytester.runpytest_subprocess(*BASE, "-s", "--chaos-seed=8", "--strict-markers")
    second = pytester.runpytest_subprocess(*BASE, "-s", "--chaos-seed=8")
    first.assert_outcomes(passed=1, failed=1)
    seeds = [line for line in first.stdout.lines if line.startswith("SEED") or " SEED " in line]
    assert seeds
    assert seeds == [line for line in second.stdout.lines if line.startswith("SEED") or " SEED " in line]
    first.stdout.fnmatch_lines(["*scenario rollback-corrupt-state passed (seed 3, simulated)*"])
    first.stdout.fnmatch_lines(["*Reproduce with: pytest test_scenario_runner*::test_strict --chaos-seed=8*"])


def test_redis_storage_skips_with_the_reason_when_no_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        async def test_store(redis_storage):
            await redis_storage.set("k", 1)
        """
    )
    result = pytester.runpytest_subprocess(*BASE, "-rs", "-p", "asyncio", "-o", "asyncio_mode=auto")
    if redis_url() is None:
        result.assert_outcomes(skipped=1)
        result.stdout.fnmatch_lines(["*needs a real Redis server: set HARNESS_REDIS_URL*"])
    else:
        result.assert_outcomes(passed=1)


@requires_redis
@pytest.mark.redis
def test_redis_storage_on_the_real_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        async def test_store(redis_storage):
            assert await redis_storage.incr("hits", ttl=60) == 1
            assert await redis_storage.scan() == ["hits"]
        """
    )
    result = pytester.runpytest_subprocess(*BASE, "-o", "asyncio_mode=auto")
    result.assert_outcomes(passed=1)
