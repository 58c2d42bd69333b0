"""nn.Module, Neuron, Layer, MLP; state_dict, save and load: against PyTorch, central
differences, random.Random directly, and exact cases (atomic save, loads that change nothing)."""

import json
import math
import os
import random
import re
import subprocess
import sys

import pytest

import nn
from autograd import Value, gradcheck, topological_order

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def weights(model):
    return [p.data for p in model.parameters()]


# ---------------------------------------------------------------------------------------------
# Seeds and initialisation


def test_the_same_seed_gives_the_same_weights_and_another_seed_others():
    assert weights(nn.MLP(3, [4, 2], seed=7)) == weights(nn.MLP(3, [4, 2], seed=7))
    assert weights(nn.MLP(3, [4, 2], seed=7)) != weights(nn.MLP(3, [4, 2], seed=8))


def test_uniform_init_draws_from_random_Random_neuron_by_neuron_as_micrograd():
    # micrograd draws w ~ uniform(-1, 1) neuron after neuron, layer after layer, b = 0;
    # with its own random.Random(seed) the same seed gives micrograd's weights for random.seed
    rng = random.Random(1337)
    expected = []
    for nin, nout in [(2, 16), (16, 16), (16, 1)]:
        for _ in range(nout):
            expected += [rng.uniform(-1, 1) for _ in range(nin)] + [0.0]
    assert weights(nn.MLP(2, [16, 16, 1], seed=1337)) == expected


def test_the_global_random_state_is_neither_used_nor_disturbed():
    random.seed(0)
    before = random.getstate()
    a = weights(nn.MLP(2, [3, 1], seed=3))
    assert random.getstate() == before
    random.seed(12345)
    assert weights(nn.MLP(2, [3, 1], seed=3)) == a


def test_the_same_seed_gives_the_same_weights_in_other_processes():
    code = "import nn; print(repr([p.data for p in nn.MLP(3, [5, 2], seed=11).parameters()]))"
    here = repr(weights(nn.MLP(3, [5, 2], seed=11)))
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=True).stdout.strip()
        assert out == here


def test_xavier_and_he_initialisation():
    layer = nn.Layer(30, 20, init="xavier", seed=0)
    bound = math.sqrt(6 / (30 + 20))
    w = [v.data for neuron in layer.neurons for v in neuron.w]
    assert all(-bound <= x <= bound for x in w) and max(map(abs, w)) > 0.95 * bound
    assert all(neuron.b.data == 0.0 for neuron in layer.neurons)
    he = nn.Layer(200, 200, init="he", seed=0)
    w = [v.data for neuron in he.neurons for v in neuron.w]
    mean = sum(w) / len(w)
    std = math.sqrt(sum((x - mean) ** 2 for x in w) / len(w))
    assert abs(mean) < 0.01 and abs(std / math.sqrt(2 / 200) - 1) < 0.02   # 40,000 draws
    w = weights(nn.MLP(5, [7], seed=0))
    assert all(-1 <= x <= 1 for x in w) and max(map(abs, w)) > 0.5


