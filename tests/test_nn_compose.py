"""nn modules compose as PyTorch's do: forward calls submodules (overrides are honoured),
parameters are the leaf Values found at any depth (never an op's output), one naming scheme,
labels that say which number is which weight; composed models against PyTorch float64."""

import math

import pytest

import nn
from autograd import Value, draw, ledger, no_grad, topological_order

# ---------------------------------------------------------------------------------------------
# forward calls the submodules


def test_an_mlp_calls_its_layers_and_a_layer_its_neurons_so_overrides_are_honoured():
    calls = []

    class Doubled(nn.Layer):
        def forward(self, x):
            calls.append("layer")
            out = super().forward(x)
            return [2.0 * o for o in out] if isinstance(out, list) else 2.0 * out

    class Shifted(nn.Neuron):
        def forward(self, x):
            calls.append("neuron")
            return super().forward(x) + 1.0

    model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
    plain = model([0.5, -1.0]).data
    hidden = model.layers[0]
    model.layers[0] = Doubled(2, 3, activation="tanh", seed=0)
    model.layers[0].neurons = hidden.neurons                       # the same weights
    head = model.layers[1].neurons[0]
    model.layers[1].neurons[0] = shifted = Shifted(3, "linear", seed=0)
    shifted.w, shifted.b = head.w, head.b
    x = [0.5, -1.0]
    h = [2.0 * math.tanh(n.b.data + sum(w.data * xi for w, xi in zip(n.w, x)))
         for n in hidden.neurons]
    expected = head.b.data + sum(w.data * hi for w, hi in zip(head.w, h)) + 1.0
    assert model(x).data == pytest.approx(expected, rel=1e-14) and expected != plain
    assert calls == ["layer", "neuron"]

    class Residual(nn.MLP):                       # an MLP subclass with its own forward
        def forward(self, x):
            h = self.layers[0](x)
            return self.layers[1]([hi + xi for hi, xi in zip(h, x)])

    residual = Residual(2, [2, 1], activation="tanh", seed=3)
    a, b = residual.layers
    h = [math.tanh(n.b.data + sum(w.data * xi for w, xi in zip(n.w, x))) + xi
         for n, xi in zip(a.neurons, x)]
    assert residual(x).data == pytest.approx(
        b.neurons[0].b.data + sum(w.data * hi for w, hi in zip(b.neurons[0].w, h)), rel=1e-14)


def test_a_layer_hands_its_neurons_the_inputs_it_checked_once():
    layer = nn.Layer(3, 4, seed=0)
    outputs = layer([1.0, 2.0, 3.0])
    leaves = {id(v) for out in outputs for v in topological_order(out) if not v.parents}
    assert len(leaves) == 3 + 4 * 4        # the 3 inputs, shared, and each neuron's w and b
    with pytest.raises(ValueError, match=r"Neuron\(3, relu\) expects 3 inputs, got 2"):
        layer.neurons[0]([1.0, 2.0])       # a neuron called alone still checks its inputs


# ---------------------------------------------------------------------------------------------
# micrograd's spelling


def test_micrograds_nonlin_is_accepted_by_neuron_and_layer():
    x = [0.5, -2.0, 1.0]
    for made, activation in [(nn.Neuron(3, nonlin=False, seed=0), "linear"),
                             (nn.Neuron(3, False, seed=0), "linear"),
                             (nn.Neuron(3, nonlin=True, seed=0), "relu"),
                             (nn.Neuron(3, True, seed=0), "relu"),
                             (nn.Neuron(3, seed=0), "relu")]:
        assert made.activation == activation
    linear = nn.Neuron(3, nonlin=False, seed=0)
    z = linear.b.data + sum(w.data * xi for w, xi in zip(linear.w, x))
    assert linear(x).data == z and linear(x).op == "+"
    relu = nn.Neuron(3, seed=0)
    assert relu(x).data == max(z, 0.0) and relu(x).op == "relu"
    assert [n.activation for n in nn.Layer(3, 2, nonlin=False).neurons] == ["linear"] * 2
    with pytest.raises(ValueError, match="nonlin=False means activation='linear'"):
        nn.Neuron(3, "tanh", nonlin=False)
    with pytest.raises(TypeError, match="nonlin must be True"):
        nn.Neuron(3, nonlin="yes")


