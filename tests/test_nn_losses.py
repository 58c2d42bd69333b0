"""The losses against PyTorch float64 (values and grads to 1e-9 relative), central differences,
the textbook identities (slope = prediction - target), and exact edge cases."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn
from autograd import Value, gradcheck, sigmoid

finite = st.floats(-20, 20, allow_nan=False)
sizes = st.integers(1, 6)


def close(ours, theirs, scale=1.0):
    return math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-15 * scale)


def leaves(xs):
    return [Value(x) for x in xs]


def check_against_torch(torch, ours_loss, theirs_loss, xs, targets, scale=1.0):
    """Our loss and PyTorch's at xs: the values and every d loss / d x. `scale`: the size of
    the terms PyTorch adds up (it may lose up to about 1e-16 of it to cancellation)."""
    ours = leaves(xs)
    out = ours_loss(ours, targets)
    out.backward()
    theirs = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    expected = theirs_loss(theirs)
    expected.backward()
    assert close(out.data, expected.item(), abs(expected.item()) + scale), (xs, targets)
    for mine, reference in zip(ours, theirs.grad.tolist()):
        assert close(mine.grad, reference), (xs, targets, mine.grad, reference)


# ---------------------------------------------------------------------------------------------
# PyTorch parity


@pytest.mark.torch
@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=6))
def test_mse_and_mae_match_pytorch(torch, pairs):
    xs, ts = [p for p, _ in pairs], [t for _, t in pairs]
    target = torch.tensor(ts, dtype=torch.float64)
    check_against_torch(torch, nn.mse_loss, lambda x: torch.nn.functional.mse_loss(x, target),
                        xs, ts)
    check_against_torch(torch, nn.mae_loss, lambda x: torch.nn.functional.l1_loss(x, target),
                        xs, ts)


probabilities = st.floats(1e-6, 1 - 1e-6)
labels01 = st.sampled_from([0.0, 1.0])
soft = st.one_of(labels01, st.floats(0, 1))


@pytest.mark.torch
@given(st.lists(st.tuples(probabilities, soft), min_size=1, max_size=6))
def test_binary_cross_entropy_matches_pytorch(torch, pairs):
    ps, ts = [p for p, _ in pairs], [t for _, t in pairs]
    target = torch.tensor(ts, dtype=torch.float64)
    check_against_torch(torch, nn.binary_cross_entropy,
                        lambda p: torch.nn.functional.binary_cross_entropy(p, target), ps, ts)


@pytest.mark.torch
@given(st.lists(st.tuples(st.floats(-30, 30), soft), min_size=1, max_size=6))
def test_binary_cross_entropy_with_logits_matches_pytorch(torch, pairs):
    xs, ts = [x for x, _ in pairs], [t for _, t in pairs]
    target = torch.tensor(ts, dtype=torch.float64)
    # PyTorch computes (1 - t) x + softplus(-x): for t = 0 and x << 0 two terms of size |x|
    # cancel (at x = -17 its loss 4.1399374595e-08 is off by 1.7e-15; log1p(exp(-17)) is
    # 4.1399376331e-08, ours); hence an absolute tolerance of 1e-15 * |x|
    check_against_torch(torch, nn.binary_cross_entropy_with_logits,
                        lambda x: torch.nn.functional.binary_cross_entropy_with_logits(x, target),
                        xs, ts, scale=max(map(abs, xs)) + 1)


@pytest.mark.torch
@given(st.lists(st.tuples(finite, st.sampled_from([-1.0, 1.0])), min_size=1, max_size=6))
def test_hinge_matches_pytorch_relu_of_the_margin(torch, pairs):
    xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
    y = torch.tensor(ys, dtype=torch.float64)
    check_against_torch(torch, nn.hinge_loss, lambda s: torch.relu(1 - y * s).mean(), xs, ys)


logit_rows = st.integers(2, 5).flatmap(
    lambda k: st.tuples(st.lists(st.floats(-50, 50), min_size=k, max_size=k),
                        st.integers(0, k - 1)))


@pytest.mark.torch
@given(st.lists(logit_rows, min_size=1, max_size=4).filter(
    lambda rows: len({len(r) for r, _ in rows}) == 1))
def test_cross_entropy_matches_pytorch(torch, rows):
    logits = [r for r, _ in rows]
    targets = [t for _, t in rows]
    ours = [leaves(r) for r in logits]
    out = nn.cross_entropy(ours, targets)
    out.backward()
    theirs = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(theirs, torch.tensor(targets))
    expected.backward()
    assert close(out.data, expected.item(), abs(expected.item()) + 1)
    for row, reference in zip(ours, theirs.grad.tolist()):
        for mine, g in zip(row, reference):
            assert close(mine.grad, g), (logits, targets)
    single = leaves(logits[0])
    one = nn.cross_entropy(single, targets[0])
    assert close(one.data, torch.nn.functional.cross_entropy(
        theirs[:1].detach(), torch.tensor(targets[:1])).item(), 50)


@pytest.mark.torch
@given(logit_rows, st.lists(finite, min_size=5, max_size=5))
def test_softmax_and_log_softmax_match_pytorch(torch, row, weights):
    logits, _ = row
    weights = weights[:len(logits)]
    for ours_f, theirs_f in ((nn.softmax, torch.softmax), (nn.log_softmax, torch.log_softmax)):
        ours = leaves(logits)
        outs = ours_f(ours)
        total = outs[0] * weights[0]
        for o, w in zip(outs[1:], weights[1:]):
            total = total + o * w
        total.backward()
        theirs = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
        expected = theirs_f(theirs, dim=0)
        (expected * torch.tensor(weights, dtype=torch.float64)).sum().backward()
        for o, e in zip(outs, expected.tolist()):
            assert math.isclose(o.data, e, rel_tol=1e-9, abs_tol=1e-300)
        scale = sum(map(abs, weights)) + 1
        for mine, g in zip(ours, theirs.grad.tolist()):
            assert close(mine.grad, g, scale), (logits, weights)


@pytest.mark.torch
@pytest.mark.parametrize("x", [-1000.0, -40.0, 0.0, 40.0, 1000.0])
@pytest.mark.parametrize("t", [0.0, 0.3, 1.0])
def test_large_logits_stay_finite_and_match_pytorch(torch, x, t):
    ours = Value(x)
    out = nn.binary_cross_entropy_with_logits(ours, t)
    out.backward()
    theirs = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(theirs, torch.tensor(t))
    expected.backward()
    # PyTorch loses the tiny loss 4e-18 at x = -40, t = 0 (and the slope -4e-18 at x = 40,
    # t = 1) to cancellation; we keep them: hence the absolute tolerance
    assert math.isclose(out.data, expected.item(), rel_tol=1e-9, abs_tol=1e-15)
    assert math.isclose(ours.grad, theirs.grad.item(), rel_tol=1e-9, abs_tol=1e-15)
    logits = leaves([x, -x, 0.5 * x])
    ce = nn.cross_entropy(logits, 1)
    ce.backward()
    theirs = torch.tensor([x, -x, 0.5 * x], requires_grad=True)
    expected = torch.nn.functional.cross_entropy(theirs[None], torch.tensor([1]))
    expected.backward()
    assert math.isclose(ce.data, expected.item(), rel_tol=1e-9, abs_tol=1e-15)
    for mine, g in zip(logits, theirs.grad.tolist()):
        assert math.isclose(mine.grad, g, rel_tol=1e-9, abs_tol=1e-300)


@pytest.mark.torch
def test_probabilities_of_exactly_0_and_1_cost_100_as_in_pytorch(torch):
    ps, ts = [0.0, 1.0, 0.0, 1.0], [1.0, 0.0, 0.0, 1.0]
    expected = torch.nn.functional.binary_cross_entropy(torch.tensor(ps), torch.tensor(ts))
    assert nn.binary_cross_entropy(leaves(ps), ts).data == expected.item() == 50.0


# ---------------------------------------------------------------------------------------------
# Independent of PyTorch: exact values, central differences, identities


def test_logit_losses_are_exact_for_large_logits():
    # -log sigmoid(40) = log1p(exp(-40)) = 4.248e-18, not 0
    assert nn.binary_cross_entropy_with_logits(Value(40.0), 1).data == math.log1p(math.exp(-40))
    assert nn.binary_cross_entropy_with_logits(Value(-40.0), 0).data == math.log1p(math.exp(-40))
    assert nn.binary_cross_entropy_with_logits(Value(1e6), 0).data == 1e6
    assert nn.cross_entropy([Value(1000.0), Value(0.0)], 1).data == 1000.0
    assert nn.cross_entropy([Value(1000.0), Value(0.0)], 0).data == 0.0
    assert [p.data for p in nn.softmax([Value(1000.0), Value(1000.0)])] == [0.5, 0.5]


@pytest.mark.parametrize("loss, predictions, targets", [
    (nn.mse_loss, [0.3, -1.2, 2.0], [1.0, 0.0, 2.5]),
    (nn.mae_loss, [0.3, -1.2, 2.0], [1.0, 0.0, 2.5]),
    (nn.binary_cross_entropy, [0.3, 0.9, 0.05], [1.0, 0.0, 0.25]),
    (nn.binary_cross_entropy_with_logits, [0.3, -3.0, 8.0], [1.0, 0.0, 0.25]),
    (nn.hinge_loss, [0.3, -1.2, 2.5], [1, 1, -1]),
])
def test_gradients_match_central_differences(loss, predictions, targets):
    assert gradcheck(lambda *p: loss(list(p), targets), predictions)


def test_cross_entropy_and_softmax_gradients_match_central_differences():
    assert gradcheck(lambda a, b, c: nn.cross_entropy([a, b, c], 2), [0.5, -1.0, 2.0])
    assert gradcheck(lambda a, b, c, d: nn.cross_entropy([[a, b], [c, d]], [0, 1]),
                     [0.5, -1.0, 2.0, 0.1])
    assert gradcheck(lambda a, b, c: nn.softmax([a, b, c])[0] * 3 + nn.softmax([a, b, c])[2],
                     [0.5, -1.0, 2.0])
    assert gradcheck(lambda a, b: nn.log_softmax([a, b])[1], [0.5, -1.0])


@given(st.floats(-30, 30), st.floats(0, 1))
def test_sigmoid_then_bce_has_slope_prediction_minus_target(x, t):
    logit = Value(x)
    nn.binary_cross_entropy_with_logits(logit, t).backward()
    assert math.isclose(logit.grad, sigmoid(x) - t, rel_tol=1e-12, abs_tol=1e-15)
    if 1e-6 < sigmoid(x) < 1 - 1e-6:        # through the probability: the same slope
        logit = Value(x)
        nn.binary_cross_entropy(logit.sigmoid(), t).backward()
        assert math.isclose(logit.grad, sigmoid(x) - t, rel_tol=1e-7, abs_tol=1e-9)


@given(logit_rows)
def test_softmax_then_cross_entropy_has_slope_prediction_minus_target(row):
    logits, target = row
    xs = leaves(logits)
    nn.cross_entropy(xs, target).backward()
    m = max(logits)
    exps = [math.exp(x - m) for x in logits]
    prediction = [e / sum(exps) for e in exps]
    for i, x in enumerate(xs):
        assert math.isclose(x.grad, prediction[i] - (i == target), rel_tol=1e-9, abs_tol=1e-15)


def test_hinge_is_micrograds_max_margin():
    scores, labels = [2.0, 0.5, -0.3, -2.0], [1, 1, 1, -1]
    expected = sum(max(0.0, 1 - y * s) for s, y in zip(scores, labels)) / 4
    assert nn.hinge_loss(leaves(scores), labels).data == pytest.approx(expected, rel=1e-15)


def test_one_prediction_or_a_list_average_the_same_way():
    assert nn.mse_loss(Value(3.0), 1.0).data == 4.0
    assert nn.mse_loss([Value(3.0)], [1.0]).data == 4.0
    assert nn.mse_loss([Value(3.0), Value(1.0)], [1.0, 0.0]).data == 2.5
    assert nn.mse_loss([[Value(3.0), Value(1.0)], [Value(0.0), Value(0.0)]],
                       [[1.0, 0.0], [0.0, 0.0]]).data == 1.25       # over every element
    assert nn.mae_loss(2.0, 0.5).data == 1.5                         # plain numbers too


def test_l2_penalty_is_alpha_times_the_sum_of_squares():
    params = leaves([1.0, -2.0, 3.0])
    penalty = nn.l2_penalty(params, 1e-4)
    assert penalty.data == pytest.approx(1e-4 * 14, rel=1e-15)
    penalty.backward()
    assert [p.grad for p in params] == pytest.approx([2e-4, -4e-4, 6e-4], rel=1e-15)


@pytest.mark.parametrize("call, error, message", [
    (lambda: nn.mse_loss(leaves([1, 2]), [1.0]), ValueError, "2 predictions but 1 targets"),
    (lambda: nn.mse_loss(leaves([1, 2]), 1.0), TypeError, "need a list of 2 targets"),
    (lambda: nn.mse_loss([], []), ValueError, "no predictions"),
    (lambda: nn.mse_loss("ab", [1, 2]), TypeError, "predictions must be"),
    (lambda: nn.hinge_loss(leaves([1]), [0]), ValueError, "labels must be -1 or \\+1, got 0"),
    (lambda: nn.binary_cross_entropy(Value(1.5), 1), ValueError, "probabilities in \\[0, 1\\]"),
    (lambda: nn.binary_cross_entropy(Value(0.5), 2), ValueError, "targets must be"),
    (lambda: nn.binary_cross_entropy_with_logits(Value(0.5), -1), ValueError, "hinge_loss"),
    (lambda: nn.cross_entropy(leaves([1, 2]), 2), ValueError, "out of range for 2 logits"),
    (lambda: nn.cross_entropy(leaves([1, 2]), 0.5), ValueError, "class index"),
    (lambda: nn.cross_entropy(leaves([1, 2]), True), ValueError, "class index"),
    (lambda: nn.cross_entropy([leaves([1, 2])] * 2, [0]), ValueError, "2 lists of logits but 1"),
    (lambda: nn.cross_entropy(Value(1.0), 0), TypeError, "list of logits"),
    (lambda: nn.softmax([]), ValueError, "empty"),
])
def test_bad_inputs_are_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