@pytest.mark.parametrize("kwargs, message", [
    ({"activation": "softmax"}, "unknown activation 'softmax'"),
    ({"output_activation": "gelu"}, "unknown output_activation"),
    ({"init": "normal"}, "unknown init 'normal'; choose one of uniform, xavier, he"),
    ({"seed": "42"}, "seed must be an int"),
])
def test_bad_settings_are_clear_errors(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        nn.MLP(2, [3, 1], **kwargs)


def test_bad_sizes_are_clear_errors():
    with pytest.raises(ValueError, match="nin must be a positive int"):
        nn.MLP(0, [3])
    with pytest.raises(ValueError, match="at least one layer"):
        nn.MLP(2, [])
    with pytest.raises(ValueError, match="layer size"):
        nn.MLP(2, [3, 0])


# ---------------------------------------------------------------------------------------------
# Forward: the graph, the numbers, the conventions


def test_a_neuron_builds_micrograds_graph_b_plus_w1x1_plus_w2x2():
    neuron = nn.Neuron(2, activation="tanh", seed=0)
    neuron.w[0].data, neuron.w[1].data, neuron.b.data = -3.0, 1.0, 6.8813735870195432
    x1, x2 = Value(2.0), Value(0.0)
    out = neuron([x1, x2])
    assert out.op == "tanh"
    (total,) = out.parents
    assert total.op == "+"
    first, w2x2 = total.parents
    assert first.op == "+" and first.parents[0] is neuron.b
    assert first.parents[1].parents == (neuron.w[0], x1) and w2x2.parents == (neuron.w[1], x2)
    assert out.data == pytest.approx(math.tanh(-6.0 + 6.8813735870195432), rel=1e-15)
    # 2 inputs: 2 products, 2 sums, 1 tanh and the 5 leaves; no constant wrapped per neuron
    assert len(topological_order(out)) == 10


def test_a_layer_wraps_number_inputs_once_for_all_its_neurons():
    layer = nn.Layer(3, 4, seed=0)
    outputs = layer([1.0, 2.0, 3.0])
    leaves = {id(v) for out in outputs for v in topological_order(out) if not v.parents}
    assert len(leaves) == 3 + 4 * 4        # the 3 inputs, shared, and each neuron's w and b


@pytest.mark.parametrize("activation, f", [
    ("relu", lambda z: max(z, 0.0)), ("tanh", math.tanh),
    ("sigmoid", lambda z: 1 / (1 + math.exp(-z))), ("linear", lambda z: z)])
def test_mlp_forward_is_the_layers_of_weighted_sums(activation, f):
    model = nn.MLP(3, [4, 2], activation=activation, output_activation="linear", seed=5)
    x = [0.3, -1.2, 2.0]
    hidden = [f(n.b.data + sum(w.data * xi for w, xi in zip(n.w, x)))
              for n in model.layers[0].neurons]
    expected = [n.b.data + sum(w.data * h for w, h in zip(n.w, hidden))
                for n in model.layers[1].neurons]
    assert [o.data for o in model(x)] == pytest.approx(expected, rel=1e-12)


def test_one_output_is_a_value_and_several_a_list_for_mlps_and_layers_as_micrograd():
    assert isinstance(nn.MLP(2, [3, 1], seed=0)([1.0, 2.0]), Value)
    out = nn.MLP(2, [3, 2], seed=0)([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 2 and all(isinstance(o, Value) for o in out)
    assert isinstance(nn.Layer(2, 1, seed=0)([1.0, 2.0]), Value)
    several = nn.Layer(2, 3, seed=0)([1.0, 2.0])
    assert isinstance(several, list) and len(several) == 3
    # a one-neuron layer's Value feeds the next layer as a one-input list
    narrow, wide = nn.Layer(2, 1, seed=0), nn.Layer(1, 2, seed=1)
    assert [o.data for o in wide(narrow([1.0, 2.0]))] == [
        o.data for o in wide([narrow([1.0, 2.0]).data])]
    assert isinstance(nn.MLP(1, [2, 1], seed=0)(0.5), Value)        # one input may be a number


def test_wrong_input_length_is_a_clear_error():
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match=r"MLP\(2 -> 3 -> 1, 13 parameters.*expects 2 inputs, "
                                         r"got 3"):
        model([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"Neuron\(3, relu\) expects 3 inputs, got 1"):
        nn.Neuron(3, seed=0)([1.0])
    with pytest.raises(ValueError, match=r"Layer\(2 -> 4, tanh\) expects 2 inputs, got 0"):
        nn.Layer(2, 4, activation="tanh", seed=0)([])
    with pytest.raises(TypeError, match="takes a list of 2 numbers"):
        model(None)
    with pytest.raises(TypeError, match="str"):
        model(["1", 2.0])


def test_repr_is_readable():
    model = nn.MLP(2, [16, 16, 1], seed=0)
    assert repr(model) == ("MLP(2 -> 16 -> 16 -> 1, 337 parameters, init='uniform')\n"
                           "  (0): Layer(2 -> 16, relu)\n"
                           "  (1): Layer(16 -> 16, relu)\n"
                           "  (2): Layer(16 -> 1, linear)")
    assert repr(nn.Neuron(3, "sigmoid")) == "Neuron(3, sigmoid)"
    assert len(model.parameters()) == 337 == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1


def test_parameters_are_leaves_in_a_stable_named_order():
    model = nn.MLP(2, [2, 1], seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.b",
                     "layers.0.neurons.1.w.0", "layers.0.neurons.1.w.1", "layers.0.neurons.1.b",
                     "layers.1.neurons.0.w.0", "layers.1.neurons.0.w.1", "layers.1.neurons.0.b"]
    first = model.layers[0].neurons[0]
    assert model.parameters()[:3] == [*first.w, first.b]
    assert all(p.op == "" and p.parents == () for p in model.parameters())


def test_zero_grad_resets_every_parameter():
    model = nn.MLP(2, [3, 1], seed=0)
    model([1.0, -2.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_a_custom_module_finds_its_values_and_submodules():
    class Scaled(nn.Module):
        def __init__(self):
            self.scale = Value(2.0)
            self.body = nn.MLP(2, [3, 1], seed=1)
            self.extras = [Value(0.5), Value(-0.5)]
            self.name = "scaled"

        def forward(self, x):
            return self.scale * self.body(x) + self.extras[0]

    model = Scaled()
    assert len(model.parameters()) == 1 + 13 + 2
    state = model.state_dict()
    assert state["scale"] == 2.0 and (state["extras.0"], state["extras.1"]) == (0.5, -0.5)
    assert "body.layers.1.neurons.0.b" in state
    assert isinstance(model([1.0, 1.0]), Value)
    with pytest.raises(NotImplementedError, match="must define forward"):
        nn.Module()(1.0)


def test_gradients_match_central_differences():
    model = nn.MLP(3, [4, 1], activation="tanh", output_activation="sigmoid", seed=2)
    assert gradcheck(lambda a, b, c: model([a, b, c]), [0.3, -0.7, 1.1])
    neuron = model.layers[0].neurons[0]

    def of_first_layer_weights(*ws):
        saved = neuron.w
        neuron.w = list(ws[:3])
        try:
            return model([0.3, -0.7, 1.1])
        finally:
            neuron.w = saved
    assert gradcheck(of_first_layer_weights, [w.data for w in neuron.w])


@pytest.mark.torch
@pytest.mark.parametrize("hidden, output", [("relu", "linear"), ("tanh", "sigmoid"),
                                            ("sigmoid", "tanh"), ("linear", "relu")])
def test_forward_and_gradients_match_pytorch(hidden, output, torch):
    model = nn.MLP(3, [5, 4, 2], activation=hidden, output_activation=output, seed=3)
    x = [0.5, -1.5, 2.0]
    outs = model(x)
    (outs[0] * 2.0 + outs[1] * -0.5).backward()
    act = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
           "linear": lambda t: t}
    tensors, h = [], torch.tensor(x)
    for i, layer in enumerate(model.layers):
        W = torch.tensor([[w.data for w in n.w] for n in layer.neurons], requires_grad=True)
        b = torch.tensor([n.b.data for n in layer.neurons], requires_grad=True)
        tensors.append((W, b))
        h = act[output if i == len(model.layers) - 1 else hidden](W @ h + b)
    (h[0] * 2.0 + h[1] * -0.5).backward()
    assert [o.data for o in outs] == pytest.approx(h.tolist(), rel=1e-12, abs=1e-300)
    for layer, (W, b) in zip(model.layers, tensors):
        for n, w_grad, b_grad in zip(layer.neurons, W.grad.tolist(), b.grad.tolist()):
            assert [w.grad for w in n.w] == pytest.approx(w_grad, rel=1e-9, abs=1e-15)
            assert n.b.grad == pytest.approx(b_grad, rel=1e-9, abs=1e-15)


# ---------------------------------------------------------------------------------------------
# state_dict, save, load


def test_state_dict_round_trip_gives_the_same_model():
    a, b = nn.MLP(2, [4, 3], seed=1), nn.MLP(2, [4, 3], seed=2)
    b.load_state_dict(a.state_dict())
    assert weights(a) == weights(b)
    assert [o.data for o in a([0.1, 0.2])] == [o.data for o in b([0.1, 0.2])]
    assert b.state_dict()["layers.0.neurons.0.w.1"] == a.layers[0].neurons[0].w[1].data
    assert list(a.state_dict()) == [name for name, _ in a.named_parameters()]


def test_save_then_load_restores_every_number_exactly(tmp_path):
    a = nn.MLP(2, [8, 1], seed=4)
    a.layers[0].neurons[0].w[0].data = 0.1 + 0.2               # a float with a long repr
    path = tmp_path / "model.json"
    nn.save(a, path)
    document = json.loads(path.read_text())
    assert document["format"] == "chainrule.nn" and document["version"] == 2
    assert document["model"].startswith("MLP(2 -> 8 -> 1")
    b = nn.load(nn.MLP(2, [8, 1], seed=5), path)
    assert weights(b) == weights(a)
    assert [p for p in os.listdir(tmp_path)] == ["model.json"]      # no temporary file left
    plain = tmp_path / "plain.txt"
    plain.write_text("")
    assert os.stat(path).st_mode == os.stat(plain).st_mode       # the mode open() would give
    os.chmod(path, 0o640)
    nn.save(a, path)
    assert os.stat(path).st_mode & 0o777 == 0o640                 # a replaced file keeps its own


@pytest.mark.parametrize("crash_in", ["os.fsync", "os.replace"])
def test_a_crash_mid_save_leaves_the_old_file_intact(tmp_path, monkeypatch, crash_in):
    path = tmp_path / "model.json"
    old = nn.MLP(2, [3, 1], seed=0)
    nn.save(old, path)
    before = path.read_bytes()

    def crash(*args):
        raise OSError("disk full" if crash_in == "os.fsync" else "power cut")

    # fsync: the new file is written but not yet on disk; replace: the rename itself fails
    monkeypatch.setattr(os, crash_in.split(".")[1], crash)
    with pytest.raises(OSError):
        nn.save(nn.MLP(2, [3, 1], seed=9), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.json"]
    assert weights(nn.load(nn.MLP(2, [3, 1], seed=5), path)) == weights(old)


def test_save_refuses_nan_weights_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "model.json"
    model = nn.MLP(2, [3, 1], seed=0)
    nn.save(model, path)
    before = path.read_bytes()
    model.layers[1].neurons[0].b._data = math.nan     # Values refuse nan: force one (a guard)
    with pytest.raises(ValueError, match=r"'layers.1.neurons.0.b' is nan"):
        nn.save(model, path)
    assert path.read_bytes() == before


def test_loading_another_shape_raises_and_changes_nothing(tmp_path):
    path = tmp_path / "model.json"
    nn.save(nn.MLP(2, [4, 1], seed=0), path)
    for other in (nn.MLP(2, [5, 1], seed=1), nn.MLP(3, [4, 1], seed=1), nn.MLP(2, [4], seed=1)):
        before = weights(other)
        with pytest.raises(ValueError, match="does not fit this model") as error:
            nn.load(other, path)
        assert "saved model: MLP(2 -> 4 -> 1" in str(error.value)
        assert weights(other) == before


def test_a_mismatch_found_late_changes_nothing():
    model = nn.MLP(2, [3, 1], seed=0)
    state = nn.MLP(2, [3, 1], seed=1).state_dict()
    state["layers.1.neurons.0.b"] = "oops"          # the last entry is the bad one
    before = weights(model)
    with pytest.raises(ValueError, match=r"'layers.1.neurons.0.b' must be a finite number"):
        model.load_state_dict(state)
    assert weights(model) == before
    state = nn.MLP(2, [3, 1], seed=1).state_dict()
    state["extra"] = 1.0
    del state["layers.0.neurons.0.b"]
    with pytest.raises(ValueError, match="missing: 'layers.0.neurons.0.b'; unexpected: 'extra'"):
        model.load_state_dict(state)
    assert weights(model) == before


@pytest.mark.parametrize("content, message", [
    ('{"format": "chainrule.nn", "version": 1, "state": {"layers.0', "not valid JSON"),
    ("", "not valid JSON"),
    ('[1, 2, 3]', "not a chainrule model file"),
    ('{"format": "chainrule.nn", "version": 99, "state": {}}', "format version 99"),
    ('{"format": "chainrule.nn", "version": 1, "state": [1]}', "expected a dict"),
])
def test_loading_a_corrupt_file_raises_and_changes_nothing(tmp_path, content, message):
    path = tmp_path / "model.json"
    path.write_text(content)
    model = nn.MLP(2, [3, 1], seed=0)
    before = weights(model)
    with pytest.raises(ValueError, match=message):
        nn.load(model, path)
    assert weights(model) == before


def test_a_truncated_save_file_is_a_clear_error(tmp_path):
    path = tmp_path / "model.json"
    nn.save(nn.MLP(2, [3, 1], seed=0), path)
    path.write_bytes(path.read_bytes()[:-30])
    model = nn.MLP(2, [3, 1], seed=1)
    before = weights(model)
    with pytest.raises(ValueError, match="is not valid JSON"):
        nn.load(model, path)
    assert weights(model) == before


# ---------------------------------------------------------------------------------------------
# Files: clear errors, bounded reads, nothing changed on any failure


def test_saving_to_an_empty_path_or_a_folder_is_a_clear_error(tmp_path):
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="save: the path is empty; give a file name"):
        nn.save(model, "")
    with pytest.raises(ValueError, match="is a folder; give a file name such as"):
        nn.save(model, tmp_path)
    with pytest.raises(ValueError, match="load: the path is empty"):
        nn.load(model, "")
    assert os.listdir(tmp_path) == []


def test_a_file_larger_than_the_model_can_need_is_refused_unread(tmp_path, monkeypatch):
    model = nn.MLP(2, [3, 1], seed=0)
    nn.save(model, tmp_path / "model.json")
    saved = os.path.getsize(tmp_path / "model.json")
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as file:
        file.truncate(2 * 1024 ** 3)                       # 2 GB, sparse: nothing on disk
    reads = []
    real_fdopen = os.fdopen

    def watching_fdopen(*args, **kwargs):       # load opens the file as a descriptor first
        handle = real_fdopen(*args, **kwargs)
        real_read = handle.read
        handle.read = lambda *a: reads.append(a) or real_read(*a)
        return handle

    monkeypatch.setattr(os, "fdopen", watching_fdopen)
    before = weights(model)
    with pytest.raises(ValueError, match=r"huge.json' is larger \(2,147,483,648 bytes or more\) "
                                         r"than any file saved from this model"):
        nn.load(model, huge)
    assert reads == [] and weights(model) == before
    # the limit follows the model: a little over its own file is refused, its file is not
    limit = nn.module._size_limit(model)
    assert saved < limit < 4 * saved + 65536
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (limit + 1))
    with pytest.raises(ValueError, match="larger"):
        nn.load(model, big)
    digits = nn.MLP(64, [32, 10])
    nn.save(digits, tmp_path / "digits.json")
    assert os.path.getsize(tmp_path / "digits.json") < nn.module._size_limit(digits) > 4 * limit


@pytest.mark.parametrize("content, message", [
    (b'{"format": "chainrule.nn", "version": 2, "state": {"b": 1' + b"0" * 400 + b"}}",
     r"'b' must be a finite number, got 1000000000000"),
    (b'{"format": "chainrule.nn", "version": 2, "state": {"b": 1' + b"0" * 5000 + b"}}",
     r"is not valid JSON \(Exceeds the limit"),
    (b'{"format": "chainrule.nn", "version": 2, "state": {"b": 1e400}}',
     r"'b' must be a finite number, got inf"),
    (b'{"format": "chainrule.nn", "version": 2, "state": {"b": NaN}}',
     r"'b' must be a finite number, got nan"),
    (b"[" * 20000 + b"]" * 20000, "is nested too deeply"),
    (b'{"format": "chainrule.nn", "version": 2, "model": "\xff\xfe"}',
     r"is not UTF-8 text \('utf-8' codec can't decode byte 0xff"),
    (b'{"format": "chainrule.nn", "version": true, "state": {}}', "format version True"),
    (b'{"format": "chainrule.nn", "version": 2, "modules": [], "state": {"b": 1}}',
     "its 'modules' entry is not a dict"),
])
def test_a_hostile_file_is_a_value_error_naming_the_file_and_changes_nothing(tmp_path, content,
                                                                             message):
    model = nn.Neuron(1, seed=0)
    path = tmp_path / "model.json"
    content = content.replace(b'"state": {"b"', b'"state": {"w.0": 0.5, "b"')
    path.write_bytes(content)
    before = weights(model)
    with pytest.raises(ValueError, match=message) as error:
        nn.load(model, path)
    assert "model.json" in str(error.value)
    assert weights(model) == before


def test_a_model_saved_with_another_activation_is_refused_and_another_init_warns(tmp_path):
    path = tmp_path / "model.json"
    saved = nn.MLP(2, [4, 1], activation="tanh", init="xavier", seed=0)
    nn.save(saved, path)
    for other, where in [(nn.MLP(2, [4, 1], activation="relu", init="xavier"), "the model ("),
                         (nn.MLP(2, [4, 1], activation="tanh", output_activation="sigmoid",
                                 init="xavier"), "the model (output_activation 'linear' there")]:
        before = weights(other)
        with pytest.raises(ValueError, match="built differently at " + re.escape(where)):
            nn.load(other, path)
        assert weights(other) == before
    with pytest.warns(UserWarning, match="init='xavier' at the model, this one has "
                                         "init='uniform'; the loaded weights replace"):
        loaded = nn.load(nn.MLP(2, [4, 1], activation="tanh", seed=1), path)
    assert weights(loaded) == weights(saved)

    class Custom(nn.Module):
        def __init__(self, activation):
            self.head = nn.Neuron(2, activation, seed=0)

    nn.save(Custom("tanh"), path)
    with pytest.raises(ValueError, match=r"at the model's 'head' \(activation 'tanh' there, "
                                         r"'sigmoid' here\)"):
        nn.load(Custom("sigmoid"), path)


def test_a_fifo_or_a_device_is_refused_without_waiting(tmp_path):
    model = nn.MLP(2, [1], seed=0)
    before = weights(model)
    fifo = tmp_path / "model.json"
    os.mkfifo(fifo)                              # nobody writes it: reading it would block
    for path in (fifo, "/dev/zero", tmp_path):
        with pytest.raises(ValueError, match="is not a regular file"):
            nn.load(model, path)
    assert weights(model) == before


def test_a_version_1_file_still_loads(tmp_path):
    model = nn.MLP(2, [2, 1], seed=0)
    state = {}
    for i, layer in enumerate(model.layers):
        for j, neuron in enumerate(layer.neurons):
            state[f"layers.{i}.neurons.{j}.w"] = [w.data for w in neuron.w]
            state[f"layers.{i}.neurons.{j}.b"] = neuron.b.data
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"format": "chainrule.nn", "version": 1, "model": repr(model),
                                "state": state}))
    assert weights(nn.load(nn.MLP(2, [2, 1], seed=5), path)) == weights(model)
