"""A tiny condition language for rules in configuration files.

    parse_condition("error_rate >= 0.05 and not (circuit_open or failed_components < 2)")

Comparisons (``>= <= > < == !=``), ``and`` / ``or`` / ``not``, parentheses, numbers (with an
optional leading ``-``), ``true`` / ``false`` and variable names. Nothing else: no attribute
access, calls, indexing, arithmetic or strings. The text is tokenised with one regular
expression and parsed by recursive descent into a small tree of frozen dataclasses; nothing is
ever passed to ``eval``, ``exec``, ``compile`` or Python's ``ast``.

Limits keep untrusted input cheap: at most ``max_tokens`` tokens (50 by default), at most
``max_length`` characters, number literals of at most 32 characters and finite, nesting at most
``max_depth``. Names starting with ``_`` are refused. Every error is a :class:`ConditionError`
whose ``position`` points at the offending character, and whose message draws a caret under it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Union

from harness._checks import integer
from harness.errors import UsageError

__all__ = [
    "And",
    "Compare",
    "Condition",
    "ConditionError",
    "Literal",
    "Node",
    "Not",
    "Or",
    "Variable",
    "evaluate",
    "parse_condition",
]

Value = float | int | bool

_MAX_NUMBER_CHARS = 32
_TOKEN = re.compile(
    r"(?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>>=|<=|==|!=|>|<)"
    r"|(?P<lparen>\()"
    r"|(?P<rparen>\))"
    r"|(?P<minus>-)",
    re.ASCII,
)
_SPACE = re.compile(r"[ \t\r\n]*")
_KEYWORDS = {"and", "or", "not", "true", "false"}
_HINTS = {
    ".": "attribute access is not allowed; use a plain variable name",
    "=": "use '==' to compare for equality",
    "!": "use 'not' for negation and '!=' for inequality",
    "&": "use 'and'",
    "|": "use 'or'",
    "[": "indexing is not allowed",
    "'": "strings are not allowed; compare numbers or booleans",
    '"': "strings are not allowed; compare numbers or booleans",
    "+": "arithmetic is not allowed; compare a variable with a number",
    "*": "arithmetic is not allowed; compare a variable with a number",
    "/": "arithmetic is not allowed; compare a variable with a number",
}


class ConditionError(UsageError):
    """A condition could not be parsed or evaluated; ``position`` is the offending character."""

    def __init__(self, problem: str, *, text: str, position: int) -> None:
        shown = text if len(text) <= 120 else text[:117] + "..."
        caret = " " * min(position, len(shown)) + "^"
        message = f"{problem} at position {position} in condition:\n  {shown}\n  {caret}"
        super().__init__(message)
        self.fields.update(text=text, position=position, problem=problem)
        self.text = text
        self.position = position
        self.problem = problem


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    pos: int


@dataclass(frozen=True, slots=True)
class Literal:
    """A number or boolean constant."""

    value: Value
    pos: int


@dataclass(frozen=True, slots=True)
class Variable:
    """A whitelisted name, looked up in the evaluation context."""

    name: str
    pos: int


@dataclass(frozen=True, slots=True)
class Compare:
    """``left op right`` for op in ``>= <= > < == !=``."""

    op: str
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True, slots=True)
class Not:
    """``not operand``."""

    operand: Node
    pos: int


@dataclass(frozen=True, slots=True)
class And:
    """All of ``operands`` (short-circuit)."""

    operands: tuple[Node, ...]
    pos: int


@dataclass(frozen=True, slots=True)
class Or:
    """Any of ``operands`` (short-circuit)."""

    operands: tuple[Node, ...]
    pos: int


Node = Union[Literal, Variable, Compare, Not, And, Or]  # noqa: UP007 - a runtime alias of forward refs
"""A node of a parsed condition."""


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed condition: its source ``text``, its tree and the ``variables`` it reads."""

    text: str
    root: Node
    variables: frozenset[str] = field(default_factory=frozenset)

    def evaluate(self, context: Mapping[str, Value]) -> bool:
        """True or false for ``context`` (every variable must be present and a number or bool)."""
        return bool(_eval(self.root, context, self.text))

    __call__ = evaluate

    def __str__(self) -> str:
        return self.text


