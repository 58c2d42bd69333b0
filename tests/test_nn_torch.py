"""nn.to_torch and nn.from_torch: the same network in PyTorch float64 gives the same outputs,
the same gradients (against chainrule's own backward) and the same optimizer steps."""

import math
import random
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd import Value

TOLERANCE = 1e-12
ACTIVATIONS = ["relu", "tanh", "sigmoid", "linear"]


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def weights(model) -> list[float]:
    return [p.data for p in model.parameters()]


def linears(module, torch):
    return [m for m in module if isinstance(m, torch.nn.Linear)]


def dense_stages(model):
    """[(neurons), ...] of a model or a list of them, in the order to_torch maps them."""
    parts = model if isinstance(model, list) else [model]
    stages = []
    for part in parts:
        if isinstance(part, nn.MLP):
            stages += [layer.neurons for layer in part.layers]
        elif isinstance(part, nn.Layer):
            stages.append(part.neurons)
        else:
            stages.append([part])
    return stages


def assert_same_numbers(model, module, torch):
    """Every chainrule weight and its grad equal the torch parameter and its .grad."""
    stages, torch_linears = dense_stages(model), linears(module, torch)
    assert len(stages) == len(torch_linears)
    for k, (neurons, linear) in enumerate(zip(stages, torch_linears)):
        for j, neuron in enumerate(neurons):
            for i, w in enumerate(neuron.w):
                assert close(w.data, linear.weight[j, i].item()), (k, j, i)
                assert close(w.grad, linear.weight.grad[j, i].item()), \
                    f"layer {k} neuron {j} w[{i}]: {w.grad} vs {linear.weight.grad[j, i].item()}"
            assert close(neuron.b.data, linear.bias[j].item()), (k, j)
            assert close(neuron.b.grad, linear.bias.grad[j].item()), \
                f"layer {k} neuron {j} b: {neuron.b.grad} vs {linear.bias.grad[j].item()}"


def with_biases(model, seed: int = 0):
    """Give every neuron a random bias (they start at 0, which would hide a mixed-up bias)."""
    rng = random.Random(seed)
    for neurons in dense_stages(model):
        for neuron in neurons:
            neuron.b.data = rng.uniform(-1.0, 1.0)
    return model


def outputs_list(outputs) -> list[list[float]]:
    """Model outputs (a Value per example, or a list per example) as rows of floats."""
    return [[o.data] if isinstance(o, Value) else [v.data for v in o] for o in outputs]


# Each loss: the output size and activation it needs, targets, and the loss in both libraries.
def _targets_regression(rng, n, k):
    rows = [[rng.uniform(-1.5, 1.5) for _ in range(k)] for _ in range(n)]
    return [r[0] for r in rows] if k == 1 else rows


LOSSES = {
    "mse": dict(nout=2, output=None, targets=_targets_regression,
                ours=nn.mse_loss, theirs=lambda F, out, t: F.mse_loss(out, t)),
    "mae": dict(nout=3, output=None, targets=_targets_regression,
                ours=nn.mae_loss, theirs=lambda F, out, t: F.l1_loss(out, t)),
    "bce": dict(nout=1, output="sigmoid",
                targets=lambda rng, n, k: [rng.choice([0.0, 1.0, 0.3]) for _ in range(n)],
                ours=nn.binary_cross_entropy,
                theirs=lambda F, out, t: F.binary_cross_entropy(out, t)),
    "bce_with_logits": dict(nout=1, output="linear",
                            targets=lambda rng, n, k: [rng.choice([0.0, 1.0]) for _ in range(n)],
                            ours=nn.binary_cross_entropy_with_logits,
                            theirs=lambda F, out, t: F.binary_cross_entropy_with_logits(out, t)),
    "cross_entropy": dict(nout=4, output="linear",
                          targets=lambda rng, n, k: [rng.randrange(k) for _ in range(n)],
                          ours=nn.cross_entropy,
                          theirs=lambda F, out, t: F.cross_entropy(out, t.long())),
    "hinge": dict(nout=1, output=None,
                  targets=lambda rng, n, k: [rng.choice([-1.0, 1.0]) for _ in range(n)],
                  ours=nn.hinge_loss,
                  theirs=lambda F, out, t: (1.0 - t * out).relu().mean()),
}


