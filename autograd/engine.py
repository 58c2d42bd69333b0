"""The engine: `Value`, its ops (forward and local derivative side by side), and backward()."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import numbers
import threading
import weakref
from collections.abc import Callable

__all__ = [
    "Value", "Number", "UndefinedMathError", "StaleGraphError", "no_grad", "enable_grad",
    "is_grad_enabled",
    "topological_order", "local_derivatives", "define_op", "gradients",
    "exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt", "step", "sign",
]

Number = int | float
Local = Callable[..., tuple]   # local(*parent_values, out) -> (d out/d parent, ...)


def local_of(op: str) -> Callable[[Local], staticmethod]:
    """Mark a function written in the class as the local derivative of `op` (node.op reads the
    name from it)."""
    def name(local: Local) -> staticmethod:
        local.op = op
        return staticmethod(local)
    return name


class UndefinedMathError(ValueError, ArithmeticError):
    """The math is undefined here (log of 0, division by zero, overflow, ...). When the reason
    is a number that is not finite, `result` is that number (inf or nan), and `node` the node
    whose data it would have become, if there is one."""
    result: float | None = None
    node: Value | None = None


class StaleGraphError(RuntimeError):
    """A node's `data` was changed after a node was computed from it (PyTorch's in-place check)."""


# ---------------------------------------------------------------------------------------------
# Grad mode: under `no_grad()` ops compute their value and record nothing. The mode is per
# thread and per context (a contextvar holding the stack of open blocks, as PyTorch's mode is
# per thread), so blocks nest and one no_grad object can be entered twice or from two threads.
# `_no_grad_anywhere` counts the no_grad blocks open in any thread: while there are none (the
# usual case) an op pays one global read for the mode.

_grad_modes: contextvars.ContextVar[tuple[bool, ...]] = contextvars.ContextVar(
    "chainrule_grad_modes", default=())
_no_grad_anywhere = 0
_no_grad_lock = threading.Lock()


class _GradMode:
    """A block that sets grad mode on or off inside it (and a decorator doing the same)."""
    enabled = True

    def __enter__(self) -> None:
        global _no_grad_anywhere
        if not self.enabled:
            with _no_grad_lock:
                _no_grad_anywhere += 1
        _grad_modes.set(_grad_modes.get() + (self.enabled,))

    def __exit__(self, *exc) -> None:
        global _no_grad_anywhere
        _grad_modes.set(_grad_modes.get()[:-1])
        if not self.enabled:
            with _no_grad_lock:
                _no_grad_anywhere -= 1

    def __call__(self, function):
        @functools.wraps(function)
        def in_mode(*args, **kwargs):
            with self:
                return function(*args, **kwargs)
        return in_mode


class no_grad(_GradMode):
    """Context manager (and decorator) under which ops build no graph: no parents, no local.
    Per thread: another thread keeps building its graphs."""
    enabled = False


class enable_grad(_GradMode):
    """Context manager (and decorator) under which ops build their graph, even inside
    no_grad() (as torch.enable_grad)."""
    enabled = True


def is_grad_enabled() -> bool:
    """True unless inside `no_grad()` (in this thread or context)."""
    if _no_grad_anywhere == 0:
        return True
    modes = _grad_modes.get()
    return not modes or modes[-1]


# ---------------------------------------------------------------------------------------------
# The clock: a graph records values when it is built. Each node keeps a tick (`_tick`): the
# moment it was made, or its data written, or a backward pass last went through it. Writing a
# node's data starts a new moment; backward() refuses a graph with a node written after a node
# computed from it was made (StaleGraphError, as PyTorch's check of in-place changes).


# A tick is a float object, told apart by identity (`is`): its whole part k counts the writes
# before it; a fraction .5 marks a leaf's data write, .25 a write to a node with parents. (A
# float, not a tuple: the cyclic garbage collector ignores floats, and walks every node's tick.)
_Tick = float
_now: _Tick = float(0)  # nodes made since the last write (or backward pass) show this very float


# ---------------------------------------------------------------------------------------------
# Value


class Value:
    """One scalar in a computation graph: its `data`, its `grad`, and how it was made."""

    # One object of 96 bytes per node (one slot more costs 7% on the benchmark). A label, and
    # whatever user code sets on a node (p.m = 0.0, as in micrograd), live in `__dict__`.
    __slots__ = ("_data", "grad", "_a", "_b", "local", "_tick", "__dict__", "__weakref__")
    __array_ufunc__ = None   # NumPy scalars on the left defer to our reflected operators
    label = ""               # a name for drawings and error messages ("" for none)

    def __init__(self, data: Number, label: str = "") -> None:
        number = _real(data, "Value()")
        if number is None:
            hint = "; use the Value itself" if isinstance(data, Value) else ""
            raise TypeError(f"Value() takes a real number (int or float), "
                            f"got {type(data).__name__}: {data!r}{hint}")
        if not isinstance(label, str):
            raise TypeError(f"Value() label must be a str, got {type(label).__name__}: {label!r}")
        self._data = number
        self.grad = 0.0
        self._a = None        # the first operand (None for a leaf)
        self._b = None        # the second operand (None for a leaf or a one-operand op)
        self.local = None     # local(*parent values, out value) -> (d out / d parent, ...)
        self._tick = _now
        if label:
            self.label = label

    @property
    def data(self) -> float:
        """The number this node holds (a finite float). The graph records it when the node is
        made: change a leaf's data between steps (as an optimizer does), then build anew."""
        return self._data

    @data.setter
    def data(self, value: Number) -> None:
        global _now
        if type(value) is not float or value - value != 0.0:     # not a finite float
            try:
                number = _real(value, "data" + _at(self))
            except UndefinedMathError as error:
                error.node = self
                raise
            if number is None:
                raise TypeError(f"data must be a real number (int or float), "
                                f"got {type(value).__name__}: {value!r}")
            value = number
        self._data = value
        _now = _now + 1.0                           # a new moment for the nodes made from now on
        self._tick = _now + (0.5 if self._a is None else 0.25)

    @property
    def op(self) -> str:
        """The op that made this node ("+", "tanh", ...); "" for a leaf."""
        local = self.local
        return "" if local is None else getattr(local, "op", "") or getattr(local, "__name__", "?")

    @property
    def parents(self) -> tuple[Value, ...]:
        """The operands, in order: a + a has parents (a, a); a leaf has ()."""
        a, b = self._a, self._b
        return () if a is None else (a,) if b is None else (a, b)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        grad = self.grad
        if isinstance(grad, Value):     # after backward(create_graph=True): its number alone
            grad = f"Value(data={grad._data!r})"        # (grads of grads can loop)
        else:
            grad = repr(grad)
        return f"Value(data={self._data!r}, grad={grad}{label})"

    # -- the arithmetic operators ------------------------------------------------------------
    # Each op computes its value, then names its local derivative, written right below it:
    # a pure function (parent values..., out) -> (d out / d parent, ...). backward() feeds it
    # floats; written with operators and the generic functions (log, cos, step, sign) it also
    # takes Values or symbols, so one definition gives numbers, graphs and formulas.
    # _result() makes the node, and refuses a value that is not finite (an overflow).

    def __add__(self, other):
        if type(other) is not Value:        # a number becomes a leaf
            other = _as_value(other, "+")
            if other is NotImplemented:
                return other
        # d(a+b)/da = 1,  d(a+b)/db = 1
        return _result(self._data + other._data, Value._add_local, self, other)

    @local_of("+")
    def _add_local(a, b, out):
        return 1.0, 1.0

    def __sub__(self, other):
        if type(other) is not Value:        # a number becomes a leaf
            other = _as_value(other, "-")
            if other is NotImplemented:
                return other
        # d(a-b)/da = 1,  d(a-b)/db = -1
        return _result(self._data - other._data, Value._sub_local, self, other)

    @local_of("-")
    def _sub_local(a, b, out):
        return 1.0, -1.0

    def __mul__(self, other):
        if type(other) is not Value:        # a number becomes a leaf
            other = _as_value(other, "*")
            if other is NotImplemented:
                return other
        # d(a*b)/da = b,  d(a*b)/db = a
        return _result(self._data * other._data, Value._mul_local, self, other)

    @local_of("*")
    def _mul_local(a, b, out):
        return b, a

    def __truediv__(self, other):
        if type(other) is not Value:        # a number becomes a leaf
            other = _as_value(other, "/")
            if other is NotImplemented:
                return other
        if other._data == 0.0:
            raise UndefinedMathError(
                f"/: division by zero, got divisor b = 0.0{_at(other)} in a / b; "
                "divide by something that is never zero (e.g. b + 1e-12)")
        # d(a/b)/da = 1/b,  d(a/b)/db = -a/b**2 = -out/b
        return _result(self._data / other._data, Value._div_local, self, other)

    @local_of("/")
    def _div_local(a, b, out):
        return 1.0 / b, -out / b

    def __neg__(self):
        # d(-a)/da = -1
        return _result(-self._data, Value._neg_local, self)

    @local_of("neg")
    def _neg_local(x, out):
        return -1.0,

    def __pow__(self, other):
        if isinstance(other, Value):
            return self._pow_value(other)
        n = _real(other, "**")
        if n is None:
            return NotImplemented
        out = _power(self._data, n, self)
        # d(x**n)/dx = n * x**(n-1)   (n a constant number)
        return _result(out, Value._pow_local(n), self)

    @staticmethod
    @functools.lru_cache(maxsize=256)      # x**2 everywhere shares one local
    def _pow_local(n: float) -> Local:
        if n == 0.0:                       # x**0 = 1, a constant: slope 0 everywhere
            def pow_local(x, out):
                return 0.0,
        else:
            def pow_local(x, out):
                return n * x ** (n - 1.0),
        pow_local.op = "**"
        pow_local.exponent = n             # for drawing, printing formulas and pickling
        return pow_local

    def _pow_value(self, y: Value):
        x = self
        out = _power(x._data, y._data, x)
        if x._data <= 0.0 and is_grad_enabled():
            raise UndefinedMathError(
                f"**: with a Value exponent, d(x**y)/dy = x**y * log(x) needs x > 0, "
                f"got x = {x._data!r}{_at(x)}; if the exponent is a constant, "
                "use a plain number (x ** 2.0)")
        # d(x**y)/dx = y * x**(y-1),  d(x**y)/dy = x**y * log(x) = out * log(x)
        return _result(out, Value._pow_value_local, x, y)

    @local_of("**")
    def _pow_value_local(x, y, out):
        return y * x ** (y - 1.0), out * log(x)

    def __radd__(self, other):
        other = _as_value(other, "+")
        return other if other is NotImplemented else other.__add__(self)

    def __rsub__(self, other):
        other = _as_value(other, "-")
        return other if other is NotImplemented else other.__sub__(self)

    def __rmul__(self, other):
        other = _as_value(other, "*")
        return other if other is NotImplemented else other.__mul__(self)

    def __rtruediv__(self, other):
        other = _as_value(other, "/")
        return other if other is NotImplemented else other.__truediv__(self)

    def __rpow__(self, other):
        other = _as_value(other, "**")
        return other if other is NotImplemented else other._pow_value(self)

    # -- the functions ----------------------------------------------------------------------

    def exp(self):
        try:
            out = math.exp(self._data)
        except OverflowError:
            raise UndefinedMathError(
                f"exp: overflow, got x = {self._data!r}{_at(self)} (exp(x) is beyond the largest "
                "float for x > 709.78); scale the input down or use a stable formula "
                "such as log-sum-exp") from None
        # d exp(x)/dx = exp(x) = out
        return _result(out, Value._exp_local, self)

    @local_of("exp")
    def _exp_local(x, out):
        return out,

    def log(self):
        if self._data <= 0.0:
            raise UndefinedMathError(
                f"log: undefined for x <= 0, got x = {self._data!r}{_at(self)}; "
                "keep the input positive (e.g. log(x + 1e-12))")
        # d log(x)/dx = 1/x
        return _result(math.log(self._data), Value._log_local, self)

    @local_of("log")
    def _log_local(x, out):
        return 1.0 / x,

    def tanh(self):
        # math.tanh saturates to +-1 without overflow, even at |x| = 1e308
        # d tanh(x)/dx = 1 - tanh(x)**2 = (1 - out) * (1 + out): same number, but with no
        # cancellation when out is near +-1 (as PyTorch's fused 1 - out*out)
        return _result(math.tanh(self._data), Value._tanh_local, self)

    @local_of("tanh")
    def _tanh_local(x, out):
        return (1.0 - out) * (1.0 + out),

    def sigmoid(self):
        # sigmoid(x) = 1 / (1 + exp(-x)), computed without overflow on either side
        # d sigmoid(x)/dx = sigmoid(x) * (1 - sigmoid(x)) = out * (1 - out)
        return _result(_float_sigmoid(self._data), Value._sigmoid_local, self)

    @local_of("sigmoid")
    def _sigmoid_local(x, out):
        return out * (1.0 - out),

    def relu(self):
        # relu(x) = max(0, x);  d relu(x)/dx = 1 if x > 0 else 0   (0 at the kink, as PyTorch)
        return _result(self._data if self._data > 0.0 else 0.0, Value._relu_local, self)

    @local_of("relu")
    def _relu_local(x, out):
        return step(x),

    def sin(self):
        # d sin(x)/dx = cos(x)
        return _result(math.sin(self._data), Value._sin_local, self)

    @local_of("sin")
    def _sin_local(x, out):
        return cos(x),

    def cos(self):
        # d cos(x)/dx = -sin(x)
        return _result(math.cos(self._data), Value._cos_local, self)

    @local_of("cos")
    def _cos_local(x, out):
        return -sin(x),

    def sqrt(self):
        if self._data < 0.0:
            raise UndefinedMathError(
                f"sqrt: undefined for x < 0, got x = {self._data!r}{_at(self)}; "
                "keep the input non-negative (e.g. sqrt(x*x + 1e-12))")
        # d sqrt(x)/dx = 1 / (2 sqrt(x)) = 0.5 / out   (infinite at x = 0)
        return _result(math.sqrt(self._data), Value._sqrt_local, self)

    @local_of("sqrt")
    def _sqrt_local(x, out):
        return 0.5 / out,

    def abs(self):
        # d |x|/dx = sign(x)   (0 at the kink, as PyTorch)
        return _result(math.fabs(self._data), Value._abs_local, self)

    @local_of("abs")
    def _abs_local(x, out):
        return sign(x),

    __abs__ = abs

    # step and sign, the slopes of relu and abs, are functions too (below). On floats they are
    # numbers; on a Value (as when backward(create_graph=True) feeds relu's local derivative
    # Values) a node, so that the derivative's graph still depends on x. Each is flat on
    # either side of its jump: slope 0 (at the jump too, as PyTorch: relu'' = abs'' = 0).

    @local_of("step")
    def _step_local(x, out):
        return 0.0,

    @local_of("sign")
    def _sign_local(x, out):
        return 0.0,

    # -- backward ---------------------------------------------------------------------------

    def backward(self, gradient: Number = 1.0, *, create_graph: bool = False) -> None:
        """Fill in `grad` = d self / d node for every node of the graph (the chain rule).

        The root is seeded with `gradient` (1.0: d self/d self), as PyTorch's `gradient=`.
        Interior (non-leaf) grads are recomputed from zero on every call; leaf grads
        accumulate across calls, as in PyTorch: call `zero_grad()` between steps.
        If a number is not finite (an infinite slope, an overflow) or a local derivative
        raises, every grad is left exactly as before the call and the error names the node.

        create_graph=True: every grad becomes a Value with a graph of its own (the same local
        derivatives, evaluated on Values), so a grad can be differentiated again. Without it
        grads are floats, and a grad that is a Value (left by such a pass) is read as its
        number: it accumulates as a float.
        """
        if create_graph:
            return _backward_on_values(self, _seed(gradient))
        seed = _seed(gradient)
        order, saved = start_backward(self, seed)
        leaves = 0.0        # the leaves' grads, summed: a nan or inf anywhere reaches a leaf
        try:
            for node in reversed(order):
                a, b = node._a, node._b
                upstream = node.grad               # d root / d node, complete by now
                if a is None:                      # a leaf: nothing to pass back
                    leaves += upstream
                    continue
                local = node.local
                if b is None:
                    local_a, = local(a._data, node._data)
                    a.grad += local_a * upstream   # the chain rule, once per edge
                else:
                    local_a, local_b = local(a._data, b._data, node._data)
                    a.grad += local_a * upstream
                    b.grad += local_b * upstream
        except Exception:                          # only a local derivative can raise here
            leaves = math.nan
        except BaseException:                      # KeyboardInterrupt: undo, and stop
            undo_backward(order, saved)
            raise
        if leaves - leaves != 0.0 or type(leaves) is not float:   # a nan or inf (or a sum
            _checked_backward(order, saved, seed)  # that overflowed), or a local derivative
            # that gave no float (complex, NumPy): again, edge by edge, raising at the first

    def _backward(self) -> None:
        """This node's step of the chain rule alone: parent.grad += local * self.grad for each
        parent (a leaf does nothing). As micrograd's `_backward`, for stepping by hand."""
        if self._a is not None:
            _check_made_after(self, self._tick, None, {})
        chain_rule_step(self)

    def backward_steps(self):
        """backward(), one node per next(): a generator of Steps (see autograd.steps)."""
        from .steps import backward_steps
        return backward_steps(self)

    def zero_grad(self) -> None:
        """Set `grad` to 0.0 on this node and every node it was computed from."""
        for node in topological_order(self):
            node.grad = 0.0

    # -- as a number, and as micrograd spells things ------------------------------------------
    # Comparisons, float(), int(), round() and bool() use `data`, as for a PyTorch 0-d tensor.
    # `==` and hash stay by identity: nodes live in sets and dicts (the topological sort's
    # `seen`, micrograd's `_prev`), where two nodes that hold the same number are still two.

    def __lt__(self, other):
        other = _compared(other)
        return other if other is NotImplemented else self._data < other

    def __le__(self, other):
        other = _compared(other)
        return other if other is NotImplemented else self._data <= other

    def __gt__(self, other):
        other = _compared(other)
        return other if other is NotImplemented else self._data > other

    def __ge__(self, other):
        other = _compared(other)
        return other if other is NotImplemented else self._data >= other

    def __float__(self) -> float:
        if _on_values and _values_pass.get():
            raise _float_on_values(self)
        return self._data

    def __format__(self, spec: str) -> str:
        """f"{v:.3f}" formats the number (as a PyTorch 0-d tensor); f"{v}" is str(v)."""
        return format(self._data, spec) if spec else str(self)

    def __int__(self) -> int:
        return int(self._data)

    def __round__(self, ndigits: int | None = None):
        return round(self._data, ndigits)

    def __bool__(self) -> bool:
        return self._data != 0.0

    @property
    def _prev(self) -> set[Value]:
        """micrograd's name: the set of parents."""
        return set(self.parents)

    @property
    def _op(self) -> str:
        """micrograd's name for `op`."""
        return self.op

    # -- pickle and copy: parents first, one node at a time (any depth; see _copy.py) ---------

    def __reduce_ex__(self, protocol):
        from ._copy import reduce
        return reduce(self)

    def __setstate__(self, state) -> None:
        _earlier, data, grad, local, a, b, attributes = state
        self._data, self.grad, self._a, self._b, self._tick = data, grad, a, b, _now
        self.local = Value._pow_local(local[1]) if type(local) is tuple else local
        if attributes:
            self.__dict__.update(attributes)

    def __copy__(self) -> Value:
        """A new node like this one: same data, grad, label, op and parents."""
        from ._copy import shallow_copy
        return shallow_copy(self)

    def __deepcopy__(self, memo: dict) -> Value:
        """A copy of the whole graph behind this node (shared nodes stay shared)."""
        from ._copy import deep_copy
        return deep_copy(self, memo)


