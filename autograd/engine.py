"""The engine: `Value`, its ops (forward and local derivative side by side), and backward()."""

from __future__ import annotations

import functools
import math
import numbers
import weakref
from collections.abc import Callable

__all__ = [
    "Value", "Number", "UndefinedMathError", "no_grad", "is_grad_enabled",
    "topological_order", "local_derivatives", "define_op",
    "exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt", "step", "sign",
]

Number = int | float
Local = Callable[..., tuple]   # local(*parent_values, out) -> (d out/d parent, ...)


class UndefinedMathError(ValueError, ArithmeticError):
    """The math is undefined here (log of 0, division by zero, exp overflow, ...)."""


# ---------------------------------------------------------------------------------------------
# Grad mode: under `no_grad()` ops compute their value and record nothing.

_grad_enabled = True


class no_grad:
    """Context manager (and decorator) under which ops build no graph: no parents, no local."""

    def __enter__(self) -> None:
        global _grad_enabled
        self._before = _grad_enabled
        _grad_enabled = False

    def __exit__(self, *exc) -> None:
        global _grad_enabled
        _grad_enabled = self._before

    def __call__(self, function):
        @functools.wraps(function)
        def without_grad(*args, **kwargs):
            with no_grad():
                return function(*args, **kwargs)
        return without_grad


def is_grad_enabled() -> bool:
    """True unless inside `no_grad()`."""
    return _grad_enabled


# ---------------------------------------------------------------------------------------------
# Value