def run_both(model, module, loss, X, targets, torch, l2=0.0):
    """Forward, loss and backward in chainrule and in PyTorch; returns both losses and outputs."""
    spec = LOSSES[loss]
    model.zero_grad()
    outputs = [model(x) for x in X]
    ours = spec["ours"](outputs, targets)
    if l2:
        ours = ours + nn.l2_penalty(model.parameters(), l2)
    ours.backward()

    module.zero_grad()
    out = module(torch.tensor(X, dtype=torch.float64))
    t = torch.tensor(targets, dtype=torch.float64)
    if spec["nout"] == 1 and loss != "cross_entropy":
        t = t.reshape(out.shape)
    theirs = spec["theirs"](torch.nn.functional, out, t)
    if l2:
        theirs = theirs + l2 * sum((p * p).sum() for p in module.parameters())
    theirs.backward()
    return ours, theirs, outputs, out


@pytest.mark.torch
@pytest.mark.parametrize("loss", list(LOSSES))
@settings(max_examples=25)
@given(data=st.data())
def test_outputs_and_every_gradient_equal_pytorch(loss, data, torch):
    spec = LOSSES[loss]
    nin = data.draw(st.integers(1, 4), "nin")
    hidden = data.draw(st.lists(st.integers(1, 5), max_size=2), "hidden sizes")
    activation = data.draw(st.sampled_from(ACTIVATIONS), "activation")
    output = spec["output"] or data.draw(st.sampled_from(ACTIVATIONS), "output activation")
    init = data.draw(st.sampled_from(["uniform", "xavier", "he"]), "init")
    seed = data.draw(st.integers(0, 10**6), "seed")
    batch = data.draw(st.integers(1, 5), "batch")
    l2 = data.draw(st.sampled_from([0.0, 1e-3]), "l2")
    model = with_biases(nn.MLP(nin, hidden + [spec["nout"]], activation=activation,
                               output_activation=output, init=init, seed=seed), seed)
    rng = random.Random(seed)
    X = [[rng.uniform(-2.0, 2.0) for _ in range(nin)] for _ in range(batch)]
    targets = spec["targets"](rng, batch, spec["nout"])

    module = nn.to_torch(model)
    ours, theirs, outputs, out = run_both(model, module, loss, X, targets, torch, l2)
    for row, torch_row in zip(outputs_list(outputs), out.tolist()):
        assert all(close(a, b) for a, b in zip(row, torch_row)), (row, torch_row)
    assert close(ours.data, theirs.item()), (ours.data, theirs.item())
    assert_same_numbers(model, module, torch)


@pytest.mark.torch
@pytest.mark.parametrize("stack", ["neuron", "layer", "layers and a neuron", "mlp and a layer"])
def test_neurons_layers_and_stacks_of_them_equal_pytorch(stack, torch):
    model = {
        "neuron": nn.Neuron(3, "tanh", seed=1),
        "layer": nn.Layer(3, 4, "sigmoid", seed=2),
        "layers and a neuron": [nn.Layer(3, 5, "relu", seed=3), nn.Layer(5, 2, "tanh", seed=4),
                                nn.Neuron(2, "linear", seed=5)],
        "mlp and a layer": [nn.MLP(3, [4, 4], activation="tanh", seed=6),
                            nn.Layer(4, 1, "sigmoid", seed=7)],
    }[stack]
    module = nn.to_torch(with_biases(model))
    X = [[0.3, -1.2, 0.8], [1.5, 0.1, -0.4], [-0.7, -0.9, 2.0]]
    parts = model if isinstance(model, list) else [model]
    params = [p for part in parts for p in part.parameters()]

    outputs = []
    for x in X:
        for part in parts:
            x = part(x)
        outputs.append(x)
    # the loss: a weighted sum of every output, so each output's slope differs
    flat = [o for row in outputs for o in (row if isinstance(row, list) else [row])]
    loss = flat[0] * 0.5
    for k, o in enumerate(flat[1:], start=2):
        loss = loss + o * (0.5 * (-1) ** k * k)
    for p in params:
        p.grad = 0.0
    loss.backward()

    out = module(torch.tensor(X))
    weights_ = torch.tensor([0.5] + [0.5 * (-1) ** k * k for k in range(2, len(flat) + 1)])
    (out.reshape(-1) * weights_).sum().backward()
    assert [o.data for o in flat] == pytest.approx(out.reshape(-1).tolist(), rel=TOLERANCE,
                                                   abs=TOLERANCE)
    assert_same_numbers(model, module, torch)


