"""gradcheck and the per-op derivative check: they pass on right derivatives, catch wrong ones."""

import math

import pytest

import autograd
from autograd import (
    BUILTIN_OPS,
    GradcheckError,
    OpCheckError,
    Value,
    check_op,
    check_ops,
    define_op,
    gradcheck,
)


@define_op("cube_wrong", local=lambda x, out: (2 * x,))      # wrong: should be 3 x**2
def cube_wrong(x):
    return x ** 3


def test_gradcheck_passes_on_a_neuron():
    assert gradcheck(lambda x, w, b: (x * w + b).tanh(), [2.0, -3.0, 6.88]) is True


def test_gradcheck_names_the_input_and_both_numbers():
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda a, b: a * b + cube_wrong(b), [Value(1.0, "a"), Value(2.0, "b")])
    error = caught.value
    assert (error.index, error.label) == (1, "b")
    assert error.analytic == pytest.approx(1.0 + 4.0)              # 2*b, the wrong slope
    assert error.numeric == pytest.approx(1.0 + 12.0, rel=1e-6)    # 3*b**2
    assert "input 1 ('b')" in str(error) and "5.0" in str(error)


def test_gradcheck_accepts_a_single_number_and_refuses_a_non_value():
    assert gradcheck(lambda x: x.exp(), 0.3)
    with pytest.raises(TypeError, match="must return a Value"):
        gradcheck(lambda x: 1.0, [0.3])


def test_gradcheck_tolerances_are_used():
    # exp's central difference at eps=0.1 is off by about eps**2/6 relative: 0.17%.
    assert gradcheck(lambda x: x.exp(), [0.0], eps=0.1, rtol=1e-2)
    with pytest.raises(GradcheckError):
        gradcheck(lambda x: x.exp(), [0.0], eps=0.1, atol=0.0, rtol=1e-4)


def test_check_ops_covers_every_builtin_op():
    assert check_ops() == list(BUILTIN_OPS)
    made = {f(*(Value(x) for x in points[0])).op for f, points in BUILTIN_OPS.values()}
    assert made == {"+", "-", "*", "/", "neg", "**", "exp", "log", "tanh", "sigmoid", "relu",
                    "sin", "cos", "sqrt", "abs", "step", "sign"}


@pytest.mark.parametrize("name", ["tanh", "mul", "pow_value", "sqrt"])
def test_check_ops_names_an_op_whose_derivative_is_wrong(monkeypatch, name):
    right = getattr(Value, f"_{name}_local")
    monkeypatch.setattr(Value, f"_{name}_local",
                        staticmethod(lambda *args: tuple(1.1 * d + 0.1 for d in right(*args))))
    with pytest.raises(OpCheckError) as caught:
        check_ops()
    assert caught.value.op in {"tanh": ["tanh"], "mul": ["*"], "pow_value": ["** Value"],
                               "sqrt": ["sqrt"]}[name]
    assert "central differences" in str(caught.value)


def test_check_op_catches_a_students_wrong_op():
    assert check_op(lambda x: x ** 3, [(1.5,), (-2.0,)])
    with pytest.raises(OpCheckError) as caught:
        check_op(cube_wrong, [(1.5,)])
    assert caught.value.op == "cube_wrong" and caught.value.parent == 0
    assert caught.value.local == 3.0 and caught.value.numeric == pytest.approx(6.75)


def test_check_op_needs_exactly_one_op():
    with pytest.raises(ValueError, match="one op"):
        check_op(lambda x: (x * 2).tanh(), [(0.5,)])


def test_check_op_catches_a_non_finite_local():
    @define_op("bad_inf", local=lambda x, out: (math.inf,))
    def bad_inf(x):
        return x
    with pytest.raises(OpCheckError):
        check_op(bad_inf, [(0.5,)])


def test_the_package_exports_what_the_readme_promises():
    for name in ("Value", "no_grad", "gradcheck", "GradcheckError", "check_op", "check_ops",
                 "define_op", "UndefinedMathError", "topological_order", "local_derivatives"):
        assert name in autograd.__all__ and hasattr(autograd, name)
