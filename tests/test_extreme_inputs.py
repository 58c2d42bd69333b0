"""Every op on extreme inputs gives a finite float or UndefinedMathError, never nan, inf, a
complex number or another exception; a failed backward() changes no grad; the functions of
numbers behave exactly as the Value methods do (hypothesis)."""

import math
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import UndefinedMathError, Value, topological_order

BIGGEST = sys.float_info.max
EXTREMES = [0.0, -0.0, 5e-324, -5e-324, 1e-320, 2.2250738585072014e-308, 1e-200, 0.5, 1.0,
            -1.0, 2.0, 709.78, 709.79, -745.2, 1e15, 1e200, -1e200, 1e308, -1e308, BIGGEST,
            -BIGGEST, math.nextafter(BIGGEST, 0.0), 0.1, -3.0, 10**308, -(10**308),
            10**309, 10**400, -(10**400), 2**1023, 2**1024, 0, 1, -1, 7]
NOT_FINITE = [math.inf, -math.inf, math.nan]

numbers = st.one_of(
    st.sampled_from(EXTREMES),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=-1e-300, max_value=1e-300),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.integers(min_value=-1000, max_value=1000),
)
any_numbers = st.one_of(numbers, st.sampled_from(NOT_FINITE))

UNARY = {
    "neg": lambda x: -x, "exp": lambda x: x.exp(), "log": lambda x: x.log(),
    "tanh": lambda x: x.tanh(), "sigmoid": lambda x: x.sigmoid(), "relu": lambda x: x.relu(),
    "sin": lambda x: x.sin(), "cos": lambda x: x.cos(), "sqrt": lambda x: x.sqrt(),
    "abs": lambda x: abs(x),
}
BINARY = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / b, "**": lambda a, b: a ** b,
}
FUNCTIONS = ["exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt"]


def finite_value(node) -> bool:
    return isinstance(node, Value) and type(node.data) is float and math.isfinite(node.data)


def check_backward(root: Value) -> None:
    """backward() gives finite grads, or UndefinedMathError and every grad as it was."""
    nodes = topological_order(root)
    before = [node.grad for node in nodes]
    try:
        root.backward()
    except UndefinedMathError:
        assert [node.grad for node in nodes] == before
        return
    for node in nodes:
        assert type(node.grad) is float and math.isfinite(node.grad), (node, node.grad)


def outcome(make):
    """The result of make(), or UndefinedMathError; anything else fails the test."""
    try:
        return make()
    except UndefinedMathError as error:
        return error


@pytest.mark.parametrize("name", sorted(UNARY))
def test_every_one_operand_op_on_extreme_inputs(name):
    op = UNARY[name]

    @given(any_numbers)
    def check(x):
        leaf = outcome(lambda: Value(x, "x"))
        if isinstance(leaf, UndefinedMathError):
            assert isinstance(x, int) or not math.isfinite(x)   # only inf, nan, huge ints
            return
        result = outcome(lambda: op(leaf))
        if isinstance(result, UndefinedMathError):
            return
        assert finite_value(result), (name, x, result)
        check_backward(result)
    check()


@pytest.mark.parametrize("name", sorted(BINARY))
def test_every_two_operand_op_on_extreme_inputs(name):
    op = BINARY[name]

    @given(any_numbers, any_numbers, st.sampled_from(["values", "number left", "number right"]))
    def check(a, b, kind):
        def make():
            left = a if kind == "number left" else Value(a, "a")
            right = b if kind == "number right" else Value(b, "b")
            if name == "**" and kind == "number left":
                return left ** right               # a number to a Value power: __rpow__
            return op(left, right)
        result = outcome(make)
        if isinstance(result, UndefinedMathError):
            return
        assert finite_value(result), (name, a, b, kind, result)
        check_backward(result)
    check()


def test_a_chain_of_ops_on_extreme_inputs():
    @given(st.lists(st.tuples(st.sampled_from(sorted(UNARY) + sorted(BINARY)), numbers),
                    min_size=1, max_size=8), numbers)
    def check(program, start):
        node = outcome(lambda: Value(start, "x"))
        if isinstance(node, UndefinedMathError):
            return
        for name, number in program:
            step = outcome(lambda name=name, node=node, number=number:
                           UNARY[name](node) if name in UNARY else BINARY[name](node, number))
            if isinstance(step, UndefinedMathError):
                break
            assert finite_value(step)
            node = step
        check_backward(node)
    check()


