"""The optimizers against torch.optim, step for step to 1e-12 over many steps (with the learning
rate changed on the way), clip_grad_norm against torch.nn.utils.clip_grad_norm_, and semantics."""

import math
from fractions import Fraction

import pytest

import nn
from autograd import UndefinedMathError, Value

STEPS = 60
START = [0.5, -1.5, 2.0, 0.0, -0.25, 3.0]


def gradient(i: int, p: float, step: int) -> float:
    """A gradient that depends on the parameter and varies with the step (signs change, and
    some steps give exact zeros), the same numbers for both libraries."""
    if step % 7 == 3 and i == 2:
        return 0.0
    return math.sin(3.0 * p + i) * (1.0 + 0.1 * i) + 0.01 * (step % 5) - 0.5 * p ** 3 / (1 + p * p)


def schedule(step: int, lr: float) -> float:
    return lr if step < STEPS // 2 else lr * 0.3 if step < 3 * STEPS // 4 else lr * 2.0


OPTIMIZERS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.05}),
    ("RMSProp", {"lr": 0.01}),
    ("RMSProp", {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.01}),
    ("RMSProp", {"lr": 0.005, "alpha": 0.9, "centered": True, "eps": 1e-6}),
    ("RMSProp", {"lr": 0.005, "centered": True, "momentum": 0.5}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.02,
                 "initial_accumulator_value": 0.1, "eps": 1e-8}),
]
TORCH_NAMES = {"SGD": "SGD", "Adam": "Adam", "RMSProp": "RMSprop", "Adagrad": "Adagrad"}


@pytest.mark.torch
@pytest.mark.parametrize("name, settings", OPTIMIZERS,
                         ids=[f"{n}-{'-'.join(s)}" for n, s in OPTIMIZERS])
def test_every_step_matches_torch_optim(name, settings, torch):
    ours = [Value(x) for x in START]
    theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in START]
    optimizer = getattr(nn, name)(ours, **settings)
    reference = getattr(torch.optim, TORCH_NAMES[name])(theirs, foreach=False, **settings)
    lr = settings["lr"]
    for step in range(STEPS):
        optimizer.lr = schedule(step, lr)                 # a schedule, changed between steps
        for group in reference.param_groups:
            group["lr"] = schedule(step, lr)
        for i, (p, t) in enumerate(zip(ours, theirs)):
            p.grad = gradient(i, p.data, step)
            t.grad = torch.tensor(gradient(i, t.item(), step), dtype=torch.float64)
        optimizer.step()
        reference.step()
        for p, t in zip(ours, theirs):
            assert math.isclose(p.data, t.item(), rel_tol=1e-12, abs_tol=1e-14), (step, p, t)
    assert ours[0].data != START[0]


@pytest.mark.torch
@pytest.mark.parametrize("max_norm", [0.1, 1.0, 1e6])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_matches_torch(max_norm, norm_type, torch):
    grads = [0.3, -1.2, 2.5, 0.0, -0.7, 1e-3]
    ours = [Value(1.0) for _ in grads]
    theirs = [torch.tensor(1.0, dtype=torch.float64, requires_grad=True) for _ in grads]
    for p, t, g in zip(ours, theirs, grads):
        p.grad = g
        t.grad = torch.tensor(g, dtype=torch.float64)
    total = nn.clip_grad_norm(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type, foreach=False)
    assert math.isclose(total, expected.item(), rel_tol=1e-12)
    for p, t in zip(ours, theirs):
        assert math.isclose(p.grad, t.grad.item(), rel_tol=1e-12, abs_tol=1e-300)


def test_clip_grad_norm_by_its_formula():
    params = [Value(0.0), Value(0.0)]
    params[0].grad, params[1].grad = 3.0, 4.0
    assert nn.clip_grad_norm(params, 1.0) == 5.0
    coef = 1.0 / (5.0 + 1e-6)
    assert [p.grad for p in params] == [3.0 * coef, 4.0 * coef]
    assert nn.clip_grad_norm(params, 10.0) == pytest.approx(1.0, rel=1e-6)   # unchanged now
    assert [p.grad for p in params] == [3.0 * coef, 4.0 * coef]


def test_plain_sgd_is_p_minus_lr_times_grad():
    p = Value(2.0)
    optimizer = nn.SGD([p], lr=0.1)
    p.grad = 3.0
    optimizer.step()
    assert p.data == 2.0 - 0.1 * 3.0
    optimizer.lr = 0.5
    optimizer.step()
    assert p.data == (2.0 - 0.1 * 3.0) - 0.5 * 3.0


