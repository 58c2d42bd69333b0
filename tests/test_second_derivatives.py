"""Derivatives of derivatives: backward(create_graph=True), autograd.grad, hessian, hvp.

Against PyTorch float64 (torch.autograd.grad(..., create_graph=True)) for the second and third
derivatives of every op and of random graphs; against central differences of the derivative
one order below; and the semantics: grads that are Values, what reads them, failures that
change nothing, honest kinks and undefined points, views of a derivative's graph."""

import copy
import gc
import math
import pickle
import threading
import weakref

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from op_cases import CASES, IDS
from random_graphs import programs, run

import autograd
from autograd import (
    StaleGraphError,
    UndefinedMathError,
    Value,
    grad,
    gradcheck,
    gradients,
    hessian,
    hvp,
    no_grad,
    sigmoid,
    topological_order,
)


def close(ours: float, theirs: float, scale: float = 1.0) -> bool:
    """Equal to 1e-9 relative; near zero, to 1e-9 of the size of the numbers that cancelled."""
    return math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-9 * scale)


def torch_derivatives(torch, f, point, order: int = 3):
    """[grads, hessian, third] of f at point by torch.autograd.grad(create_graph=True):
    grads[i], hessian[i][j], third[i][j][k] as floats (an unused input gives 0)."""
    xs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
    out = f(*xs)

    def d(y):
        if not y.requires_grad:
            return [torch.zeros((), dtype=torch.float64) for _ in xs]
        found = torch.autograd.grad(y, xs, create_graph=True, allow_unused=True)
        return [torch.zeros((), dtype=torch.float64) if g is None else g for g in found]
    first = d(out)
    second = [d(g) for g in first]
    levels = [[g.item() for g in first], [[h.item() for h in row] for row in second]]
    if order >= 3:
        levels.append([[[t.item() for t in d(h)] for h in row] for row in second])
    return levels


def our_derivatives(f, point, order: int = 3):
    """The same from autograd.gradients (the backward pass on Values), as floats."""
    xs = [Value(x) for x in point]
    first = gradients(f(*xs), xs)
    second = [gradients(g, xs) for g in first]
    levels = [[g.data for g in first], [[h.data for h in row] for row in second]]
    if order >= 3:
        levels.append([[[t.data for t in gradients(h, xs)] for h in row] for row in second])
    return levels


def assert_levels_close(ours, theirs, scale, what):
    flat_ours, flat_theirs = _flat(ours), _flat(theirs)
    for a, b in zip(flat_ours, flat_theirs, strict=True):
        assert close(a, b, scale), (what, ours, theirs)


def _flat(x):
    if isinstance(x, list):
        return [y for item in x for y in _flat(item)]
    return [x]


# ---------------------------------------------------------------------------------------------
# backward(create_graph=True)


def test_create_graph_makes_every_grad_a_value_and_x_grad_differentiates_again():
    x = Value(3.0, "x")
    y = x ** 3
    y.backward(create_graph=True)
    assert all(isinstance(node.grad, Value) for node in topological_order(y))
    assert x.grad.data == 27.0 and y.grad.data == 1.0         # 3 x**2, and the seed
    first = x.grad
    x.grad = 0.0              # leaves accumulate (as in PyTorch): start the next pass from zero
    first.backward()
    assert x.grad == 18.0     # 6 x


@pytest.mark.filterwarnings("ignore:Using backward")     # PyTorch's note on its cycles
def test_a_second_pass_without_reset_accumulates_like_pytorch(torch):
    x = Value(2.0)
    (x ** 3).backward(create_graph=True)
    x.grad.backward()         # a plain pass reads the old grad as its number, adds f''
    t = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    (t ** 3).backward(create_graph=True)
    t.grad.backward()
    assert x.grad == t.grad.item() == 24.0 and type(x.grad) is float


def test_leaf_grads_that_are_values_accumulate_as_values():
    x = Value(0.5, "x")
    y = (x * x).sin()
    y.backward(create_graph=True)
    once = x.grad
    y.backward(create_graph=True)
    assert isinstance(x.grad, Value) and x.grad.data == 2 * once.data
    assert once in topological_order(x.grad)      # old + new: the first pass's grad is in it
    x.grad.backward()                     # d/dx of 2 f'(x): reaches x through both passes
    assert math.isclose(x.grad, 2 * once.data + 2 * (2 * math.cos(0.25)
                                                     - 4 * 0.25 * math.sin(0.25)), rel_tol=1e-12)


