"""Inputs and targets as fit(), train_step() and accuracy() take them: lists, tuples, NumPy
arrays or any sequence of numbers, checked to be finite and turned into plain lists."""

from __future__ import annotations

import math
import numbers
import random

from autograd import Value

__all__ = ["examples", "as_list", "real_number", "whole_number", "random_from"]


def real_number(x) -> float | None:
    """x as a float if it is a real number (an int, a float, a NumPy scalar, a Fraction; not a
    bool): +-inf for one beyond the float range. None for anything else."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return None
    try:
        return float(x)
    except OverflowError:                     # 10**400, Fraction(10**400, 3)
        return math.inf if x > 0 else -math.inf


def whole_number(x) -> int | None:
    """x as an int if it is a whole number (an int or a NumPy integer; not a bool), else None."""
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        return None
    return int(x)


def random_from(seed) -> random.Random:
    """random.Random(seed), taking a NumPy integer as the int it is (random.Random refuses it)."""
    number = whole_number(seed)
    return random.Random(seed if number is None else number)


def as_list(data, name: str, who: str) -> list:
    """A list of the examples in `data` (a list, tuple, NumPy array or other sequence)."""
    if hasattr(data, "tolist") and not isinstance(data, (list, tuple)):
        data = data.tolist()                  # NumPy: plain ints and floats, at C speed
    if isinstance(data, (str, bytes, dict, set, frozenset)) or isinstance(data, numbers.Number):
        raise TypeError(f"{who}: {name} must be a list (or tuple, or NumPy array) of examples, "
                        f"got {type(data).__name__}")
    try:
        return list(data)
    except TypeError:
        raise TypeError(f"{who}: {name} must be a list (or tuple, or NumPy array) of examples, "
                        f"got {type(data).__name__}") from None


def examples(X, y, who: str) -> tuple[list, list]:
    """X and y as lists of equal, non-zero length, every number in them finite. Numbers keep
    their kind (an int label stays an int); sequences become lists; anything else (an input
    only a custom model understands) is passed on as it is."""
    X, y = as_list(X, "X", who), as_list(y, "y", who)
    if len(X) != len(y):
        raise ValueError(f"{who}: {len(X)} inputs but {len(y)} targets; give one target per "
                         "input")
    if not X:
        raise ValueError(f"{who}: no examples (X and y are empty)")
    return ([_checked(x, f"X[{i}]", who) for i, x in enumerate(X)],
            [_checked(t, f"y[{i}]", who) for i, t in enumerate(y)])


def _checked(item, where: str, who: str):
    if type(item) is float:                   # the common case first
        if item - item != 0.0:                # inf - inf and nan - nan are nan
            raise _not_finite(item, where, who)
        return item
    if isinstance(item, bool):
        return item
    if isinstance(item, numbers.Integral):
        try:
            float(item)
        except OverflowError:
            raise ValueError(f"{who}: {where} = {_short(item)} is beyond the float range "
                             "(about 1.8e308); scale the data down") from None
        return int(item)
    if isinstance(item, numbers.Real):
        try:
            number = float(item)
        except OverflowError:                 # a Fraction beyond the float range
            raise ValueError(f"{who}: {where} = {_short(item)} is beyond the float range "
                             "(about 1.8e308); scale the data down") from None
        if not math.isfinite(number):
            raise _not_finite(number, where, who)
        return number
    if isinstance(item, Value):
        if not math.isfinite(item.data):
            raise _not_finite(item.data, where, who)
        return item
    if hasattr(item, "tolist") and not isinstance(item, (list, tuple)):
        item = item.tolist()
    if isinstance(item, (list, tuple)):
        if set(map(type, item)) == _FLOAT:        # a row of floats: one sum checks them all
            total = sum(item)
            if total - total == 0.0 or all(map(math.isfinite, item)):
                return list(item)
        return [_checked(v, f"{where}[{j}]", who) for j, v in enumerate(item)]
    return item


_FLOAT = {float}


def _not_finite(x: float, where: str, who: str) -> ValueError:
    return ValueError(f"{who}: {where} is {x}; every input and target must be a finite number "
                      "(drop or fill in the missing values first)")


def _short(x) -> str:
    try:
        text = repr(x)
    except ValueError:                        # an int too long to print (over 4300 digits)
        return "an int of thousands of digits"
    return text if len(text) < 40 else f"{text[:20]}...({len(text)} digits)"
