"""Dropout, train/eval modes and skip connections: inverted dropout as PyTorch's (mask
statistics, 1/(1-p) scaling, identity in eval mode), seeded masks, zero gradient through a
dropped unit (central differences, and PyTorch with the same mask), modes that propagate and
are restored, nn.Residual and MLP(residual=True)."""

import math
import random

import pytest

import nn
from autograd import Value, no_grad, topological_order

# ---------------------------------------------------------------------------------------------
# Inverted dropout


def test_training_mode_zeroes_a_fraction_p_and_scales_the_rest_by_1_over_1_minus_p():
    n, p = 20000, 0.3
    x = [Value(1.0 + (i % 7)) for i in range(n)]
    drop = nn.Dropout(p, seed=0)
    out = drop(x)
    dropped = [o.data == 0.0 for o in out]
    # binomial(n, p): the fraction dropped within 4 standard deviations of p
    assert abs(sum(dropped) / n - p) < 4 * math.sqrt(p * (1 - p) / n)
    for xi, o, gone, m in zip(x, out, dropped, drop.mask):
        assert o.data == (0.0 if gone else xi.data * (1 / (1 - p)))
        assert m == (0.0 if gone else 1 / (1 - p))
    # so the expected output is the input: the mean of out over the mean of x, about 1
    assert sum(o.data for o in out) / sum(xi.data for xi in x) == pytest.approx(1.0, abs=0.02)


def test_eval_mode_and_p_0_are_the_identity_and_p_1_zeroes_everything():
    x = [Value(0.5), Value(-2.0), Value(3.0)]
    drop = nn.Dropout(0.5, seed=1).eval()
    assert drop(x) is x and drop(x[0]) is x[0]          # the very same Values: no graph added
    assert drop.mask is None                             # no mask drawn in eval mode
    assert nn.Dropout(0.0, seed=1)(x) is x
    assert [o.data for o in nn.Dropout(1.0, seed=1)(x)] == [0.0, 0.0, 0.0]


def test_numbers_and_single_values_keep_their_shape():
    drop = nn.Dropout(0.5, seed=3)
    one = drop(Value(2.0))
    assert isinstance(one, Value) and one.data in (0.0, 4.0)
    many = drop([1.0, 2.0, 3.0, 4.0])
    assert [o.data for o in many] == [xi * m for xi, m in zip([1.0, 2.0, 3.0, 4.0], drop.mask)]


def test_the_same_seed_gives_the_same_masks_call_after_call():
    x = [Value(1.0)] * 50
    a, b, c = nn.Dropout(0.5, seed=7), nn.Dropout(0.5, seed=7), nn.Dropout(0.5, seed=8)
    masks_a = [list((a(x), a.mask)[1]) for _ in range(3)]
    masks_b = [list((b(x), b.mask)[1]) for _ in range(3)]
    masks_c = [list((c(x), c.mask)[1]) for _ in range(3)]
    assert masks_a == masks_b
    assert masks_a[0] != masks_a[1] and masks_a != masks_c   # new masks each call, per seed
    # the global random module is neither used nor disturbed
    random.seed(123)
    expected = random.random()
    random.seed(123)
    nn.Dropout(0.5, seed=7)(x)
    assert random.random() == expected


def test_bad_probabilities_are_clear_errors():
    for p in (-0.1, 1.5, "0.5", True, float("nan")):
        with pytest.raises(ValueError, match="dropout probability must be a number in"):
            nn.Dropout(p)
    with pytest.raises(ValueError, match="dropout probability"):
        nn.MLP(2, [4, 1], dropout=2.0)


def test_mlp_dropout_without_a_hidden_layer_is_refused_not_ignored():
    # no hidden layer, no place for it: it dropped nothing while repr said dropout=0.5
    with pytest.raises(ValueError, match=r"2 -> 1 has none"):
        nn.MLP(2, [1], dropout=0.5)
    assert "dropout" not in repr(nn.MLP(2, [1], dropout=0.0))


def test_matches_pytorchs_dropout_semantics(torch):
    """Same p, same input: both drop about a fraction p, both scale what they keep by exactly
    1/(1-p), both are the identity in eval mode (their random numbers differ, by design)."""
    n, p = 20000, 0.25
    xs = [0.5 + (i % 11) / 3 for i in range(n)]
    ours = [o.data for o in nn.Dropout(p, seed=0)([Value(v) for v in xs])]
    theirs = torch.nn.Dropout(p)(torch.tensor(xs)).tolist()
    for outputs in (ours, theirs):
        kept = [(o, v) for o, v in zip(outputs, xs) if o != 0.0]
        assert abs(1 - len(kept) / n - p) < 4 * math.sqrt(p * (1 - p) / n)
        assert all(o == v * (1 / (1 - p)) for o, v in kept)
    assert torch.nn.Dropout(p).eval()(torch.tensor(xs)).tolist() == xs
    assert [o.data for o in nn.Dropout(p).eval()([Value(v) for v in xs])] == xs