@given(programs())
def test_create_graph_grads_hold_the_plain_pass_numbers_exactly(program):
    inputs, _ = program
    plain = [Value(x) for x in inputs]
    nodes, root = run(program, plain)
    root.backward()
    expected = [node.grad for node in nodes]
    values = [Value(x) for x in inputs]
    nodes, root = run(program, values)
    root.backward(create_graph=True)
    in_graph = set(topological_order(root))         # an input the program never used: untouched
    assert [node.grad.data if node in in_graph else node.grad for node in nodes] == expected


def test_create_graph_seeds_with_gradient_and_works_under_no_grad():
    x = Value(1.5)
    y = x.exp()
    with no_grad():
        y.backward(gradient=2.0, create_graph=True)   # as PyTorch: the grads' graph is built
    assert x.grad.data == 2.0 * y.data
    g = x.grad
    x.grad = 0.0
    g.backward()
    assert math.isclose(x.grad, 2.0 * math.exp(1.5), rel_tol=1e-15)


def test_exp_grad_is_the_exp_node_itself():
    x = Value(0.3)
    y = x.exp()
    y.backward(create_graph=True)
    assert x.grad is y                    # d exp(x)/dx = exp(x) = out, times the seed 1


def test_constant_derivatives_are_leaves():
    a, b = Value(1.0), Value(2.0)
    y = a + b
    y.backward(create_graph=True)
    assert a.grad.data == b.grad.data == 1.0 and not a.grad.parents
    z = a * 0.0 + b ** 0
    z.backward(create_graph=True)
    assert b.grad.data == 1.0 and not b.grad.parents         # 1 + d b**0/db = 1 + 0


# ---------------------------------------------------------------------------------------------
# What reads a grad that is a Value


def test_a_plain_backward_after_create_graph_works_on_numbers():
    x, w = Value(0.5, "x"), Value(-1.5, "w")
    y = (x * w).tanh()
    y.backward(create_graph=True)
    before = x.grad.data
    z = (x * w).tanh()
    z.backward()
    assert type(x.grad) is float and x.grad == before + before
    assert all(type(node.grad) is float for node in topological_order(z))


def test_backward_steps_after_create_graph_works_on_numbers():
    x = Value(0.5, "x")
    y = x.sin() * x
    y.backward(create_graph=True)
    before = x.grad.data
    steps = list(y.backward_steps())
    assert steps and type(x.grad) is float
    assert math.isclose(x.grad, 2 * before, rel_tol=1e-15)


def test_zero_grad_optimizers_and_clipping_read_value_grads_as_numbers():
    import nn

    def update(optimizer_type, create_graph, **options):
        params = [Value(0.5), Value(-1.0)]
        loss = (params[0] * params[1]).tanh() + params[0] ** 2
        loss.backward(create_graph=create_graph)
        optimizer = optimizer_type(params, **options)
        optimizer.step()
        optimizer.step()
        return [p.data for p in params]
    for optimizer_type, options in [(nn.SGD, {"lr": 0.1, "momentum": 0.9}),
                                    (nn.Adam, {"lr": 0.01}), (nn.RMSProp, {"lr": 0.01}),
                                    (nn.Adagrad, {"lr": 0.1})]:
        assert update(optimizer_type, True, **options) == update(optimizer_type, False,
                                                                 **options)

    params = [Value(3.0), Value(4.0)]
    (params[0] * params[0] + params[1] * params[1]).backward(create_graph=True)  # grads 6, 8
    norm = nn.clip_grad_norm(params, 5.0)
    assert norm == 10.0 and all(isinstance(p.grad, Value) for p in params)
    assert math.isclose(params[0].grad.data, 3.0, rel_tol=1e-6)
    first = params[0].grad
    params[0].grad = 0.0
    first.backward()                      # the clipped grad keeps its graph: d(0.5 * 2x)/dx
    assert math.isclose(params[0].grad, 1.0, rel_tol=1e-6)
    kept = params[1].grad
    assert nn.clip_grad_norm(params, 100.0) > 0 and params[1].grad is kept   # not clipped

    model = nn.MLP(2, [3, 1])
    out = model([0.5, -0.5])
    out.backward(create_graph=True)
    model.zero_grad()
    assert all(p.grad == 0.0 and type(p.grad) is float for p in model.parameters())


