"""``select --where``: a small condition language of our own, parsed and checked before anything runs.

A pandas query is Python: ``@clips.to_csv('/any/file')`` or a walk through ``__globals__`` runs
code, so a condition typed by a user (or pasted from someone else's script) is never handed to
pandas, ``eval`` or ``ast``. This module tokenizes and parses it by hand (recursive descent),
checks every column name and the type of every operand against the frame, bounds its cost
(length, nesting, nodes), and only then evaluates it, vectorised, with numpy.

The language::

    condition  := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum [("==" | "!=" | "<" | "<=" | ">" | ">=") sum | ["not"] "in" "[" literal ("," literal)* "]"]
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/" | "%") unary)*
    unary      := "-" unary | atom
    atom       := NUMBER | 'string' | "string" | true | false | column | `odd column name` | "(" or ")"

Types: numbers (any numeric column), strings (text columns) and booleans. Arithmetic takes numbers;
``<`` and the like take two numbers; ``==``/``!=`` two of the same type; ``and``/``or``/``not``
take booleans. A null (a missing value) is unknown, and unknown stays unknown through ``and``,
``or`` and ``not`` (``false and unknown`` is false): a row is kept only where the condition is
known to hold. A division by zero is unknown too.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError

MAX_LENGTH = 1000  # characters
MAX_DEPTH = 30  # nested operators and parentheses
MAX_NODES = 300  # operands, operators and list items

NUM, STR, BOOL = "number", "string", "boolean"
COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")
ARITHMETIC = ("+", "-", "*", "/", "%")
KEYWORDS = {"and", "or", "not", "in", "true", "false"}
PUNCTUATION = COMPARISONS + ARITHMETIC + ("(", ")", "[", "]", ",")
# Operators people bring from pandas or Python, and what to write instead.
HINTS = {"&": "and", "|": "or", "~": "not", "=": "==", "!": "not", "&&": "and", "||": "or", "**": "*"}


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "string", "name", "keyword", "op", "end"
    text: str
    value: object
    at: int  # character offset, for messages


@dataclass(frozen=True)
class Node:
    op: str  # "column", "literal", "list", "neg", "not", "and", "or", "in", "not in", or an operator
    args: tuple = ()
    value: object = None
    at: int = 0


def where_mask(frame: pd.DataFrame, expression: str, option: str = "--where") -> np.ndarray:
    """The rows of ``frame`` where ``expression`` is known to hold, or InputError naming what is wrong."""
    tree = parse(expression, option)
    kind = check(tree, frame, expression, option)
    if kind != BOOL:
        raise InputError(f"{option} {expression!r} is not a condition on each row (it gives a {kind}); "
                         "compare it, e.g. --where 'duration < 4'")
    with np.errstate(all="ignore"):  # division by zero gives inf/nan, made unknown below
        values, unknown = _evaluate(tree, frame)
    return np.broadcast_to(values & ~unknown, (len(frame),)).copy()


# -- tokens ---------------------------------------------------------------------------------------

def tokenize(text: str, option: str = "--where") -> list[Token]:
    if len(text) > MAX_LENGTH:
        raise InputError(f"{option}: the condition is {len(text)} characters long; at most {MAX_LENGTH} are read")
    tokens, i = [], 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif c.isdigit() or (c == "." and text[i + 1:i + 2].isdigit()):
            j = i
            while j < len(text) and (text[j].isdigit() or text[j] == "."):
                j += 1
            if j < len(text) and text[j] in "eE":
                k = j + 1 + (text[j + 1:j + 2] in ("+", "-"))
                if text[k:k + 1].isdigit():
                    j = k
                    while j < len(text) and text[j].isdigit():
                        j += 1
            if j < len(text) and (text[j].isalnum() or text[j] in "_."):
                raise _syntax(text, option, j, f"unexpected {text[j]!r} in the number {text[i:j + 1]!r}")
            try:
                value = float(text[i:j])
            except ValueError:
                raise _syntax(text, option, i, f"{text[i:j]!r} is not a number") from None
            tokens.append(Token("number", text[i:j], value, i))
            i = j
        elif c in "'\"":
            j, chars = i + 1, []
            while j < len(text) and text[j] != c:
                if text[j] == "\\" and j + 1 < len(text) and text[j + 1] in (c, "\\"):
                    j += 1  # only the quote and the backslash are escaped; nothing else is interpreted
                chars.append(text[j])
                j += 1
            if j >= len(text):
                raise _syntax(text, option, i, "a string is not closed (a quote is missing)")
            tokens.append(Token("string", text[i:j + 1], "".join(chars), i))
            i = j + 1
        elif c == "`":
            j = text.find("`", i + 1)
            if j < 0:
                raise _syntax(text, option, i, "a `column name` is not closed")
            tokens.append(Token("name", text[i:j + 1], text[i + 1:j], i))
            i = j + 1
        elif c.isalpha() or c == "_":
            j = i
            while j < len(text) and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            kind = "keyword" if word.lower() in KEYWORDS else "name"
            tokens.append(Token(kind, word, word.lower() if kind == "keyword" else word, i))
            i = j
        else:
            two = text[i:i + 2]
            op = two if two in PUNCTUATION else c if c in PUNCTUATION else None
            if op is None or two in HINTS:
                bad = two if two in HINTS else c
                hint = f"; write {HINTS[bad]!r}" if bad in HINTS else ""
                raise _syntax(text, option, i, f"{bad!r} is not part of the condition language{hint}")
            tokens.append(Token("op", op, op, i))
            i += len(op)
    tokens.append(Token("end", "", None, len(text)))
    return tokens


# -- parsing --------------------------------------------------------------------------------------

def parse(text: str, option: str = "--where") -> Node:
    """The condition's tree; InputError for anything outside the language or over the bounds."""
    parser = _Parser(text, tokenize(text, option), option)
    tree = parser.or_()
    if parser.peek().kind != "end":
        token = parser.peek()
        raise _syntax(text, option, token.at, f"unexpected {token.text!r}")
    return tree