# ---------------------------------------------------------------------------------------------
# The backward pass through a dropped unit


def test_a_dropped_unit_is_a_multiplication_by_0_and_passes_back_exactly_0():
    x = [Value(float(i + 1)) for i in range(40)]
    drop = nn.Dropout(0.5, seed=2)
    out = drop(x)
    total = out[0]
    for o in out[1:]:
        total = total + o * o                     # something nonlinear downstream
    total.backward()
    assert 0.0 in drop.mask and 2.0 in drop.mask
    for i, (xi, o, m) in enumerate(zip(x, out, drop.mask)):
        assert o.op == "*" and o.parents[0] is xi
        assert o.parents[1].label == ("kept" if m else "dropped")
        upstream = 1.0 if i == 0 else 2.0 * o.data
        assert xi.grad == upstream * m           # 0 exactly through a dropped unit
    # the dropout's constants are leaves of the graph, never parameters
    assert drop.parameters() == []


def test_gradients_through_dropout_match_central_differences_with_the_mask_fixed():
    """f(w) = a small network with a dropout in the middle. The same seed gives the same mask,
    so f can be evaluated again at w +- h with the mask fixed."""
    model = nn.MLP(3, [6, 6, 1], activation="tanh", seed=4, dropout=0.4)
    x = [0.3, -0.7, 1.1]
    dropout_seeds = [d.rng.getstate() for d in model.dropouts]

    def f() -> Value:
        for d, state in zip(model.dropouts, dropout_seeds):
            d.rng.setstate(state)                 # the same masks at every evaluation
        return model(x) ** 2

    model.zero_grad()
    f().backward()
    masks = [list(d.mask) for d in model.dropouts]
    assert any(0.0 in m for m in masks)
    h = 1e-6
    for p in model.parameters():
        analytic = p.grad
        saved = p.data
        p.data = saved + h
        up = f().data
        p.data = saved - h
        down = f().data
        p.data = saved
        assert analytic == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-9)
    # a dropped hidden unit's incoming weights get no gradient at all
    hidden = model.layers[1].neurons
    for j, m in enumerate(masks[1]):
        if m == 0.0:
            assert all(w.grad == 0.0 for w in hidden[j].w) and hidden[j].b.grad == 0.0


def test_dropout_gradients_equal_pytorch_with_the_same_mask_applied_by_hand(torch):
    model = nn.MLP(4, [8, 8, 2], activation="relu", seed=5, dropout=0.5)
    X = [[0.2, -1.0, 0.5, 1.5], [1.0, 0.3, -0.4, 0.0], [-0.6, 0.8, 1.2, -1.1]]
    y = [0, 1, 1]
    masks = []
    outputs = []
    for x in X:
        outputs.append(model(x))
        masks.append([list(d.mask) for d in model.dropouts])
    loss = nn.cross_entropy(outputs, y)
    model.zero_grad()
    loss.backward()

    layers = nn.to_torch(model.layers)         # Linear, ReLU, Linear, ReLU, Linear
    linears = [m for m in layers if isinstance(m, torch.nn.Linear)]
    logits = []
    for x, mask in zip(X, masks):
        h = torch.tensor([x])
        for k, linear in enumerate(linears):
            h = linear(h)
            if k < 2:
                h = torch.relu(h) * torch.tensor([mask[k]])    # the mask, by hand
        logits.append(h)
    torch_loss = torch.nn.functional.cross_entropy(torch.cat(logits), torch.tensor(y))
    torch_loss.backward()
    assert loss.data == pytest.approx(torch_loss.item(), rel=1e-12)
    for layer, linear in zip(model.layers, linears):
        for j, neuron in enumerate(layer.neurons):
            assert [w.grad for w in neuron.w] == pytest.approx(linear.weight.grad[j].tolist(),
                                                               rel=1e-10, abs=1e-14)
            assert neuron.b.grad == pytest.approx(linear.bias.grad[j].item(), rel=1e-10,
                                                  abs=1e-14)


# ---------------------------------------------------------------------------------------------
# Modes


class Recorder(nn.Module):
    """Records the mode it ran in; its output is its input."""

    def __init__(self):
        self.modes = []

    def forward(self, x):
        self.modes.append(self.training)
        return x


