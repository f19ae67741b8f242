"""The predicate language of flow guards, `next` conditions, rejections and response conditions.

Rasa evaluates these strings with pypred 0.4; this module reimplements its semantics with a
small tokenizer, a recursive-descent parser and an evaluator over frozen AST nodes. Nothing is
ever passed to `eval`/`exec`.

Semantics worth knowing (all taken from pypred):

* An unquoted word (letters, digits, ``_ - . : ;``) is a lookup into the document:
  ``slots.amount`` is ``document["slots"]["amount"]``; a missing key gives ``undefined``.
* ``and`` and ``or`` share one precedence level and group to the right, so
  ``a and b or c`` means ``a and (b or c)``. ``not`` binds tighter than both.
* Numbers are floats; constants and keywords are case-insensitive; strings take single or
  double quotes and have no escapes; ``#`` starts a comment that runs to the end of the line.
  Only spaces, tabs and newlines separate tokens; sets are written ``{"a" "b"}`` (no commas).
* ``undefined`` equals only ``undefined``/``empty``; ``empty`` equals anything of length 0.
  Ordering comparisons with ``undefined``/``empty`` are false.
* Any error, at parse time or evaluation time, makes the condition false.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sized
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol, cast

from workbench.errors import WorkbenchError

__all__ = [
    "Condition",
    "ConditionSyntaxError",
    "check_syntax",
    "evaluate_condition",
    "parse_condition",
]


class ConditionSyntaxError(WorkbenchError, ValueError):
    """A condition that cannot be parsed; `position` is the 0-based offset in the text."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message, position)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return f"{self.message} (at position {self.position})"


# --- special values -------------------------------------------------------------------------
# Their dunder methods reproduce pypred's, including its asymmetries: `undefined != empty` is
# true while `empty != undefined` is false, and `empty` never equals `null`.


class _Undefined:
    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __contains__(self, item: object) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (_Undefined, _Empty))

    def __ne__(self, other: object) -> bool:
        return not isinstance(other, _Undefined)

    def __hash__(self) -> int:
        return hash(None)

    def __repr__(self) -> str:
        return "undefined"


class _Empty:
    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (_Empty, _Undefined)):
            return True
        if not isinstance(other, Sized):
            return False
        return len(other) == 0

    def __hash__(self) -> int:
        return hash(None)

    def __repr__(self) -> str:
        return "empty"


_UNDEFINED: object = _Undefined()
_EMPTY: object = _Empty()


class _EvalError(Exception):
    """An expression that pypred accepts but that always fails when evaluated."""


# --- tokenizer ------------------------------------------------------------------------------

_NUMBER = "number"
_STRING = "string"  # quoted
_WORD = "word"  # unquoted: a lookup
_KEYWORD = "keyword"
_OP = "op"
_LPAREN, _RPAREN, _LBRACE, _RBRACE = "(", ")", "{", "}"
_END = "end"

_KEYWORDS = frozenset(
    {"and", "or", "not", "is", "contains", "matches", "true", "false", "null", "undefined", "empty"}
)
_CONSTANTS: dict[str, object] = {
    "true": True,
    "false": False,
    "null": None,
    "undefined": _UNDEFINED,
    "empty": _EMPTY,
}