def test_micrograds_mlp_recipe_builds_the_same_model_as_nn_mlp():
    # micrograd: Layer(sz[i], sz[i+1], nonlin=i != last), weights drawn layer after layer
    import random
    rng = random.Random(1337)
    sizes = [2, 16, 16, 1]
    layers = [nn.Layer(sizes[i], sizes[i + 1], nonlin=i != 2, seed=rng) for i in range(3)]
    model = nn.MLP(2, [16, 16, 1], seed=1337)
    x = [0.3, -0.8]
    for layer in layers:
        x = layer(x)
    assert isinstance(x, Value) and x.data == model([0.3, -0.8]).data


# ---------------------------------------------------------------------------------------------
# Parameters, as PyTorch users expect


class Zoo(nn.Module):
    """Parameters in every kind of place."""

    def __init__(self):
        self.scale = Value(2.0)
        self.pair = (Value(1.0), Value(-1.0))
        self.grid = [[Value(0.1), Value(0.2)], [Value(0.3)]]
        self.heads = {"cls": nn.Neuron(2, "tanh", seed=1), "reg": [Value(5.0)]}
        self.body = nn.Layer(2, 2, seed=2)
        self.name = "zoo"                  # not a parameter
        self.sizes = [2, 2]                # numbers are not parameters
        self.derived = self.scale * 3.0    # a Value with parents: never a parameter

    def forward(self, x):
        h = self.body(x)
        out = self.heads["cls"](h) * self.scale + self.pair[0] + self.grid[1][0]
        self.last = out                    # a cached output: never a parameter
        return out


ZOO_NAMES = ["scale", "pair.0", "pair.1", "grid.0.0", "grid.0.1", "grid.1.0",
             "heads.cls.w.0", "heads.cls.w.1", "heads.cls.b", "heads.reg.0",
             "body.neurons.0.w.0", "body.neurons.0.w.1", "body.neurons.0.b",
             "body.neurons.1.w.0", "body.neurons.1.w.1", "body.neurons.1.b"]


def test_leaf_values_and_submodules_are_found_in_attributes_lists_tuples_and_dicts():
    zoo = Zoo()
    assert [name for name, _ in zoo.named_parameters()] == ZOO_NAMES
    assert zoo.parameters() == [p for _, p in zoo.named_parameters()]
    assert list(zoo.state_dict()) == ZOO_NAMES              # one naming scheme
    assert zoo.state_dict()["heads.reg.0"] == 5.0
    assert all(p.parents == () for p in zoo.parameters())
    assert [name for name, _ in zoo.named_modules()] == [
        "", "heads.cls", "body", "body.neurons.0", "body.neurons.1"]
    assert zoo.modules()[1] is zoo.heads["cls"]


def test_an_output_cached_in_forward_is_never_a_parameter_even_under_no_grad():
    zoo = Zoo()
    zoo([1.0, 2.0])
    assert zoo.last.parents and [n for n, _ in zoo.named_parameters()] == ZOO_NAMES
    with no_grad():                        # under no_grad the output is a leaf
        zoo([1.0, 2.0])
    assert zoo.last.parents == () and [n for n, _ in zoo.named_parameters()] == ZOO_NAMES
    before = {n: p.data for n, p in zoo.named_parameters()}
    optimizer = nn.SGD(zoo.parameters(), lr=0.1)
    zoo([1.0, 2.0]).backward()
    optimizer.step()
    assert all(p.data == before[n] - 0.1 * p.grad for n, p in zoo.named_parameters())
    # assigned again outside forward, a leaf there is a parameter again
    zoo.last = Value(0.0)
    assert [n for n, _ in zoo.named_parameters()][-1] == "last"


