"""Training with compile=True (nn/_compiled.py): the same history as the interpreted engine for
every built-in loss (compiled with the model as one batch function) and for any other loss (the
model compiled, the loss on the engine); trouble redone by the engine with its own error; and
compiled code that is never used for a model it no longer describes."""

import copy
import math
import numbers
import random
from fractions import Fraction

import numpy as np
import pytest

import autograd.codegen as codegen
import nn
import nn._compiled as compiled_module
from autograd import GraphChangedError, UndefinedMathError, Value, define_op
from nn._compiled import FusedLoss


def blobs(n, classes, width, seed):
    rng = random.Random(seed)
    centres = [[rng.uniform(-2, 2) for _ in range(width)] for _ in range(classes)]
    X, y = [], []
    for k in range(n):
        label = k % classes
        X.append([c + rng.gauss(0, 0.7) for c in centres[label]])
        y.append(label)
    return X, y


def train_twice(make, X, y, **options):
    """fit interpreted and compiled from the same start: (history, final weights) of each."""
    runs = []
    for compiled in (False, True):
        model, optimizer = make()
        history = nn.fit(model, X, y, optimizer=optimizer, progress=False, compile=compiled,
                         **options)
        runs.append((history, [p.data for p in model.parameters()]))
    return runs


def assert_same_training(runs, rel=1e-9):
    (history, weights), (compiled, compiled_weights) = runs
    assert len(history.loss) == len(compiled.loss) > 0
    for a, b in zip(history.loss, compiled.loss):
        assert math.isclose(a, b, rel_tol=rel)
    assert history.accuracy == compiled.accuracy
    scale = max(map(abs, weights))
    assert all(abs(a - b) <= rel * scale for a, b in zip(weights, compiled_weights))


@pytest.fixture
def engine_steps(monkeypatch):
    """Counts the steps done on the engine (the interpreted step, or a fallback to it)."""
    calls = []
    run = nn.train._Trainer._run

    def counted(self, inputs, targets, batch=None):
        calls.append(batch is None)
        return run(self, inputs, targets, batch)
    monkeypatch.setattr(nn.train._Trainer, "_run", counted)
    return calls


# ---------------------------------------------------------------------------------------------
# The built-in losses: model and loss compiled as one batch function


def moons_pm(n=48):
    X, y01 = nn.data.moons(n, noise=0.1, seed=1)
    return X, [2 * t - 1 for t in y01]


def regression(n=40, outputs=1, seed=0):
    rng = random.Random(seed)
    X = [[rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(n)]
    y = [[x[0] * x[1] + k * x[2] for k in range(outputs)] for x in X]
    return X, [t[0] for t in y] if outputs == 1 else y


CASES = {
    # loss: (data, model, optimizer, options)
    "hinge": (moons_pm, lambda: nn.MLP(2, [8, 8, 1], seed=3),
              lambda ps: nn.SGD(ps, lr=0.3), {"l2": 1e-3, "batch_size": 16,
                                               "schedule": lambda k: 0.3 - 0.02 * k}),
    "cross_entropy": (lambda: blobs(90, 3, 4, seed=2),
                      lambda: nn.MLP(4, [6, 3], activation="tanh", seed=5),
                      lambda ps: nn.Adam(ps, lr=0.05), {"batch_size": 32}),
    "mse": (lambda: regression(outputs=2), lambda: nn.MLP(3, [5, 2], seed=1),
            lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9), {"batch_size": 8, "l2": 1e-4}),
    "mae": (regression, lambda: nn.MLP(3, [5, 1], activation="sigmoid", seed=2),
            lambda ps: nn.RMSProp(ps, lr=0.01), {"batch_size": 7}),
    "bce_with_logits": (lambda: nn.data.moons(40, noise=0.2, seed=4),
                        lambda: nn.MLP(2, [6, 1], seed=4),
                        lambda ps: nn.Adagrad(ps, lr=0.1), {"batch_size": 10}),
}


