"""Semantics of Value and backward(): exact cases a teacher would put on the board."""

import gc
import math
import weakref
from fractions import Fraction

import numpy as np
import pytest

import autograd
from autograd import UndefinedMathError, Value, no_grad, topological_order


def test_a_leaf_holds_a_float_and_nothing_else():
    x = Value(3, "x")
    assert type(x.data) is float and x.data == 3.0
    assert (x.grad, x.label, x.op, x.parents, x.local) == (0.0, "x", "", (), None)
    assert repr(x) == "Value(data=3.0, grad=0.0, label='x')"
    assert repr(Value(-0.5)) == "Value(data=-0.5, grad=0.0)"


@pytest.mark.parametrize("number, expected", [
    (2, 2.0), (2.5, 2.5), (np.float32(1.5), 1.5), (np.float64(-2.25), -2.25),
    (np.int64(7), 7.0), (Fraction(1, 4), 0.25), (10**308, 1e308), (True + 1, 2.0),
])
def test_real_numbers_are_accepted(number, expected):
    value = Value(number)
    assert type(value.data) is float and value.data == expected


@pytest.mark.parametrize("bad, type_name", [
    ("2.0", "str"), (None, "NoneType"), (1 + 2j, "complex"), (True, "bool"), ([1.0], "list"),
    (Value(1.0), "Value"), (np.bool_(False), "bool"),
])
def test_anything_else_is_a_type_error_naming_the_type(bad, type_name):
    with pytest.raises(TypeError, match=rf"got {type_name}"):
        Value(bad)


def test_nan_and_a_non_string_label_are_refused():
    with pytest.raises(UndefinedMathError, match="NaN"):
        Value(float("nan"))
    with pytest.raises(TypeError, match="label must be a str"):
        Value(1.0, label=3)


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan, np.float64("inf"),
                                 np.float32("-inf"), 10**400, -(10**400), Fraction(10**400, 3)])
def test_a_value_is_a_finite_real_number(bad):
    with pytest.raises(UndefinedMathError, match=r"^Value\(\): got .*; ") as caught:
        Value(bad)
    assert len(str(caught.value)) < 250                          # no 400-digit repr


def test_ops_record_their_name_and_parents_in_operand_order():
    a, b = Value(2.0, "a"), Value(5.0, "b")
    assert (a + a).parents == (a, a)
    difference = a - b
    assert difference.op == "-" and difference.parents == (a, b) and difference.data == -3.0
    reflected = 10 - a
    assert reflected.parents[1] is a and reflected.parents[0].data == 10.0
    assert reflected.data == 8.0 and reflected.parents[0].op == ""
    cases = {
        "+": a + b, "-": a - b, "*": a * b, "/": a / b, "**": a ** 2, "neg": -a,
        "exp": a.exp(), "log": a.log(), "tanh": a.tanh(), "sigmoid": a.sigmoid(),
        "relu": a.relu(), "sin": a.sin(), "cos": a.cos(), "sqrt": a.sqrt(), "abs": abs(a),
    }
    for op, node in cases.items():
        assert node.op == op
        assert node.parents[0] is a


def test_numbers_on_either_side():
    a = Value(4.0)
    assert [v.data for v in (a + 1, 1 + a, a - 1, 1 - a, a * 2, 2 * a, a / 2, 2 / a,
                             a ** 2, 2 ** a)] == [5.0, 5.0, 3.0, -3.0, 8.0, 8.0, 2.0, 0.5,
                                                  16.0, 16.0]
    assert (np.float64(2.0) * a).data == 8.0 and isinstance(np.float64(2.0) * a, Value)
    assert isinstance(np.float32(2.0) + a, Value) and (np.float32(2.0) + a).data == 6.0
    with pytest.raises(TypeError, match="str"):
        a + "1"
    with pytest.raises(TypeError):
        a ** "2"