# Alternatives are tried in order, as pypred's lexer does: a number wins over a word, so
# `5abc` is the number 5 followed by the word `abc`, while `.5` is a word (a lookup).
_TOKEN_RE = re.compile(
    r"""
    (?P<skip>[ \t\n]+|\#[^\n]*)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<word>[\w\-.:;]+)
  | (?P<string>"[^"]*"|'[^']*')
  | (?P<op>>=|<=|==|!=|>|<|=)
  | (?P<punct>[(){}])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    length = len(text)
    while position < length:
        match = _TOKEN_RE.match(text, position)
        if match is None:
            char = text[position]
            if char in "\"'":
                raise ConditionSyntaxError("unterminated string", position)
            raise ConditionSyntaxError(f"unexpected character {char!r}", position)
        group = match.lastgroup
        value = match.group()
        if group == "word":
            lowered = value.lower()
            if lowered in _KEYWORDS:
                tokens.append(_Token(_KEYWORD, lowered, position))
            else:
                tokens.append(_Token(_WORD, value, position))
        elif group == "punct":
            tokens.append(_Token(value, value, position))
        elif group != "skip":
            tokens.append(_Token(str(group), value, position))
        position = match.end()
    tokens.append(_Token(_END, "", length))
    return tokens


# --- AST ------------------------------------------------------------------------------------


class _Node:
    __slots__ = ()

    def eval(self, document: Mapping[str, object]) -> object:
        raise NotImplementedError

    def children(self) -> tuple[_Node, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class _Literal(_Node):
    """A string, number, `true`/`false`/`null`, or the `undefined`/`empty` constant."""

    value: object

    def eval(self, document: Mapping[str, object]) -> object:
        return self.value

    @property
    def is_special(self) -> bool:
        return isinstance(self.value, (_Undefined, _Empty))


@dataclass(frozen=True, slots=True)
class _Name(_Node):
    name: str
    parts: tuple[str, ...]

    def eval(self, document: Mapping[str, object]) -> object:
        # pypred tries the whole name as a key first, then walks the dotted parts. The walk
        # uses `in` and `[]` on whatever it meets, so stepping into a non-mapping (None, a
        # string, a list) raises, which makes the whole condition false.
        if self.name in document:
            return document[self.name]
        if len(self.parts) < 2:
            return _UNDEFINED
        node: object = document
        for part in self.parts:
            walked = cast(_Lookup, node)  # as pypred does: a non-mapping raises here
            if part not in walked:
                return _UNDEFINED
            node = walked[part]
        return node


@dataclass(frozen=True, slots=True)
class _Set(_Node):
    items: tuple[_Node, ...]

    def eval(self, document: Mapping[str, object]) -> object:
        values = []
        for item in self.items:
            # pypred takes the raw value of each item, which only names and plain literals
            # have; anything else parses but fails at evaluation.
            if isinstance(item, _Name) or (isinstance(item, _Literal) and not item.is_special):
                values.append(item.eval(document))
            else:
                raise _EvalError("set items must be literals or names")
        return frozenset(values)

    def children(self) -> tuple[_Node, ...]:
        return self.items


class _Lookup(Protocol):
    """What the walk of a dotted name treats each value it meets as."""

    def __contains__(self, key: object, /) -> bool: ...

    def __getitem__(self, key: str, /) -> object: ...


class _Ordered(Protocol):
    """What an ordering comparison treats its left side as: one that is not raises
    TypeError, which makes the condition false."""

    def __gt__(self, other: object, /) -> object: ...

    def __ge__(self, other: object, /) -> object: ...

    def __lt__(self, other: object, /) -> object: ...

    def __le__(self, other: object, /) -> object: ...


def _greater(left: object, right: object) -> object:
    return cast(_Ordered, left) > right


def _greater_or_equal(left: object, right: object) -> object:
    return cast(_Ordered, left) >= right


def _less(left: object, right: object) -> object:
    return cast(_Ordered, left) < right


def _less_or_equal(left: object, right: object) -> object:
    return cast(_Ordered, left) <= right


def _equal(left: object, right: object) -> object:
    return left == right


def _not_equal(left: object, right: object) -> object:
    return left != right


_COMPARISONS: dict[str, Callable[[object, object], object]] = {
    "=": _equal,
    "!=": _not_equal,
    ">": _greater,
    ">=": _greater_or_equal,
    "<": _less,
    "<=": _less_or_equal,
}


@dataclass(frozen=True, slots=True)
class _Compare(_Node):
    op: str
    left: _Node
    right: _Node
    function: Callable[[object, object], object] = field(repr=False, compare=False)
    ordering: bool = field(repr=False, compare=False)

    def eval(self, document: Mapping[str, object]) -> object:
        left = self.left.eval(document)
        right = self.right.eval(document)
        if self.ordering and (
            isinstance(left, (_Undefined, _Empty)) or isinstance(right, (_Undefined, _Empty))
        ):
            return False
        return self.function(left, right)

    def children(self) -> tuple[_Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True)
class _Contains(_Node):
    left: _Node
    right: _Node

    def eval(self, document: Mapping[str, object]) -> object:
        container = self.left.eval(document)
        if not hasattr(container, "__contains__"):
            return False
        return self.right.eval(document) in container

    def children(self) -> tuple[_Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True)
class _Matches(_Node):
    left: _Node
    pattern: re.Pattern[str]

    def eval(self, document: Mapping[str, object]) -> object:
        value = self.left.eval(document)
        if not isinstance(value, str):
            return False
        return self.pattern.search(value) is not None

    def children(self) -> tuple[_Node, ...]:
        return (self.left,)


@dataclass(frozen=True, slots=True)
class _Not(_Node):
    operand: _Node

    def eval(self, document: Mapping[str, object]) -> object:
        return not self.operand.eval(document)

    def children(self) -> tuple[_Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True)
class _Logic(_Node):
    """`o0 op0 o1 op1 o2 ...` grouped to the right: `o0 op0 (o1 op1 (o2 ...))`.

    A flat chain evaluated left to right with short-circuiting gives exactly that grouping
    without recursing once per operator.
    """

    operands: tuple[_Node, ...]
    is_and: tuple[bool, ...]  # one per operator; False means `or`

    def eval(self, document: Mapping[str, object]) -> object:
        # One operand more than operators: the last one is evaluated after the loop.
        for operand, is_and in zip(self.operands, self.is_and, strict=False):
            if operand.eval(document):
                if not is_and:
                    return True
            elif is_and:
                return False
        return bool(self.operands[-1].eval(document))

    def children(self) -> tuple[_Node, ...]:
        return self.operands


# --- parser ---------------------------------------------------------------------------------

# Parentheses and `not` nest; the cap keeps the recursive parser and evaluator far from
# Python's recursion limit. Real conditions nest a handful of levels at most.
_MAX_DEPTH = 50


def _describe(token: _Token) -> str:
    return "end of condition" if token.kind == _END else repr(token.text)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != _END:
            self.index += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        token = self.tokens[self.index]
        return token.kind == _KEYWORD and token.text in words

    def nest(self, position: int) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ConditionSyntaxError("condition is nested too deeply", position)

    def unexpected(self, token: _Token) -> ConditionSyntaxError:
        if token.kind == _END:
            if self.index == 0:
                return ConditionSyntaxError("empty condition", 0)
            previous = self.tokens[self.index - 1]
            return ConditionSyntaxError(
                f"unexpected end of condition after {previous.text!r}", token.position
            )
        return ConditionSyntaxError(f"unexpected {token.text!r}", token.position)

    def parse(self) -> _Node:
        node = self.expression()
        token = self.peek()
        if token.kind == _RPAREN:
            raise ConditionSyntaxError("unmatched ')'", token.position)
        if token.kind != _END:
            raise self.unexpected(token)
        # pypred rejects a tree whose root is falsy, i.e. a bare `undefined`, `empty` or `{}`.
        if (isinstance(node, _Literal) and node.is_special) or (
            isinstance(node, _Set) and not node.items
        ):
            raise ConditionSyntaxError(
                "a bare 'undefined', 'empty' or '{}' is not a condition", self.tokens[0].position
            )
        return node

    def expression(self) -> _Node:
        operands = [self.unary()]
        is_and: list[bool] = []
        while self.at_keyword("and", "or"):
            is_and.append(self.advance().text == "and")
            operands.append(self.unary())
        if not is_and:
            return operands[0]
        return _Logic(tuple(operands), tuple(is_and))

    def unary(self) -> _Node:
        if not self.at_keyword("not"):
            return self.term()
        token = self.advance()
        self.nest(token.position)
        node = _Not(self.unary())
        self.depth -= 1
        return node

    def term(self) -> _Node:
        left = self.factor()
        token = self.peek()
        if token.kind == _OP:
            self.advance()
            op = "=" if token.text == "==" else token.text
            return self.comparison(op, left, self.factor())
        if token.kind != _KEYWORD:
            return left
        if token.text == "is":
            self.advance()
            negated = self.at_keyword("not")
            if negated:
                self.advance()
            return self.comparison("!=" if negated else "=", left, self.factor())
        if token.text == "contains":
            self.advance()
            operand_token = self.peek()
            right = self.factor()
            literal = isinstance(right, _Literal) and not right.is_special
            if not (literal or isinstance(right, _Name)):
                raise ConditionSyntaxError(
                    "'contains' needs a string, number, constant or name on its right",
                    operand_token.position,
                )
            return _Contains(left, right)
        if token.text == "matches":
            self.advance()
            operand_token = self.peek()
            return _Matches(left, self.regex(self.factor(), operand_token))
        return left

    @staticmethod
    def comparison(op: str, left: _Node, right: _Node) -> _Compare:
        return _Compare(op, left, right, _COMPARISONS[op], op not in ("=", "!="))

    @staticmethod
    def regex(node: _Node, token: _Token) -> re.Pattern[str]:
        # pypred takes the operand's source text (quoted string or bare word, never a lookup)
        # and strips every quote character from both ends.
        if isinstance(node, _Name):
            source = node.name
        elif isinstance(node, _Literal) and isinstance(node.value, str):
            source = node.value
        else:
            raise ConditionSyntaxError(
                "'matches' needs a regular expression string on its right", token.position
            )
        try:
            return re.compile(source.strip("'\""))
        except Exception as error:  # re.error, or OverflowError/RecursionError on odd input
            raise ConditionSyntaxError(
                f"invalid regular expression: {error}", token.position
            ) from None

    def factor(self) -> _Node:
        token = self.peek()
        kind = token.kind
        if kind == _NUMBER:
            self.advance()
            return _Literal(float(token.text))
        if kind == _STRING:
            self.advance()
            return _Literal(token.text[1:-1])
        if kind == _WORD:
            self.advance()
            return _Name(token.text, tuple(token.text.split(".")))
        if kind == _KEYWORD and token.text in _CONSTANTS:
            self.advance()
            return _Literal(_CONSTANTS[token.text])
        if kind == _LPAREN:
            self.advance()
            self.nest(token.position)
            node = self.expression()
            closing = self.peek()
            if closing.kind == _END:
                raise ConditionSyntaxError("unclosed '('", token.position)
            if closing.kind != _RPAREN:
                raise ConditionSyntaxError(
                    f"expected ')' but found {_describe(closing)}", closing.position
                )
            self.advance()
            self.depth -= 1
            return node
        if kind == _LBRACE:
            return self.set_literal()
        raise self.unexpected(token)

    def set_literal(self) -> _Set:
        opening = self.advance()
        self.nest(opening.position)
        items: list[_Node] = []
        while True:
            token = self.peek()
            if token.kind == _RBRACE:
                self.advance()
                break
            if token.kind == _END:
                raise ConditionSyntaxError("unclosed '{'", opening.position)
            item = self.factor()
            # pypred builds a set of the item nodes, and its set node is unhashable.
            if isinstance(item, _Set):
                raise ConditionSyntaxError("sets cannot be nested", token.position)
            items.append(item)
        self.depth -= 1
        return _Set(tuple(items))


def _collect_names(root: _Node) -> frozenset[str]:
    names: set[str] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if isinstance(node, _Name):
            names.add(node.name)
        pending.extend(node.children())
    return frozenset(names)


# --- public API -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """A parsed condition; evaluate it as often as needed."""

    text: str
    _root: _Node = field(repr=False, compare=False)
    _names: frozenset[str] = field(repr=False, compare=False)

    def evaluate(self, document: Mapping[str, object]) -> bool:
        """Evaluate against e.g. ``{"slots": {...}, "context": {...}}``; errors give False."""
        try:
            return bool(self._root.eval(document))
        except Exception:
            return False

    def lookups(self) -> frozenset[str]:
        """Every name the condition looks up, e.g. ``{"slots.amount", "context.collect"}``."""
        return self._names

    def slot_names(self) -> frozenset[str]:
        """Slots referenced as ``slots.<name>`` (the first segment after ``slots.``)."""
        return frozenset(
            part
            for name in self._names
            if name.startswith("slots.") and (part := name.split(".", 2)[1])
        )


@lru_cache(maxsize=4096)
def _parse_cached(text: str) -> Condition | ConditionSyntaxError:
    try:
        root = _Parser(text).parse()
    except ConditionSyntaxError as error:
        return error
    except RecursionError:
        return ConditionSyntaxError("condition is nested too deeply", 0)
    return Condition(text, root, _collect_names(root))


def parse_condition(text: str) -> Condition:
    """Parse `text`, raising ConditionSyntaxError on invalid syntax. Results are cached."""
    if not isinstance(text, str):
        raise ConditionSyntaxError(f"condition must be a string, not {type(text).__name__}", 0)
    result = _parse_cached(text)
    if isinstance(result, ConditionSyntaxError):
        # A fresh instance, so the cached one does not collect a traceback per raise.
        raise ConditionSyntaxError(result.message, result.position) from None
    return result


def check_syntax(text: object) -> ConditionSyntaxError | None:
    """The syntax error in `text`, or None if it parses."""
    if not isinstance(text, str):
        return ConditionSyntaxError(f"condition must be a string, not {type(text).__name__}", 0)
    result = _parse_cached(text)
    return result if isinstance(result, ConditionSyntaxError) else None


def evaluate_condition(condition: object, document: Mapping[str, object]) -> bool:
    """Evaluate a guard as written in YAML: no condition is true, a bool is itself, a string
    is parsed (cached) and evaluated; a syntax or evaluation error is false."""
    if condition is None:
        return True
    if isinstance(condition, bool):
        return condition
    if not isinstance(condition, str):
        return False
    result = _parse_cached(condition)
    if isinstance(result, ConditionSyntaxError):
        return False
    return result.evaluate(document)