# ---------------------------------------------------------------------------------------------
# Helpers for the ops


def _result(data: float, local: Local, a: Value, b: Value | None = None) -> Value:
    """A new node holding `data`, made from operands a (and b) by the op whose local
    derivative is `local`. Under no_grad it records nothing: a leaf."""
    if data - data != 0.0:                 # inf or nan: the only floats for which x - x != 0
        raise _not_finite(data, local.op, a, b)
    out = _new_value(Value)
    out._data = data
    out.grad = 0.0
    out._tick = _now
    if _no_grad_anywhere == 0 or is_grad_enabled():
        out._a = a
        out._b = b
        out.local = local
    else:
        out._a = out._b = None
        out.local = None
    return out


_new_value = object.__new__


def _as_value(x, op: str):
    """x itself if it is a Value; a new leaf for a number; NotImplemented for anything else."""
    if isinstance(x, Value):
        return x
    number = _real(x, op)
    return NotImplemented if number is None else _leaf(number)


def _leaf(data: float) -> Value:
    """A leaf for a number already checked by _real()."""
    out = _new_value(Value)
    out._data = data
    out.grad = 0.0
    out._a = out._b = None
    out.local = None
    out._tick = _now
    return out


def _real(x, who: str) -> float | None:
    """x as a finite float if it is a real number (not a bool); None if it is not a number.
    A real number that is not finite (nan, inf, an int beyond the float range) is an
    UndefinedMathError naming `who`."""
    if type(x) is float:
        number = x
    elif isinstance(x, numbers.Real) and not isinstance(x, bool) and type(x).__name__ != "bool_":
        try:
            number = float(x)          # ints, NumPy scalars, fractions
        except OverflowError:
            raise UndefinedMathError(
                f"{who}: got a number of about {_magnitude(x)}, beyond the largest float "
                "(about 1.8e308); scale it down") from None
    else:
        return None
    if number - number != 0.0:
        error = UndefinedMathError(
            f"{who}: got {'NaN (not a number)' if number != number else number}; a Value holds "
            "a finite real number: give it one (an inf or nan comes from an overflow or a "
            "division by zero earlier on)")
        error.result = number
        raise error
    return number