def test_the_neuron_from_the_lecture():
    # o = tanh(x*w + b) at n = atanh(1/sqrt 2): do/dn = 1 - 1/2 = 1/2 exactly on paper.
    x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(0.5 * math.log(3 + 2 * math.sqrt(2)) + 6)
    o = (x * w + b).tanh()
    o.backward()
    assert o.data == pytest.approx(1 / math.sqrt(2), rel=1e-15)
    assert x.grad == pytest.approx(-3.0 * 0.5, rel=1e-14)
    assert w.grad == pytest.approx(2.0 * 0.5, rel=1e-14)
    assert b.grad == pytest.approx(0.5, rel=1e-14)
    assert o.grad == 1.0


def test_a_node_used_twice_gets_both_contributions():
    a = Value(3.0)
    (a + a).backward()
    assert a.grad == 2.0
    b = Value(3.0)
    (b * b).backward()
    assert b.grad == 6.0


def test_a_node_reused_on_many_paths_sums_every_path():
    a, b, c = Value(2.0), Value(-1.5), Value(4.0)
    f = a * b + a * c + a + (a * a).tanh()
    f.backward()
    assert a.grad == pytest.approx(b.data + c.data + 1 + 2 * a.data * (1 - math.tanh(4.0) ** 2))
    assert b.grad == a.data and c.grad == a.data


def test_backward_twice_recomputes_interior_grads_and_accumulates_leaves():
    x, w = Value(1.5), Value(-2.0)
    h = x * w
    y = h.tanh() * 3
    y.backward()
    first = (x.grad, w.grad, h.grad)
    y.backward()
    assert h.grad == first[2]                  # interior: recomputed, not doubled
    assert (x.grad, w.grad) == (2 * first[0], 2 * first[1])    # leaves: accumulated
    y.zero_grad()
    assert (x.grad, w.grad, h.grad, y.grad) == (0.0, 0.0, 0.0, 0.0)
    y.backward()
    assert (x.grad, w.grad, h.grad) == first


def test_backward_on_a_leaf_seeds_it():
    x = Value(2.0)
    x.backward()
    assert x.grad == 1.0


@pytest.mark.parametrize("make, expected_grad", [
    (lambda x: x.relu(), 0.0), (lambda x: abs(x), 0.0),
])
def test_kinks_follow_pytorch(make, expected_grad):
    x = Value(0.0)
    make(x).backward()
    assert x.grad == expected_grad
    assert make(x).data == 0.0


def test_relu_and_abs_slopes_away_from_the_kink():
    for data, relu_slope, abs_slope in ((-2.0, 0.0, -1.0), (1e-300, 1.0, 1.0), (3.0, 1.0, 1.0)):
        x = Value(data)
        x.relu().backward()
        assert x.grad == relu_slope
        y = Value(data)
        abs(y).backward()
        assert y.grad == abs_slope


@pytest.mark.parametrize("x", [1e6, -1e6, 710.0, -710.0, 1e300, -1e300])
def test_tanh_and_sigmoid_do_not_overflow(x):
    t, s = Value(x).tanh(), Value(x).sigmoid()
    assert t.data == math.copysign(1.0, x)
    assert s.data == (1.0 if x > 0 else math.exp(x))   # exp(-710) is a tiny subnormal, fine
    t.backward()
    s.backward()
    assert t.parents[0].grad == 0.0
    assert s.parents[0].grad == s.data * (1 - s.data)


def test_sigmoid_is_accurate_on_both_sides():
    for x in (-30.0, -5.0, -0.1, 0.0, 0.1, 5.0, 30.0):
        assert Value(x).sigmoid().data == pytest.approx(1 / (1 + math.exp(-x)), rel=1e-15)


def test_a_million_deep_chain_backpropagates_and_frees():
    x = Value(0.5, "x")
    y = x
    for _ in range(1_000_000):
        y = -y                                # one node per link
    y.backward()
    assert x.grad == 1.0                      # (-1) ** 1_000_000
    assert len(topological_order(y)) == 1_000_001
    del y                                     # freed by reference counting, no recursion error


