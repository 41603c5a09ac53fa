"""Injections on one target compose: any start/stop order restores the original exactly."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from harness.errors import UsageError
from harness.faults import Injection, add_latency, corrupt_result, inject, raise_error
from tests.faults import targets

pytest_plugins = ["pytester"]

FETCH = "tests.faults.targets:fetch"


class Tagged(Exception):
    """The error an injection numbered ``tag`` raises."""

    def __init__(self, tag: int) -> None:
        super().__init__(tag)
        self.tag = tag


def _tagger(tag: int) -> Callable[[Any], Any]:
    return lambda result: (result, tag)


def test_first_started_stopped_first_restores_the_original() -> None:
    """a.start(); b.start(); a.stop(); b.stop() leaves the function exactly as it was."""
    original = targets.fetch
    a = inject(FETCH, raise_error(KeyError))
    b = inject(FETCH, corrupt_result(str.upper))
    a.start()
    b.start()
    a.stop()
    assert targets.fetch("k") == "VALUE:K"
    b.stop()
    assert targets.fetch is original
    assert targets.fetch("k") == "value:k"


def test_both_faults_apply_while_both_are_active() -> None:
    """Two active injections on one target both act on each call, the newest outermost."""
    with inject(FETCH, corrupt_result(_tagger(1))), inject(FETCH, corrupt_result(_tagger(2))):
        assert targets.fetch("k") == (("value:k", 1), 2)
    assert targets.fetch("k") == "value:k"


def test_static_method_keeps_its_descriptor_whatever_the_stop_order() -> None:
    """A staticmethod stays the very same descriptor object after out-of-order stops."""
    raw = vars(targets.Cache)["version"]
    a = inject("tests.faults.targets:Cache.version", corrupt_result(_tagger(1))).start()
    b = inject("tests.faults.targets:Cache.version", corrupt_result(_tagger(2))).start()
    assert targets.Cache().version() == ((1, 1), 2)
    a.stop()
    assert targets.Cache.version() == (1, 2)
    b.stop()
    assert vars(targets.Cache)["version"] is raw


MARKED = """
import pytest
from harness.faults import corrupt_result, raise_error

import leaky_target


@pytest.mark.chaos(faults={"leaky_target:fetch": raise_error(LookupError)})
def test_marker_and_fixture_on_one_target(inject_fault):
    inject_fault("leaky_target:fetch", corrupt_result(str.upper))
    with pytest.raises(LookupError):
        leaky_target.fetch("k")


def test_next_test_sees_the_original():
    assert leaky_target.fetch("k") == "value:k"
    assert leaky_target.fetch is leaky_target.ORIGINAL
"""

TARGET = """
def fetch(key):
    return "value:" + key


ORIGINAL = fetch
"""


def test_marker_fault_does_not_leak_past_a_fixture_injection(pytester: pytest.Pytester) -> None:
    """The chaos marker's fault and inject_fault on one target are both gone for the next test."""
    pytester.makepyfile(leaky_target=TARGET, test_marked=MARKED)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:asyncio")
    result.assert_outcomes(passed=2)


# --- the property: random interleavings on shared targets ------------------------------------------

TARGETS = {
    "tests.faults.targets:fetch": lambda: targets.fetch("k"),
    "tests.faults.targets:Cache.get": lambda: targets.Cache().get("k"),
    "tests.faults.targets:Cache.version": lambda: targets.Cache.version(),  # noqa: PLW0108 - read when called
}
_OWNER_AND_NAME = {
    "tests.faults.targets:fetch": (targets, "fetch"),
    "tests.faults.targets:Cache.get": (targets.Cache, "get"),
    "tests.faults.targets:Cache.version": (targets.Cache, "version"),
}


@dataclass(frozen=True)
class _Toggle:
    """A zero-second delay whose draw starts or stops ``injection``: runs before the inner call."""

    injection: Injection

    def sample(self, rng: random.Random) -> float:
        if self.injection.active:
            self.injection.stop()
        else:
            self.injection.start()
        return 0.0