def _magnitude(x) -> str:
    """A short text for a huge int: 1e400 (its repr would have 401 digits)."""
    try:
        digits = int(abs(x)).bit_length() * math.log10(2)
        return f"{'-' if x < 0 else ''}1e{int(digits)}"
    except (TypeError, ValueError, OverflowError):
        return "that size"


def _as_number(x) -> float | None:
    """x as a float if it is a real number (not a bool), else None (no check of its size)."""
    if type(x) is float or type(x) is int:
        return float(x)
    if isinstance(x, numbers.Real) and not isinstance(x, bool) and type(x).__name__ != "bool_":
        return float(x)          # NumPy scalars, fractions
    return None


def _compared(other):
    """What a Value is compared with: another Value's data, a real number, or NotImplemented."""
    if isinstance(other, Value):
        return other._data
    if type(other) in (float, int):
        return other
    if isinstance(other, numbers.Real) and not isinstance(other, bool):   # NumPy's, Fraction:
        return int(other) if isinstance(other, numbers.Integral) else float(other)   # a bool
    return NotImplemented


def _at(node: Value) -> str:
    """' (node 'x')' for a labelled node, for error messages."""
    return f" (node {node.label!r})" if node.label else ""


def _operands(a: Value, b: Value | None) -> str:
    """'x = 2.0 (node 'x')' or 'a = 1e+308, b = 10.0', for error messages."""
    if b is None:
        return f"x = {a._data!r}{_at(a)}"
    return f"a = {a._data!r}{_at(a)}, b = {b._data!r}{_at(b)}"