def test_a_graph_holds_no_reference_cycles():
    gc.collect()
    gc.disable()
    try:
        x, w, b, e = Value(0.5, "x"), Value(-1.5, "w"), Value(2.0, "b"), Value(1.5, "e")
        interior = x * w + b
        parts = [interior, interior.tanh(), interior.sigmoid(), interior.relu(), abs(interior),
                 interior.exp(), (interior * interior + 1).log(), (interior * interior).sqrt(),
                 interior.sin(), interior.cos(), interior ** 3, interior ** 0, e ** interior,
                 interior / e, 1 / e, -interior, 2 - interior, interior - 2]
        root = parts[0]
        for part in parts[1:]:
            root = root + part
        root.backward()
        probe = weakref.ref(interior)
        probe_root = weakref.ref(root)
        del interior, parts, root, part
        assert probe() is None and probe_root() is None
    finally:
        gc.enable()


def test_no_grad_builds_no_graph_and_nests():
    a = Value(2.0)
    assert autograd.is_grad_enabled()
    with no_grad():
        b = (a * 3).tanh()
        with no_grad():
            pass
        assert not autograd.is_grad_enabled()
        c = a + 1
    assert autograd.is_grad_enabled()
    for node in (b, c):
        assert (node.op, node.parents, node.local) == ("", (), None)
    assert b.data == math.tanh(6.0)

    @no_grad()
    def update(v):
        return v * 2
    assert update(a).parents == () and update.__name__ == "update"
    assert autograd.is_grad_enabled()


def test_no_grad_restores_grad_mode_after_an_error():
    with pytest.raises(UndefinedMathError), no_grad():
        Value(-1.0).log()
    assert autograd.is_grad_enabled()


@pytest.mark.parametrize("make, words", [
    (lambda: Value(-1.0, "a").log(), ["log", "-1.0", "'a'", "x <= 0"]),
    (lambda: Value(0.0, "a").log(), ["log", "0.0", "'a'"]),
    (lambda: Value(-4.0, "a").sqrt(), ["sqrt", "-4.0", "'a'", "x < 0"]),
    (lambda: Value(1.0) / Value(0.0, "d"), ["/", "division by zero", "'d'"]),
    (lambda: Value(1.0) / 0, ["/", "division by zero"]),
    (lambda: 1 / Value(0.0, "d"), ["division by zero", "'d'"]),
    (lambda: Value(-8.0, "a") ** (1 / 3), ["**", "-8.0", "'a'", "non-integer"]),
    (lambda: Value(-8.0, "a") ** Value(0.5), ["**", "-8.0", "'a'"]),
    (lambda: Value(0.0, "a") ** -1, ["**", "division by zero", "'a'"]),
    (lambda: Value(10.0, "a") ** 400, ["**", "overflow", "'a'"]),
    (lambda: Value(-2.0, "a") ** Value(2.0), ["**", "log(x)", "x > 0", "-2.0", "'a'"]),
    (lambda: Value(800.0, "a").exp(), ["exp", "overflow", "800.0", "'a'"]),
    (lambda: Value(1.0) + float("nan"), ["+", "NaN"]),
    (lambda: Value(2.0) ** math.nan, ["**", "NaN"]),
    (lambda: Value(2.0, "a") * math.inf, ["*", "inf"]),
    (lambda: Value(2.0) + 10**400, ["+", "1e400", "beyond the largest float"]),
    (lambda: 10**400 * Value(2.0), ["*", "1e400"]),
    (lambda: Value(2.0) ** 10**400, ["**", "1e400"]),
    (lambda: Value(1e308, "a") * 10, ["*", "beyond the largest float", "1e+308", "'a'", "10.0"]),
    (lambda: Value(1e200) * 1e200, ["*", "beyond the largest float", "1e+200"]),
    (lambda: 1 / Value(1e-320, "t"), ["/", "beyond the largest float", "'t'"]),
    (lambda: Value(1e308) + Value(1e308, "b"), ["+", "'b'"]),
    (lambda: Value(-1e308) - 1e308, ["-", "-1e+308"]),
    (lambda: Value(1e300) / 1e-10, ["/", "1e+300"]),
])
def test_undefined_math_is_a_clear_error(make, words):
    with pytest.raises(UndefinedMathError) as caught:
        make()
    for word in words:
        assert word in str(caught.value)
    assert "; " in str(caught.value)          # ... and the fix after it