@pytest.mark.torch
def test_the_module_is_float64_with_the_same_weights_and_activations(torch):
    model = with_biases(nn.MLP(2, [3, 4, 1], activation="tanh", output_activation="sigmoid",
                               seed=0))
    module = nn.to_torch(model)
    assert isinstance(module, torch.nn.Sequential)
    assert [type(m).__name__ for m in module] == ["Linear", "Tanh", "Linear", "Tanh",
                                                  "Linear", "Sigmoid"]
    assert all(p.dtype == torch.float64 and p.requires_grad for p in module.parameters())
    for layer, linear in zip(model.layers, linears(module, torch)):
        assert linear.weight.tolist() == [[w.data for w in n.w] for n in layer.neurons]
        assert linear.bias.tolist() == [n.b.data for n in layer.neurons]      # exactly
    assert [type(m).__name__ for m in nn.to_torch(nn.MLP(2, [3, 2], seed=0))] == \
        ["Linear", "ReLU", "Linear"]                                        # linear: nothing
    assert module(torch.zeros(5, 2)).shape == (5, 1)


@pytest.mark.torch
def test_the_copy_is_independent_and_pytorchs_random_state_untouched(torch):
    model = nn.MLP(2, [3, 1], seed=0)
    before = weights(model)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    module = nn.to_torch(model)
    assert torch.equal(torch.get_rng_state(), state)       # no random init drawn
    with torch.no_grad():
        module[0].weight.add_(1.0)
    assert weights(model) == before
    model.layers[0].neurons[0].w[0].data = 5.0
    assert module[0].weight[0, 0].item() == before[0] + 1.0


@pytest.mark.torch
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_optimizer_steps_in_both_then_from_torch_gives_the_same_model(optimizer, torch):
    model = with_biases(nn.MLP(4, [6, 3], activation="tanh", seed=11))
    module = nn.to_torch(model)
    ours, theirs = {
        "sgd": (nn.SGD(model.parameters(), lr=0.1), torch.optim.SGD(module.parameters(), lr=0.1)),
        "momentum": (nn.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True),
                     torch.optim.SGD(module.parameters(), lr=0.05, momentum=0.9,
                                     nesterov=True)),
        "adam": (nn.Adam(model.parameters(), lr=0.01),
                 torch.optim.Adam(module.parameters(), lr=0.01)),
    }[optimizer]
    rng = random.Random(0)
    X = [[rng.uniform(-1, 1) for _ in range(4)] for _ in range(8)]
    y = [rng.randrange(3) for _ in range(8)]
    for _ in range(5):
        run_both(model, module, "cross_entropy", X, y, torch)
        assert_same_numbers(model, module, torch)
        ours.step()
        theirs.step()
    copy = nn.from_torch(module, nn.MLP(4, [6, 3], activation="tanh", seed=99))
    assert all(close(a, b) for a, b in zip(weights(copy), weights(model)))
    assert weights(copy) == [x for lin in linears(module, torch)
                             for row, b in zip(lin.weight.tolist(), lin.bias.tolist())
                             for x in row + [b]]                           # copied exactly


# ---------------------------------------------------------------------------------------------
# from_torch


@pytest.mark.torch
def test_from_torch_round_trips_exactly_and_returns_the_model(torch):
    a = with_biases(nn.MLP(3, [5, 2], activation="sigmoid", seed=1), seed=1)
    b = with_biases(nn.MLP(3, [5, 2], activation="sigmoid", seed=2), seed=2)
    assert weights(a) != weights(b)
    assert nn.from_torch(nn.to_torch(a), b) is b
    assert weights(b) == weights(a)
    neuron = nn.Neuron(2, "linear", seed=3)
    linear = torch.nn.Linear(2, 1)                          # a bare Linear fits a linear neuron
    nn.from_torch(linear, neuron)
    assert [w.data for w in neuron.w] + [neuron.b.data] == \
        linear.weight[0].tolist() + linear.bias.tolist()


