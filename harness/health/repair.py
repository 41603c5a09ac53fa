"""``AutoRepair``: run repair actions when health rules hold, with cooldowns and attempt limits.

A :class:`RepairRule` pairs a condition over the health context (``"open_circuits >= 1"``,
``"redis_status == 2 and score < 50"``, in the condition language of
:mod:`harness.conditions`, or a Python predicate) with an action: any callable, sync or async
(restart a component, reset a breaker, clear a cache, switch a fallback mode).

Each evaluation pass (:meth:`AutoRepair.evaluate`, or every monitor round after
:meth:`AutoRepair.attach`) goes through the rules in order. A rule whose condition holds is
attempted unless it is cooling down (less than ``cooldown`` seconds on the clock since its last
attempt) or exhausted (``max_attempts`` consecutive attempts without the condition clearing).
When the condition stops holding, the attempt count resets; the cooldown does not, so a
flapping component is not restarted in a tight loop. Every attempt, and the moment a rule gives
up, is recorded as a :class:`RepairResult`. The decision (:meth:`AutoRepair.plan`) is separate
from the execution, and actions run one at a time, in rule order.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness._checks import integer, invalid, within
from harness.clock import Clock, SystemClock
from harness.errors import InvalidConfig
from harness.health.sinks import MetricSink, NoOpSink

if TYPE_CHECKING:
    from harness.journal import Journal

__all__ = ["AutoRepair", "RepairOutcome", "RepairResult", "RepairRule", "RuleState"]

Predicate = Callable[[Mapping[str, float]], bool]


class RepairOutcome(enum.Enum):
    """What happened when a rule was due."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    GAVE_UP = "gave_up"  # the rule reached max_attempts; it waits for the condition to clear


def _compile(text: str) -> Predicate:
    from harness.conditions import parse_condition

    condition = parse_condition(text)
    return condition.evaluate