def _tokenize(text: str, max_tokens: int) -> list[_Token]:
    tokens: list[_Token] = []
    pos = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            hint = _HINTS.get(ch, "only numbers, names, comparisons, and/or/not and parentheses are allowed")
            raise ConditionError(f"unexpected character {ch!r} ({hint})", text=text, position=pos)
        kind = m.lastgroup
        assert kind is not None
        tokens.append(_Token(kind, m.group(), pos))
        if len(tokens) > max_tokens:
            raise ConditionError(
                f"too many tokens (limit {max_tokens}); split the rule or raise max_tokens",
                text=text,
                position=pos,
            )
        pos = _SPACE.match(text, m.end()).end()  # type: ignore[union-attr]
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    """Recursive descent over the token list; depth is bounded by ``max_depth``."""

    def __init__(
        self, text: str, tokens: list[_Token], allowed: frozenset[str] | None, max_depth: int
    ) -> None:
        self.text = text
        self.tokens = tokens
        self.i = 0
        self.allowed = allowed
        self.max_depth = max_depth
        self.depth = 0
        self.names: set[str] = set()

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, problem: str, tok: _Token) -> ConditionError:
        return ConditionError(problem, text=self.text, position=tok.pos)

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "name" and tok.text == word

    def parse(self) -> Node:
        node = self.parse_or()
        tok = self.peek()
        if tok.kind != "end":
            raise self.error(f"unexpected {_describe(tok)}; expected 'and', 'or' or the end", tok)
        return node

    def nested(self, tok: _Token) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise self.error(f"nesting deeper than {self.max_depth} levels", tok)

    def parse_or(self) -> Node:
        first = self.peek()
        parts = [self.parse_and()]
        while self.is_word("or"):
            self.take()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else Or(tuple(parts), first.pos)

    def parse_and(self) -> Node:
        first = self.peek()
        parts = [self.parse_not()]
        while self.is_word("and"):
            self.take()
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else And(tuple(parts), first.pos)

    def parse_not(self) -> Node:
        if self.is_word("not"):
            tok = self.take()
            self.nested(tok)
            node = Not(self.parse_not(), tok.pos)
            self.depth -= 1
            return node
        return self.parse_compare()

    def parse_compare(self) -> Node:
        left = self.parse_operand()
        tok = self.peek()
        if tok.kind != "op":
            return left
        self.take()
        right = self.parse_operand()
        after = self.peek()
        if after.kind == "op":
            raise self.error("chained comparison; write 'a < b and b < c'", after)
        return Compare(tok.text, left, right, tok.pos)

    def parse_operand(self) -> Node:
        tok = self.take()
        if tok.kind == "lparen":
            self.nested(tok)
            node = self.parse_or()
            close = self.take()
            if close.kind != "rparen":
                found = _describe(close)
                raise self.error(f"expected ')' to close the '(' at position {tok.pos}, found {found}", close)
            self.depth -= 1
            return node
        if tok.kind == "minus":
            num = self.take()
            if num.kind != "num":
                raise self.error(f"expected a number after '-', found {_describe(num)}", num)
            return Literal(-self.number(num), tok.pos)
        if tok.kind == "num":
            return Literal(self.number(tok), tok.pos)
        if tok.kind == "name":
            return self.name(tok)
        raise self.error(f"unexpected {_describe(tok)}; expected a number, a name or '('", tok)

    def number(self, tok: _Token) -> float | int:
        if len(tok.text) > _MAX_NUMBER_CHARS:
            raise self.error(f"number literal longer than {_MAX_NUMBER_CHARS} characters", tok)
        if tok.text.isascii() and tok.text.isdigit():
            return int(tok.text)
        value = float(tok.text)
        if not math.isfinite(value):
            raise self.error(f"number {tok.text} is out of range", tok)
        return value

    def name(self, tok: _Token) -> Node:
        word = tok.text
        if word == "true":
            return Literal(True, tok.pos)
        if word == "false":
            return Literal(False, tok.pos)
        if word in _KEYWORDS:
            raise self.error(f"unexpected keyword {word!r}; expected a number, a name or '('", tok)
        if word.startswith("_"):
            raise self.error(f"name {word!r} is not allowed (names may not start with '_')", tok)
        if self.allowed is not None and word not in self.allowed:
            valid = ", ".join(sorted(self.allowed)) or "(none)"
            raise self.error(f"unknown variable {word!r}; valid: {valid}", tok)
        self.names.add(word)
        return Variable(word, tok.pos)