def _not_finite(data: float, op: str, a: Value, b: Value | None) -> UndefinedMathError:
    what = "beyond the largest float (about 1.8e308)" if data == data else "not a number (nan)"
    error = UndefinedMathError(f"{op}: the result is {what}, got {_operands(a, b)}; "
                               "scale the numbers down (or use a stable formula)")
    error.result = data
    return error


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


def _float_sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)                # the same number, without exp(-x) overflowing for x << 0
    return e / (1.0 + e)


def define_op(name: str, local: Local) -> Callable:
    """Make a new op from its forward (a function of floats) and its local derivative.

        @define_op("softplus", local=lambda x, out: (sigmoid(x),))   # d softplus/dx = sigmoid(x)
        def softplus(x):
            return math.log1p(math.exp(x))

    `softplus(v)` on Values builds a node (numbers are lifted to leaves); on numbers, a float.
    Either way the result is a finite number or an UndefinedMathError. `local` is given an
    attribute `op = name`, so each op needs a local function of its own.
    """
    if getattr(local, "op", name) != name:
        raise ValueError(f"define_op({name!r}): this local derivative is already the local of "
                         f"op {local.op!r}; give each op a local function of its own")
    try:
        local.op = name
    except (AttributeError, TypeError):
        raise TypeError(f"define_op({name!r}): local must be a function, "
                        f"got {type(local).__name__}") from None

    def decorate(forward: Callable[..., float]) -> Callable:
        @functools.wraps(forward)
        def apply(*operands):
            if len(operands) not in (1, 2):
                raise TypeError(f"{name}: an op takes one or two operands, got {len(operands)}")
            parents = tuple(_as_value(x, name) for x in operands)
            for x, parent in zip(operands, parents):
                if parent is NotImplemented:
                    raise TypeError(f"{name}: operands must be Values or real numbers, "
                                    f"got {type(x).__name__}: {x!r}")
            values = ", ".join(f"{p._data!r}{_at(p)}" for p in parents)
            try:
                out = forward(*(p._data for p in parents))
            except (ArithmeticError, ValueError) as error:
                raise UndefinedMathError(f"{name}: undefined at x = {values} ({error})") from error
            try:
                number = _real(out, name)
            except UndefinedMathError:
                number = None
            if number is None:
                raise UndefinedMathError(f"{name}: forward gave {out!r} at x = {values}, "
                                         "not a finite real number")
            node = _result(number, local, *parents)
            if any(isinstance(x, Value) for x in operands):
                return node
            return node._data                  # on numbers, a number
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