@dataclass(frozen=True, slots=True, kw_only=True)
class RepairRule:
    """When (``when``) to run which repair (``action``), how often, and how many times."""

    name: str
    when: str | Predicate  # condition text, or a predicate over the context
    action: Callable[[], object]  # sync or async; a raise (or the timeout) is a failed attempt
    cooldown: float = 60.0  # seconds between two attempts of this rule
    max_attempts: int = 3  # consecutive attempts before giving up until the condition clears
    timeout: float | None = 30.0  # seconds an async action may take; None: unbounded
    predicate: Predicate = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise invalid("name", self.name, "a non-empty string", "name the repair rule")
        if not callable(self.action):
            raise invalid("action", self.action, "callable", f"repair rule {self.name!r} calls it to repair")
        self._check_limits()
        predicate = _compile(self.when) if isinstance(self.when, str) else self.when
        if not callable(predicate):
            raise invalid(
                "when",
                self.when,
                "condition text or a predicate",
                f"the trigger of repair rule {self.name!r}",
            )
        object.__setattr__(self, "predicate", predicate)

    def _check_limits(self) -> None:
        rule = f"of repair rule {self.name!r}"
        within("cooldown", self.cooldown, "[0, inf]", f"0: no cooldown {rule}", unit="seconds")
        integer("max_attempts", self.max_attempts, f"attempts {rule} before it gives up", at_least=1)
        if self.timeout is not None:
            within("timeout", self.timeout, "(0, inf]", f"or None for no limit {rule}", unit="seconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class RepairResult:
    """One recorded attempt (or the moment a rule gave up)."""

    rule: str
    outcome: RepairOutcome
    attempt: int
    at: float
    duration: float = 0.0
    error: str = ""
    value: Any = None  # what the action returned


@dataclass(slots=True)
class RuleState:
    """A rule's bookkeeping: consecutive attempts, when it last ran, whether it gave up."""

    attempts: int = 0
    last_attempt: float | None = None
    exhausted: bool = False


class AutoRepair:
    """Evaluates repair rules against health contexts and runs the due actions.

    Results go to :meth:`results`, to the sink as ``repair_results{rule, outcome}`` and, with a
    ``journal``, to the journal as ``repair`` events.
    """

    def __init__(
        self,
        rules: Iterable[RepairRule] = (),
        *,
        clock: Clock | None = None,
        sink: MetricSink | None = None,
        history: int = 1000,
        journal: Journal | None = None,
    ) -> None:
        integer("history", history, "repair events kept", at_least=1)
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.sink: MetricSink = sink if sink is not None else NoOpSink()
        self.journal = journal
        self._rules: dict[str, RepairRule] = {}
        self._states: dict[str, RuleState] = {}
        self._results: deque[RepairResult] = deque(maxlen=history)
        for rule in rules:
            self.add_rule(rule)

    def add_rule(self, rule: RepairRule) -> None:
        """Add ``rule``; names are unique."""
        if rule.name in self._rules:
            raise InvalidConfig(f"a repair rule named {rule.name!r} exists; use unique names.", field="name")
        self._rules[rule.name] = rule
        self._states[rule.name] = RuleState()

    @property
    def rules(self) -> tuple[str, ...]:
        """Rule names in evaluation order."""
        return tuple(self._rules)

    def state(self, name: str) -> RuleState:
        """A copy of the rule's bookkeeping."""
        state = self._states[name]
        return RuleState(state.attempts, state.last_attempt, state.exhausted)

    def reset(self, name: str) -> None:
        """Forget the rule's attempts (and give-up), e.g. after a manual fix; the cooldown stays."""
        state = self._states[name]
        state.attempts, state.exhausted = 0, False

    def results(self, *, rule: str | None = None) -> list[RepairResult]:
        """Recorded results, oldest first (optionally for one rule)."""
        return [r for r in self._results if rule is None or r.rule == rule]

    def plan(self, context: Mapping[str, float], now: float) -> tuple[list[RepairRule], list[RepairResult]]:
        """Decide, without side effects on the world: the rules to attempt now, and give-up records.

        Updates only the bookkeeping: attempt counts reset for rules whose condition is false.
        """
        due: list[RepairRule] = []
        gave_up: list[RepairResult] = []
        for name, rule in self._rules.items():
            state = self._states[name]
            if not rule.predicate(context):
                state.attempts, state.exhausted = 0, False
                continue
            if state.attempts >= rule.max_attempts:
                if not state.exhausted:
                    state.exhausted = True
                    gave_up.append(
                        RepairResult(rule=name, outcome=RepairOutcome.GAVE_UP, attempt=state.attempts, at=now)
                    )
                continue
            if state.last_attempt is not None and now - state.last_attempt < rule.cooldown:
                continue
            due.append(rule)
        return due, gave_up

    async def _attempt(self, rule: RepairRule) -> RepairResult:
        state = self._states[rule.name]
        state.attempts += 1
        start = self.clock.now()
        state.last_attempt = start
        outcome, error, value = RepairOutcome.SUCCEEDED, "", None
        try:
            async with asyncio.timeout(rule.timeout):
                value = rule.action()
                if inspect.isawaitable(value):
                    value = await value
        except TimeoutError:
            outcome, error = RepairOutcome.TIMED_OUT, f"timed out after {rule.timeout:g}s"
        except Exception as exc:  # noqa: BLE001 - a failed repair is recorded as a result, not raised
            outcome, error = RepairOutcome.FAILED, f"{type(exc).__name__}: {exc}"
        return RepairResult(
            rule=rule.name,
            outcome=outcome,
            attempt=state.attempts,
            at=start,
            duration=self.clock.now() - start,
            error=error,
            value=value,
        )

    def _record(self, result: RepairResult) -> None:
        self._results.append(result)
        self.sink.counter("repair_results", 1.0, {"rule": result.rule, "outcome": result.outcome.value})
        if self.journal is not None:
            self.journal.record(
                result.at,
                "repair",
                result.rule,
                outcome=result.outcome.value,
                attempt=result.attempt,
                error=result.error,
            )

    async def evaluate(self, context: Mapping[str, float]) -> list[RepairResult]:
        """One pass: attempt every due rule in order; returns what was recorded in this pass."""
        due, recorded = self.plan(context, self.clock.now())
        for result in recorded:
            self._record(result)
        for rule in due:
            result = await self._attempt(rule)
            self._record(result)
            recorded.append(result)
        return recorded

    def attach(self, monitor: Any) -> Callable[[], None]:
        """Evaluate after every round of ``monitor`` with ``report.context()``; returns the detach."""

        async def on_report(report: Any) -> None:
            await self.evaluate(report.context())

        detach: Callable[[], None] = monitor.subscribe(on_report)
        return detach

    def __repr__(self) -> str:
        return f"AutoRepair(rules={list(self._rules)!r}, results={len(self._results)})"