@pytest.mark.parametrize("loss", sorted(CASES))
def test_each_builtin_loss_compiles_with_the_model_and_gives_the_interpreted_history(
        loss, engine_steps):
    data, model_of, optimizer_of, options = CASES[loss]
    X, y = data()

    def make():
        model = model_of()
        return model, optimizer_of(model.parameters())
    runs = train_twice(make, X, y, loss=loss, epochs=5, **options)
    assert_same_training(runs)
    steps = 5 * -(-len(X) // options["batch_size"])
    assert engine_steps == [True] * steps          # the interpreted run's; none compiled


def test_the_loss_given_as_a_function_is_the_built_in_one(engine_steps):
    X, y = blobs(30, 3, 2, seed=1)
    model = nn.MLP(2, [4, 3], seed=0)
    nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=nn.SGD(model.parameters(), lr=0.1),
           epochs=2, progress=False, compile=True)
    assert engine_steps == []
    (fused,) = compiled_module._cache[model].values()
    assert isinstance(fused, FusedLoss)
    assert "for (" in fused.source and "shift = max(" in fused.source


def fused_and_engine(loss, model, X, targets):
    """(loss, grads) of one batch from the fused function and from the engine's own loss."""
    params = model.parameters()
    fused = compiled_module.compiled_loss(model, params, loss, X, targets, "test")
    value, grads, outputs = fused.run([p.data for p in params], X, targets)
    for p in params:
        p.grad = 0.0
    predictions = [model(x) for x in X]
    reference = loss(predictions, targets)
    reference.backward()
    their_outputs = [o.data if isinstance(o, Value) else [v.data for v in o]
                     for o in predictions]
    return (value, list(grads), outputs), (reference.data, [p.grad for p in params],
                                           their_outputs)


@pytest.mark.parametrize("loss, outputs, targets", [
    (nn.hinge_loss, 1, [1, -1, 1, -1]),
    (nn.mse_loss, 2, [[0.5, -1.0], [2.0, 0.0], [0.25, 0.25], [-3.0, 1.0]]),
    (nn.mae_loss, 1, [1.0, -1.0, 2.0, -1.0]),
    (nn.binary_cross_entropy_with_logits, 1, [1, 0, 0.25, 1.0]),
    (nn.cross_entropy, 3, [0, 2, 1, 2]),
])
def test_each_loss_form_gives_the_loss_s_own_numbers_on_both_sides_of_its_kinks(
        loss, outputs, targets):
    """Weights chosen so that outputs sit exactly at the kinks (hinge margin 0, |p - t| at 0,
    two logits tied for the max) and on both sides of them."""
    X = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 2.0]]
    for weights in ([[1.0, 0.0], [0.0, -1.0], [0.5, 0.5]], [[0.5, 0.0], [-1.0, 1.0], [1.0, 1.0]],
                    [[1.0, -0.5], [1.0, -0.5], [-2.0, 0.25]]):
        model = nn.Layer(2, outputs, activation="linear", seed=0)
        for neuron, w in zip(model.neurons, weights):
            neuron.w[0].data, neuron.w[1].data = w
        ours, theirs = fused_and_engine(loss, model, X, targets)
        assert ours[2] == theirs[2]                                   # outputs, exactly
        assert math.isclose(ours[0], theirs[0], rel_tol=1e-15)
        for a, b in zip(ours[1], theirs[1]):
            assert math.isclose(a, b, rel_tol=1e-14, abs_tol=1e-300), (ours, theirs)


def test_binary_cross_entropy_on_probabilities_keeps_its_loss_on_the_engine(engine_steps):
    """Its log is clamped by an `if` on the data: the model alone is compiled."""
    X, y = nn.data.moons(40, noise=0.2, seed=4)

    def make():
        model = nn.MLP(2, [5, 1], output_activation="sigmoid", seed=2)
        return model, nn.Adam(model.parameters(), lr=0.05)
    assert_same_training(train_twice(make, X, y, loss="bce", epochs=4, batch_size=10))
    assert False in engine_steps                             # the compiled model's batches


def test_a_batch_too_large_for_one_function_compiles_the_model_alone(monkeypatch):
    X, y = blobs(40, 3, 4, seed=2)

    def make():
        model = nn.MLP(4, [6, 3], activation="tanh", seed=5)
        return model, nn.Adam(model.parameters(), lr=0.05)
    monkeypatch.setattr(codegen, "READABLE_LINES", 0)         # written as a long program is
    monkeypatch.setattr(codegen, "CHUNK_LINES", 40)           # and too long for one function
    runs = train_twice(make, X, y, loss="cross_entropy", epochs=3, batch_size=8)
    assert_same_training(runs)