def test_repr_of_a_node_whose_grad_is_a_value_shows_its_number():
    # tanh(x) * relu(x): the tanh node's grad is the relu node and the relu node's the tanh
    # node (d(a*b)/da = b), so grads lead back to each other: repr must not follow them
    x = Value(0.5, "x")
    y = x.tanh() * x.relu()
    y.backward(create_graph=True)
    for node in autograd.topological_order(y):
        assert isinstance(node.grad, Value)
        assert repr(node).endswith(f"grad=Value(data={node.grad.data!r})"
                                   + (f", label={node.label!r})" if node.label else ")"))
        assert str(node) == repr(node)


def test_format_and_float_of_a_value():
    v = Value(2.0 / 3.0)
    assert f"{v:.3f}" == "0.667" and f"{v}" == str(v) and float(v) == 2.0 / 3.0


# ---------------------------------------------------------------------------------------------
# Failures change nothing, and say what a first derivative says


def test_a_failed_create_graph_pass_restores_every_grad():
    x, h = Value(0.0, "x"), Value(2.0, "h")
    y = x.sqrt() + h * h
    (h * h).backward(create_graph=True)          # h.grad: a Value, from an earlier pass
    x.grad = 0.25
    before = {node: node.grad for node in topological_order(y)}
    with pytest.raises(UndefinedMathError) as caught:
        y.backward(create_graph=True)
    assert all(node.grad is before[node] for node in topological_order(y))
    with pytest.raises(UndefinedMathError) as plain:
        y.backward()
    assert str(caught.value) == str(plain.value)
    assert "sqrt" in str(plain.value) and "move the input away" in str(plain.value)
    assert all(node.grad is before[node] for node in topological_order(y))


def test_sqrt_second_derivative_at_zero_gives_the_first_derivatives_error():
    with pytest.raises(UndefinedMathError) as first:
        Value(0.0, "x").sqrt().backward()
    with pytest.raises(UndefinedMathError) as second:
        grad(grad(lambda x: x.sqrt()))(0.0)
    assert str(second.value) == str(first.value)


def test_a_second_derivative_that_does_not_exist_is_an_error_not_inf(torch):
    # x ** 1.5: f'(0) = 0 exists, f''(x) = 0.75 / sqrt(x) is infinite at 0 (PyTorch: inf)
    slope = grad(lambda x: x ** 1.5)(0.0)
    assert slope.data == 0.0
    with pytest.raises(UndefinedMathError, match=r"backward through \*\*.*at x = 0\.0"):
        grad(grad(lambda x: x ** 1.5))(0.0)
    t = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    g, = torch.autograd.grad(t ** 1.5, t, create_graph=True)
    assert torch.autograd.grad(g, t)[0].item() == math.inf


def test_an_overflowing_second_derivative_names_the_node():
    assert grad(lambda x: (x * 400.0).exp())(1.75).data > 1e306      # 400 e^700: finite
    with pytest.raises(UndefinedMathError, match="beyond the largest float"):
        grad(grad(lambda x: (x * 400.0).exp()))(1.75)                  # 400^2 e^700: not
    x = Value(1.772)
    y = (x * 400.0).exp()           # fine: e^708.8; the first derivative 400 e^708.8 is not
    with pytest.raises(UndefinedMathError) as caught:
        y.backward(create_graph=True)
    assert x.grad == 0.0 and "beyond the largest float" in str(caught.value)


def test_a_stale_graph_is_refused_on_the_side_too():
    x = Value(1.0)
    y = x * x
    x.data = 2.0
    with pytest.raises(StaleGraphError):
        gradients(y, [x])
    with pytest.raises(StaleGraphError):
        y.backward(create_graph=True)