def topological_order(root: Value, seen: set[Value] | None = None) -> list[Value]:
    """Every node `root` depends on, each after its parents, `root` last (iterative: no depth
    limit). `seen`: nodes placed already (several roots share one), left out and added to."""
    order: list[Value] = []
    if seen is None:
        seen = set()
    elif root in seen:
        return order
    seen.add(root)
    node = root
    path = []                       # the nodes from the root down to `node`, waiting for it
    while True:
        a, b = node._a, node._b
        if a is not None and a not in seen:        # go down into a parent not yet seen
            seen.add(a)
            path.append(node)
            node = a
        elif b is not None and b not in seen:
            seen.add(b)
            path.append(node)
            node = b
        else:                                      # its parents are all placed: place it
            order.append(node)
            if not path:
                return order
            node = path.pop()


Saved = list[tuple[Value, float]]


def start_backward(root: Value, seed: float = 1.0) -> tuple[list[Value], Saved]:
    """Ready a backward pass: the order (as topological_order gives it), the grads as they
    were (each leaf's, and each interior grad that is not 0.0, so that a failed pass can be
    undone), interior grads set to 0.0 (they are recomputed), and the root seeded (d root/d
    root = 1, added: a leaf root accumulates too). Refuses a graph whose data changed since it
    was built (StaleGraphError).

    The walk is topological_order's, but it marks each node it meets with this pass's tick
    instead of keeping a set of the nodes met (a quarter faster); a node whose tick is not the
    clock's gets a closer look first (_check_made_after)."""
    global _now
    now = _now
    visit = now + 0.0                           # a new float: this pass's mark
    written: dict[Value, _Tick] = {}            # the written nodes met, with their old ticks
    order = []
    saved = []
    try:
        if root._tick is not now:
            _check_made_after(root, root._tick, visit, written)
        root._tick = visit
        node = root
        path = []                   # the nodes from the root down to `node`, waiting for it
        while True:
            a, b = node._a, node._b
            if a is not None and a._tick is not visit:      # go down into a parent not met
                if a._tick is not now:
                    _check_made_after(a, a._tick, visit, written)
                a._tick = visit
                path.append(node)
                node = a
            elif b is not None and b._tick is not visit:
                if b._tick is not now:
                    _check_made_after(b, b._tick, visit, written)
                b._tick = visit
                path.append(node)
                node = b
            else:                                           # its parents are placed: place it
                order.append(node)
                if a is None:
                    saved.append((node, node.grad))
                elif node.grad != 0.0:
                    saved.append((node, node.grad))
                    node.grad = 0.0
                if not path:
                    break
                node = path.pop()
    except StaleGraphError:
        undo_backward(order, saved)
        raise
    finally:
        for node, tick in written.items():      # written nodes keep their mark for later passes
            node._tick = tick
    _now = visit                                # no write since: the graph is up to date
    root.grad += seed
    return order, saved


def _check_made_after(node: Value, tick: _Tick, visit: _Tick | None,
                      written: dict[Value, _Tick], who: str = "backward") -> None:
    """For a node met whose tick is not the clock's: note it if its data was written, and
    raise StaleGraphError if it was, having parents, or a parent's data was written after
    it was made."""
    k = math.floor(tick)
    if tick != k:                               # a write
        written[node] = tick
        if tick - k == 0.5:                     # to a leaf
            return
        raise _graph_changed(node, node, who)
    for parent in node.parents:
        old = parent._tick if parent._tick is not visit else written.get(parent)
        if old is not None and old != math.floor(old) and old > k + 1.0:
            raise _graph_changed(parent, node, who)


