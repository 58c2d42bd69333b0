"""Checks against central differences: gradcheck for a whole function, check_op for one op."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from .engine import Value, local_derivatives, no_grad, sign, step

__all__ = ["gradcheck", "GradcheckError", "check_op", "check_ops", "OpCheckError", "BUILTIN_OPS"]


class GradcheckError(AssertionError):
    """backward() and central differences disagree about one input's gradient."""

    def __init__(self, message: str, index: int, label: str, analytic: float, numeric: float):
        super().__init__(message)
        self.index, self.label, self.analytic, self.numeric = index, label, analytic, numeric


class OpCheckError(AssertionError):
    """An op's local derivative disagrees with central differences of its forward."""

    def __init__(self, message: str, op: str, point: tuple, parent: int,
                 local: float, numeric: float):
        super().__init__(message)
        self.op, self.point, self.parent = op, point, parent
        self.local, self.numeric = local, numeric


def _leaves(inputs: Sequence) -> list[Value]:
    """Fresh leaves for the inputs (numbers or Values; a Value's label is kept)."""
    if isinstance(inputs, (Value, int, float)):
        inputs = [inputs]
    return [Value(x.data, x.label) if isinstance(x, Value) else Value(x) for x in inputs]


def _central_difference(f: Callable, point: list[float], i: int, eps: float) -> float:
    """(f(x + eps e_i) - f(x - eps e_i)) / 2 eps, evaluated without building a graph."""
    with no_grad():
        up = list(point)
        up[i] += eps
        down = list(point)
        down[i] -= eps
        return (_data(f(*map(Value, up))) - _data(f(*map(Value, down)))) / (2 * eps)


def _data(out) -> float:
    if not isinstance(out, Value):
        raise TypeError(f"the function must return a Value, got {type(out).__name__}: {out!r}")
    return out.data


def gradcheck(f: Callable[..., Value], inputs: Sequence, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Check f's gradients from backward() against central differences at `inputs`.

    f takes one Value per input and returns a Value. Passes when, for every input,
    |analytic - numeric| <= atol + rtol * |numeric|; then returns True. Otherwise raises
    GradcheckError naming the input, the analytic and the numeric value.
    """
    leaves = _leaves(inputs)
    out = f(*leaves)
    _data(out)
    out.backward()
    point = [leaf.data for leaf in leaves]
    for i, leaf in enumerate(leaves):
        numeric = _central_difference(f, point, i, eps)
        analytic = leaf.grad
        if not abs(analytic - numeric) <= atol + rtol * abs(numeric):
            name = f"input {i}" + (f" ({leaf.label!r})" if leaf.label else "")
            raise GradcheckError(
                f"gradcheck failed for {name} at {point}: backward() gives {analytic!r}, "
                f"central differences give {numeric!r} (difference {abs(analytic - numeric):.3g}, "
                f"allowed {atol + rtol * abs(numeric):.3g})", i, leaf.label, analytic, numeric)
    return True


def check_op(f: Callable[..., Value], points: Sequence[Sequence[float]], name: str | None = None,
             eps: float = 1e-6, atol: float = 1e-6, rtol: float = 1e-4) -> bool:
    """Check one op's local derivatives against central differences of its forward.

    f applies exactly one op to its Value arguments (lambda a, b: a * b); each point gives
    the arguments. At each point, the node's local derivative for each parent is compared
    with the central difference of f in that argument. Returns True, or raises OpCheckError
    naming the op, the point and the parent.
    """
    for point in points:
        point = [float(x) for x in point]
        leaves = [Value(x) for x in point]
        out = f(*leaves)
        _data(out)
        op = name or out.op or getattr(f, "__name__", "op")
        if len(out.parents) != len(leaves) or any(p is not q for p, q in zip(out.parents, leaves)):
            raise ValueError(f"check_op({op}): f must apply one op directly to its arguments, "
                             f"so that the node's parents are the arguments")
        for i, local in enumerate(local_derivatives(out)):
            numeric = _central_difference(f, point, i, eps)
            if not (math.isfinite(local) and abs(local - numeric) <= atol + rtol * abs(numeric)):
                raise OpCheckError(
                    f"op {op!r}: the local derivative d out/d parent {i} at {tuple(point)} is "
                    f"{local!r}, but central differences give {numeric!r}", op, tuple(point), i,
                    local, numeric)
    return True


# Every built-in op, with sample points inside its domain (away from kinks).
BUILTIN_OPS: dict[str, tuple[Callable[..., Value], list[tuple[float, ...]]]] = {
    "+": (lambda a, b: a + b, [(1.5, -2.0), (0.0, 3.0)]),
    "-": (lambda a, b: a - b, [(1.5, -2.0), (-4.0, 0.25)]),
    "*": (lambda a, b: a * b, [(1.5, -2.0), (-0.5, 3.0)]),
    "/": (lambda a, b: a / b, [(1.5, -2.0), (-0.5, 3.0)]),
    "neg": (lambda a: -a, [(1.5,), (-2.0,)]),
    "** number": (lambda a: a ** 3, [(1.5,), (-2.0,)]),
    "** fraction": (lambda a: a ** 0.5, [(1.5,), (4.0,)]),
    "** negative": (lambda a: a ** -2, [(1.5,), (-0.7,)]),
    "** Value": (lambda a, b: a ** b, [(1.5, 2.5), (0.5, -1.5)]),
    "exp": (lambda a: a.exp(), [(0.5,), (-2.0,)]),
    "log": (lambda a: a.log(), [(0.5,), (3.0,)]),
    "tanh": (lambda a: a.tanh(), [(0.5,), (-2.0,)]),
    "sigmoid": (lambda a: a.sigmoid(), [(0.5,), (-2.0,)]),
    "relu": (lambda a: a.relu(), [(0.5,), (-2.0,)]),
    "sin": (lambda a: a.sin(), [(0.5,), (-2.0,)]),
    "cos": (lambda a: a.cos(), [(0.5,), (-2.0,)]),
    "sqrt": (lambda a: a.sqrt(), [(0.5,), (3.0,)]),
    "abs": (lambda a: abs(a), [(0.5,), (-2.0,)]),
    "step": (lambda a: step(a), [(0.5,), (-2.0,)]),      # in graphs of derivatives (relu')
    "sign": (lambda a: sign(a), [(0.5,), (-2.0,)]),      # (abs')
}


def check_ops(ops: dict | None = None) -> list[str]:
    """check_op over every built-in op (or the given {name: (f, points)}); returns the names."""
    ops = BUILTIN_OPS if ops is None else ops
    for name, (f, points) in ops.items():
        check_op(f, points, name=name)
    return list(ops)