def test_a_long_batch_function_reuses_names_and_keeps_its_sums(monkeypatch):
    X, y = blobs(40, 3, 4, seed=2)

    def make():
        model = nn.MLP(4, [6, 6, 3], activation="relu", seed=5)
        return model, nn.SGD(model.parameters(), lr=0.05, momentum=0.5)
    monkeypatch.setattr(codegen, "READABLE_LINES", 0)         # names reused, copies dropped
    runs = train_twice(make, X, y, loss="cross_entropy", epochs=3, batch_size=8, l2=1e-3)
    assert_same_training(runs)


def test_targets_the_loss_refuses_get_the_engine_s_error():
    errors = []
    for compiled in (False, True):
        model = nn.MLP(2, [3, 1], seed=0)
        try:
            nn.train_step(model, nn.SGD(model.parameters(), lr=0.1), [[0.5, 1.0], [1.0, 0.0]],
                          [1, 0], loss="hinge", compile=compiled)
        except ValueError as error:
            errors.append(str(error))
    assert len(errors) == 2 and errors[0] == errors[1] and "labels must be -1 or +1" in errors[0]


def test_an_overflowing_loss_is_redone_by_the_engine_and_diverges_alike():
    outcomes = []
    for compiled in (False, True):
        model = nn.MLP(1, [1], activation="linear", seed=0)
        model.layers[0].neurons[0].w[0].data = 1e200
        optimizer = nn.SGD(model.parameters(), lr=0.1)
        nn.train_step(model, optimizer, [[0.0]], [0.0], loss="mse", compile=compiled)
        try:
            nn.train_step(model, optimizer, [[1.0]], [0.0], loss="mse", compile=compiled)
        except (ValueError, ArithmeticError) as error:
            outcomes.append((type(error).__name__, str(error)))
    assert len(outcomes) == 2 and outcomes[0] == outcomes[1]


# ---------------------------------------------------------------------------------------------
# Any other loss: the model compiled, the loss on the engine


def test_fit_compiled_model_with_a_batch_over_the_kept_size(monkeypatch):
    X, y = blobs(90, 3, 4, seed=2)

    def odd_mean(outputs, targets):              # a loss of the user's: the general path
        return nn.cross_entropy(outputs, targets) * 1.0

    def make():
        model = nn.MLP(4, [6, 3], activation="tanh", seed=5)
        return model, nn.Adam(model.parameters(), lr=0.05)
    assert_same_training(train_twice(make, X, y, loss=odd_mean, epochs=3, batch_size=32))
    monkeypatch.setattr(compiled_module, "KEEP", 10)        # forward twice for large batches
    assert_same_training(train_twice(make, X, y, loss=odd_mean, epochs=3))
    monkeypatch.setattr(codegen, "READABLE_LINES", 0)       # written as a long program is
    monkeypatch.setattr(codegen, "CHUNK_LINES", 40)         # and split into parts
    assert_same_training(train_twice(make, X, y, loss=odd_mean, epochs=3, batch_size=8))


def test_any_loss_runs_on_the_engine_and_grads_feed_clipping():
    X, y = blobs(40, 2, 3, seed=4)
    targets = [[float(t), 1.0 - t] for t in y]

    def odd_loss(outputs, targets):          # not a mean of per-example terms: fine
        worst = max((nn.mse_loss(o, t) for o, t in zip(outputs, targets)), key=lambda v: v.data)
        return worst + 0.1 * nn.mse_loss(outputs, targets)
    grads = []
    for compiled in (False, True):
        model = nn.MLP(3, [5, 2], activation="sigmoid", seed=1)
        optimizer = nn.SGD(model.parameters(), lr=0.0)
        nn.train_step(model, optimizer, X, targets, loss=odd_loss, compile=compiled)
        norm = nn.clip_grad_norm(model.parameters(), 0.01)
        grads.append((norm, [p.grad for p in model.parameters()]))
    (norm, ours), (their_norm, theirs) = grads
    assert math.isclose(norm, their_norm, rel_tol=1e-12)
    assert all(math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15) for a, b in zip(ours, theirs))


def test_compiled_trouble_is_redone_by_the_engine_with_its_error():
    class Root(nn.Module):
        def __init__(self):
            self.w = Value(1.0, "w")

        def forward(self, x):
            return (x[0] * self.w).sqrt()

    for loss in ("mse", lambda o, t: nn.mse_loss(o, t)):     # fused, and the model alone
        errors = []
        for compiled in (False, True):
            model = Root()
            with pytest.raises(UndefinedMathError) as caught:
                nn.train_step(model, nn.SGD(model.parameters(), lr=0.1), [[1.0], [-1.0]],
                              [1.0, 1.0], loss=loss, compile=compiled)
            errors.append(str(caught.value))
        assert errors[0] == errors[1] and errors[0].startswith("sqrt")


