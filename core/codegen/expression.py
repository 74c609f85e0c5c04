"""Functions of x typed in a prompt ("sin(x)", "x^2 - 2x", "e^(-x^2)").

The composer never pastes a user's expression into the generated code.
It parses it with a tiny grammar (numbers, ``x``, ``pi``, ``e``, ``+ - * / ^``,
brackets and a few named functions) into a tree, then *writes* the Python,
the TeX label and the plain-text label from that tree; anything outside the
grammar is simply not a function. The same tree evaluates with ``math`` so
the composer can pick the axes' ranges and refuse ranges where the function
is undefined before anything renders.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Expr", "parse_expression"]

# name in prompts -> (numpy call, TeX macro, math function)
_FUNCS: dict[str, tuple[str, str, Callable[[float], float]]] = {
    "sin": ("np.sin", r"\sin", math.sin),
    "cos": ("np.cos", r"\cos", math.cos),
    "tan": ("np.tan", r"\tan", math.tan),
    "exp": ("np.exp", "", math.exp),
    "log": ("np.log", r"\ln", math.log),
    "ln": ("np.log", r"\ln", math.log),
    "sqrt": ("np.sqrt", "", math.sqrt),
    "abs": ("np.abs", "", abs),
}
_MAX_TOKENS = 200  # a function, not an essay; also bounds the parser's recursion
_MAX_NESTING = 40  # Python's own parser refuses code nested much deeper
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([a-z]+)|(\*\*|[-+*/^()]))")


@dataclass(frozen=True)
class Expr:
    """A parsed function of x: how to run it, typeset it and say it."""

    python: str  # an expression in x using np.*, e.g. "np.sin(x)"
    tex: str     # e.g. r"\sin(x)"
    plain: str   # e.g. "sin(x)"
    _eval: Callable[[float], float]
    uses_log_or_sqrt: bool

    def __call__(self, x: float) -> float:
        try:
            y = self._eval(x)
        except (ValueError, ZeroDivisionError, OverflowError):
            return math.nan
        return y if isinstance(y, float) or isinstance(y, int) else math.nan


@dataclass(frozen=True)
class _Node:
    python: str
    tex: str
    plain: str
    fn: Callable[[float], float]
    atomic: bool  # needs no brackets when it is an operand
    bare_tex: str = ""  # the TeX without the brackets the user typed, where grouping makes them redundant

    @property
    def inner_tex(self) -> str:
        return self.bare_tex or self.tex


def parse_expression(text: str) -> Expr | None:
    """Parse ``text`` as a function of x, or return None if it is not one."""
    source = text.strip().lower().replace("·", "*").replace("×", "*").replace("−", "-")
    source = source.replace("²", "^2").replace("³", "^3")
    tokens: list[str] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None or match.end() == pos:
            if source[pos:].strip() == "":
                break
            return None
        tokens.extend(_split_word(match.group(0).strip()) if match.group(2) else [match.group(0).strip()])
        pos = match.end()
    if not tokens or tokens.count("x") == 0 or len(tokens) > _MAX_TOKENS:
        return None
    parser = _Parser(["^" if t == "**" else t for t in tokens])
    try:
        node = parser.expr()
    except (_NotAnExpression, RecursionError):  # deeply nested brackets are not worth plotting
        return None
    if parser.pos != len(parser.tokens) or _nesting(node.python) > _MAX_NESTING:
        return None
    uses = any(t in ("log", "ln", "sqrt") for t in tokens)
    return Expr(python=node.python, tex=node.tex, plain=node.plain, _eval=node.fn, uses_log_or_sqrt=uses)


def _nesting(code: str) -> int:
    depth = deepest = 0
    for char in code:
        depth += {"(": 1, ")": -1}.get(char, 0)
        deepest = max(deepest, depth)
    return deepest


def _split_word(word: str) -> list[str]:
    """'xsin' or '2x' style runs: split a letter run into known names."""
    out: list[str] = []
    rest = word
    while rest:
        for name in sorted([*_FUNCS, "pi", "x", "e"], key=len, reverse=True):
            if rest.startswith(name):
                out.append(name)
                rest = rest[len(name):]
                break
        else:
            return [word]  # unknown word: the parser will refuse it
    return out


class _NotAnExpression(Exception):
    pass


class _Parser:
    """expr := term (+|- term)*; term := unary ((*|/|implicit) unary)*;
    unary := - unary | power; power := atom (^ unary)?"""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise _NotAnExpression
        self.pos += 1
        return token

    def expr(self) -> _Node:
        node = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            right = self.term()
            node = _binary(op, node, right)
        return node

    def term(self) -> _Node:
        node = self.unary()
        while True:
            token = self.peek()
            if token in ("*", "/"):
                self.take()
                node = _binary(token, node, self.unary())
            elif token is not None and (token in ("(", "x", "pi", "e") or token in _FUNCS or token[0].isdigit()):
                node = _binary("implicit", node, self.unary())
            else:
                return node

    def unary(self) -> _Node:
        if self.peek() == "-":
            self.take()
            inner = self.unary()
            wrapped = inner if inner.atomic else _paren(inner)
            return _Node(f"(-{wrapped.python})", f"-{inner.tex}", f"-{wrapped.plain}",
                         _compose(operator.neg, inner.fn), False)
        return self.power()

    def power(self) -> _Node:
        base = self.atom()
        if self.peek() != "^":
            return base
        self.take()
        exponent = self.unary()
        b = base if base.atomic else _paren(base)
        e_plain = exponent.plain if exponent.atomic else f"({exponent.plain})"
        return _Node(f"({b.python} ** {exponent.python})", f"{{{b.tex}}}^{{{exponent.inner_tex}}}",
                     f"{b.plain}^{e_plain}", _combine(lambda a, b: a ** b, base.fn, exponent.fn), True)

    def atom(self) -> _Node:
        token = self.take()
        if token[0].isdigit():
            value = float(token)
            return _Node(repr(value), token, token, _constant(value), True)
        if token == "x":
            return _Node("x", "x", "x", _identity, True)
        if token == "pi":
            return _Node("np.pi", r"\pi", "π", _constant(math.pi), True)
        if token == "e":
            if self.peek() == "^":  # e^(...) is exp(...)
                self.take()
                exponent = self.unary()
                return _Node(f"np.exp({exponent.python})", f"e^{{{exponent.inner_tex}}}",
                             f"e^({exponent.plain})", _compose(math.exp, exponent.fn), True)
            return _Node("np.e", "e", "e", _constant(math.e), True)
        if token in _FUNCS:
            call, macro, fn = _FUNCS[token]
            arg = self.bracketed() if self.peek() == "(" else self.power()
            inner = arg.inner_tex
            if token == "sqrt":
                tex = rf"\sqrt{{{inner}}}"
            elif token == "abs":
                tex = rf"\left|{inner}\right|"
            elif token == "exp":
                tex = f"e^{{{inner}}}"
            elif r"\frac" in inner:  # tall arguments get brackets that grow with them
                tex = rf"{macro}\left({inner}\right)"
            else:
                tex = f"{macro}({inner})"
            return _Node(f"{call}({arg.python})", tex, f"{token}({arg.plain})", _compose(fn, arg.fn), True)
        if token == "(":
            self.pos -= 1
            return self.bracketed()
        raise _NotAnExpression

    def bracketed(self) -> _Node:
        self.take("(")
        inner = self.expr()
        self.take(")")
        return _paren(inner)


def _paren(node: _Node) -> _Node:
    if node.atomic:
        return node
    return _Node(f"({node.python})", rf"\left({node.tex}\right)", f"({node.plain})", node.fn, True, node.tex)


def _binary(op: str, left: _Node, right: _Node) -> _Node:
    if op in ("+", "-"):
        fn = _combine(operator.add if op == "+" else operator.sub, left.fn, right.fn)
        return _Node(f"{left.python} {op} {right.python}", f"{left.tex} {op} {right.tex}",
                     f"{left.plain} {op} {right.plain}", fn, False)
    lhs = left if left.atomic else _paren(left)
    rhs = right if right.atomic else _paren(right)
    if op == "/":
        return _Node(f"{lhs.python} / {rhs.python}", rf"\frac{{{left.tex}}}{{{right.tex}}}",
                     f"{lhs.plain}/{rhs.plain}", _combine(operator.truediv, left.fn, right.fn), True)
    both_numbers = lhs.tex[:1].isdigit() and rhs.tex[:1].isdigit()
    tex = rf"{lhs.tex} \cdot {rhs.tex}" if both_numbers else f"{lhs.tex} {rhs.tex}"
    plain = f"{lhs.plain}·{rhs.plain}" if both_numbers else f"{lhs.plain}{rhs.plain}"
    return _Node(f"{lhs.python} * {rhs.python}", tex, plain, _combine(operator.mul, left.fn, right.fn), False)


Fn = Callable[[float], float]


def _identity(x: float) -> float:
    return x


def _constant(value: float) -> Fn:
    def fn(x: float) -> float:
        return value
    return fn


def _compose(outer: Callable[[float], float], inner: Fn) -> Fn:
    def fn(x: float) -> float:
        return outer(inner(x))
    return fn


def _combine(op: Callable[[float, float], float], left: Fn, right: Fn) -> Fn:
    def fn(x: float) -> float:
        return op(left(x), right(x))
    return fn