class Value:
    """One scalar in a computation graph: its `data`, its `grad`, and how it was made."""

    __slots__ = ("data", "grad", "label", "op", "_a", "_b", "local", "__weakref__")
    __array_ufunc__ = None   # NumPy scalars on the left defer to our reflected operators

    def __init__(self, data: Number, label: str = "") -> None:
        number = _as_number(data)
        if number is None:
            hint = "; use the Value itself" if isinstance(data, Value) else ""
            raise TypeError(f"Value() takes a real number (int or float), "
                            f"got {type(data).__name__}: {data!r}{hint}")
        if number != number:
            raise UndefinedMathError("Value(): data is NaN; give it a number")
        if not isinstance(label, str):
            raise TypeError(f"Value() label must be a str, got {type(label).__name__}: {label!r}")
        self.data = number
        self.grad = 0.0
        self.label = label
        self.op = ""          # "" for a leaf; the op's name ("+", "tanh", ...) otherwise
        self._a = None        # the first operand (None for a leaf)
        self._b = None        # the second operand (None for a leaf or a one-operand op)
        self.local = None     # local(*parent values, out value) -> (d out / d parent, ...)

    @property
    def parents(self) -> tuple[Value, ...]:
        """The operands, in order: a + a has parents (a, a); a leaf has ()."""
        a, b = self._a, self._b
        return () if a is None else (a,) if b is None else (a, b)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    # -- the arithmetic operators ------------------------------------------------------------
    # Each op computes its value, then names its local derivative, written right below it:
    # a pure function (parent values..., out) -> (d out / d parent, ...). backward() feeds it
    # floats; written with operators and the generic functions (log, cos, step, sign) it also
    # takes Values or symbols, so one definition gives numbers, graphs and formulas.

    def __add__(self, other):
        if type(other) is not Value:        # a number becomes a leaf
            other = _as_value(other)
            if other is NotImplemented:
                return other
        # d(a+b)/da = 1,  d(a+b)/db = 1
        return _result(self.data + other.data, "+", Value._add_local, self, other)

    @staticmethod
    def _add_local(a, b, out):
        return 1.0, 1.0

    def __sub__(self, other):
        if type(other) is not Value:        # a number becomes a leaf
            other = _as_value(other)
            if other is NotImplemented:
                return other
        # d(a-b)/da = 1,  d(a-b)/db = -1
        return _result(self.data - other.data, "-", Value._sub_local, self, other)

    @staticmethod
    def _sub_local(a, b, out):
        return 1.0, -1.0

    def __mul__(self, other):
        if type(other) is not Value:        # a number becomes a leaf
            other = _as_value(other)
            if other is NotImplemented:
                return other
        # d(a*b)/da = b,  d(a*b)/db = a
        return _result(self.data * other.data, "*", Value._mul_local, self, other)

    @staticmethod
    def _mul_local(a, b, out):
        return b, a

    def __truediv__(self, other):
        if type(other) is not Value:        # a number becomes a leaf
            other = _as_value(other)
            if other is NotImplemented:
                return other
        if other.data == 0.0:
            raise UndefinedMathError(
                f"/: division by zero, got divisor b = 0.0{_at(other)} in a / b; "
                "divide by something that is never zero (e.g. b + 1e-12)")
        # d(a/b)/da = 1/b,  d(a/b)/db = -a/b**2 = -out/b
        return _result(self.data / other.data, "/", Value._div_local, self, other)

    @staticmethod
    def _div_local(a, b, out):
        return 1.0 / b, -out / b

    def __neg__(self):
        # d(-a)/da = -1
        return _result(-self.data, "neg", Value._neg_local, self)

    @staticmethod
    def _neg_local(x, out):
        return -1.0,

    def __pow__(self, other):
        if isinstance(other, Value):
            return self._pow_value(other)
        n = _as_number(other)
        if n is None:
            return NotImplemented
        out = _power(self.data, n, self)
        # d(x**n)/dx = n * x**(n-1)   (n a constant number)
        return _result(out, "**", Value._pow_local(n), self)

    @staticmethod
    @functools.lru_cache(maxsize=256)      # x**2 everywhere shares one local
    def _pow_local(n: float) -> Local:
        if n == 0.0:                       # x**0 = 1, a constant: slope 0 everywhere
            def pow_local(x, out):
                return 0.0,
        else:
            def pow_local(x, out):
                return n * x ** (n - 1.0),
        pow_local.exponent = n             # for drawing and for printing formulas
        return pow_local

    def _pow_value(self, y: Value):
        x = self
        out = _power(x.data, y.data, x)
        if _grad_enabled and x.data <= 0.0:
            raise UndefinedMathError(
                f"**: with a Value exponent, d(x**y)/dy = x**y * log(x) needs x > 0, "
                f"got x = {x.data!r}{_at(x)}; if the exponent is a constant, "
                "use a plain number (x ** 2.0)")
        # d(x**y)/dx = y * x**(y-1),  d(x**y)/dy = x**y * log(x) = out * log(x)
        return _result(out, "**", Value._pow_value_local, x, y)

    @staticmethod
    def _pow_value_local(x, y, out):
        return y * x ** (y - 1.0), out * log(x)

    def __radd__(self, other):
        other = _as_value(other)
        return other if other is NotImplemented else other.__add__(self)

    def __rsub__(self, other):
        other = _as_value(other)
        return other if other is NotImplemented else other.__sub__(self)

    def __rmul__(self, other):
        other = _as_value(other)
        return other if other is NotImplemented else other.__mul__(self)

    def __rtruediv__(self, other):
        other = _as_value(other)
        return other if other is NotImplemented else other.__truediv__(self)

    def __rpow__(self, other):
        other = _as_value(other)
        return other if other is NotImplemented else other._pow_value(self)

    # -- the functions ----------------------------------------------------------------------

    def exp(self):
        try:
            out = math.exp(self.data)
        except OverflowError:
            raise UndefinedMathError(
                f"exp: overflow, got x = {self.data!r}{_at(self)} (exp(x) is beyond the largest "
                "float for x > 709.78); scale the input down or use a stable formula "
                "such as log-sum-exp") from None
        # d exp(x)/dx = exp(x) = out
        return _result(out, "exp", Value._exp_local, self)

    @staticmethod
    def _exp_local(x, out):
        return out,

    def log(self):
        if self.data <= 0.0:
            raise UndefinedMathError(
                f"log: undefined for x <= 0, got x = {self.data!r}{_at(self)}; "
                "keep the input positive (e.g. log(x + 1e-12))")
        # d log(x)/dx = 1/x
        return _result(math.log(self.data), "log", Value._log_local, self)

    @staticmethod
    def _log_local(x, out):
        return 1.0 / x,

    def tanh(self):
        # math.tanh saturates to +-1 without overflow, even at |x| = 1e308
        # d tanh(x)/dx = 1 - tanh(x)**2 = (1 - out) * (1 + out): same number, but with no
        # cancellation when out is near +-1 (as PyTorch's fused 1 - out*out)
        return _result(math.tanh(self.data), "tanh", Value._tanh_local, self)

    @staticmethod
    def _tanh_local(x, out):
        return (1.0 - out) * (1.0 + out),

    def sigmoid(self):
        x = self.data
        if x >= 0.0:
            out = 1.0 / (1.0 + math.exp(-x))
        else:                      # the same number, without exp(-x) overflowing for x << 0
            e = math.exp(x)
            out = e / (1.0 + e)
        # d sigmoid(x)/dx = sigmoid(x) * (1 - sigmoid(x)) = out * (1 - out)
        return _result(out, "sigmoid", Value._sigmoid_local, self)

    @staticmethod
    def _sigmoid_local(x, out):
        return out * (1.0 - out),

    def relu(self):
        # relu(x) = max(0, x);  d relu(x)/dx = 1 if x > 0 else 0   (0 at the kink, as PyTorch)
        return _result(self.data if self.data > 0.0 else 0.0, "relu", Value._relu_local, self)

    @staticmethod
    def _relu_local(x, out):
        return step(x),

    def sin(self):
        # d sin(x)/dx = cos(x)
        return _result(math.sin(self.data), "sin", Value._sin_local, self)

    @staticmethod
    def _sin_local(x, out):
        return cos(x),

    def cos(self):
        # d cos(x)/dx = -sin(x)
        return _result(math.cos(self.data), "cos", Value._cos_local, self)

    @staticmethod
    def _cos_local(x, out):
        return -sin(x),

    def sqrt(self):
        if self.data < 0.0:
            raise UndefinedMathError(
                f"sqrt: undefined for x < 0, got x = {self.data!r}{_at(self)}; "
                "keep the input non-negative (e.g. sqrt(x*x + 1e-12))")
        # d sqrt(x)/dx = 1 / (2 sqrt(x)) = 0.5 / out   (infinite at x = 0)
        return _result(math.sqrt(self.data), "sqrt", Value._sqrt_local, self)

    @staticmethod
    def _sqrt_local(x, out):
        return 0.5 / out,

    def abs(self):
        # d |x|/dx = sign(x)   (0 at the kink, as PyTorch)
        return _result(math.fabs(self.data), "abs", Value._abs_local, self)

    @staticmethod
    def _abs_local(x, out):
        return sign(x),

    __abs__ = abs

    # -- backward ---------------------------------------------------------------------------

    def backward(self) -> None:
        """Fill in `grad` = d self / d node for every node of the graph (the chain rule).

        Interior (non-leaf) grads are recomputed from zero on every call; leaf grads
        accumulate across calls, as in PyTorch: call `zero_grad()` between steps.
        If a local derivative is undefined (sqrt at 0), raises UndefinedMathError and
        leaves every grad as it was before the call.
        """
        order, leaves = start_backward(self)
        try:
            for node in reversed(order):
                a, b = node._a, node._b
                if a is None:                      # a leaf: nothing to pass back
                    continue
                upstream = node.grad               # d root / d node
                if b is None:
                    local_a, = node.local(a.data, node.data)
                    a.grad += local_a * upstream   # the chain rule, once per edge
                else:
                    local_a, local_b = node.local(a.data, b.data, node.data)
                    a.grad += local_a * upstream
                    b.grad += local_b * upstream
        except ArithmeticError as error:           # only a local derivative can raise here
            raise undo_backward(order, leaves, node) from error

    def backward_steps(self):
        """backward(), one node per next(): a generator of Steps (see autograd.steps)."""
        from .steps import backward_steps
        return backward_steps(self)

    def zero_grad(self) -> None:
        """Set `grad` to 0.0 on this node and every node it was computed from."""
        for node in topological_order(self):
            node.grad = 0.0