@pytest.mark.torch
def test_from_torch_reads_float32_and_skips_dropout(torch):
    model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
    module = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Dropout(0.5),
                                 torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Identity()))
    module = module.float()
    nn.from_torch(module, model)
    expected = [x for lin in (module[0], module[3][0])
                for row, b in zip(lin.weight.double().tolist(), lin.bias.double().tolist())
                for x in row + [b]]
    assert weights(model) == expected


@pytest.mark.torch
def test_dropout_becomes_torch_dropout_in_the_same_mode_and_round_trips(torch):
    model = nn.MLP(3, [5, 4, 2], activation="tanh", seed=1, dropout=0.25)
    net = nn.to_torch(model)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "Tanh", "Dropout", "Linear", "Tanh", "Dropout", "Linear"]
    assert [m.p for m in net if isinstance(m, torch.nn.Dropout)] == [0.25, 0.25]
    assert net.training and all(m.training for m in net)        # both start in training mode
    X = [[0.1, -0.5, 0.7], [1.2, 0.3, -0.9]]
    model.eval()
    net = nn.to_torch(model)
    assert not net.training and not any(m.training for m in net)
    out = net(torch.tensor(X)).tolist()
    assert all(close(a, b.data) for row, x in zip(out, X) for a, b in zip(row, model(x)))
    # in training mode torch's Dropout zeroes (about) a fraction p of a wide layer
    wide = nn.to_torch([nn.Layer(2, 2000, "linear", seed=0), nn.Dropout(0.25)])
    hidden = wide(torch.tensor([[1.0, -1.0]]))
    assert abs((hidden == 0).double().mean().item() - 0.25) < 0.04
    # a standalone Dropout between layers, in eval mode, and back again
    stack = [nn.Layer(3, 4, "relu", seed=2), nn.Dropout(0.5).eval(), nn.Layer(4, 1, seed=3)]
    net = nn.to_torch(stack)
    assert [type(m).__name__ for m in net] == ["Linear", "ReLU", "Dropout", "Linear", "ReLU"]
    assert not net[2].training and net.training      # the Layers are in training mode
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(0.5)
    nn.from_torch(net, model := nn.MLP(3, [4, 1], "relu", "relu", seed=9, dropout=0.1))
    assert weights(model) == [x for lin in (net[0], net[3])
                              for row, b in zip(lin.weight.tolist(), lin.bias.tolist())
                              for x in row + [b]]


def torch_modules(torch):
    """Torch modules that do not fit MLP(2, [3, 1], tanh), with what the error must say."""
    L, T = torch.nn.Linear, torch.nn.Tanh

    class Doubled(L):                     # a Linear by its class, computing something else
        def forward(self, x):
            return 2 * super().forward(x)

    nan = torch.nn.Sequential(L(2, 3), T(), L(3, 1))
    with torch.no_grad():
        nan[2].weight[0, 1] = float("nan")
    return {
        "other sizes": (torch.nn.Sequential(L(2, 4), T(), L(4, 1)), "is 2 -> 4"),
        "fewer layers": (torch.nn.Sequential(L(2, 1)), "1 Linear layer, the model 2"),
        "more layers": (torch.nn.Sequential(L(2, 3), T(), L(3, 3), T(), L(3, 1)),
                        "3 Linear layers"),
        "another activation": (torch.nn.Sequential(L(2, 3), torch.nn.ReLU(), L(3, 1)),
                               "followed by ReLU"),
        "no activation": (torch.nn.Sequential(L(2, 3), L(3, 1)), "no activation"),
        "no bias": (torch.nn.Sequential(L(2, 3), T(), L(3, 1, bias=False)), "no bias"),
        "nan": (nan, "weight\\[0, 1\\] is nan"),
        "unknown module": (torch.nn.Sequential(L(2, 3), torch.nn.LayerNorm(3), L(3, 1)),
                           "LayerNorm"),
        "two activations": (torch.nn.Sequential(L(2, 3), T(), T(), L(3, 1)),
                            "does not follow a Linear"),
        "own forward": (torch.nn.Sequential(Doubled(2, 3), T(), L(3, 1)),
                        "Doubled at position 0 overrides forward"),
        "no numbers": (torch.nn.Sequential(L(2, 3, device="meta"), T(), L(3, 1)),
                       "holds no numbers"),
        "complex": (torch.nn.Sequential(L(2, 3, dtype=torch.complex128), T(), L(3, 1)),
                    "complex numbers"),
    }