def test_undefined_math_is_both_a_value_and_an_arithmetic_error():
    assert issubclass(UndefinedMathError, ValueError)
    assert issubclass(UndefinedMathError, ArithmeticError)


def test_negative_base_with_an_integer_power_is_fine():
    x = Value(-2.0)
    y = x ** 3
    y.backward()
    assert (y.data, x.grad) == (-8.0, 12.0)
    with no_grad():   # no derivative wanted: a Value exponent on a negative base is fine
        assert (Value(-2.0) ** Value(2.0)).data == 4.0


def test_an_infinite_local_derivative_fails_cleanly_and_loses_nothing():
    z, q = Value(0.0, "z"), Value(2.0, "q")
    q.grad = 5.0
    y = z.sqrt() * q + q
    with pytest.raises(UndefinedMathError, match=r"sqrt.*0\.0.*'z'"):
        y.backward()
    assert (q.grad, z.grad) == (5.0, 0.0)     # as before the call
    with pytest.raises(UndefinedMathError, match=r"\*\*.*'z'"):
        (z ** 0.5).backward()


def test_x_to_the_zero_has_slope_zero_even_at_zero():
    x = Value(0.0)
    y = x ** 0
    y.backward()
    assert (y.data, x.grad) == (1.0, 0.0)


def test_functions_work_on_values_and_numbers():
    for name in ("exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt"):
        function = getattr(autograd, name)
        node = function(Value(0.7))
        assert isinstance(node, Value) and node.op == name
        assert function(0.7) == node.data
    assert autograd.step(2.0) == 1.0 and autograd.step(0.0) == 0.0
    assert autograd.sign(-3.0) == -1.0 and autograd.sign(0.0) == 0.0


def test_local_derivatives_evaluate_on_values_too():
    # One definition serves floats and Values: evaluate each op's local on Values and compare.
    x = Value(0.8)
    for make in (lambda v: v.tanh(), lambda v: v.sigmoid(), lambda v: v.exp(), lambda v: v.log(),
                 lambda v: v.sin(), lambda v: v.cos(), lambda v: v.sqrt(), lambda v: v ** 3,
                 lambda v: abs(v), lambda v: v.relu(), lambda v: -v):
        node = make(x)
        on_floats = autograd.local_derivatives(node)
        on_values = node.local(*node.parents, node)
        assert [v.data if isinstance(v, Value) else v for v in on_values] == \
            pytest.approx(on_floats, rel=1e-15)


def test_define_op_adds_an_op():
    @autograd.define_op("softplus", local=lambda x, out: (autograd.sigmoid(x),))
    def softplus(x):
        return math.log1p(math.exp(x))

    x = Value(0.3, "x")
    y = softplus(x)
    assert (y.op, y.parents) == ("softplus", (x,))
    y.backward()
    assert x.grad == pytest.approx(1 / (1 + math.exp(-0.3)), rel=1e-15)
    assert softplus(0.3) == y.data
    with pytest.raises(UndefinedMathError, match="softplus.*1000.0"):
        softplus(Value(1000.0))

    @autograd.define_op("hypot", local=lambda a, b, out: (a / out, b / out))
    def hypot(a, b):
        return math.hypot(a, b)

    a = Value(3.0)
    h = hypot(a, 4)                            # a number operand becomes a leaf
    h.backward()
    assert (h.data, a.grad, h.parents[1].data) == (5.0, 0.6, 4.0)
    with pytest.raises(TypeError, match="hypot.*str"):
        hypot(a, "4")
    with pytest.raises(TypeError, match="one or two operands"):
        hypot(a, a, a)


# ---------------------------------------------------------------------------------------------
# Values stay finite: data written by hand, and every number backward() computes


