"""Derivatives as functions: grad(f), hessian(f, inputs), hvp(f, inputs, vector).

    >>> from autograd import grad
    >>> def f(x):
    ...     return x ** 3
    >>> grad(f)(2.0)                # 3 * x**2 = 12.0, as a Value with a graph of its own
    >>> grad(grad(f))(2.0)          # 6 * x = 12.0
    >>> grad(grad(grad(f)))(2.0)    # 6.0

grad(f) is JAX's grad and PyTorch's torch.autograd.grad(..., create_graph=True) in one: it
calls f on Values, runs the backward pass on Values (engine.gradients: the same local
derivatives, evaluated on Values) and returns d f / d x as a Value. Nothing is written to any
`.grad`: a caller's graph is left as it was. Because the result is a Value computed from x,
grad(grad(f)) differentiates it again (reverse over reverse).
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import math
import numbers
from collections.abc import Callable, Sequence

from .engine import Value, enable_grad, gradients, is_grad_enabled

__all__ = ["grad", "hessian", "hvp", "gradients"]

# compile() of a gradient function collects here the result of f that each grad() computed:
# the derivative's graph need not contain it (d log(x)/dx = 1/x reads no log), and the
# compiled code computes it too, so that it is undefined (log of x <= 0) exactly where f is
traced_forwards: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "chainrule_traced_forwards", default=None)


def grad(f: Callable[..., Value], argnums: int | Sequence[int] = 0) -> Callable[..., Value]:
    """The function that gives d f / d (argument `argnums`) as a Value, at any point.

    argnums: the position of the argument to differentiate by (default the first), or a
    tuple of positions: then the result is a tuple of Values, one per position. Arguments at
    those positions may be numbers (each becomes a leaf, named as f's parameter) or Values
    (used as they are, so that grad(grad(f)) works); the others are passed to f unchanged.
    If f's result does not depend on an argument, its derivative is a constant 0.0 leaf.
    Under no_grad() the derivative is computed all the same, and returned as a constant leaf.
    """
    if not callable(f):
        raise TypeError(f"grad(f): f must be a function, got {type(f).__name__}: {f!r}")
    positions, several = _positions(argnums)
    names = _parameter_names(f)
    title = getattr(f, "__name__", "f")

    @functools.wraps(f)
    def gradient(*args, **kwargs):
        args = list(args)
        chosen = []
        for position in positions:
            index = position + len(args) if position < 0 else position
            if not 0 <= index < len(args):
                raise TypeError(f"grad({title}) differentiates by argument {position}, but "
                                f"was called with {len(args)} argument(s)")
            args[index] = _as_input(args[index], names, index, f"grad({title})")
            chosen.append(args[index])
        keep = is_grad_enabled()          # under no_grad: the numbers, as constant leaves
        with enable_grad():               # f builds its graph even under no_grad
            out = _output(f(*args, **kwargs), f"grad({title})")
            found = gradients(out, chosen)
        traced = traced_forwards.get()
        if traced is not None:            # compile() is tracing: keep f's own result too
            traced.append(out)
        if not keep:
            found = [Value(slope.data) for slope in found]
        return tuple(found) if several else found[0]

    name = title if title.isidentifier() else "f"
    gradient.__name__ = gradient.__qualname__ = f"grad_{name}"
    gradient.__doc__ = f"d {title} / d argument {argnums}, as a Value (made by autograd.grad)."
    return gradient


def hessian(f: Callable[..., Value], inputs: Sequence) -> list[list[float]]:
    """The matrix of second derivatives of f at `inputs` (a sequence of numbers or Values,
    one per argument of f): hessian[i][j] = d^2 f / d x_i d x_j, as floats (a list of rows).

    Reverse over reverse: one pass on Values gives the gradient's graph, then one pass per
    input through it gives a row. For a few inputs: n + 1 passes. For the Hessian of a model
    with many parameters, use hvp (one product costs two passes) instead.
    """
    xs = _inputs(f, inputs, "hessian")
    with enable_grad():
        out = _output(f(*xs), "hessian(f, ...)")
        first = gradients(out, xs)
        return [[second.data for second in gradients(slope, xs)] for slope in first]


def hvp(f: Callable[..., Value], inputs: Sequence, vector: Sequence) -> list[float]:
    """The Hessian of f at `inputs` times `vector`, as floats, without forming the Hessian:
    H v = d/dx (grad f(x) . v), the gradient's graph differentiated once more along v
    (reverse over reverse: two passes, however many inputs)."""
    xs = _inputs(f, inputs, "hvp")
    direction = _sequence(vector, "hvp(f, inputs, vector): vector")
    if len(direction) != len(xs):
        raise ValueError(f"hvp: vector has {len(direction)} numbers for {len(xs)} inputs")
    for i, v in enumerate(direction):
        if not isinstance(v, numbers.Real) or isinstance(v, bool) or not _finite(v):
            raise TypeError(f"hvp: vector[{i}] must be a finite real number, got {v!r}")
    with enable_grad():
        out = _output(f(*xs), "hvp(f, ...)")
        along = None                               # grad f(x) . v, a Value
        for slope, v in zip(gradients(out, xs), direction):
            if v != 0.0:
                term = slope * float(v)
                along = term if along is None else along + term
        if along is None:
            return [0.0] * len(xs)
        return [second.data for second in gradients(along, xs)]


# ---------------------------------------------------------------------------------------------


def _positions(argnums) -> tuple[list[int], bool]:
    if isinstance(argnums, int) and not isinstance(argnums, bool):
        return [argnums], False
    if isinstance(argnums, (tuple, list)) and argnums and all(
            isinstance(i, int) and not isinstance(i, bool) for i in argnums):
        return list(argnums), True
    raise TypeError(f"grad(f, argnums=...): an argument position (int) or a tuple of them, "
                    f"got {argnums!r}")


def _parameter_names(f) -> list[str]:
    try:
        return [p.name for p in inspect.signature(f).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return []


def _as_input(x, names: list[str], index: int, who: str) -> Value:
    """An argument to differentiate by: a Value as it is; a number as a leaf named after f's
    parameter (so that drawings and compiled code of a derivative read x, w, ...)."""
    if isinstance(x, Value):
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return Value(x, names[index] if index < len(names) else "")
    raise TypeError(f"{who}: argument {index} must be a number or a Value to differentiate "
                    f"by, got {type(x).__name__}: {x!r}")


def _inputs(f, inputs, who: str) -> list[Value]:
    if not callable(f):
        raise TypeError(f"{who}(f, inputs): f must be a function, got {type(f).__name__}")
    inputs = _sequence(inputs, f"{who}(f, inputs): inputs", "or Value per argument of f")
    names = _parameter_names(f)
    return [_as_input(x, names, i, who) for i, x in enumerate(inputs)]


def _sequence(items, who: str, each: str = "per input") -> list:
    """items as a list, or a TypeError for one number, a string or anything not iterable."""
    hint = f"{who} is a sequence, one number {each}"
    if isinstance(items, (Value, numbers.Number, str, bytes)):
        raise TypeError(f"{hint} (for one input: [{items!r}])")
    try:
        return list(items)
    except TypeError:
        raise TypeError(f"{hint}, got {type(items).__name__}: {items!r}") from None


def _finite(v: numbers.Real) -> bool:
    """v is a finite number a float can hold (an int beyond the float range is not)."""
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def _output(out, who: str) -> Value:
    """f's result as the root to differentiate: a Value, or a number (a constant: a leaf)."""
    if isinstance(out, Value):
        return out
    if isinstance(out, numbers.Real) and not isinstance(out, bool):
        return Value(out)
    hint = "; sum the outputs, or take one" if isinstance(out, (list, tuple)) else ""
    raise TypeError(f"{who}: f must return one Value (a scalar), got "
                    f"{type(out).__name__}{hint}")