class Net(nn.Module):
    def __init__(self):
        self.body = nn.MLP(2, [4, 4], seed=0, dropout=0.5)
        self.extra = [nn.Dropout(0.2, seed=1), {"deep": Recorder()}]
        self.skip = nn.Residual(nn.Layer(4, 4, seed=2))
        self.head = nn.Neuron(4, "linear", seed=3)

    def forward(self, x):
        h = self.body(x)
        h = self.extra[0](h)
        h = self.extra[1]["deep"](h)
        return self.head(self.skip(h))


def test_train_and_eval_reach_every_submodule_and_return_the_module():
    net = Net()
    modules = net.modules()
    assert len(modules) > 10 and all(m.training for m in modules)
    assert net.eval() is net and not any(m.training for m in modules)
    assert net.train() is net and all(m.training for m in modules)
    net.body.eval()                               # a part alone: the rest stays as it was
    assert [m.training for m in net.body.modules()] == [False] * len(net.body.modules())
    assert net.training and net.head.training and net.extra[1]["deep"].training
    assert net.train(False) is net and not net.head.training
    with pytest.raises(TypeError, match="mode must be True or False"):
        net.train("eval")
    assert "training" not in dict(net.named_parameters())


def test_fit_trains_in_training_mode_and_accuracy_predicts_in_eval_mode_restoring_modes():
    net = Net()
    recorder = net.extra[1]["deep"]
    X, y = nn.data.moons(12, noise=0.1, seed=0)
    y = [2 * t - 1 for t in y]
    net.eval()
    nn.fit(net, X, y, loss="hinge", epochs=2, progress=False, validation=(X[:4], y[:4]))
    # 12 training calls in train mode per epoch, 4 held-out calls in eval mode after each
    assert recorder.modes == ([True] * 12 + [False] * 4) * 2
    assert not any(m.training for m in net.modules())        # back in eval mode
    net.train()
    recorder.modes.clear()
    nn.accuracy(net, X, y)
    nn.plot.decision_boundary(net, X, y, resolution=3)
    import matplotlib.pyplot as plt
    plt.close("all")
    assert set(recorder.modes) == {False}
    assert all(m.training for m in net.modules())            # back in training mode


def test_a_mixed_mode_model_gets_each_modules_own_mode_back():
    net = Net()
    net.body.eval()
    before = [m.training for m in net.modules()]
    nn.fit(net, [[0.0, 1.0]], [1.0], epochs=1, progress=False)
    nn.accuracy(net, [[0.0, 1.0]], [1])
    assert [m.training for m in net.modules()] == before


def test_accuracy_of_a_dropout_model_is_deterministic_and_draws_no_mask():
    model = nn.MLP(2, [16, 1], seed=0, dropout=0.5)
    X, y = nn.data.moons(30, noise=0.1, seed=0)
    state = model.dropouts[0].rng.getstate()
    first = nn.accuracy(model, X, y)
    assert all(nn.accuracy(model, X, y) == first for _ in range(3))
    assert model.dropouts[0].rng.getstate() == state
    plain = nn.MLP(2, [16, 1], seed=0)
    assert first == nn.accuracy(plain, X, y)


# ---------------------------------------------------------------------------------------------
# MLP(dropout=p)


def test_mlp_dropout_sits_after_each_hidden_layer_and_keeps_the_weights_of_the_seed():
    model = nn.MLP(3, [5, 4, 2], activation="tanh", seed=11, dropout=0.3)
    plain = nn.MLP(3, [5, 4, 2], activation="tanh", seed=11)
    assert model.state_dict() == plain.state_dict()          # the same names and weights
    assert [repr(d) for d in model.dropouts] == ["Dropout(p=0.3)"] * 2
    assert "dropout=0.3" in repr(model)
    x = [0.4, -0.2, 0.9]
    out = model(x)
    masks = [d.mask for d in model.dropouts]
    h = x
    for k, layer in enumerate(plain.layers):
        h = [n.b.data + sum(w.data * hi for w, hi in zip(n.w, h)) for n in layer.neurons]
        if k < 2:
            h = [math.tanh(v) * m for v, m in zip(h, masks[k])]
    assert [o.data for o in out] == pytest.approx(h, rel=1e-14)
    model.eval()
    assert [o.data for o in model(x)] == [o.data for o in plain(x)]
    # the same seed, the same masks
    again = nn.MLP(3, [5, 4, 2], activation="tanh", seed=11, dropout=0.3)
    again(x)
    assert [d.mask for d in again.dropouts] == masks


def test_fit_with_dropout_is_deterministic_for_a_seed_and_differs_from_no_dropout():
    X, y = nn.data.moons(20, noise=0.1, seed=0)

    def run(dropout):
        model = nn.MLP(2, [8, 8, 1], seed=0, dropout=dropout)
        return nn.fit(model, X, y, loss="bce_with_logits", epochs=5, progress=False).loss

    assert run(0.5) == run(0.5)
    assert run(0.5) != run(0.0)