def test_data_written_by_hand_must_be_a_finite_real_number():
    x = Value(1.0, "x")
    x.data = 3                                  # an int is a number: stored as a float
    assert type(x.data) is float and x.data == 3.0
    for bad in (math.inf, math.nan, 10**400):
        with pytest.raises(UndefinedMathError, match=r"data \(node 'x'\)") as caught:
            x.data = bad
        assert caught.value.node is x
    with pytest.raises(TypeError, match="real number.*str"):
        x.data = "2"
    assert x.data == 3.0                        # every refused write changed nothing


def grads(nodes):
    return [node.grad for node in nodes]


def fail_and_compare(root, exception, match):
    """backward() raises; afterwards every grad of the graph is what it was before."""
    nodes = topological_order(root)
    for i, node in enumerate(nodes):            # distinct grads everywhere, interior included
        node.grad = 0.25 * (i + 1)
    before = grads(nodes)
    with pytest.raises(exception, match=match):
        root.backward()
    assert grads(nodes) == before


def test_a_non_finite_local_derivative_is_refused_and_changes_nothing():
    x = Value(1e-200, "x")
    fail_and_compare((1 / x) * 0, UndefinedMathError,
                     r"backward through /.*-inf \(for its second operand\).*b = 1e-200 "
                     r"\(node 'x'\)")
    tiny = Value(5e-324, "tiny")
    fail_and_compare(tiny.log() * 2 + 1, UndefinedMathError,
                     r"backward through log.*inf.*5e-324 \(node 'tiny'\)")


def test_a_contribution_or_a_sum_beyond_the_largest_float_is_refused():
    a = Value(1.0, "a")
    root = a * 1e300
    nodes = topological_order(root)
    with pytest.raises(UndefinedMathError, match=r"backward through \*.*'a'.*beyond the largest"):
        root.backward(gradient=1e10)           # 1e300 * 1e10: the contribution overflows
    assert grads(nodes) == [0.0, 0.0, 0.0]
    b = Value(1e-10, "b")
    twice = b * 1e308 + b * 1e308              # each contribution finite, their sum is not
    with pytest.raises(UndefinedMathError, match=r"'b'.*1e\+308 \+ .*beyond the largest"):
        twice.backward()
    assert b.grad == 0.0


def test_grads_whose_sum_overflows_are_still_fine():
    # backward() checks its grads in bulk (their sum); a sum that overflows only sends it
    # through the careful pass again, which finds every number finite and finishes
    a, b = Value(1e-10, "a"), Value(1e-10, "b")
    root = a * 1e308 + b * 1e308
    root.backward()
    assert (a.grad, b.grad) == (1e308, 1e308) and root.data == pytest.approx(2e298)


def test_a_grad_that_was_not_finite_before_is_named():
    x = Value(2.0, "x")
    x.grad = math.inf                           # set by hand: backward() will not add to it
    with pytest.raises(UndefinedMathError, match=r"'x'.*already inf.*zero_grad"):
        (x * 3).backward()
    assert x.grad == math.inf


class Custom(Exception):
    pass


def local_raising(error):
    def local(x, out):
        raise error
    return local


@pytest.mark.parametrize("name, error, exception, match", [
    ("raises_value", ValueError("not here"), UndefinedMathError,
     r"backward through raises_value.*undefined \(not here\)"),
    ("raises_zero", ZeroDivisionError("0"), UndefinedMathError, r"raises_zero.*infinite"),
    ("raises_overflow", OverflowError("big"), UndefinedMathError, r"raises_overflow.*infinite"),
    ("raises_type", TypeError("a bug"), TypeError, r"a bug"),
    ("raises_custom", Custom("mine"), Custom, r"mine"),
])
def test_a_user_op_whose_local_raises_changes_nothing(name, error, exception, match):
    op = autograd.define_op(name, local=local_raising(error))(lambda x: 2 * x)
    x, w = Value(1.5, "x"), Value(-2.0, "w")
    fail_and_compare((op(x * w) + x).tanh(), exception, match)


