"""Every op with its domain, as hypothesis strategies, and how PyTorch spells it (for the tests)."""

from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import strategies as st


def reals(lo: float, hi: float, away_from_zero: float = 0.0):
    """Floats in [lo, hi], optionally at least `away_from_zero` from 0 (kinks, poles)."""
    values = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    if away_from_zero:
        values = values.filter(lambda x: abs(x) >= away_from_zero)
    return values


@dataclass(frozen=True)
class Case:
    name: str
    ours: Callable          # Values -> Value, one op
    theirs: Callable        # torch tensors -> tensor, the same op
    domain: tuple           # one strategy per argument


ANY = reals(-10, 10)
CASES = [
    Case("+", lambda a, b: a + b, lambda a, b: a + b, (ANY, ANY)),
    Case("-", lambda a, b: a - b, lambda a, b: a - b, (ANY, ANY)),
    Case("*", lambda a, b: a * b, lambda a, b: a * b, (ANY, ANY)),
    Case("/", lambda a, b: a / b, lambda a, b: a / b, (ANY, reals(-10, 10, 1e-2))),
    Case("neg", lambda a: -a, lambda a: -a, (ANY,)),
    Case("** 2", lambda a: a ** 2, lambda a: a ** 2, (ANY,)),
    Case("** 3", lambda a: a ** 3, lambda a: a ** 3, (ANY,)),
    Case("** -1", lambda a: a ** -1, lambda a: a ** -1, (reals(-10, 10, 1e-2),)),
    Case("** -3", lambda a: a ** -3, lambda a: a ** -3, (reals(-5, 5, 1e-1),)),
    Case("** 0.5", lambda a: a ** 0.5, lambda a: a ** 0.5, (reals(1e-2, 100),)),
    Case("** -1.5", lambda a: a ** -1.5, lambda a: a ** -1.5, (reals(1e-2, 100),)),
    Case("** 2.7", lambda a: a ** 2.7, lambda a: a ** 2.7, (reals(1e-2, 10),)),
    Case("** Value", lambda a, b: a ** b, lambda a, b: a ** b, (reals(1e-2, 10), reals(-3, 3))),
    Case("exp", lambda a: a.exp(), lambda a: a.exp(), (reals(-50, 50),)),
    Case("log", lambda a: a.log(), lambda a: a.log(), (reals(1e-3, 1e3),)),
    Case("tanh", lambda a: a.tanh(), lambda a: a.tanh(), (reals(-30, 30),)),
    Case("sigmoid", lambda a: a.sigmoid(), lambda a: a.sigmoid(), (reals(-30, 30),)),
    Case("relu", lambda a: a.relu(), lambda a: a.relu(), (reals(-10, 10, 1e-3),)),
    Case("sin", lambda a: a.sin(), lambda a: a.sin(), (ANY,)),
    Case("cos", lambda a: a.cos(), lambda a: a.cos(), (ANY,)),
    Case("sqrt", lambda a: a.sqrt(), lambda a: a.sqrt(), (reals(1e-3, 1e3),)),
    Case("abs", lambda a: abs(a), lambda a: a.abs(), (reals(-10, 10, 1e-3),)),
]
IDS = [case.name for case in CASES]