class _Parser:
    def __init__(self, text: str, tokens: list[Token], option: str):
        self.text, self.tokens, self.option = text, tokens, option
        self.i = self.depth = self.nodes = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.i += 1
        return token

    def is_(self, kind: str, *texts: str) -> bool:
        token = self.peek()
        return token.kind == kind and (not texts or token.value in texts)

    def node(self, op: str, args: tuple = (), value=None, at: int = 0) -> Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise InputError(f"{self.option}: the condition has more than {MAX_NODES} parts; split it or "
                             "use --corpus/--split/--speaker")
        return Node(op, args, value, at)

    def nested(self, rule):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise InputError(f"{self.option}: the condition nests deeper than {MAX_DEPTH} levels; simplify it")
        try:
            return rule()
        finally:
            self.depth -= 1

    def or_(self) -> Node:
        left = self.and_()
        while self.is_("keyword", "or"):
            at = self.take().at
            left = self.node("or", (left, self.nested(self.and_)), at=at)
        return left

    def and_(self) -> Node:
        left = self.not_()
        while self.is_("keyword", "and"):
            at = self.take().at
            left = self.node("and", (left, self.nested(self.not_)), at=at)
        return left

    def not_(self) -> Node:
        if self.is_("keyword", "not"):
            at = self.take().at
            return self.node("not", (self.nested(self.not_),), at=at)
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum()
        if self.is_("op", *COMPARISONS):
            token = self.take()
            right = self.nested(self.sum)
            if self.is_("op", *COMPARISONS):
                raise _syntax(self.text, self.option, self.peek().at,
                              "chained comparisons are not read; join them with 'and'")
            return self.node(token.value, (left, right), at=token.at)
        if self.is_("keyword", "in") or (self.is_("keyword", "not") and self.peek(1).value == "in"):
            at = self.peek().at
            op = "in"
            if self.take().value == "not":  # "not in": its "in" follows
                self.take()
                op = "not in"
            return self.node(op, (left, self.literal_list()), at=at)
        return left

    def literal_list(self) -> Node:
        start = self.peek()
        if not self.is_("op", "["):
            raise _syntax(self.text, self.option, start.at, "'in' takes a list of values, e.g. in ['ravdess', 'tess']")
        self.take()
        items = []
        while True:
            negative = self.is_("op", "-") and self.take() is not None
            token = self.take()
            if token.kind == "number":
                items.append(-token.value if negative else token.value)
            elif token.kind == "string" and not negative:
                items.append(token.value)
            elif token.kind == "keyword" and token.value in ("true", "false") and not negative:
                items.append(token.value == "true")
            else:
                raise _syntax(self.text, self.option, token.at,
                              f"a list after 'in' holds numbers, strings or true/false, not {token.text or 'the end'!r}")
            self.node("literal")
            if self.is_("op", "]"):
                self.take()
                break
            if not self.is_("op", ","):
                raise _syntax(self.text, self.option, self.peek().at, "expected ',' or ']' in the list")
            self.take()
        return Node("list", value=tuple(items), at=start.at)

    def sum(self) -> Node:
        left = self.product()
        while self.is_("op", "+", "-"):
            token = self.take()
            left = self.node(token.value, (left, self.nested(self.product)), at=token.at)
        return left

    def product(self) -> Node:
        left = self.unary()
        while self.is_("op", "*", "/", "%"):
            token = self.take()
            left = self.node(token.value, (left, self.nested(self.unary)), at=token.at)
        return left

    def unary(self) -> Node:
        if self.is_("op", "-"):
            at = self.take().at
            return self.node("neg", (self.nested(self.unary),), at=at)
        return self.atom()

    def atom(self) -> Node:
        token = self.take()
        if token.kind in ("number", "string"):
            return self.node("literal", value=token.value, at=token.at)
        if token.kind == "keyword" and token.value in ("true", "false"):
            return self.node("literal", value=token.value == "true", at=token.at)
        if token.kind == "name":
            return self.node("column", value=token.value, at=token.at)
        if token.kind == "op" and token.value == "(":
            inner = self.nested(self.or_)
            if not self.is_("op", ")"):
                raise _syntax(self.text, self.option, self.peek().at, "expected ')'")
            self.take()
            return inner
        what = "the end" if token.kind == "end" else repr(token.text)
        raise _syntax(self.text, self.option, token.at, f"expected a column, a number or a string, not {what}")