def test_a_model_with_dropout_saves_and_loads(tmp_path):
    model = nn.MLP(2, [4, 1], seed=0, dropout=0.2)
    nn.save(model, tmp_path / "m.json")
    plain = nn.load(nn.MLP(2, [4, 1], seed=9), tmp_path / "m.json")   # dropout: no weights
    assert plain.state_dict() == model.state_dict()


# ---------------------------------------------------------------------------------------------
# Skip connections


def test_residual_adds_the_input_to_the_blocks_output_and_its_gradient_has_both_paths():
    layer = nn.Layer(3, 3, activation="sigmoid", seed=0)
    block = nn.Residual(layer)
    x = [Value(0.5, "a"), Value(-1.0, "b"), Value(2.0, "c")]
    out = block(x)
    inner = layer(x)
    assert [o.data for o in out] == [xi.data + h.data for xi, h in zip(x, inner)]
    assert all(o.op == "+" and o.parents[0] is xi for o, xi in zip(out, x))
    total = out[0] + out[1] + out[2]
    total.backward()
    # d total / d x_i = 1 (the identity path) + sum_j sigmoid'(z_j) w_ji (through the layer)
    for i, xi in enumerate(x):
        through = sum(h.data * (1 - h.data) * n.w[i].data for h, n in zip(inner, layer.neurons))
        assert xi.grad == pytest.approx(1.0 + through, rel=1e-13)
    assert [name for name, _ in block.named_parameters()][0] == "block.neurons.0.w.0"
    assert layer.neurons[0].w[0].label == "block.n0.w0"
    assert repr(block) == "Residual(Layer(3 -> 3, sigmoid))"


def test_residual_refuses_a_block_that_changes_the_width():
    with pytest.raises(ValueError, match=r"needs as many outputs as inputs, but Layer\(3 -> 2"):
        nn.Residual(nn.Layer(3, 2))
    with pytest.raises(TypeError, match="takes an nn Module"):
        nn.Residual(lambda x: x)
    with pytest.raises(ValueError, match="expects 3 inputs, got 2"):
        nn.Residual(nn.Layer(3, 3))([1.0, 2.0])


def test_mlp_residual_skips_every_hidden_layer_of_equal_width():
    model = nn.MLP(2, [4, 4, 4, 1], activation="sigmoid", seed=3, residual=True)
    plain = nn.MLP(2, [4, 4, 4, 1], activation="sigmoid", seed=3)
    assert model.state_dict() == plain.state_dict()
    x = [0.3, -0.6]
    h = plain.layers[0](x)                                   # 2 -> 4: no skip
    for layer in plain.layers[1:3]:                          # 4 -> 4: x + layer(x)
        h = [hi + o for hi, o in zip(h, layer(h))]
    expected = plain.layers[3](h)                            # the output layer: no skip
    assert model(x).data == pytest.approx(expected.data, rel=1e-14)
    assert "residual=True" in repr(model)
    with pytest.raises(ValueError, match="residual=True adds x \\+ layer\\(x\\).*has none"):
        nn.MLP(2, [4, 8, 1], residual=True)
    with pytest.raises(TypeError, match="residual must be True or False"):
        nn.MLP(2, [4, 4, 1], residual=1)


def test_residual_gradients_match_central_differences():
    model = nn.MLP(2, [3, 3, 3, 1], activation="tanh", seed=1, residual=True, dropout=0.0)
    x = [0.7, -0.4]

    def f():
        return model(x) ** 2

    model.zero_grad()
    f().backward()
    h = 1e-6
    for p in model.parameters():
        saved = p.data
        p.data = saved + h
        up = f().data
        p.data = saved - h
        down = f().data
        p.data = saved
        assert p.grad == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-9)


def test_a_file_saved_from_a_residual_mlp_refuses_a_plain_one(tmp_path):
    nn.save(nn.MLP(2, [4, 4, 1], seed=0, residual=True), tmp_path / "r.json")
    with pytest.raises(ValueError, match="built differently"):
        nn.load(nn.MLP(2, [4, 4, 1], seed=0), tmp_path / "r.json")
    nn.load(nn.MLP(2, [4, 4, 1], seed=1, residual=True), tmp_path / "r.json")


def test_no_grad_dropout_in_training_mode_builds_no_graph():
    drop = nn.Dropout(0.5, seed=0)
    with no_grad():
        out = drop([Value(1.0), Value(2.0)])
    assert all(not o.parents for o in out)
    assert len(topological_order(drop([Value(1.0)])[0])) == 3     # x, the constant, x * c