def _graph_changed(written: Value, node: Value, who: str = "backward") -> StaleGraphError:
    if written is node:
        what = f"the data of {_name(node)} was changed after the {node.op} that computed it"
    else:
        what = (f"the data of {_name(written)} was changed (to {written._data!r}) after "
                f"{_name(node)} was computed from it")
    then = "call backward()" if who == "backward" else f"call {who} again"
    return StaleGraphError(
        f"{who}: {what}; a graph records values when it is built: run the forward pass "
        f"again from the leaves (as each training step does), then {then}")


def undo_backward(order: list[Value], saved: Saved, failed: Value | None = None,
                  error: BaseException | None = None) -> UndefinedMathError | None:
    """Put every grad back as before the pass; the error to raise for the failed node."""
    for node in order:
        if node._a is not None:
            node.grad = 0.0
    for node, grad in saved:
        node.grad = grad
    return None if failed is None else undefined_derivative(failed, error)


def _name(node: Value) -> str:
    return f"node {node.label!r}" if node.label else f"a {node.op or 'leaf'} node" if node.op \
        else "a leaf"


def _seed(gradient) -> float:
    number = _real(gradient, "backward(gradient=)")
    if number is None:
        raise TypeError(f"backward(gradient=) takes a real number, "
                        f"got {type(gradient).__name__}: {gradient!r}")
    return number


def _checked_backward(order: list[Value], saved: Saved, seed: float) -> None:
    """backward() again from the saved grads, one edge at a time, each number checked: raise
    at the first that is not finite (with every grad put back), or finish if none is (the
    quick pass's sum of grads only overflowed)."""
    undo_backward(order, saved)
    grads_as_numbers(saved)
    root = order[-1]
    try:
        for node in order:
            if node._a is not None:
                node.grad = 0.0
        before = root.grad
        root.grad = _grad_number(root, before + seed)
        if root.grad - root.grad != 0.0:
            raise UndefinedMathError(
                f"backward: the root's grad {before!r} + the seed {seed!r} is not a finite "
                "number; reset it (zero_grad()) or seed with a smaller gradient=")
        for node in reversed(order):
            if node._a is not None:
                chain_rule_step(node)
    except BaseException:
        undo_backward(order, saved)
        raise


def grads_as_numbers(saved: Saved) -> None:
    """A plain pass works on numbers: each grad that is a Value (left by a create_graph pass)
    becomes its number."""
    for node, _ in saved:
        grad = node.grad
        if isinstance(grad, Value):
            node.grad = grad._data


def chain_rule_step(node: Value, grads: dict | None = None,
                    needed: set | None = None) -> list[tuple[Value, float, float, float, float]]:
    """One node's step of the chain rule, each number checked: for each parent,
    parent.grad += local * node.grad. Returns (parent, local, contribution, grad before,
    grad after) per edge. On any error it changes nothing and names the node and edge.
    With `grads` (a dict by node) the step reads and writes that dict instead of the grads;
    with `needed`, parents not in it are skipped."""
    parents = node.parents
    if not parents:
        return []
    upstream = node.grad if grads is None else grads.get(node, 0.0)
    if type(upstream) is not float:
        upstream = _grad_number(node, upstream)
    if upstream - upstream != 0.0:
        raise UndefinedMathError(f"backward through {node.op}{_at(node)}: its grad is "
                                 f"{upstream!r}, not a finite number; reset it (zero_grad())")
    try:
        locals_ = node.local(*[parent._data for parent in parents], node._data)
    except (ArithmeticError, ValueError) as error:
        raise undefined_derivative(node, error) from error
    if len(locals_) != len(parents):
        raise TypeError(f"backward through {node.op}: its local derivative gave "
                        f"{len(locals_)} numbers for {len(parents)} operands")
    edges = []
    pending = {}                                   # a + a: the second edge adds to the first
    for position, (parent, local) in enumerate(zip(parents, locals_)):
        if needed is not None and parent not in needed:
            continue
        if type(local) is not float:               # an int, a NumPy number, a complex ...
            local = _local_number(node, position, local)
        if local - local != 0.0:
            raise undefined_derivative(node, None, position, local)
        contribution = local * upstream
        before = pending.get(id(parent), parent.grad if grads is None
                             else grads.get(parent, 0.0))
        after = before + contribution
        if type(after) is not float:               # a grad set to an int (or a complex) before
            after = _grad_number(parent, after)
        if after - after != 0.0:
            raise _overflow(node, position, local, upstream, before)
        pending[id(parent)] = after
        edges.append((parent, local, contribution, before, after))
    for parent, _, _, _, after in edges:
        if grads is None:
            parent.grad = after
        else:
            grads[parent] = after
    return edges


def _local_number(node: Value, position: int, local) -> float:
    """A local derivative's number as a float (inf if beyond the float range); a TypeError
    naming the node for anything that is not a real number (a complex, an array, a str)."""
    if isinstance(local, (numbers.Real, bool)) or type(local).__name__ == "bool_":
        try:
            return float(local)
        except OverflowError:
            return math.inf
    where = "" if node._b is None else f" for its {('first', 'second')[position]} operand"
    raise TypeError(f"backward through {node.op}{_at(node)}: its local derivative gave "
                    f"{type(local).__name__} {local!r}{where}, not a real number; return floats "
                    "from a local derivative")


def _grad_number(node: Value, grad) -> float:
    """A grad as a float (one set by hand to an int or a NumPy number, or a Value's number);
    a TypeError naming the node for a grad that is not a real number."""
    if isinstance(grad, Value):
        return grad._data
    if isinstance(grad, numbers.Real):
        try:
            return float(grad)
        except OverflowError:
            return math.inf
    raise TypeError(f"backward: the grad of {_name(node)} is {type(grad).__name__} {grad!r}, "
                    "not a real number; reset it (zero_grad()) before backward()")