@pytest.mark.torch
@pytest.mark.parametrize("case", ["other sizes", "fewer layers", "more layers",
                                  "another activation", "no activation", "no bias", "nan",
                                  "unknown module", "two activations", "own forward",
                                  "no numbers", "complex"])
def test_from_torch_refuses_a_module_that_does_not_fit_and_changes_nothing(case, torch):
    model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
    before = model.state_dict()
    module, message = torch_modules(torch)[case]
    with pytest.raises(ValueError, match=message):
        nn.from_torch(module, model)
    assert model.state_dict() == before


@pytest.mark.torch
def test_from_torch_refuses_what_is_not_a_torch_module(torch):
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(TypeError, match="expected a torch.nn.Module"):
        nn.from_torch(nn.to_torch(model).state_dict(), model)


# ---------------------------------------------------------------------------------------------
# What to_torch does not support (checked before PyTorch is imported: no torch needed)


class Doubled(nn.MLP):
    def forward(self, x):
        out = super().forward(x)
        return out * 2.0


class Scaled(nn.MLP):
    def __init__(self):
        super().__init__(2, [3, 1], seed=0)
        self.scale = Value(2.0)


class Custom(nn.Module):
    def __init__(self):
        self.w = Value(1.0)

    def forward(self, x):
        return self.w * x


def tied_layers():
    first, second = nn.Layer(2, 2, "tanh", seed=0), nn.Layer(2, 1, seed=1)
    second.neurons[0].w[0] = first.neurons[0].w[0]    # one Value in two places
    return [first, second]


def mixed_layer():
    layer = nn.Layer(2, 2, "relu", seed=0)
    layer.neurons[1].activation = "tanh"
    return layer


@pytest.mark.parametrize("model, error, message", [
    (Custom(), TypeError, "Custom is not supported"),
    (Doubled(2, [3, 1]), TypeError, "Doubled overrides forward"),
    (Scaled(), TypeError, "parameters outside its neurons \\('scale'\\)"),
    ([nn.Layer(2, 3), nn.Layer(4, 1)], ValueError, "gives 3 outputs, but the next"),
    (mixed_layer(), ValueError, "mix activations \\(relu, tanh\\)"),
    ([], ValueError, "empty list"),
    ([[], ()], ValueError, "only empty lists"),
    (3.0, TypeError, "float is not supported"),
    ([nn.Dropout(0.5)], ValueError, "only Dropout, no layer with weights"),
    (nn.MLP(2, [3, 3, 1], residual=True), TypeError, "residual=True: its skip connections"),
    (nn.Residual(nn.Layer(2, 2)), TypeError, "Residual is not supported"),
    (tied_layers(), ValueError, "share one parameter \\(n0.w0\\): tied weights"),
    ([nn.Layer(2, 2, seed=0)] * 2, ValueError, "share one parameter"),
], ids=["custom module", "own forward", "extra parameter", "sizes do not chain",
        "mixed activations", "empty", "nested empty", "a number", "only dropout",
        "residual mlp", "residual", "tied weights", "a layer twice"])
def test_to_torch_names_what_it_does_not_support(model, error, message):
    with pytest.raises(error, match=message):
        nn.to_torch(model)
    with pytest.raises(error, match=message):
        nn.from_torch(None, model)


# ---------------------------------------------------------------------------------------------
# PyTorch stays optional


def test_without_torch_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)          # `import torch` now fails
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ImportError, match=r"nn\.to_torch needs PyTorch.*pip install "
                                          r"torch==2\.13\.0"):
        nn.to_torch(model)
    with pytest.raises(ImportError, match=r"nn\.from_torch needs PyTorch.*pip install "
                                          r"torch==2\.13\.0"):
        nn.from_torch(object(), model)


def test_importing_nn_does_not_import_torch():
    code = "import sys, nn; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