def test_a_local_derivative_written_with_math_is_refused_by_name():
    def local(x, out):
        return (1.0 / (1.0 + math.exp(-x)),)      # math.exp of a Value: a constant

    softplus = autograd.define_op("softplus_math", local=local)(
        lambda x: math.log1p(math.exp(x)))
    x = Value(0.5)
    y = softplus(x) * 2.0
    y.backward()                                # on floats: fine
    plain = x.grad
    with pytest.raises(TypeError, match=r"softplus_math.*does not take Values.*math"):
        y.backward(create_graph=True)
    assert x.grad == plain                      # nothing changed
    with pytest.raises(TypeError, match="softplus_math"):
        grad(lambda v: softplus(v))(0.5)
    assert float(Value(0.5)) == 0.5             # float() outside a pass is as always


def test_float_of_a_value_in_another_thread_during_a_pass_is_fine():
    started, go_on = threading.Event(), threading.Event()
    floats = []

    def local(x, out):
        started.set()
        go_on.wait(5)
        return (sigmoid(x),)
    waiting = autograd.define_op("waiting_softplus", local=local)(
        lambda x: math.log1p(math.exp(x)))
    worker = threading.Thread(target=lambda: grad(waiting)(0.3))
    worker.start()
    started.wait(5)
    floats.append(float(Value(1.25)))           # this thread: not inside a pass
    go_on.set()
    worker.join(5)
    assert floats == [1.25]


# ---------------------------------------------------------------------------------------------
# Kinks


@pytest.mark.parametrize("point", [-1.5, 0.0, 2.0])
@pytest.mark.parametrize("name", ["relu", "abs"])
def test_relu_and_abs_second_derivatives_are_zero_as_pytorch(name, point, torch):
    f = (lambda x: x.relu()) if name == "relu" else abs
    tf = torch.relu if name == "relu" else torch.abs
    ours = grad(grad(f))(point)
    t = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    g, = torch.autograd.grad(tf(t), t, create_graph=True)
    theirs, = torch.autograd.grad(g, t)
    assert ours.data == theirs.item() == 0.0
    assert grad(f)(point).data == g.item()


def test_step_and_sign_of_a_value_are_nodes_with_slope_zero():
    x = Value(-0.5)
    s, t = autograd.step(x), autograd.sign(x)
    assert (s.op, s.parents, s.data) == ("step", (x,), 0.0)
    assert (t.op, t.parents, t.data) == ("sign", (x,), -1.0)
    assert autograd.local_derivatives(s) == (0.0,) == autograd.local_derivatives(t)
    with no_grad():
        assert autograd.step(x).parents == ()


# ---------------------------------------------------------------------------------------------
# autograd.grad, hessian, hvp


def test_grad_composes():
    def f(x):
        return x ** 3 + 2.0 * x
    assert grad(f)(2.0).data == 14.0
    assert grad(grad(f))(2.0).data == 12.0
    assert grad(grad(grad(f)))(2.0).data == 6.0
    assert grad(grad(grad(grad(f))))(2.0).data == 0.0
    assert isinstance(grad(f)(2.0), Value)


def test_grad_with_argnums():
    def f(x, w, b):
        return (x * w + b).tanh()
    dx, db = grad(f, argnums=(0, 2))(0.5, -1.5, 0.25)
    x, w, b = Value(0.5), Value(-1.5), Value(0.25)
    f(x, w, b).backward()
    assert (dx.data, db.data) == (x.grad, b.grad)
    assert grad(f, argnums=1)(0.5, -1.5, 0.25).data == w.grad
    assert grad(f, argnums=-1)(0.5, -1.5, 0.25).data == b.grad
    # the mixed partial d/dw (df/dx), from grad of grad with different argnums
    mixed = grad(lambda x, w, b: grad(f)(x, w, b), argnums=1)(0.5, -1.5, 0.25)
    assert math.isclose(mixed.data, hessian(f, [0.5, -1.5, 0.25])[0][1], rel_tol=1e-14)


def test_grad_touches_no_grad_of_the_callers_graph():
    x = Value(0.7, "x")
    w = Value(-1.2, "w")
    h = x * w
    x.grad, w.grad, h.grad = 0.125, -3.0, 7.0
    d = grad(lambda v: (v * v).sin() * w)(h)
    assert (x.grad, w.grad, h.grad) == (0.125, -3.0, 7.0)
    assert math.isclose(d.data, 2 * h.data * math.cos(h.data ** 2) * w.data, rel_tol=1e-14)