def undefined_derivative(node: Value, error: BaseException | None = None,
                         position: int | None = None,
                         local: float | None = None) -> UndefinedMathError:
    """The error for a node whose step of the chain rule has no finite number: its local
    derivative raised `error`, or gave `local` for the operand at `position` (not finite, or
    finite with a contribution beyond the largest float)."""
    where = "" if position is None or node._b is None else \
        f" (for its {('first', 'second')[position]} operand)"
    what = "is infinite (or beyond the largest float)" if isinstance(error, ArithmeticError) \
        else f"is undefined ({error})" if error is not None \
        else f"is {local!r}{where}" if local - local != 0.0 \
        else f"{where} is {local!r}, and times its upstream it is beyond the largest float"
    return UndefinedMathError(
        f"backward through {node.op}{_at(node)}: its local derivative {what} at "
        f"{_operands(node._a, node._b)}; "
        "move the input away from that point (e.g. sqrt(x + 1e-12) instead of sqrt(x))")


def _overflow(node: Value, position: int, local: float, upstream: float,
              before: float) -> UndefinedMathError:
    parent = node.parents[position]
    edge = f"backward through {node.op}{_at(node)} to its " \
        f"{('first', 'second')[position] + ' ' if len(node.parents) == 2 else ''}operand" \
        f"{_at(parent)}"
    if before - before != 0.0:
        return UndefinedMathError(f"{edge}: that operand's grad was already {before!r}; "
                                  "reset it (zero_grad()) before backward()")
    return UndefinedMathError(
        f"{edge}: the grad {before!r} + local {local!r} * upstream {upstream!r} is beyond the "
        "largest float; scale the loss or the inputs down")


def local_derivatives(node: Value) -> tuple[float, ...]:
    """d node / d parent for each parent (in operand order), evaluated at the current values."""
    if not node.parents:
        return ()
    return node.local(*[parent._data for parent in node.parents], node._data)


# ---------------------------------------------------------------------------------------------
# Derivatives of derivatives: the backward pass on Values (create_graph, autograd.grad)
#
# Fed the parents and the node themselves (Values, not their floats), an op's local derivative
# builds a graph: tanh's (1 - out) * (1 + out) becomes nodes made from the tanh node `out`.
# Times an upstream grad that is a Value too, d root / d node is then a Value with a graph of
# its own, which backward() differentiates again (reverse over reverse). Its numbers are the
# plain pass's, operation for operation. Constants stay floats while the pass runs (the seed,
# +'s local 1.0): no node is made to multiply by 1 or add 0, so a derivative's graph holds only
# what depends on the graph's Values.

_on_values = 0                  # passes evaluating local derivatives on Values, in any thread
_on_values_lock = threading.Lock()
_values_pass: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "chainrule_values_pass", default=False)


@contextlib.contextmanager
def _locals_on_values():
    """Inside: ops build their graph (even under no_grad, as PyTorch's create_graph), and
    float() of a Value is an error in this thread (math.exp(x) in a local derivative would
    make a constant of x: the derivative would silently lose its graph)."""
    global _on_values
    with _on_values_lock:
        _on_values += 1
    token = _values_pass.set(True)
    try:
        with enable_grad():
            yield
    finally:
        _values_pass.reset(token)
        with _on_values_lock:
            _on_values -= 1


def _float_on_values(node: Value) -> TypeError:
    return TypeError(f"float() of a Value ({node._data!r}{_at(node)}) while local derivatives "
                     "run on Values: math.exp(x), math.log(x), float(x) ... make a constant of x")


class _StepFailed(Exception):
    """The pass on Values could not take its step at `node` (the caller says why, precisely)."""

    def __init__(self, node: Value, error: Exception) -> None:
        super().__init__(node, error)
        self.node, self.error = node, error


def _times(local, upstream):
    """local * upstream, each a Value or a float (a constant); None for a constant 0.
    Multiplying by a constant 1 or -1 makes no node, or a negation: the same number."""
    if type(local) is not Value:
        if type(local) is not float:
            number = _real(local, "a local derivative")
            if number is None:
                raise TypeError(f"a local derivative gave {type(local).__name__}: {local!r}, "
                                "not a number or a Value")
            local = number
        elif local - local != 0.0:
            raise UndefinedMathError(f"a local derivative is {local!r}")
        if local == 0.0:
            return None
        if type(upstream) is not Value:
            return _checked_number(local * upstream)
        if local == 1.0:
            return upstream
        if local == -1.0:
            return -upstream
    elif type(upstream) is not Value:
        if upstream == 0.0:
            return None
        if upstream == 1.0:
            return local
        if upstream == -1.0:
            return -local
    return local * upstream


def _plus(before, contribution):
    """before + contribution, each a Value or a float; no node for adding a constant 0."""
    if type(before) is not Value:
        if type(contribution) is not Value:
            return _checked_number(before + contribution)
        if before == 0.0:
            return contribution
    elif type(contribution) is not Value and contribution == 0.0:
        return before
    return before + contribution


def _checked_number(x: float) -> float:
    if x - x != 0.0:
        raise UndefinedMathError(f"a product or sum of constants is {x!r}")
    return x


def _pass_on_values(order: list[Value], grads: dict, needed: set | None = None) -> None:
    """The chain rule on Values, from the root (order[-1]) back: `grads` holds d root / d node
    as far as known (the root's seed; leaves' grads to add to) and gets the rest, Values or
    float constants. Only parents in `needed` (if given) are passed a contribution. Raises
    _StepFailed at a node whose step failed; whatever it wrote to `grads` is then void."""
    with _locals_on_values():
        for node in reversed(order):
            a, b = node._a, node._b
            if a is None:
                continue
            upstream = grads.get(node)
            if upstream is None:              # nothing reached it (or only constant zeros)
                continue
            parents = (a,) if b is None else (a, b)
            try:
                locals_ = node.local(*parents, node)   # on Values: builds the local's graph
                if len(locals_) != len(parents):
                    raise TypeError(f"its local derivative gave {len(locals_)} numbers for "
                                    f"{len(parents)} operands")
                for parent, local in zip(parents, locals_):
                    if needed is not None and parent not in needed:
                        continue
                    contribution = _times(local, upstream)       # the chain rule, once per edge
                    if contribution is not None:
                        before = grads.get(parent)
                        grads[parent] = contribution if before is None else \
                            _plus(before, contribution)
            except Exception as error:
                raise _StepFailed(node, error) from error