def test_a_user_op_whose_local_gives_nan_or_the_wrong_count_changes_nothing():
    nan_op = autograd.define_op("gives_nan", local=lambda x, out: (math.nan,))(lambda x: x)
    fail_and_compare(nan_op(Value(1.0, "x")) * 2, UndefinedMathError, r"gives_nan.*is nan")
    two = autograd.define_op("gives_two", local=lambda x, out: (1.0, 2.0))(lambda x: x)
    fail_and_compare(two(Value(1.0)) * 2, TypeError, r"gives_two.*2 numbers for 1 operand")


def test_an_interrupt_during_backward_changes_nothing():
    op = autograd.define_op("interrupted", local=local_raising(KeyboardInterrupt()))(lambda x: x)
    fail_and_compare(op(Value(1.0) * 3) + 1, KeyboardInterrupt, None)


def test_backward_seeds_the_root_with_gradient():
    x = Value(3.0)
    y = x * x
    y.backward(gradient=2.5)
    assert (y.grad, x.grad) == (2.5, 15.0)
    z = Value(1.0)
    z.backward(gradient=-2)                     # a leaf root accumulates, as ever
    assert z.grad == -2.0
    with pytest.raises(TypeError, match=r"gradient=.*str"):
        y.backward(gradient="1")
    with pytest.raises(UndefinedMathError, match=r"gradient=.*inf"):
        y.backward(gradient=math.inf)
    assert (y.grad, x.grad) == (2.5, 15.0)


def test_the_module_functions_refuse_what_the_methods_refuse():
    from decimal import Decimal
    for name in ("exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt", "step", "sign"):
        function = getattr(autograd, name)
        for bad in (True, Decimal(2), "a", 1 + 2j, [1.0], None):
            with pytest.raises(TypeError, match=rf"{name}\(\) takes a Value or a real number"):
                function(bad)
        for bad in (math.nan, math.inf, -math.inf, 10**400):
            with pytest.raises(UndefinedMathError, match=rf"^{name}: got "):
                function(bad)
        assert type(function(2)) is float      # an int gives a float, as Value(2) would


# ---------------------------------------------------------------------------------------------
# The graph records values when it is built: changing data afterwards


def test_an_optimizer_step_then_a_new_graph_is_the_normal_path():
    w, b = Value(0.5, "w"), Value(0.1, "b")
    for _ in range(3):
        loss = (w * 2.0 + b - 1.0) ** 2
        w.grad = b.grad = 0.0
        loss.backward()
        for p in (w, b):
            p.data -= 0.1 * p.grad               # a write after backward: fine
    assert loss.data < 0.1


def test_a_leaf_changed_after_the_graph_was_built_is_refused():
    x, w = Value(2.0, "x"), Value(3.0, "w")
    h = x * w
    y = h.tanh()
    x.data = 5.0                                # tanh would use its old output, * the new x
    fail_and_compare(y, autograd.StaleGraphError,
                     r"the data of node 'x' was changed \(to 5\.0\) after a \* node was "
                     r"computed from it.*run the forward pass again")
    with pytest.raises(autograd.StaleGraphError):
        y.backward()                            # still refused: nothing was rebuilt
    fresh = (x * w).tanh()                      # rebuilt from the leaves: fine
    x.grad = 0.0
    fresh.backward()
    assert x.grad == pytest.approx(w.data * (1 - fresh.data ** 2))
    with pytest.raises(autograd.StaleGraphError):
        y.backward()                            # the old graph stays refused


def test_a_write_while_the_graph_is_being_built_is_refused():
    a = Value(1.0, "a")
    b = a * a                                   # made with a = 1
    a.data = 3.0
    c = b + a                                   # made with a = 3
    with pytest.raises(autograd.StaleGraphError, match="'a'"):
        c.backward()


def test_an_interior_node_changed_by_hand_is_refused():
    x = Value(0.5, "x")
    h = x * 2
    h.label = "h"
    y = h.tanh()
    h.data = 0.0
    with pytest.raises(autograd.StaleGraphError, match="node 'h'"):
        y.backward()
    with pytest.raises(autograd.StaleGraphError, match="node 'h' was changed after the \\*"):
        h.backward()