def test_a_value_held_twice_is_one_parameter_under_its_first_name():
    class Tied(nn.Module):
        def __init__(self):
            self.encoder = nn.Neuron(2, seed=0)
            self.decoder = nn.Neuron(2, seed=1)
            self.decoder.w = self.encoder.w         # tied weights
            self.again = self.encoder               # the same submodule twice
            self.me = self                          # a cycle

    tied = Tied()
    assert [name for name, _ in tied.named_parameters()] == [
        "encoder.w.0", "encoder.w.1", "encoder.b", "decoder.b"]
    assert len(tied.parameters()) == 4
    nn.SGD(tied.parameters(), lr=0.1)              # no parameter listed twice


@pytest.mark.torch
def test_named_parameters_and_state_dict_names_match_pytorchs_for_the_same_structure(torch):
    # the same structure in torch.nn (ModuleList, ModuleDict, ParameterList): the same names.
    # The order differs on purpose: PyTorch lists a module's own parameters before its
    # submodules' (b before the ParameterList w); nn keeps assignment order, as micrograd
    # (w then b), so that parameters() is micrograd's order
    class TorchNeuron(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(())) for _ in "ab"])
            self.b = torch.nn.Parameter(torch.zeros(()))

    class TorchLayer(torch.nn.Module):
        def __init__(self, n):
            super().__init__()
            self.neurons = torch.nn.ModuleList([TorchNeuron() for _ in range(n)])

    class TorchModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.zeros(()))
            self.heads = torch.nn.ModuleDict({"cls": TorchNeuron()})
            self.body = TorchLayer(2)

    class Model(nn.Module):
        def __init__(self):
            self.scale = Value(0.0)
            self.heads = {"cls": nn.Neuron(2)}
            self.body = nn.Layer(2, 2)

    ours = [name for name, _ in Model().named_parameters()]
    assert sorted(ours) == sorted(name for name, _ in TorchModel().named_parameters())
    assert sorted(Model().state_dict()) == sorted(TorchModel().state_dict())
    assert ours[:4] == ["scale", "heads.cls.w.0", "heads.cls.w.1", "heads.cls.b"]


# ---------------------------------------------------------------------------------------------
# Labels


def short(name: str) -> str:
    """The documented short form, written out independently: layers.i -> Li, neurons.i -> ni,
    and an index joins the name before it."""
    parts, out = name.split("."), []
    for part in parts:
        if part.isdigit() and out and not out[-1][-1].isdigit():
            out[-1] += part
        else:
            out.append({"layers": "L", "neurons": "n"}.get(part, part))
    return ".".join(out)


def test_parameters_are_labelled_with_the_short_form_of_their_names():
    model = nn.MLP(2, [2, 1], seed=0)
    labels = [p.label for p in model.parameters()]
    assert labels[:3] == ["L0.n0.w0", "L0.n0.w1", "L0.n0.b"]
    assert labels == [short(name) for name, _ in model.named_parameters()]
    zoo = Zoo()
    assert [p.label for p in zoo.parameters()] == [short(n) for n in ZOO_NAMES]
    assert short("grid.0.1") == "grid0.1" and zoo.grid[0][1].label == "grid0.1"
    neuron = nn.Neuron(3, seed=0)
    assert [p.label for p in neuron.parameters()] == ["w0", "w1", "w2", "b"]


def test_outputs_and_inputs_are_labelled_and_the_views_show_them():
    model = nn.MLP(2, [2, 1], activation="tanh", seed=0)
    out = model([1.0, -2.0])
    assert out.label == "L1.n0.out"
    labels = {v.label for v in topological_order(out)}
    assert {"x0", "x1", "L0.n0.out", "L0.n1.out", "L1.n0.w1", "L0.n1.b"} <= labels
    text = str(ledger(out))
    assert "L0.n1.w0" in text and "L1.n0.out" in text
    assert "L0.n0.w1" in draw(out).source


def test_a_model_inside_another_is_relabelled_from_the_outer_one():
    class Wrapper(nn.Module):
        def __init__(self):
            self.body = nn.MLP(2, [2, 1], seed=0)
            self.blocks = [nn.Layer(1, 1, seed=1)]

        def forward(self, x):
            return self.blocks[0](self.body(x))

    wrapper = Wrapper()
    assert [p.label for p in wrapper.parameters()] == [
        short(n) for n, _ in wrapper.named_parameters()]
    assert wrapper.parameters()[0].label == "body.L0.n0.w0"
    assert wrapper([1.0, 2.0]).label == "blocks0.n0.out"


