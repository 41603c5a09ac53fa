"""Hostile JSON and YAML are usage errors naming the file and line, never a crash."""

from __future__ import annotations

import pytest

from harness.errors import InvalidConfig, InvalidInput, InvalidScenario
from harness.inputs import MAX_NESTING, check_nesting, parse_json, parse_yaml


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, 1, "nests deeper than 64 levels"),
        ('{"a": 1,\n "b": ' + "[" * 70 + "]" * 70 + "}", None, "nests deeper than 64 levels"),
        (
            '{"samples":\n [1, 2, ' + "9" * 500 + "]}",
            2,
            "integer of 500 digits is beyond the range of a float",
        ),
        ('{"t":\n\n 1e999}', 3, "1e999 is beyond the range of a float"),
        ('{"t": NaN}', 1, "NaN is not a JSON number"),
        ('{"t": -Infinity}', 1, "-Infinity is not a JSON number"),
        ('{"t": 1,\n "u": }', 2, "not JSON"),
    ],
    ids=["deep", "deeper-than-the-limit", "500-digit-int", "1e999", "nan", "infinity", "syntax"],
)
def test_bad_json_is_invalid_input_with_file_and_line(text: str, line: int | None, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        parse_json(text, source="bench.json")
    assert caught.value.path == "bench.json"
    assert caught.value.line == line
    prefix = "bench.json" if line is None else f"bench.json:{line}"
    assert str(caught.value).startswith(prefix + ": ")


def test_a_json_lines_line_is_located_in_its_file() -> None:
    """For one line of a JSON Lines file, errors name the file's line, not the text's."""
    with pytest.raises(InvalidInput, match=r"^journal\.jsonl:41: "):
        parse_json('{"t": NaN}', source="journal.jsonl", line=41)


def test_json_at_the_nesting_limit_and_big_finite_numbers_are_accepted() -> None:
    nested = "[" * MAX_NESTING + "]" * MAX_NESTING
    assert parse_json(nested, source="x") is not None
    assert parse_json('{"n": ' + "9" * 300 + ', "x": 1e300}', source="x")["x"] == 1e300


@pytest.mark.parametrize(
    ("text", "line", "location", "message"),
    [
        ("a:\n  b: " + "[" * 5000 + "]" * 5000, 2, None, "nests deeper than 64 levels"),
        ("a:\n  b: " + "[" * 70 + "]" * 70, 2, "a.b.0.0...", "nests deeper than 64 levels"),
        ("a: 1\nrate: " + "9" * 500 + "\n", 2, "rate", "integer of 500 digits"),
        ("a: 1\nlist:\n  - 1\n  - .inf\n", 4, "list.1", "'.inf' is not a finite number"),
        ("a: 1\nb: .nan\n", 2, "b", "'.nan' is not a finite number"),
        ("a: [\n", 2, None, "YAML syntax error"),
    ],
    ids=["deep", "deeper-than-the-limit", "500-digit-int", "inf", "nan", "syntax"],
)
def test_bad_yaml_is_invalid_input_with_file_line_and_field(
    text: str, line: int, location: str | None, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        parse_yaml(text, source="s.yaml")
    assert (caught.value.path, caught.value.line, caught.value.location) == ("s.yaml", line, location)


def test_yaml_aliases_are_checked_once_each() -> None:
    """A billion-laughs document costs linear time to check (each shared node once)."""
    text = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(9)
    )
    value, root = parse_yaml(text, source="laughs.yaml")
    assert root is not None
    assert value["j"][0][0][0][0][0][0][0][0][0][0] == 1  # 9 levels of 9 aliases, then a


def test_the_error_class_can_be_the_callers() -> None:
    """The scenario loader gets InvalidScenario; every InvalidInput is an InvalidConfig (a usage error)."""
    with pytest.raises(InvalidScenario):
        parse_yaml("a: .inf", source="s.yaml", error=InvalidScenario)
    with pytest.raises(InvalidConfig):
        parse_json("[", source="x.json")


def test_nesting_of_decoded_values_is_checked_without_recursion() -> None:
    value: list[object] = []
    for _ in range(10_000):
        value = [value]
    with pytest.raises(InvalidInput, match="nests deeper"):
        check_nesting(value, source="built")