class Boom(Exception):
    """Raised inside a ``with`` block to leave it by an exception."""


class InjectionStacks(RuleBasedStateMachine):
    """Injections started and stopped in any order, by hand, as context managers and from inside calls."""

    injections = Bundle("injections")

    def __init__(self) -> None:
        super().__init__()
        self.raw = {t: vars(owner)[name] for t, (owner, name) in _OWNER_AND_NAME.items()}
        self.plain = {t: call() for t, call in TARGETS.items()}
        self.order: list[Injection] = []  # active injections, in start order
        self.kinds: dict[int, tuple[str, int]] = {}  # id(injection) -> (kind, tag)
        self.created: list[Injection] = []

    @initialize()
    def nothing_is_patched(self) -> None:
        for target in TARGETS:
            owner, name = _OWNER_AND_NAME[target]
            assert vars(owner)[name] is self.raw[target]

    @rule(target=injections, on=st.sampled_from(sorted(TARGETS)), raises=st.booleans())
    def create(self, on: str, raises: bool) -> Injection:
        tag = len(self.created) + 1
        fault = raise_error(lambda: Tagged(tag)) if raises else corrupt_result(_tagger(tag))
        injection = inject(on, fault)
        self.kinds[id(injection)] = ("raise" if raises else "tag", tag)
        self.created.append(injection)
        return injection

    @rule(injection=injections)
    def start(self, injection: Injection) -> None:
        if injection.active:
            with pytest.raises(UsageError, match="already active"):
                injection.start()
            return
        injection.start()
        self.order.append(injection)

    @rule(injection=injections)
    def stop(self, injection: Injection) -> None:
        injection.stop()
        if injection in self.order:
            self.order.remove(injection)

    @rule(injection=injections)
    def block_left_by_an_exception(self, injection: Injection) -> None:
        was_active = injection.active

        def body() -> None:
            with injection:
                self.order.append(injection)
                self.check_composition()
                raise Boom

        with pytest.raises(UsageError if was_active else Boom):
            body()
        if not was_active:
            self.order.remove(injection)

    @rule(toggled=injections, on=st.sampled_from(sorted(TARGETS)))
    def toggle_from_inside_a_call(self, toggled: Injection, on: str) -> None:
        """An injection is started or stopped while a call to ``on`` runs through its stack."""
        expected = self.expected(on)
        with inject(on, add_latency(_Toggle(toggled))):
            self.outcome_is(on, expected)
        if toggled in self.order:
            self.order.remove(toggled)
        else:
            self.order.append(toggled)

    def expected(self, on: str) -> tuple[str, Any]:
        active = [i for i in self.order if i.target == on]
        raisers = [self.kinds[id(i)][1] for i in active if self.kinds[id(i)][0] == "raise"]
        if raisers:
            return "raise", raisers[-1]  # the newest is outermost: its error comes first
        value = self.plain[on]
        for injection in active:
            value = (value, self.kinds[id(injection)][1])
        return "value", value

    def outcome_is(self, on: str, expected: tuple[str, Any]) -> None:
        try:
            got: tuple[str, Any] = ("value", TARGETS[on]())
        except Tagged as exc:
            got = ("raise", exc.tag)
        assert got == expected

    @invariant()
    def check_composition(self) -> None:
        for on in TARGETS:
            owner, name = _OWNER_AND_NAME[on]
            if not any(i.target == on for i in self.order):
                assert vars(owner)[name] is self.raw[on]
            self.outcome_is(on, self.expected(on))

    def teardown(self) -> None:
        for injection in self.created:
            injection.stop()
        for on, (owner, name) in _OWNER_AND_NAME.items():
            assert vars(owner)[name] is self.raw[on]


InjectionStacks.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
test_any_interleaving_restores_the_original = InjectionStacks.TestCase