# ---------------------------------------------------------------------------------------------
# Helpers for the ops


def _result(data: float, op: str, local: Local, a: Value, b: Value | None = None) -> Value:
    """A new node holding `data`, made by `op` from operands a (and b), whose local
    derivative is `local`. Under no_grad it records nothing: a leaf."""
    out = _new_value(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if _grad_enabled:
        out.op = op
        out._a = a
        out._b = b
        out.local = local
    else:
        out.op = ""
        out._a = out._b = None
        out.local = None
    return out


_new_value = object.__new__


def _as_value(x):
    """x itself if it is a Value; a new leaf for a number; NotImplemented for anything else."""
    if isinstance(x, Value):
        return x
    number = _as_number(x)
    return NotImplemented if number is None else _constant(number)


def _constant(data: float) -> Value:
    if data != data:
        raise UndefinedMathError("an operand is NaN; give the op a number")
    out = _new_value(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out.op = ""
    out._a = out._b = None
    out.local = None
    return out


def _as_number(x) -> float | None:
    """x as a float if it is a real number (not a bool), else None."""
    if type(x) is float or type(x) is int:
        return float(x)
    if isinstance(x, numbers.Real) and not isinstance(x, bool) and type(x).__name__ != "bool_":
        return float(x)          # NumPy scalars, fractions
    return None


def _at(node: Value) -> str:
    """' (node 'x')' for a labelled node, for error messages."""
    return f" (node {node.label!r})" if node.label else ""


def _power(x: float, n: float, base: Value) -> float:
    """x ** n as a real number, or UndefinedMathError saying why it has none."""
    if x < 0.0 and not n.is_integer():
        raise UndefinedMathError(
            f"**: a negative base to a non-integer power is not a real number, got x = {x!r}"
            f"{_at(base)} and n = {n!r}; make the base positive (abs(x) ** n) "
            "or the exponent an integer")
    if x == 0.0 and n < 0.0:
        raise UndefinedMathError(
            f"**: division by zero, got x = 0.0{_at(base)} to the negative power {n!r}; "
            "keep the base away from 0 (e.g. x + 1e-12)")
    try:
        return x ** n
    except OverflowError:
        raise UndefinedMathError(
            f"**: overflow, got x = {x!r}{_at(base)} and n = {n!r} (the result is beyond "
            "the largest float, about 1.8e308); scale the numbers down") from None


def undefined_derivative(node: Value) -> UndefinedMathError:
    at = "".join(_at(parent) for parent in node.parents[:1]) or _at(node)
    values = ", ".join(repr(parent.data) for parent in node.parents)
    return UndefinedMathError(
        f"backward through {node.op}: its local derivative is infinite (or beyond the largest "
        f"float) at x = {values}{at}; move the input away from that point "
        "(e.g. sqrt(x + 1e-12) instead of sqrt(x))")


def define_op(name: str, local: Local) -> Callable:
    """Make a new op from its forward (a function of floats) and its local derivative.

        @define_op("softplus", local=lambda x, out: (sigmoid(x),))   # d softplus/dx = sigmoid(x)
        def softplus(x):
            return math.log1p(math.exp(x))

    `softplus(v)` on Values builds a node (numbers are lifted to leaves); on floats, a float.
    """
    def decorate(forward: Callable[..., float]) -> Callable:
        @functools.wraps(forward)
        def apply(*operands):
            if not any(isinstance(x, Value) for x in operands):
                return forward(*operands)
            if len(operands) not in (1, 2):
                raise TypeError(f"{name}: an op takes one or two operands, got {len(operands)}")
            parents = tuple(_as_value(x) for x in operands)
            for x, parent in zip(operands, parents):
                if parent is NotImplemented:
                    raise TypeError(f"{name}: operands must be Values or numbers, "
                                    f"got {type(x).__name__}: {x!r}")
            values = ", ".join(f"{p.data!r}{_at(p)}" for p in parents)
            try:
                out = forward(*(p.data for p in parents))
            except (ArithmeticError, ValueError) as error:
                raise UndefinedMathError(f"{name}: undefined at x = {values} ({error})") from error
            number = _as_number(out)
            if number is None or number != number:
                raise UndefinedMathError(f"{name}: forward gave {out!r} at x = {values}, "
                                         "not a real number")
            return _result(number, name, local, *parents)
        apply.local = local
        try:                   # a node keeps only name and local; compile() needs the forward
            known = _forwards.setdefault(local, {})
            known[name] = forward if known.get(name, forward) is forward else None  # None: 2
        except TypeError:      # a local that cannot be weakly referenced: not compilable
            pass
        return apply
    return decorate


_forwards: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # local -> {name: forward}


def defined_forward(name: str, local: Local) -> Callable[..., float] | None:
    """The forward (on floats) of the op define_op made with this name and local, or None."""
    try:
        return _forwards.get(local, {}).get(name)
    except TypeError:
        return None


# ---------------------------------------------------------------------------------------------
# The graph, as the backward pass sees it


def topological_order(root: Value) -> list[Value]:
    """Every node `root` depends on, each after its parents, `root` last (iterative: no depth
    limit)."""
    order: list[Value] = []
    seen = {root}
    stack = [root]                  # a path from the root down to the node being explored
    while stack:
        node = stack[-1]
        a, b = node._a, node._b
        if a is not None and a not in seen:        # go down into a parent not yet seen
            seen.add(a)
            stack.append(a)
        elif b is not None and b not in seen:
            seen.add(b)
            stack.append(b)
        else:                                      # its parents are all placed: place it
            stack.pop()
            order.append(node)
    return order


def start_backward(root: Value) -> tuple[list[Value], list[tuple[Value, float]]]:
    """Ready a backward pass: the order, interior grads set to 0.0 (they are recomputed),
    the root seeded (d root/d root = 1, added: a leaf root accumulates too), and each leaf's
    grad before the pass, so that a failed pass can be undone."""
    order = topological_order(root)
    leaves = []
    for node in order:
        if node._a is not None:
            node.grad = 0.0
        else:
            leaves.append((node, node.grad))
    root.grad += 1.0
    return order, leaves


def undo_backward(order: list[Value], leaves: list[tuple[Value, float]],
                  failed: Value) -> UndefinedMathError:
    """Put every grad back as before the pass; the error to raise for the failed node."""
    for leaf, grad in leaves:
        leaf.grad = grad
    for node in order:
        if node._a is not None:
            node.grad = 0.0
    return undefined_derivative(failed)


def local_derivatives(node: Value) -> tuple[float, ...]:
    """d node / d parent for each parent (in operand order), evaluated at the current values."""
    if not node.parents:
        return ()
    return node.local(*[parent.data for parent in node.parents], node.data)


# ---------------------------------------------------------------------------------------------
# The functions, for Values and plain numbers alike: tanh(v) is v.tanh(), tanh(0.5) a float.
# Anything else (a symbol, say) is asked for its own method of the same name.


def _generic(name: str, on_float: Callable[[float], float]):
    method = getattr(Value, name)

    def function(x):
        if type(x) is float or isinstance(x, numbers.Real):
            return on_float(x)
        if isinstance(x, Value):
            return method(x)
        return getattr(x, name)()
    function.__name__ = name
    function.__qualname__ = name
    function.__doc__ = f"{name}(x): for a Value, the node x.{name}(); for a number, the number."
    return function


def _float_sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


exp = _generic("exp", math.exp)
log = _generic("log", math.log)
tanh = _generic("tanh", math.tanh)
sigmoid = _generic("sigmoid", _float_sigmoid)
relu = _generic("relu", lambda x: x if x > 0.0 else 0.0)
sin = _generic("sin", math.sin)
cos = _generic("cos", math.cos)
sqrt = _generic("sqrt", math.sqrt)


def step(x):
    """The slope of relu: 1.0 where x > 0, else 0.0 (a constant: its own slope is 0)."""
    if type(x) is float or isinstance(x, numbers.Real):
        return 1.0 if x > 0.0 else 0.0
    if isinstance(x, Value):
        return _constant(1.0 if x.data > 0.0 else 0.0)
    return x.step()


def sign(x):
    """The slope of abs: -1.0, 0.0 or 1.0 (0.0 at 0, as PyTorch)."""
    if type(x) is float or isinstance(x, numbers.Real):
        return 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0
    if isinstance(x, Value):
        return _constant(sign(x.data))
    return x.sign()