@given(programs())
def test_grad_leaves_a_random_graph_as_it_found_it(program):
    inputs, _ = program
    leaves = [Value(x) for x in inputs]
    nodes, root = run(program, leaves)
    for k, node in enumerate(nodes):
        node.grad = 0.5 * k
    data = [node.data for node in nodes]
    gradients(root, leaves)
    assert [node.grad for node in nodes] == [0.5 * k for k in range(len(nodes))]
    assert [node.data for node in nodes] == data


def test_grad_of_a_function_that_ignores_its_input_is_zero():
    assert grad(lambda x: 3.0)(1.0).data == 0.0
    assert grad(lambda x, y: y * y, argnums=0)(1.0, 2.0).data == 0.0
    assert grad(grad(lambda x: x * 2.0))(1.0).data == 0.0


def test_grad_under_no_grad_gives_constants():
    with no_grad():
        slope = grad(lambda x: x ** 3)(2.0)
    assert slope.data == 12.0 and slope.parents == ()


def test_grad_errors():
    with pytest.raises(TypeError, match="function"):
        grad(3.0)
    with pytest.raises(TypeError, match="argnums"):
        grad(lambda x: x, argnums="x")
    with pytest.raises(TypeError, match="argument 2.*1 argument"):
        grad(lambda x: x, argnums=2)(1.0)
    with pytest.raises(TypeError, match="one Value"):
        grad(lambda x: [x, x])(1.0)
    with pytest.raises(TypeError, match="number or a Value"):
        grad(lambda x: x)("1.0")


def test_grad_names_leaves_after_the_parameters():
    seen = []
    grad(lambda weight: seen.append(weight) or weight * weight)(1.5)
    assert seen[0].label == "weight"


def test_hessian_against_pytorch(torch):
    def f(x, y, z):
        return (x * y).tanh() + (y / z).exp() * x + z ** 3 * x.sin()
    point = [0.3, -0.8, 1.4]
    ours = hessian(f, point)
    theirs = torch.autograd.functional.hessian(
        lambda v: f(v[0], v[1], v[2]), torch.tensor(point, dtype=torch.float64))
    for i in range(3):
        for j in range(3):
            assert close(ours[i][j], theirs[i][j].item(), 10.0)
            assert close(ours[i][j], ours[j][i], 10.0)          # symmetric
    assert all(type(h) is float for row in ours for h in row)


def test_hvp_against_the_hessian_and_finite_differences():
    def f(a, b, c):
        return (a * b + c).sigmoid() * (a - c) ** 2 + (b * c).cos()
    point, vector = [0.4, -0.3, 0.9], [1.0, -2.0, 0.5]
    h = hessian(f, point)
    product = hvp(f, point, vector)
    assert all(close(product[i], sum(h[i][j] * vector[j] for j in range(3)), 10.0)
               for i in range(3))
    eps = 1e-5                   # H v = (grad f(x + eps v) - grad f(x - eps v)) / 2 eps
    up = grad(f, (0, 1, 2))(*[x + eps * v for x, v in zip(point, vector)])
    down = grad(f, (0, 1, 2))(*[x - eps * v for x, v in zip(point, vector)])
    for i in range(3):
        assert math.isclose(product[i], (up[i].data - down[i].data) / (2 * eps),
                            rel_tol=1e-6, abs_tol=1e-8)
    assert hvp(f, point, [0.0, 0.0, 0.0]) == [0.0, 0.0, 0.0]


def test_hessian_and_hvp_errors():
    with pytest.raises(TypeError, match=r"sequence.*\[2\.0\]"):
        hessian(lambda x: x * x, 2.0)
    with pytest.raises(ValueError, match="2 numbers for 1 inputs"):
        hvp(lambda x: x * x, [1.0], [1.0, 2.0])
    with pytest.raises(TypeError, match="finite"):
        hvp(lambda x: x * x, [1.0], [math.nan])
    assert hessian(lambda x: x * x, [Value(3.0)]) == [[2.0]]


@pytest.mark.parametrize("vector", [1.0, None, Value(1.0), 3])
def test_hvp_refuses_a_vector_that_is_not_a_sequence_by_name(vector):
    with pytest.raises(TypeError, match=r"hvp\(f, inputs, vector\): vector is a sequence"):
        hvp(lambda x: x * x * x, [1.0], vector)
    with pytest.raises(TypeError, match=r"hessian\(f, inputs\): inputs is a sequence"):
        hessian(lambda x: x * x * x, vector)