def test_writes_elsewhere_and_partial_passes_are_not_mistaken_for_changes():
    x, w = Value(2.0, "x"), Value(3.0, "w")
    h = x * w
    y = h.tanh()
    other = Value(1.0)
    other.data = 7.0                            # not in this graph
    h.backward()                                # a pass over part of the graph
    y.backward()                                # then over all of it
    z = y * x                                   # a graph grown after the passes
    z.backward()
    y.backward()
    assert x.grad > 0                           # no StaleGraphError on the way


def test_stepping_by_hand_checks_the_node_too():
    x = Value(0.5, "x")
    y = x.tanh()
    y.grad = 1.0
    x.data = 0.25
    with pytest.raises(autograd.StaleGraphError):
        y._backward()
    assert x.grad == 0.0


def test_backward_steps_refuse_a_changed_graph_and_leave_grads():
    x = Value(0.5, "x")
    y = (x * 3).tanh()
    x.data = 1.0
    with pytest.raises(autograd.StaleGraphError):
        list(y.backward_steps())
    assert (x.grad, y.grad) == (0.0, 0.0)


# ---------------------------------------------------------------------------------------------
# no_grad: per thread and per context, re-entrant


def test_no_grad_in_one_thread_does_not_stop_another():
    import threading
    inside, built = threading.Event(), threading.Event()
    result = {}

    def other():
        inside.wait()                           # the main thread is inside no_grad now
        result["enabled"] = autograd.is_grad_enabled()
        result["node"] = Value(2.0) * Value(3.0)
        built.set()

    thread = threading.Thread(target=other)
    thread.start()
    with no_grad():
        inside.set()
        built.wait()
        assert not autograd.is_grad_enabled()
        assert (Value(1.0) * 2).parents == ()
    thread.join()
    assert result["enabled"] and len(result["node"].parents) == 2
    assert autograd.is_grad_enabled()


def test_two_threads_interleaving_no_grad_leave_grad_mode_on():
    import threading
    steps = [threading.Event() for _ in range(4)]
    shared = no_grad()                          # one object, entered from both threads

    def first():
        with shared:
            steps[0].set()
            steps[1].wait()
        steps[2].set()

    thread = threading.Thread(target=first)
    thread.start()
    steps[0].wait()
    with shared:                                # entered while the other thread is inside
        steps[1].set()
        steps[2].wait()                         # ... and the other leaves first
        assert not autograd.is_grad_enabled()
    thread.join()
    assert autograd.is_grad_enabled() and autograd.engine._no_grad_anywhere == 0
    assert len((Value(1.0) + 1).parents) == 2


def test_one_no_grad_object_nests_in_itself():
    block = no_grad()
    with block:
        with block:
            assert not autograd.is_grad_enabled()
        assert not autograd.is_grad_enabled()
    assert autograd.is_grad_enabled()

    @block
    def twice(n):
        return twice(n - 1) if n else autograd.is_grad_enabled()
    assert twice(3) is False and autograd.is_grad_enabled()


def test_no_grad_belongs_to_its_context():
    import asyncio
    import contextvars

    async def task(off):
        if off:
            with no_grad():
                await asyncio.sleep(0.01)
                return autograd.is_grad_enabled()
        await asyncio.sleep(0.005)              # runs while the other task is inside no_grad
        return autograd.is_grad_enabled()

    async def both():
        return await asyncio.gather(task(True), task(False))

    assert asyncio.run(both()) == [False, True]
    with no_grad():
        assert contextvars.Context().run(autograd.is_grad_enabled)   # a fresh context: on
        assert not contextvars.copy_context().run(autograd.is_grad_enabled)


def test_enable_grad_inside_no_grad():
    with no_grad():
        with autograd.enable_grad():
            assert autograd.is_grad_enabled() and len((Value(1.0) * 2).parents) == 2
        assert not autograd.is_grad_enabled()