def test_adam_first_step_moves_each_parameter_by_about_lr():
    # bias correction makes the first step lr * g / (|g| + eps): about lr, against the gradient
    # (eps sits outside the square root, after the bias correction, as in PyTorch)
    grads = (1e-3, -5.0, 1e3, 1e-8)
    params = [Value(1.0) for _ in grads]
    for p, g in zip(params, grads):
        p.grad = g
    nn.Adam(params, lr=0.01).step()
    expected = [1.0 - 0.01 * g / (abs(g) + 1e-8) for g in grads]
    assert [p.data for p in params] == pytest.approx(expected, rel=1e-14)
    assert expected[3] == pytest.approx(0.995)          # a tiny gradient: eps halves the step


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSProp", "Adagrad"])
def test_a_step_builds_no_graph_and_zero_grad_resets(name):
    model = nn.MLP(2, [3, 1], seed=0)
    optimizer = getattr(nn, name)(model.parameters(), lr=0.1)
    model([1.0, -1.0]).backward()
    before = [p.data for p in model.parameters()]
    optimizer.step()
    assert [p.data for p in model.parameters()] != before
    for p in model.parameters():
        assert type(p.data) is float and p.op == "" and p.parents == () and p.local is None
    optimizer.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())
    assert repr(optimizer).startswith(f"{name}(13 parameters, lr=0.1")


@pytest.mark.parametrize("call, message", [
    (lambda p: nn.SGD([], lr=0.1), "empty parameter list"),
    (lambda p: nn.SGD(p, lr=-1.0), "invalid learning rate"),
    (lambda p: nn.SGD(p + p, lr=0.1), "listed twice"),
    (lambda p: nn.SGD([1.0], lr=0.1), "parameters must be Values"),
    (lambda p: nn.SGD(p, lr=0.1, nesterov=True), "nesterov"),
    (lambda p: nn.Adam(p, lr=0.1, betas=(1.0, 0.9)), "invalid beta1"),
    (lambda p: nn.RMSProp(p, lr=0.1, eps=-1.0), "invalid eps"),
    (lambda p: nn.clip_grad_norm(p, 1.0, norm_type=0.0), "norm_type"),
])
def test_bad_settings_are_clear_errors(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call([Value(1.0)])


@pytest.mark.parametrize("make", [
    lambda p, x: nn.SGD(p, lr=x), lambda p, x: nn.SGD(p, lr=0.1, momentum=x),
    lambda p, x: nn.Adam(p, lr=0.1, eps=x), lambda p, x: nn.RMSProp(p, lr=0.1, alpha=x),
    lambda p, x: nn.Adagrad(p, lr=0.1, lr_decay=x), lambda p, x: nn.clip_grad_norm(p, x),
])
def test_settings_take_numpy_numbers_and_refuse_ints_beyond_floats(make):
    numpy = pytest.importorskip("numpy")
    for number in (numpy.float32(0.5), numpy.float64(0.5), numpy.int64(1), Fraction(1, 2)):
        make([Value(1.0)], number)                  # a real number of any kind is taken
    for number in (10 ** 400, numpy.float64("inf"), numpy.bool_(True), "0.5"):
        with pytest.raises(ValueError, match="invalid"):
            make([Value(1.0)], number)


def test_the_learning_rate_setter_checks_its_value():
    optimizer = nn.Adam([Value(1.0)], lr=0.1)
    optimizer.lr = 0.01
    assert optimizer.lr == 0.01
    with pytest.raises(ValueError, match="invalid learning rate"):
        optimizer.lr = -0.5


@pytest.mark.parametrize("name, settings", OPTIMIZERS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZERS)])
def test_a_step_that_would_overflow_changes_nothing(name, settings):
    """All or nothing: a step that would make one parameter, or the optimizer's state for it,
    inf or nan (Adam's v when grad**2 overflows; the last parameter here, after the others
    were computed) leaves every parameter and the optimizer's state (its step count,
    moments, buffers) as they were; the next good step equals that of an optimizer that never
    saw the refused one."""
    def make():
        params = [Value(x, f"p{i}") for i, x in enumerate(START)] + [Value(1.0, "big")]
        return params, getattr(nn, name)(params, **settings)

    params, optimizer = make()
    twin_params, twin = make()
    for k in range(3):                                    # some state first
        for pair in ((params, optimizer), (twin_params, twin)):
            for i, p in enumerate(pair[0][:-1]):
                p.grad = gradient(i, p.data, k)
            pair[1].step()
    def state():
        return repr({k: v for k, v in vars(optimizer).items() if k != "params"})

    params[-1].data = 1e308                              # near the largest float
    state_before = state()
    before = [p.data for p in params]
    for p in params[:-1]:
        p.grad = 1.0
    params[-1].grad = -1e308                             # big - lr * (-1e308): beyond floats
    optimizer.lr = 1e6
    with pytest.raises(UndefinedMathError, match=rf"{name}\.step: the update would make 'big'"
                                                 r"('s \w+)? (inf|nan) .*nothing was changed"):
        optimizer.step()
    optimizer.lr = twin.lr
    assert [p.data for p in params] == before and state() == state_before
    params[-1].data = twin_params[-1].data
    for pair in ((params, optimizer), (twin_params, twin)):
        for i, p in enumerate(pair[0]):
            p.grad = gradient(i, p.data, 3) if i < len(START) else 0.0
        pair[1].step()
    assert [p.data for p in params] == [p.data for p in twin_params]