def test_labels_the_user_set_always_win():
    model = nn.MLP(2, [2, 1], seed=0)
    model.layers[0].neurons[0].b.label = "bias of the first neuron"
    mine = Value(0.5, "my scale")

    class Wrapper(nn.Module):
        def __init__(self):
            self.scale = mine
            self.body = model

    Wrapper()
    assert model.layers[0].neurons[0].b.label == "bias of the first neuron"
    assert mine.label == "my scale"
    assert model.layers[0].neurons[1].b.label == "body.L0.n1.b"
    x = Value(3.0, "pixel")
    assert nn.Neuron(1, seed=0)([x]).parents[0].parents[1].parents[1] is x
    assert x.label == "pixel"


# ---------------------------------------------------------------------------------------------
# A composed model against PyTorch float64


class Composed(nn.Module):
    """An encoder MLP, two heads in a dict, a free scale, a residual sum."""

    def __init__(self):
        self.encoder = nn.MLP(3, [4, 4], activation="tanh", output_activation="relu", seed=4)
        self.heads = {"a": nn.Layer(4, 2, "sigmoid", seed=5), "b": nn.Neuron(4, "linear", seed=6)}
        self.scale = Value(0.7)

    def forward(self, x):
        h = self.encoder(x)
        a = self.heads["a"](h)
        return [self.scale * a[0], a[1] + h[0], self.heads["b"](h)]


@pytest.mark.torch
def test_a_composed_model_matches_pytorch_float64_outputs_and_grads(torch):
    model = Composed()
    params = dict(model.named_parameters())
    tensors = {name: torch.tensor(p.data, dtype=torch.float64, requires_grad=True)
               for name, p in params.items()}

    def torch_neuron(prefix, x, act):
        n = len(x)
        z = tensors[f"{prefix}.b"]
        for i in range(n):
            z = z + tensors[f"{prefix}.w.{i}"] * x[i]
        return {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid,
                "linear": lambda t: t}[act](z)

    def torch_forward(x):
        x = [torch.tensor(v, dtype=torch.float64) for v in x]
        h = [torch_neuron(f"encoder.layers.0.neurons.{j}", x, "tanh") for j in range(4)]
        h = [torch_neuron(f"encoder.layers.1.neurons.{j}", h, "relu") for j in range(4)]
        a = [torch_neuron(f"heads.a.neurons.{j}", h, "sigmoid") for j in range(2)]
        return [tensors["scale"] * a[0], a[1] + h[0], torch_neuron("heads.b", h, "linear")]

    for x in ([0.5, -1.5, 2.0], [1.0, 0.2, -0.3]):
        model.zero_grad()
        for t in tensors.values():
            t.grad = None
        ours = model(x)
        theirs = torch_forward(x)
        assert [o.data for o in ours] == pytest.approx([t.item() for t in theirs], rel=1e-12)
        (ours[0] * 1.5 - ours[1] * 0.5 + ours[2] * ours[2]).backward()
        (theirs[0] * 1.5 - theirs[1] * 0.5 + theirs[2] * theirs[2]).backward()
        for name, p in params.items():
            expected = tensors[name].grad.item() if tensors[name].grad is not None else 0.0
            assert p.grad == pytest.approx(expected, rel=1e-9, abs=1e-15), name


def test_a_model_survives_pickle_and_deepcopy_with_its_names_and_labels():
    import copy
    import pickle
    model = nn.MLP(2, [3, 2], activation="tanh", seed=0)
    model([1.0, 2.0])
    for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert [o.data for o in clone([0.5, -1.0])] == [o.data for o in model([0.5, -1.0])]
        assert [(n, p.label) for n, p in clone.named_parameters()] == [
            (n, p.label) for n, p in model.named_parameters()]
        assert not set(map(id, clone.parameters())) & set(map(id, model.parameters()))
        clone.layers[0].neurons[0].b.data = 5.0
        assert model.layers[0].neurons[0].b.data == 0.0