def _syntax(text: str, option: str, at: int, why: str) -> InputError:
    where = "at the end" if at >= len(text) else f"at character {at + 1}"
    return InputError(f"{option} {text!r}: {why} ({where}); see `python -m aggregate select --help`")


# -- checking -------------------------------------------------------------------------------------

def column_type(series: pd.Series) -> str | None:
    """The condition language's type of a column, or None when it has none."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return BOOL
    if pd.api.types.is_numeric_dtype(series.dtype):
        return NUM
    if pd.api.types.is_string_dtype(series.dtype):
        if series.dtype == object and not series.map(lambda v: isinstance(v, str) or v is None or v is pd.NA
                                                       or (isinstance(v, float) and np.isnan(v))).all():
            return None
        return STR
    return None


def _literal_type(value) -> str:
    return BOOL if isinstance(value, bool) else STR if isinstance(value, str) else NUM


def check(node: Node, frame: pd.DataFrame, text: str, option: str = "--where") -> str:
    """The type ``node`` gives, after checking every column it names and every operand's type."""
    def refuse(why: str) -> InputError:
        return InputError(f"{option} {text!r}: {why} (at character {node.at + 1})")

    if node.op == "column":
        if node.value not in frame.columns:
            raise refuse(f"no column {node.value!r}; the columns are {', '.join(map(str, frame.columns))}")
        kind = column_type(frame[node.value])
        if kind is None:
            raise refuse(f"column {node.value!r} holds {frame[node.value].dtype} values, which a condition cannot use")
        return kind
    if node.op == "literal":
        return _literal_type(node.value)
    if node.op == "list":  # the literals after 'in', checked there against what they are compared with
        return "list"
    kinds = [check(arg, frame, text, option) for arg in node.args]
    if node.op == "neg":
        if kinds[0] != NUM:
            raise refuse(f"'-' takes a number, not a {kinds[0]}")
        return NUM
    if node.op == "not":
        if kinds[0] != BOOL:
            raise refuse(f"'not' takes a condition, not a {kinds[0]}")
        return BOOL
    if node.op in ("and", "or"):
        for kind in kinds:
            if kind != BOOL:
                raise refuse(f"'{node.op}' joins conditions, not a {kind}; compare it, e.g. n_labels > 1")
        return BOOL
    if node.op in ARITHMETIC:
        if kinds != [NUM, NUM]:
            raise refuse(f"'{node.op}' takes two numbers, not a {kinds[0]} and a {kinds[1]}")
        return NUM
    if node.op in ("in", "not in"):
        wrong = [v for v in node.args[1].value if _literal_type(v) != kinds[0]]
        if wrong:
            raise refuse(f"'{node.op}' compares a {kinds[0]} with {wrong[0]!r}, a {_literal_type(wrong[0])}")
        return BOOL
    if node.op in COMPARISONS:
        if kinds[0] != kinds[1]:
            raise refuse(f"'{node.op}' compares a {kinds[0]} with a {kinds[1]}")
        if node.op not in ("==", "!=") and kinds[0] != NUM:
            raise refuse(f"'{node.op}' orders numbers, not {kinds[0]}s; use == or in [...]")
        return BOOL
    raise refuse(f"unknown operator {node.op!r}")  # not reached: the parser makes no other node


