"""Symbols: feed an op's local derivative names instead of numbers and read back its formula."""

from __future__ import annotations

import math

from .text import constant_text, latex_name, latex_number

__all__ = ["Symbol", "local_formulas"]

# Precedence: how tightly each kind binds (higher binds tighter).
_SUM, _PRODUCT, _NEGATION, _POWER, _ATOM = 1, 2, 3, 4, 5
_PRECEDENCE = {"+": _SUM, "-": _SUM, "*": _PRODUCT, "/": _PRODUCT, "neg": _NEGATION,
               "**": _POWER, "name": _ATOM, "number": _ATOM, "call": _ATOM}
_LATEX_FUNCTIONS = {"exp": r"\exp", "log": r"\log", "sin": r"\sin", "cos": r"\cos",
                    "tanh": r"\tanh", "sigmoid": r"\sigma", "relu": r"\operatorname{relu}",
                    "step": r"\operatorname{step}", "sign": r"\operatorname{sign}"}


class Symbol:
    """A name (`x`), a number, or an expression of them, built with the usual operators.

    Feeding symbols to an op's local derivative gives its formula:
    `node.local(Symbol("x"), Symbol("o"))` for tanh is `(1 - o) * (1 + o)`.
    """

    __slots__ = ("kind", "args")

    def __init__(self, name: str, *, _kind: str = "name", _args: tuple = ()) -> None:
        self.kind = _kind
        self.args = _args if _kind != "name" else (name,)

    # -- building ------------------------------------------------------------------------------

    @staticmethod
    def _lift(x) -> Symbol:
        if isinstance(x, Symbol):
            return x
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            return Symbol("", _kind="number", _args=(float(x),))
        raise TypeError(f"a formula takes symbols and numbers, got {type(x).__name__}")

    def _number(self) -> float | None:
        return self.args[0] if self.kind == "number" else None

    @classmethod
    def _make(cls, kind: str, *args) -> Symbol:
        args = tuple(cls._lift(a) for a in args)
        numbers = [a._number() for a in args]
        if all(n is not None for n in numbers):           # fold constants: 2 * 3 -> 6
            a, b = (numbers + [None])[:2]
            folded = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
                      "/": lambda: a / b if b else None, "**": lambda: _power(a, b),
                      "neg": lambda: -a}[kind]()
            if folded is not None:
                return cls._lift(folded)
        if kind in ("+", "-", "*", "/", "**"):
            a, b = args
            na, nb = numbers
            if kind == "+" and na == 0.0:
                return b
            if kind in ("+", "-") and nb == 0.0:
                return a
            if kind == "-" and na == 0.0:
                return cls._make("neg", b)
            if kind == "*" and (na == 0.0 or nb == 0.0):
                return cls._lift(0.0)
            if kind == "*" and na == 1.0:
                return b
            if kind in ("*", "/") and nb == 1.0:
                return a
            if kind == "*" and na == -1.0:
                return cls._make("neg", b)
            if kind == "**" and nb == 1.0:
                return a
        if kind == "neg" and args[0].kind == "neg":
            return args[0].args[0]
        return Symbol("", _kind=kind, _args=args)

    def _call(self, function: str) -> Symbol:
        return Symbol("", _kind="call", _args=(function, self))

    def __add__(self, other): return Symbol._make("+", self, other)
    def __radd__(self, other): return Symbol._make("+", other, self)
    def __sub__(self, other): return Symbol._make("-", self, other)
    def __rsub__(self, other): return Symbol._make("-", other, self)
    def __mul__(self, other): return Symbol._make("*", self, other)
    def __rmul__(self, other): return Symbol._make("*", other, self)
    def __truediv__(self, other): return Symbol._make("/", self, other)
    def __rtruediv__(self, other): return Symbol._make("/", other, self)
    def __pow__(self, other): return Symbol._make("**", self, other)
    def __rpow__(self, other): return Symbol._make("**", other, self)
    def __neg__(self): return Symbol._make("neg", self)

    def exp(self): return self._call("exp")
    def log(self): return self._call("log")
    def sin(self): return self._call("sin")
    def cos(self): return self._call("cos")
    def tanh(self): return self._call("tanh")
    def sigmoid(self): return self._call("sigmoid")
    def relu(self): return self._call("relu")
    def sqrt(self): return self._call("sqrt")
    def abs(self): return self._call("abs")
    def step(self): return self._call("step")
    def sign(self): return self._call("sign")

    # -- reading ------------------------------------------------------------------------------

    @property
    def precedence(self) -> int:
        if self.kind == "number" and self.args[0] < 0:
            return _NEGATION
        return _PRECEDENCE[self.kind]

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"Symbol({self.text()!r})"

    def text(self) -> str:
        """Plain text, Python-like: (1 - o) * (1 + o), x ** 2, cos(x)."""
        kind, args = self.kind, self.args
        if kind == "name":
            return args[0]
        if kind == "number":
            return constant_text(args[0])
        if kind == "call":
            return f"{args[0]}({args[1].text()})"
        if kind == "neg":
            return "-" + args[0]._wrap(_NEGATION, "text", strict=True)
        a, b = args
        mine = _PRECEDENCE[kind]
        if kind == "**":
            return f"{a._wrap(mine, 'text', strict=True)} ** {b._wrap(mine, 'text')}"
        return f"{a._wrap(mine, 'text')} {kind} {b._wrap(mine, 'text', strict=kind in '-/')}"

    def latex(self) -> str:
        r"""LaTeX: (1 - o)(1 + o), x^{2}, \frac{1}{x}, \cos(x)."""
        kind, args = self.kind, self.args
        if kind == "name":
            return latex_name(args[0])
        if kind == "number":
            return latex_number(constant_text(args[0]))
        if kind == "call":
            function, inner = args
            if function == "sqrt":
                return rf"\sqrt{{{inner.latex()}}}"
            if function == "abs":
                return rf"\lvert {inner.latex()} \rvert"
            return rf"{_LATEX_FUNCTIONS[function]}({inner.latex()})"
        if kind == "neg":
            return "-" + args[0]._wrap(_NEGATION, "latex", strict=True)
        a, b = args
        if kind == "/":
            return rf"\frac{{{a.latex()}}}{{{b.latex()}}}"
        if kind == "**":
            return f"{a._wrap(_POWER, 'latex', strict=True)}^{{{b.latex()}}}"
        if kind == "*":
            return rf"{a._wrap(_PRODUCT, 'latex')} \cdot {b._wrap(_PRODUCT, 'latex')}"
        return f"{a._wrap(_SUM, 'latex')} {kind} {b._wrap(_SUM, 'latex', strict=kind == '-')}"

    def _wrap(self, outer: int, how: str, strict: bool = False) -> str:
        """Self as text or LaTeX, in parentheses when it binds more loosely than `outer`."""
        inner = self.text() if how == "text" else self.latex()
        loose = self.precedence < outer or (strict and self.precedence == outer)
        if how == "latex" and self.kind == "/" and outer != _POWER:
            loose = False                     # \frac needs no parentheses
        return f"({inner})" if loose else inner


def _power(a: float, b: float) -> float | None:
    try:
        result = a ** b
    except (ArithmeticError, ValueError):
        return None
    return result if isinstance(result, float) and math.isfinite(result) else None


def local_formulas(op_local, parent_names: list[str], out_name: str) -> tuple[Symbol, ...] | None:
    """An op's local derivatives as formulas in the given names, or None when its local
    derivative cannot take symbols (e.g. one written with math.exp)."""
    if op_local is None:
        return None
    try:
        formulas = op_local(*(Symbol(n) for n in parent_names), Symbol(out_name))
        return tuple(Symbol._lift(f) for f in formulas)
    except (TypeError, AttributeError, ValueError, ArithmeticError):
        return None
