"""The condition language: grammar, evaluation, errors with positions, limits, hostile input."""

from __future__ import annotations

import builtins
import contextlib
import inspect
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import conditions
from harness.conditions import Condition, ConditionError, evaluate, parse_condition
from harness.errors import InvalidConfig, UsageError

CTX = {"error_rate": 0.07, "circuit_open": True, "failed_components": 1, "latency_ms": 250, "x": 0}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("error_rate >= 0.05", True),
        ("error_rate < 0.05", False),
        ("latency_ms > 200 and failed_components <= 1", True),
        ("not circuit_open", False),
        ("circuit_open == true", True),
        ("circuit_open != false and x == 0", True),
        ("failed_components >= 2 or circuit_open", True),
        ("not (failed_components >= 2 or x > 0)", True),
        ("x > -1", True),
        ("-0.5 < x", True),
        ("1e2 <= latency_ms", True),
        (".5 > error_rate", True),
        ("false or (true and not false)", True),
        ("x", False),
        ("((((latency_ms))))", True),
        ("latency_ms>200and x==0", True),
    ],
)
def test_evaluates(text: str, expected: bool) -> None:
    """Comparisons, boolean operators, parentheses, literals and variables evaluate as expected."""
    assert evaluate(text, CTX) is expected
    assert parse_condition(text, variables=CTX)(CTX) is expected


def test_precedence_not_binds_tighter_than_and_than_or() -> None:
    """`a or b and not c` is `a or (b and (not c))`."""
    ctx = {"a": False, "b": True, "c": True}
    assert evaluate("a or b and not c", ctx) is False
    assert evaluate("(a or b) and not c", ctx) is False
    assert evaluate("a or b and c", ctx) is True


def test_condition_records_variables() -> None:
    """A parsed condition knows which variables it reads."""
    cond = parse_condition("a > 1 and (b or not c)")
    assert isinstance(cond, Condition)
    assert cond.variables == {"a", "b", "c"}
    assert str(cond) == "a > 1 and (b or not c)"


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("", 0, "empty condition"),
        ("a >", 3, "end of input"),
        ("a > 1 )", 6, "unexpected ')'"),
        ("(a > 1", 6, "expected ')'"),
        ("a = 1", 2, "use '=='"),
        ("a > 1 && b", 6, "use 'and'"),
        ("a.b > 1", 1, "attribute access"),
        ("a < b < c", 6, "chained comparison"),
        ("'x' == a", 0, "strings are not allowed"),
        ("a + 1 > 2", 2, "arithmetic"),
        ("a > - b", 6, "expected a number after '-'"),
        ("a > 1 b", 6, "expected 'and', 'or' or the end"),
        ("and a", 0, "unexpected keyword 'and'"),
    ],
)
def test_syntax_errors_point_at_the_problem(text: str, position: int, fragment: str) -> None:
    """Each error names the problem, its position, and draws a caret under it."""
    with pytest.raises(ConditionError) as info:
        parse_condition(text)
    err = info.value
    assert err.position == position
    assert fragment in str(err)
    assert isinstance(err, UsageError)
    caret_line = str(err).splitlines()[-1]
    assert caret_line.index("^") - 2 == position


def test_variable_whitelist() -> None:
    """Names outside the whitelist are refused, listing the valid ones."""
    with pytest.raises(ConditionError, match="unknown variable 'cpu'; valid: error_rate, latency_ms"):
        parse_condition("cpu > 1", variables=["latency_ms", "error_rate"])


def test_missing_and_bad_context_values() -> None:
    """Evaluation reports unset variables and non-numeric values with their position."""
    cond = parse_condition("x > 1 or y > 2")
    with pytest.raises(ConditionError) as info:
        cond.evaluate({"x": 0})
    assert info.value.position == 9
    assert "context has: x" in str(info.value)
    with pytest.raises(ConditionError, match="numbers and booleans only"):
        cond.evaluate({"x": "7", "y": 1})  # type: ignore[dict-item]
    with pytest.raises(ConditionError, match="cannot order a boolean"):
        evaluate("circuit_open > 0", CTX)


def test_token_limit_default_and_custom() -> None:
    """50 tokens parse by default; the 51st is refused; the limit is configurable and validated."""
    text = " or ".join(["x"] * 25)
    assert len(conditions._tokenize(text, 1000)) - 1 == 49
    parse_condition(text)
    with pytest.raises(ConditionError, match=r"too many tokens \(limit 50\)"):
        parse_condition(text + " or x")
    with pytest.raises(ConditionError, match="limit 3"):
        parse_condition("a > 1 and b", max_tokens=3)
    with pytest.raises(InvalidConfig, match="max_tokens=0"):
        parse_condition("a", max_tokens=0)