def _describe(tok: _Token) -> str:
    return "end of input" if tok.kind == "end" else repr(tok.text)


def parse_condition(
    text: str,
    *,
    variables: Collection[str] | None = None,
    max_tokens: int = 50,
    max_length: int = 2000,
    max_depth: int = 32,
) -> Condition:
    """Parse ``text`` into a :class:`Condition`; raise :class:`ConditionError` if it is not one.

    ``variables``, when given, is the whitelist of names the condition may use.
    """
    for name, limit in (("max_tokens", max_tokens), ("max_length", max_length), ("max_depth", max_depth)):
        integer(name, limit, "a limit of at least one", at_least=1)
    given: object = text
    if not isinstance(given, str):
        kind = type(given).__name__
        raise ConditionError(f"a condition must be a string, not {kind}", text=repr(text), position=0)
    if len(text) > max_length:
        raise ConditionError(
            f"condition longer than {max_length} characters; simplify it", text=text, position=max_length
        )
    tokens = _tokenize(text, max_tokens)
    if tokens[0].kind == "end":
        raise ConditionError("empty condition; write for example 'error_rate > 0.05'", text=text, position=0)
    allowed = frozenset(variables) if variables is not None else None
    parser = _Parser(text, tokens, allowed, max_depth)
    root = parser.parse()
    return Condition(text, root, frozenset(parser.names))


def _number(value: Value, node: Node, text: str) -> float | int:
    if isinstance(value, bool):
        raise ConditionError("cannot order a boolean; use '==' or '!='", text=text, position=node.pos)
    return value


def _compare(node: Compare, context: Mapping[str, Value], text: str) -> bool:
    left = _eval(node.left, context, text)
    right = _eval(node.right, context, text)
    op = node.op
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    a, b = _number(left, node.left, text), _number(right, node.right, text)
    if op == ">=":
        return a >= b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a < b


def _lookup(node: Variable, context: Mapping[str, Value], text: str) -> Value:
    try:
        value = context[node.name]
    except KeyError:
        known = ", ".join(sorted(context)) or "(none)"
        raise ConditionError(
            f"variable {node.name!r} is not set; context has: {known}", text=text, position=node.pos
        ) from None
    if not isinstance(value, int | float) or (isinstance(value, float) and math.isnan(value)):
        raise ConditionError(
            f"variable {node.name!r} is {value!r}; conditions compare numbers and booleans only",
            text=text,
            position=node.pos,
        )
    return value


def _eval(node: Node, context: Mapping[str, Value], text: str) -> Value:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Variable):
        return _lookup(node, context, text)
    if isinstance(node, Compare):
        return _compare(node, context, text)
    if isinstance(node, Not):
        return not _eval(node.operand, context, text)
    if isinstance(node, And):
        return all(_eval(op, context, text) for op in node.operands)
    return any(_eval(op, context, text) for op in node.operands)


def evaluate(condition: Condition | str, context: Mapping[str, Value]) -> bool:
    """Evaluate a parsed condition (or parse ``condition`` first) against ``context``."""
    if not isinstance(condition, Condition):
        condition = parse_condition(condition, variables=context.keys())
    return condition.evaluate(context)