@pytest.mark.parametrize("name", FUNCTIONS + ["step", "sign"])
def test_the_functions_of_numbers_behave_as_the_methods(name):
    function = getattr(autograd, name)

    @given(any_numbers)
    def check(x):
        ours = outcome(lambda: function(x))
        if name in ("step", "sign"):           # slopes: no method, compare with the formula
            expected = outcome(lambda: Value(x).data)
            if not isinstance(expected, UndefinedMathError):
                expected = {"step": 1.0 if expected > 0 else 0.0,
                            "sign": math.copysign(1.0, expected) if expected else 0.0}[name]
        else:
            expected = outcome(lambda: getattr(Value(x), name)().data)
        if isinstance(expected, UndefinedMathError):
            assert isinstance(ours, UndefinedMathError), (name, x, ours)
            if isinstance(outcome(lambda: Value(x)), Value):   # the method refused x itself:
                assert str(ours) == str(expected)               # in the method's own words
        else:
            assert type(ours) is float and ours == expected, (name, x, ours, expected)
    check()


def test_a_user_op_on_extreme_inputs():
    @autograd.define_op("softplus", local=lambda x, out: (autograd.sigmoid(x),))
    def softplus(x):
        return math.log1p(math.exp(x))

    @given(any_numbers)
    def check(x):
        on_value = outcome(lambda: softplus(Value(x)))
        on_number = outcome(lambda: softplus(x))
        if isinstance(on_value, UndefinedMathError):
            assert isinstance(on_number, UndefinedMathError)
            return
        assert finite_value(on_value) and on_number == on_value.data
        check_backward(on_value)
    check()


# A local derivative (or a grad set by hand) that is not a float: backward, backward_steps and
# the views read a real number of any type as its float, and refuse anything else (a complex,
# an array, a str) naming the node, every grad as it was: never a complex or NumPy grad.
OTHER_NUMBERS = [2, True, 0.5, 10**400, math.inf, complex(1, 1), "2", None, [1.0]]
try:
    import numpy
    OTHER_NUMBERS += [numpy.float64(2.0), numpy.float64(math.nan), numpy.float32(0.5),
                      numpy.array(1.0), numpy.array([1.0]), numpy.longdouble("1e400")]
except ImportError:          # NumPy is a test dependency; the plain types still run
    pass


def graph_with_local(local_result):
    op = autograd.define_op("odd", local=lambda x, out: (local_result,))(lambda x: 2.0 * x)
    a, b = Value(1.5, "a"), Value(2.0, "b")
    h = a * b
    return op(h) * 3.0 + h


def expected_local(local_result):
    """The float the local stands for, or None when it is no finite real number."""
    import numbers
    if not isinstance(local_result, numbers.Real):      # complex, str, None, list, arrays
        return None
    try:
        number = float(local_result)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


@pytest.mark.parametrize("local_result", OTHER_NUMBERS, ids=repr)
@pytest.mark.parametrize("how", ["backward", "backward_steps", "backward_pass"])
def test_a_local_derivative_of_another_type(local_result, how):
    root = graph_with_local(local_result)
    nodes = topological_order(root)
    for i, node in enumerate(nodes):
        node.grad = 0.25 * (i + 1)
    before = [node.grad for node in nodes]
    expected = expected_local(local_result)
    try:
        if how == "backward":
            root.backward()
            got = [node.grad for node in nodes]
        elif how == "backward_steps":
            for _ in root.backward_steps():
                pass
            got = [node.grad for node in nodes]
        else:
            run = autograd.backward_pass(root)
            got = [run.grad(node) for node in nodes]
    except (UndefinedMathError, TypeError):
        assert expected is None, local_result
        assert [node.grad for node in nodes] == before
        return
    assert expected is not None, (local_result, got)
    assert all(type(g) is float and math.isfinite(g) for g in got), got
    grads = {node.label: g for node, g in zip(nodes, got) if node.label}
    # d root/d h = 3 * local + 1, d h/d a = b = 2, d h/d b = a = 1.5 (the chain rule by hand)
    dh = 3.0 * expected + 1.0
    start = 0.0 if how == "backward_pass" else None      # the pass on the side: from zero
    assert grads == {"a": (before[0] if start is None else 0.0) + dh * 2.0,
                     "b": (before[1] if start is None else 0.0) + dh * 1.5}


@pytest.mark.parametrize("grad", [complex(1, 1), "0", None, 3, numpy.float64(1.0)]
                         if "numpy" in globals() else [complex(1, 1), "0", None, 3], ids=repr)
def test_a_grad_set_by_hand_to_another_type(grad):
    x = Value(2.0)
    y = x * 3.0
    x.grad = grad
    try:
        y.backward()
    except TypeError:
        assert not isinstance(grad, (int, float)) and x.grad is grad
        return
    assert type(x.grad) is float and x.grad == float(grad) + 3.0