def test_an_infinite_gradient_in_a_compiled_batch_is_redone_by_the_engine():
    @define_op("steep", local=lambda x, out: (1e200,))       # slope 1e200: twice is inf
    def steep(x):
        return x

    class Steep(nn.Module):
        def __init__(self):
            self.w = Value(0.5, "w")

        def forward(self, x):
            return steep(steep(x[0] * self.w))

    for loss in ("mse", lambda o, t: nn.mse_loss(o, t)):
        outcomes = []
        for compiled in (False, True):
            model = Steep()
            try:
                nn.train_step(model, nn.SGD(model.parameters(), lr=0.1), [[1.0], [2.0]],
                              [1.0, 1.0], loss=loss, compile=compiled)
                outcomes.append(("ok", model.w.data, model.w.grad))
            except (ValueError, ArithmeticError) as error:
                outcomes.append((type(error).__name__, str(error)))
        assert outcomes[0] == outcomes[1]


# ---------------------------------------------------------------------------------------------
# Compiled code is used only for the model it was made from


def test_train_step_compiles_once_per_model():
    model = nn.MLP(2, [3, 1], seed=0)
    optimizer = nn.SGD(model.parameters(), lr=0.1)
    nn.train_step(model, optimizer, [[0.5, 1.0], [1.0, -1.0]], [1.0, 0.0], compile=True)
    (first,) = compiled_module._cache[model].values()
    nn.train_step(model, optimizer, [[0.1, 0.2]], [1.0], compile=True)
    (again,) = compiled_module._cache[model].values()
    assert again is first
    assert "L0_n0_w0" in first.source and "dL0_n0_w0 +=" in first.source


def test_a_model_whose_graph_depends_on_the_data_is_refused():
    class Branchy(nn.Module):
        def __init__(self):
            self.w = Value(0.5)

        def forward(self, x):
            x = x[0] if isinstance(x, list) else x
            return x * self.w if x.data > 0 else x * self.w * 2.0

    for loss in ("mse", lambda o, t: nn.mse_loss(o, t)):
        model = Branchy()
        with pytest.raises(GraphChangedError, match="different graph"):
            nn.fit(model, [[1.0], [-1.0]], [1.0, 0.0], loss=loss,
                   optimizer=nn.SGD(model.parameters(), lr=0.1), epochs=1, progress=False,
                   compile=True)


class Dropping(nn.Module):
    def __init__(self):
        self.layer = nn.Layer(2, 3, seed=0)
        self.drop = nn.Dropout(0.5, seed=0)

    def forward(self, x):
        return self.drop(self.layer(x))


@pytest.mark.parametrize("loss", ["mse", lambda o, t: nn.mse_loss(o, t)])
def test_a_model_with_dropout_is_refused_even_after_compiling_in_eval_mode(loss):
    model = Dropping()
    optimizer = nn.SGD(model.parameters(), lr=0.1)
    X, y = [[1.0, 2.0]], [[0.0, 1.0, 0.0]]
    model.eval()                           # dropout off: compiles, and the code is cached
    nn.train_step(model, optimizer, X, y, loss=loss, compile=True)
    assert compiled_module._cache[model]
    model.train()                          # dropout on: the cached code must not be used
    with pytest.raises(ValueError, match="cannot train a model with Dropout in training mode"):
        nn.train_step(model, optimizer, X, y, loss=loss, compile=True)
    with pytest.raises(ValueError, match="cannot train a model with Dropout in training mode"):
        nn.fit(model, X, y, loss=loss, optimizer=optimizer, epochs=1, progress=False,
               compile=True)


def step_both_ways(make, change, loss, X, y):
    """Compile a model (one step), change it, step again: the grads of the second step,
    compiled and interpreted, from the same start."""
    grads = []
    for compiled in (True, False):
        model = make()
        optimizer = nn.SGD(model.parameters(), lr=0.0)     # lr 0: the weights stay
        nn.train_step(model, optimizer, X, y, loss=loss, compile=compiled)
        change(model)
        optimizer = nn.SGD(model.parameters(), lr=0.0)
        result = nn.train_step(model, optimizer, X, y, loss=loss, compile=compiled)
        grads.append((result.loss, [p.grad for p in model.parameters()]))
    return grads


