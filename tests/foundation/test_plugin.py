"""The pytest plugin, exercised in real pytest runs through ``pytester``."""

from __future__ import annotations

import re

import pytest

pytest_plugins = ["pytester"]

# Locust's own plugin gevent-patches whatever process loads it; keep it out of inner runs too.
BASE = ("-p", "no:locust", "-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function")

DRAWS = """
import pytest

def test_draw(seeds, chaos_seed):
    print(f"DRAW {chaos_seed} {seeds.stream('x').random()!r} {seeds.numpy('y').integers(10**9)}")

@pytest.mark.parametrize("i", range(4))
def test_more(seeds, i):
    print(f"DRAW{i} {seeds.stream('x').random()!r}")
"""


def _draws(output: str) -> list[str]:
    return sorted(re.findall(r"(DRAW\d? \S+(?: \S+)*)", output))


def test_header_shows_the_seed_in_effect(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest(*BASE, "--chaos-seed=1234")
    result.stdout.fnmatch_lines(["chaos-harness: chaos seed 1234 (replay with --chaos-seed=1234)"])
    result.assert_outcomes(passed=1)


def test_random_seed_is_drawn_and_shown_when_none_is_given(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest(*BASE)
    assert re.search(r"chaos-harness: chaos seed \d+ \(replay", result.stdout.str())


def test_failing_test_that_used_the_seed_prints_the_replay_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_fails(chaos_seed):
            assert chaos_seed < 0

        def test_fails_without_seed():
            assert False
        """
    )
    result = pytester.runpytest(*BASE, "--chaos-seed=77")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    assert (
        "Reproduce with: pytest test_failing_test_that_used_the_seed_prints_the_replay_line.py::test_fails"
        " --chaos-seed=77" in out
    )
    assert out.count("Reproduce with:") == 1


def test_chaos_marker_pins_a_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.chaos(seed=5)
        def test_pinned(chaos_seed):
            assert chaos_seed == 5
        """
    )
    pytester.runpytest(*BASE, "--strict-markers", "--chaos-seed=9").assert_outcomes(passed=1)


def test_seed_of_gives_the_pinned_seed_else_the_session_seed(pytester: pytest.Pytester) -> None:
    """The one public accessor agrees with ``chaos_seed`` for a request and for the test's item."""
    pytester.makepyfile(
        """
        import pytest
        from harness.pytest_plugin import seed_of

        @pytest.mark.chaos(seed=5)
        def test_pinned(request, chaos_seed):
            assert seed_of(request) == seed_of(request.node) == chaos_seed == 5

        def test_session(request, chaos_seed):
            assert seed_of(request) == seed_of(request.node) == chaos_seed == 9
        """
    )
    pytester.runpytest(*BASE, "--chaos-seed=9").assert_outcomes(passed=2)


def test_chaos_marker_with_a_bad_seed_is_a_usage_error_before_any_test_runs(
    pytester: pytest.Pytester,
) -> None:
    """A pinned seed that is not a seed stops the session at collection and names the test."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.chaos(seed="soon")
        def test_pinned():
            pass
        """
    )
    result = pytester.runpytest(*BASE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*::test_pinned: @pytest.mark.chaos(seed=...): *'soon' is not an integer*"])


def test_same_seed_gives_the_same_draws_and_another_seed_differs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(DRAWS)
    # numpy cannot be re-imported inside one process, so these runs are subprocesses.
    first = _draws(pytester.runpytest_subprocess(*BASE, "-s", "--chaos-seed=42").stdout.str())
    second = _draws(pytester.runpytest_subprocess(*BASE, "-s", "--chaos-seed=42").stdout.str())
    other = _draws(pytester.runpytest_subprocess(*BASE, "-s", "--chaos-seed=43").stdout.str())
    assert len(first) == 5
    assert first == second
    assert first != other


def test_draws_do_not_depend_on_which_xdist_worker_ran_the_test(pytester: pytest.Pytester) -> None:
    """Every test reports its draw through a failure message (xdist does not forward -s output);
    serial and two-worker runs with one seed report the same draw per test."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("i", range(6))
        def test_draw(seeds, i):
            assert False, f"VALUE-{i}={seeds.stream('x').random()!r}"
        """
    )
    serial = pytester.runpytest_subprocess(*BASE, "--chaos-seed=42")
    parallel = pytester.runpytest_subprocess(*BASE, "-n", "2", "--chaos-seed=42")
    pattern = r"VALUE-(\d)=([0-9.e-]+)"
    serial_values = dict(re.findall(pattern, serial.stdout.str()))
    parallel_values = dict(re.findall(pattern, parallel.stdout.str()))
    assert len(serial_values) == 6
    assert serial_values == parallel_values
    assert len(set(serial_values.values())) == 6
    nodeid = "test_draws_do_not_depend_on_which_xdist_worker_ran_the_test.py::test_draw[3]"
    assert f"Reproduce with: pytest '{nodeid}' --chaos-seed=42" in parallel.stdout.str()


def test_workers_share_the_controllers_random_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("i", range(6))
        def test_seed(chaos_seed, i):
            assert False, f"SEED={chaos_seed}"
        """
    )
    result = pytester.runpytest_subprocess(*BASE, "-n", "2")
    seeds = set(re.findall(r"SEED=(\d+)", result.stdout.str()))
    header = re.search(r"chaos seed (\d+)", result.stdout.str())
    assert header is not None
    assert seeds == {header.group(1)}


def test_non_integer_seed_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest(*BASE, "--chaos-seed=abc")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--chaos-seed*seed 'abc' is not an integer*"])


def test_bad_ini_seed_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nchaos_seed = soon\n")
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest(*BASE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*chaos_seed*'soon' is not an integer*"])


def test_ini_seed_applies_and_the_flag_overrides_it(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nchaos_seed = 11\n")
    pytester.makepyfile("def test_ok(chaos_seed):\n    assert chaos_seed == 12\n")
    pytester.runpytest(*BASE, "--chaos-seed=12").assert_outcomes(passed=1)
    pytester.runpytest(*BASE).assert_outcomes(failed=1)


def test_virtual_clock_and_storage_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import asyncio

        def test_clock_and_storage(virtual_clock, storage):
            async def main():
                await storage.set("lease", 1, ttl=60)
                await asyncio.sleep(3600)
                return await storage.get("lease")

            assert virtual_clock.run(main()) is None
            assert virtual_clock.now() == 3600
        """
    )
    pytester.runpytest(*BASE).assert_outcomes(passed=1)


def test_plugin_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest(*BASE, "-p", "no:harness")
    assert "chaos-harness" not in result.stdout.str()
    result.assert_outcomes(passed=1)