@pytest.mark.parametrize("v", [10 ** 400, -10 ** 400, math.inf, float("nan"), True, "1"],
                         ids=["huge-int", "minus-huge-int", "inf", "nan", "bool", "str"])
def test_hvp_refuses_a_vector_entry_no_float_holds_by_name(v):
    with pytest.raises(TypeError, match=r"vector\[1\] must be a finite real number"):
        hvp(lambda x, y: x * x * y, [1.0, 2.0], [1.0, v])


# ---------------------------------------------------------------------------------------------
# Against PyTorch: every op's second and third derivatives, and random graphs


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_op_second_and_third_derivatives_match_pytorch(case, torch):
    @settings(max_examples=15)
    @given(st.tuples(*case.domain))
    def check(point):
        assume(case.name != "** Value" or point[1] not in (0.0, 1.0))   # see the next test
        ours = our_derivatives(case.ours, point)
        theirs = torch_derivatives(torch, case.theirs, point)
        scale = max([1.0] + [abs(x) for x in _flat(theirs)])
        assert_levels_close(ours, theirs, scale, case.name)
    check()


def softplus_local(x, out):
    return (sigmoid(x),)                     # d softplus(x)/dx = sigmoid(x)


softplus = autograd.define_op("softplus", local=softplus_local)(
    lambda x: math.log1p(math.exp(-abs(x))) + max(x, 0.0))


def smooth_max_local(a, b, out):             # out = log(e^a + e^b)
    return ((a - out).exp(), (b - out).exp())


smooth_max = autograd.define_op("smooth_max", local=smooth_max_local)(
    lambda a, b: max(a, b) + math.log1p(math.exp(-abs(a - b))))


@pytest.mark.torch
def test_define_op_with_generic_local_derivatives_matches_pytorch(torch):
    cases = [(lambda x: softplus(x * x - 1.0), lambda x: torch.nn.functional.softplus(x * x - 1.0),
              [(-1.3,), (0.2,), (2.5,)]),
             (lambda a, b: smooth_max(a * b, b), lambda a, b: torch.logaddexp(a * b, b),
              [(0.5, -1.5), (2.0, 0.3)])]
    for ours_f, theirs_f, points in cases:
        for point in points:
            ours = our_derivatives(ours_f, point)
            theirs = torch_derivatives(torch, theirs_f, point)
            assert_levels_close(ours, theirs, max([1.0] + [abs(x) for x in _flat(theirs)]),
                                "define_op")


def hessian_entry(a, b):
    """d2(a**b)/da2 as a Value (its own derivatives give the third derivatives)."""
    return grad(grad(lambda x, y: x ** y), argnums=0)(a, b)


def test_x_to_the_y_at_exponents_0_and_1_keeps_every_term(torch):
    # d2(x**y)/dx dy = x**(y-1) (1 + y log x): 1 at (1, 0) and 0.5 at (2, 0). PyTorch masks
    # d(x**y)/dx to 0 where y == 0 (to avoid 0 * inf at x = 0), which also zeroes that
    # mixed partial there; the engine keeps the true one, as central differences show.
    for point in [(1.0, 0.0), (2.0, 0.0)]:
        ours = hessian(lambda x, y: x ** y, list(point))
        assert math.isclose(ours[0][1], point[0] ** -1.0, rel_tol=1e-15)
        assert gradcheck(lambda x, y: grad(lambda a, b: a ** b)(x, y), list(point),
                         rtol=1e-6, atol=1e-8)
        theirs = torch_derivatives(torch, lambda x, y: x ** y, point, order=2)[1]
        assert theirs[0][1] == 0.0
    # The same masking at y == 1 (the exponent y - 1 of d/dx is 0) drops a term of a third
    # derivative: d3(x**y)/dx dx dy = x**(y-2) (2y - 1 + y (y-1) log x) = 1/x at y = 1. Ours
    # is 1/x in every order of differentiation (as it must be); PyTorch's depends on the order.
    x = 0.5
    ours = our_derivatives(lambda a, b: a ** b, (x, 1.0))[2]
    assert ours[0][0][1] == ours[0][1][0] == ours[1][0][0] == 1 / x
    theirs = torch_derivatives(torch, lambda a, b: a ** b, (x, 1.0))[2]
    assert theirs[0][0][1] != theirs[0][1][0]
    assert gradcheck(lambda a, b: hessian_entry(a, b), [x, 1.0], rtol=1e-6, atol=1e-8)