class Scaled(nn.Module):
    """A layer times a constant the module keeps (a plain number, not a parameter)."""

    def __init__(self):
        self.layer = nn.Layer(2, 2, activation="tanh", seed=1)
        self.scale = 2.0

    def forward(self, x):
        return [o * self.scale for o in self.layer(x)]


def replace_a_bias(model):
    model.layer.neurons[0].b = Value(0.75)


def add_a_parameter(model):
    model.extra = Value(0.5)
    model.forward = lambda x: [o * model.scale + model.extra for o in model.layer(x)]


def change_the_activation(model):
    for neuron in model.layer.neurons:
        neuron.activation = "sigmoid"


def change_the_constant(model):
    model.scale = -3.0


def change_a_setting_in_a_dict(model):
    model.settings = {"scale": 1.0}                 # (read by the forward below)
    model.forward = lambda x: [o * model.settings["scale"] for o in model.layer(x)]


@pytest.mark.parametrize("change", [replace_a_bias, add_a_parameter, change_the_activation,
                                    change_the_constant, change_a_setting_in_a_dict])
@pytest.mark.parametrize("loss", ["mse", lambda o, t: nn.mse_loss(o, t)])
def test_a_changed_model_is_compiled_anew(change, loss):
    X, y = [[0.5, -1.0], [1.0, 2.0], [-0.3, 0.1]], [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]
    (loss_compiled, ours), (loss_interpreted, theirs) = step_both_ways(Scaled, change, loss,
                                                                       X, y)
    assert math.isclose(loss_compiled, loss_interpreted, rel_tol=1e-12)
    assert len(ours) == len(theirs)
    assert all(math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15) for a, b in zip(ours, theirs))


class Kept(nn.Module):
    """A layer times a constant kept in any form: the forward digs the number out."""

    def __init__(self, kept):
        self.layer = nn.Layer(2, 2, activation="tanh", seed=1)
        self.kept = kept

    def forward(self, x):
        scale = self.kept
        while not isinstance(scale, (Value, numbers.Number)):   # a list, a dict, an array
            scale = scale["scale"] if isinstance(scale, dict) else scale[0]
        return [o * (scale if isinstance(scale, Value) else float(scale))
                for o in self.layer(x)]


def in_place(model):
    model.kept[0][0] = -3.0


@pytest.mark.parametrize("kept, change", [
    (np.float32(2.0), np.float32(-3.0)),                    # a NumPy number
    (Fraction(2), Fraction(-3)),
    ([[2.0]], [[-3.0]]),                                     # a list of lists
    ([[2.0]], in_place),
    (np.array([[2.0]]), in_place),                           # an array, changed in place
    ({"scale": [2.0]}, {"scale": [-3.0]}),                   # a dict of lists
    (Value(2.0) * 1.0, Value(-3.0) * 1.0),                   # a constant Value (with parents)
], ids=["numpy-number", "fraction", "nested-list", "nested-list-in-place",
        "array-in-place", "dict-of-lists", "constant-value"])
@pytest.mark.parametrize("loss", ["mse", lambda o, t: nn.mse_loss(o, t)])
def test_a_setting_of_any_kind_that_changes_is_compiled_anew(kept, change, loss):
    X, y = [[0.5, -1.0], [1.0, 2.0], [-0.3, 0.1]], [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]

    def make():
        return Kept(copy.deepcopy(kept) if not isinstance(kept, Value) else kept)

    def changed(model):
        if callable(change):
            change(model)
        else:
            model.kept = change
    (loss_compiled, ours), (loss_interpreted, theirs) = step_both_ways(make, changed, loss,
                                                                       X, y)
    assert math.isclose(loss_compiled, loss_interpreted, rel_tol=1e-12)
    assert all(math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15) for a, b in zip(ours, theirs))


class FineTuned(nn.MLP):
    """An MLP whose parameters() lists the last layer only: the first is frozen."""

    def parameters(self):
        return self.layers[-1].parameters()


def scale_the_frozen_layer(model):
    for p in nn.Module.parameters(model.layers[0]):
        p.data = p.data * 3.0


def replace_a_frozen_weight(model):
    model.layers[0].neurons[0].w[0] = Value(5.0)