def _not_on_values(node: Value, error: Exception, who: str) -> TypeError:
    return TypeError(
        f"{who} through {node.op}{_at(node)}: its local derivative does not take Values "
        f"({error}); write it with operators and autograd's functions (exp, log, tanh, sin, "
        "step, sign, ...), not math's, so that its derivative can be differentiated again")


def _backward_on_values(root: Value, seed: float) -> None:
    """backward(create_graph=True): every grad of the graph becomes a Value (a constant is a
    leaf); leaves' grads accumulate (old + new, a Value); all or nothing, as backward()."""
    order, saved = start_backward(root, 0.0)    # checks the graph, zeroes interior grads
    grads: dict = {}
    for node, grad in saved:
        if node._a is None:                     # a leaf's grad: the pass adds to it
            grads[node] = grad if isinstance(grad, Value) else float(grad)
    before = grads.get(root)
    try:
        grads[root] = seed if before is None else _plus(before, seed)
        _pass_on_values(order, grads)
        for node in order:
            grad = grads.get(node, 0.0)
            node.grad = grad if type(grad) is Value else _leaf(grad)
    except _StepFailed as failed:
        error = failed.error
        if not isinstance(error, (ArithmeticError, ValueError)):
            undo_backward(order, saved)
            raise _not_on_values(failed.node, error, "backward(create_graph=True)") from error
        _checked_backward(order, saved, seed)   # on floats, edge by edge: the precise error
        undo_backward(order, saved)             # (went through: the error is on Values only)
        raise undefined_derivative(failed.node, error) from error
    except BaseException:                       # the root's seed, KeyboardInterrupt
        undo_backward(order, saved)
        raise


def gradients(root: Value, inputs: list[Value], seed: Number = 1.0) -> list[Value]:
    """d root / d input for each input, as Values with graphs of their own (a derivative that
    does not depend on any Value is a constant leaf): torch.autograd.grad(root, inputs,
    create_graph=True). Computed on the side: no grad of the graph is read or written. Only
    the paths from the root into the inputs are followed."""
    seed = _seed(seed)
    for x in inputs:
        if not isinstance(x, Value):
            raise TypeError(f"gradients(): inputs must be Values, got {type(x).__name__}: {x!r}")
    order = topological_order(root)
    check_graph(order, "gradients")
    needed = set(inputs)                     # the nodes computed from an input
    for node in order:
        if node._a in needed or node._b in needed:
            needed.add(node)
    grads: dict = {root: seed} if root in needed else {}
    try:
        _pass_on_values(order, grads, needed)
    except _StepFailed as failed:
        error = failed.error
        if not isinstance(error, (ArithmeticError, ValueError)):
            raise _not_on_values(failed.node, error, "autograd.grad") from error
        replay = {root: seed}                # on floats, edge by edge: the precise error
        for node in reversed(order):
            if node._a is not None and node in needed and node in replay:
                chain_rule_step(node, replay, needed)
        raise undefined_derivative(failed.node, error) from error
    result = []
    for x in inputs:
        grad = grads.get(x, 0.0)
        result.append(grad if type(grad) is Value else _leaf(grad))
    return result


def check_graph(order: list[Value], who: str = "backward") -> None:
    """StaleGraphError if a node's data was changed after a node was computed from it (as
    start_backward checks, but writing nothing): for the passes on the side, `who` their name."""
    now = _now
    written: dict[Value, _Tick] = {}
    for node in order:
        if node._tick is not now:
            _check_made_after(node, node._tick, None, written, who)


# ---------------------------------------------------------------------------------------------
# The functions, for Values and plain numbers alike: tanh(v) is v.tanh(), tanh(0.5) a float, and
# a number gives exactly what the method gives for a Value of it (the same float, or the same
# error). Anything else that is not a number (a symbol, say) is asked for its own method.


def _generic(name: str, on_float: Callable[[float], float]):
    method = getattr(Value, name)

    def function(x):
        if type(x) is float and x - x == 0.0:      # a finite float (local derivatives, mostly)
            try:
                return on_float(x)
            except (ValueError, OverflowError):
                pass                               # the method says why, in its words
        if isinstance(x, Value):
            return method(x)
        number = _real(x, name)
        if number is not None:
            return method(_leaf(number))._data
        return _delegate(x, name)
    function.__name__ = name
    function.__qualname__ = name
    function.__doc__ = f"{name}(x): for a Value, the node x.{name}(); for a number, the number."
    return function


def _delegate(x, name: str):
    """x.name() for a non-number that has it (a Symbol); else a TypeError."""
    if isinstance(x, numbers.Number) or not callable(getattr(type(x), name, None)):
        raise TypeError(f"{name}() takes a Value or a real number (int or float), "
                        f"got {type(x).__name__}: {x!r}")
    return getattr(x, name)()


exp = _generic("exp", math.exp)
log = _generic("log", math.log)
tanh = _generic("tanh", math.tanh)
sigmoid = _generic("sigmoid", _float_sigmoid)
relu = _generic("relu", lambda x: x if x > 0.0 else 0.0)
sin = _generic("sin", math.sin)
cos = _generic("cos", math.cos)
sqrt = _generic("sqrt", math.sqrt)


def step(x):
    """The slope of relu: 1.0 where x > 0, else 0.0. Of a Value, a node whose own slope is 0."""
    if type(x) is float and x - x == 0.0:
        return 1.0 if x > 0.0 else 0.0
    if isinstance(x, Value):
        return _result(step(x._data), Value._step_local, x)      # d step(x)/dx = 0
    number = _real(x, "step")
    return _delegate(x, "step") if number is None else step(number)


def sign(x):
    """The slope of abs: -1.0, 0.0 or 1.0 (0.0 at 0, as PyTorch). Of a Value, a node whose own
    slope is 0."""
    if type(x) is float and x - x == 0.0:
        return 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0
    if isinstance(x, Value):
        return _result(sign(x._data), Value._sign_local, x)      # d sign(x)/dx = 0
    number = _real(x, "sign")
    return _delegate(x, "sign") if number is None else sign(number)