# -- evaluating -----------------------------------------------------------------------------------

def _column(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    unknown = series.isna().to_numpy(bool)
    kind = column_type(series)
    if kind == NUM:
        return series.to_numpy(dtype="float64", na_value=np.nan), unknown
    if kind == BOOL:
        return series.to_numpy(dtype=bool, na_value=False), unknown
    return series.astype(object).where(~unknown, "").to_numpy(object), unknown


def _evaluate(node: Node, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(values, unknown) arrays of the frame's length, or scalars for a constant."""
    if node.op == "column":
        return _column(frame[node.value])
    if node.op == "literal":
        return np.asarray(node.value, dtype=object if isinstance(node.value, str) else None), np.False_
    if node.op in ("in", "not in"):
        values, unknown = _evaluate(node.args[0], frame)
        member = np.asarray(pd.Series(np.atleast_1d(values)).isin(list(node.args[1].value)).to_numpy(bool))
        member = member.reshape(np.shape(values))
        return (member if node.op == "in" else ~member), unknown
    args = [_evaluate(arg, frame) for arg in node.args]
    if node.op == "neg":
        return -args[0][0], args[0][1]
    if node.op == "not":
        return ~args[0][0], args[0][1]
    (a, a_unknown), (b, b_unknown) = args
    if node.op in ("and", "or"):
        a_true, a_false = a & ~a_unknown, ~a & ~a_unknown
        b_true, b_false = b & ~b_unknown, ~b & ~b_unknown
        true, false = (a_true & b_true, a_false | b_false) if node.op == "and" else (a_true | b_true, a_false & b_false)
        return true, ~(true | false)
    unknown = a_unknown | b_unknown
    if node.op in ARITHMETIC:
        result = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide, "%": np.fmod}[node.op](
            a.astype("float64"), b.astype("float64"))
        return result, unknown | ~np.isfinite(result)
    compare = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
               ">": np.greater, ">=": np.greater_equal}[node.op]
    return np.asarray(compare(a, b), dtype=bool), unknown