@pytest.mark.parametrize("change", [scale_the_frozen_layer, replace_a_frozen_weight])
@pytest.mark.parametrize("loss", ["mse", lambda o, t: nn.mse_loss(o, t)])
def test_a_frozen_layer_that_changes_is_compiled_anew(change, loss):
    X, y = [[0.5, -1.0], [1.0, 2.0]], [0.3, -0.2]
    (loss_compiled, ours), (loss_interpreted, theirs) = step_both_ways(
        lambda: FineTuned(2, [3, 1], activation="tanh", seed=1), change, loss, X, y)
    assert math.isclose(loss_compiled, loss_interpreted, rel_tol=1e-12)
    assert all(math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15) for a, b in zip(ours, theirs))


@pytest.mark.parametrize("loss", ["mse", lambda o, t: nn.mse_loss(o, t)])
@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_values_the_optimizer_updates_beyond_parameters_train_as_interpreted(loss, l2):
    # the optimizer holds every weight, parameters() only the last layer's: the compiled
    # step differentiates with respect to all the optimizer updates, as backward() does
    X, y = [[0.5, -1.0], [1.0, 2.0], [0.2, 0.1]], [0.3, -0.2, 0.5]
    runs = []
    for compiled in (False, True):
        model = FineTuned(2, [3, 1], activation="tanh", seed=1)
        optimizer = nn.SGD(nn.Module.parameters(model), lr=0.1)
        history = nn.fit(model, X, y, loss=loss, optimizer=optimizer, epochs=4, l2=l2,
                         progress=False, compile=compiled)
        runs.append((history, [p.data for p in nn.Module.parameters(model)]))
    assert_same_training(runs)


def test_the_fingerprint_sees_each_kind_of_change_and_nothing_else():
    model = Scaled()
    before = compiled_module.fingerprint(model, model.parameters())
    model.layer.neurons[0].w[0].data = 9.0          # a weight's number: the code still serves
    nn.train_step(model, nn.SGD(model.parameters(), lr=0.1), [[1.0, 1.0]], [[0.0, 0.0]])
    assert compiled_module.fingerprint(model, model.parameters()) == before
    changes = (replace_a_bias, add_a_parameter, change_the_activation, change_the_constant,
               change_a_setting_in_a_dict, lambda m: m.eval())
    for change in changes:
        model = Scaled()
        before = compiled_module.fingerprint(model, model.parameters())
        change(model)
        assert compiled_module.fingerprint(model, model.parameters()) != before
    model = Scaled()
    model.settings = {"scale": 1.0}
    before = compiled_module.fingerprint(model, model.parameters())
    model.settings["scale"] = 2.0                    # changed in place
    assert compiled_module.fingerprint(model, model.parameters()) != before


# ---------------------------------------------------------------------------------------------
# CompiledLoss itself


def test_compiled_loss_sums_terms_and_grads_over_the_samples_as_the_engine_does():
    w, b = Value(0.7, "w"), Value(-0.2, "b")

    def trace(leaves):
        x, t = leaves
        out = (w * x + b).tanh()
        return out, [(out - t) ** 2, abs(out - t)], {}

    fn = codegen.CompiledLoss(trace, [w, b], [(0.5, 1.0), (-1.0, 0.0)], ["x", "t"], "model")
    rng = random.Random(7)
    samples = [(rng.uniform(-2, 2), rng.uniform(-1, 1)) for _ in range(9)]
    total, grads, outputs = fn.function([0.3, 0.1], samples, 1.0 / 18)
    ws, bs = Value(0.3), Value(0.1)                  # the engine on the whole batch
    terms, outs = [], []
    for x, t in samples:
        out = (ws * x + bs).tanh()
        outs.append(out.data)
        terms += [(out - t) ** 2, abs(out - t)]
    loss = terms[0]
    for term in terms[1:]:
        loss = loss + term
    (loss * (1.0 / 18)).backward()
    assert outputs == outs and fn.terms == 2
    assert math.isclose(total, loss.data, rel_tol=1e-15)
    assert all(math.isclose(a, b, rel_tol=1e-13) for a, b in zip(grads, (ws.grad, bs.grad)))
    assert fn.function([0.3, math.inf], samples, 1.0) is None          # inf: None (redo)


def test_compiled_loss_refuses_a_derived_constant_it_cannot_compute():
    w = Value(0.5, "w")

    def trace(leaves):
        out = w * leaves[0]
        m = Value(abs(out.data), "m")
        return out, [out - m], {id(m): (m, "abs", [out])}

    with pytest.raises(codegen.CompileError, match="derived constant"):
        codegen.CompiledLoss(trace, [w], [(1.0,), (2.0,)], ["x"])