HOSTILE = [
    "__import__('os').system('echo pwned')",
    "__import__",
    "_private > 1",
    "a.__class__",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__globals__",
    "eval('1')",
    "exec('import os')",
    "lambda: 1",
    "open('/etc/passwd')",
    "[x for x in ()]",
    "x if y else z",
    "1" * 5000,
    "9" * 33 + " > x",
    "1e999 > x",
    "(" * 1000 + "x" + ")" * 1000,
    "not " * 60 + "x",
    "x > 1; import os",
    "x\x00 > 1",
    "x > 1 # comment",
    "x > 0x10",
    "𝟙 > 0",
    "ｘ > 0",
    "x " * 3000,
    "x > 1\\\n",
    "{}",
    "@x",
    "x ** 1000",
    "`x`",
    "$x",
]


@contextlib.contextmanager
def no_dynamic_code() -> Iterator[list[str]]:
    """While active, eval/exec/compile/__import__ record any use (and refuse it)."""
    used: list[str] = []
    saved = {name: getattr(builtins, name) for name in ("eval", "exec", "compile", "__import__")}

    def forbid(name: str) -> object:
        def forbidden(*args: object, **kwargs: object) -> None:
            used.append(name)
            raise AssertionError(f"{name} called")

        return forbidden

    for name in saved:
        setattr(builtins, name, forbid(name))
    try:
        yield used
    finally:
        for name, fn in saved.items():
            setattr(builtins, name, fn)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_inputs_are_refused(text: str) -> None:
    """Injection attempts, dunder names, huge numbers and deep nesting are all ConditionErrors."""
    with no_dynamic_code() as used:
        try:
            parse_condition(text)
        except ConditionError as exc:
            error: ConditionError | None = exc
        else:
            error = None
    assert used == []
    assert error is not None


def test_module_never_uses_dynamic_code() -> None:
    """The implementation contains no eval, exec, compile or ast."""
    source = inspect.getsource(conditions).replace("_eval(", "").replace("re.compile(", "")
    for word in ("eval(", "exec(", "compile(", "import ast", "__import__(", "getattr("):
        assert word not in source


def test_huge_and_long_inputs_fail_fast() -> None:
    """A megabyte of input is refused by length before it is tokenised."""
    with pytest.raises(ConditionError, match="longer than 2000 characters"):
        parse_condition("x or " * 200_000)


def test_nesting_limit() -> None:
    """Nesting beyond max_depth is refused even when the token limit would allow it."""
    text = "(" * 40 + "x" + ")" * 40
    with pytest.raises(ConditionError, match="nesting deeper than 32"):
        parse_condition(text, max_tokens=200)
    assert parse_condition("(" * 10 + "x" + ")" * 10)({"x": 1})


def _parse_or_error(text: str, variables: set[str] | None = None) -> Condition | ConditionError:
    try:
        return parse_condition(text, variables=variables)
    except ConditionError as exc:
        return exc


TOKENS = st.sampled_from(
    [
        "x",
        "y",
        "_z",
        "1",
        "-",
        "2.5",
        "1e3",
        ">=",
        "<=",
        ">",
        "<",
        "==",
        "!=",
        "and",
        "or",
        "not",
        "(",
        ")",
        "true",
        "false",
        ".",
        "__class__",
        "=",
        "'",
        "[",
        "]",
        "__import__",
        "9" * 40,
        "(",
        ")",
    ]
)


@settings(max_examples=400, deadline=1000)
@given(st.lists(TOKENS, max_size=70), st.booleans())
def test_token_streams_parse_or_raise(tokens: list[str], spaced: bool) -> None:
    """Arbitrary token streams either parse (and evaluate to a bool) or raise ConditionError."""
    text = (" " if spaced else "").join(tokens)
    outcome = _parse_or_error(text, variables={"x", "y"})
    if isinstance(outcome, ConditionError):
        assert 0 <= outcome.position <= len(text)
        return
    assert outcome.variables <= {"x", "y"}
    try:
        result: bool | ConditionError = outcome.evaluate({"x": 1, "y": 2.5})
    except ConditionError as exc:
        result = exc
    assert result in (True, False) or "cannot order a boolean" in str(result)


@settings(max_examples=300, deadline=1000)
@given(st.text(max_size=300))
def test_arbitrary_text_parses_or_raises(text: str) -> None:
    """Any string at all: a Condition or a ConditionError, never another exception."""
    outcome = _parse_or_error(text)
    if isinstance(outcome, ConditionError):
        assert 0 <= outcome.position <= len(text)


def test_public_api_sorted_and_resolves() -> None:
    """__all__ is sorted and complete."""
    assert list(conditions.__all__) == sorted(conditions.__all__)
    for name in conditions.__all__:
        assert getattr(conditions, name) is not None