def masked_by_pytorch(program) -> bool:
    """Whether a power in the program has exponent exactly 0 (tanh(0)), where PyTorch drops
    a term of the higher derivatives (see the test above)."""
    inputs, steps = program
    pool, _ = run(program, [Value(x) for x in inputs])
    return any(op == "**" and math.tanh(pool[j].data) == 0.0 for op, _, j in steps)


@pytest.mark.torch
def test_random_graphs_second_and_third_derivatives_match_pytorch(torch):
    @settings(max_examples=40)
    @given(programs(max_inputs=3, max_steps=10))
    def check(program):
        inputs, _ = program
        assume(not masked_by_pytorch(program))

        def ours_f(*xs):
            return run(program, xs)[1]

        def theirs_f(*xs):
            return run(program, xs, torch)[1]
        ours = our_derivatives(ours_f, inputs)
        theirs = torch_derivatives(torch, theirs_f, inputs)
        scale = max([1.0] + [abs(x) for x in _flat(theirs)])
        assert_levels_close(ours, theirs, scale, program)
    check()


# ---------------------------------------------------------------------------------------------
# Central differences: each derivative from the one below it


def component(gradient, i: int):
    """x -> the i-th partial derivative that `gradient` (a grad with several argnums) gives."""
    return lambda *xs: gradient(*xs)[i]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_op_derivatives_against_central_differences_of_the_one_below(case):
    n = len(case.domain)
    point = [1.3, 0.7] if case.name == "** Value" else [0.7, 1.3][:n]
    everything = tuple(range(n))
    for i in range(n):
        d_i = component(grad(case.ours, everything), i)
        assert gradcheck(d_i, point, eps=1e-6, rtol=1e-5, atol=1e-7)   # second from first
        for j in range(n):
            d_ij = component(grad(d_i, everything), j)
            assert gradcheck(d_ij, point, eps=1e-6, rtol=1e-5, atol=1e-7)  # third from second


@settings(max_examples=30)
@given(programs(max_inputs=2, max_steps=8))
def test_random_graph_derivatives_against_central_differences(program):
    inputs, steps = program
    assume(not any(op in ("relu", "abs") for op, _, _ in steps))   # no kinks to straddle

    def f(*xs):
        return run(program, xs)[1]
    first = grad(f, tuple(range(len(inputs))))
    summed = (lambda *xs: sum(first(*xs), Value(0.0)))       # d f/dx1 + d f/dx2 + ...
    assert gradcheck(summed, inputs, eps=1e-6, rtol=1e-4, atol=1e-5)
    second = grad(summed, tuple(range(len(inputs))))
    assert gradcheck(lambda *xs: sum(second(*xs), Value(0.0)), inputs, eps=1e-6, rtol=1e-4,
                     atol=1e-5)


# ---------------------------------------------------------------------------------------------
# No reference cycles where none are needed


def test_grad_makes_no_reference_cycles():
    gc.collect()
    gc.disable()
    try:
        x = Value(0.4, "x")
        third = grad(grad(grad(lambda v: (v * v).tanh() * v.exp())))(x)
        probe = weakref.ref(third)
        probe_x = weakref.ref(x)
        del third, x
        assert probe() is None and probe_x() is None
    finally:
        gc.enable()


def test_create_graph_cycles_are_broken_by_zero_grad():
    # As PyTorch warns: a grad that is a Value refers to the graph that holds it. zero_grad()
    # (or a plain backward, which resets interior grads and reads leaf grads as numbers)
    # breaks every such cycle; then reference counting frees the graph.
    gc.collect()
    gc.disable()
    try:
        x = Value(0.4, "x")
        y = (x * x).tanh() * x.sin()
        y.backward(create_graph=True)
        y.zero_grad()
        probe = weakref.ref(y)
        del y
        assert probe() is None
        z = (x * x).tanh()
        z.backward(create_graph=True)
        z.backward()
        probe = weakref.ref(z)
        del z
        assert probe() is None
    finally:
        gc.enable()


# ---------------------------------------------------------------------------------------------
# The graph of a gradient is a graph like any other


def second_derivative_graph():
    x = Value(0.8, "x")
    y = (x * x).tanh()
    y.backward(create_graph=True)
    return x, x.grad


def test_a_gradient_can_be_drawn():
    x, g = second_derivative_graph()
    source = autograd.draw(g).source
    assert "tanh" in source and "x" in source and source.count("->") >= 5


def test_a_gradient_can_be_stepped_and_tabulated():
    x, g = second_derivative_graph()
    xv = x.data
    t = math.tanh(xv * xv)
    expected = (2 - 8 * xv * xv * t) * (1 - t * t)         # d2/dx2 tanh(x^2)
    table = autograd.ledger(g)
    row = next(row for row in table.rows if row.name == "x")
    assert math.isclose(row.grad, expected, rel_tol=1e-12)
    x.grad = 0.0
    steps = list(g.backward_steps())
    assert len(steps) == steps[0].total and math.isclose(x.grad, expected, rel_tol=1e-12)
    assert "tanh" in str(table)


def test_a_gradient_function_compiles_to_second_derivative_code():
    def f(x, w):
        return (x * w).tanh() + (x - w).relu() * abs(x)
    compiled = autograd.compile(grad(f), 0.5, -1.5, check=True)
    assert compiled.name == "grad_f" and compiled.arguments == ("x", "w")
    for point in [(0.5, -1.5), (-0.7, 0.2), (1.1, 0.3)]:
        value, (dxx, dxw) = compiled(*point)
        assert close(value, grad(f)(*point).data)
        h = hessian(f, list(point))
        assert close(dxx, h[0][0], 10.0) and close(dxw, h[0][1], 10.0)
    assert "step" in compiled.source or "1.0 if" in compiled.source


@pytest.mark.parametrize("f, inside, outside", [
    (lambda x: x.log(), 2.0, -0.5),                      # d log/dx = 1/x reads no log
    (lambda x: x.log() * 3.0 + x, 2.0, 0.0),
    (lambda x: (x - 1.0).log().relu(), 3.0, 0.5),        # relu' = step(x) reads no relu
    (lambda x: (x * x - 4.0).log(), 3.0, 1.0),
], ids=["log", "log-plus", "relu-of-log", "log-of-a-square"])
@pytest.mark.parametrize("order", [1, 2])
def test_compiled_gradient_is_undefined_where_f_is(f, inside, outside, order):
    # the derivative's graph need not contain f's own result: compiled, it is computed all
    # the same, so the compiled gradient raises the engine's error where f is undefined
    derivative = f
    for _ in range(order):
        derivative = grad(derivative)
    compiled = autograd.compile(derivative, inside)
    assert close(compiled(inside)[0], derivative(inside).data)
    with pytest.raises(UndefinedMathError) as theirs:
        derivative(outside)
    with pytest.raises(UndefinedMathError) as ours:
        compiled(outside)
    assert str(ours.value) == str(theirs.value)


def test_copies_of_a_graph_keep_value_grads_attached():
    x = Value(1.5, "x")
    y = (x * x).tanh()
    y.backward(create_graph=True)
    for other in (copy.deepcopy(y), pickle.loads(pickle.dumps(y))):
        twin = next(n for n in topological_order(other) if n.label == "x")
        assert twin is not x and twin.grad is not x.grad and twin.grad.data == x.grad.data
        assert twin in topological_order(twin.grad)


def test_gradients_takes_values_and_a_seed_and_a_lone_leaf_works():
    x = Value(2.0)
    assert [g.data for g in gradients(x * x, [x, x], seed=2.0)] == [8.0, 8.0]
    with pytest.raises(TypeError, match="inputs must be Values"):
        gradients(x * x, [2.0])
    x.backward(create_graph=True)                 # a lone leaf: d x/d x = 1, a constant
    assert isinstance(x.grad, Value) and x.grad.data == 1.0 and not x.grad.parents
    x.backward(create_graph=True)                 # accumulates: 1 + 1
    assert x.grad.data == 2.0
