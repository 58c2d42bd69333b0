"""nn.fit and nn.accuracy: fit is the hand-written loop, batches cover each epoch, histories are
seeded, schedules apply, XOR is learnt, progress shows (or not) and never crashes."""

import io
import math
import sys
from fractions import Fraction

import pytest

import nn
import nn.train
from autograd import UndefinedMathError, Value


def test_full_batch_fit_is_exactly_the_hand_written_loop():
    X, y = nn.data.moons(20, noise=0.1, seed=0)
    y = [2 * t - 1 for t in y]
    model = nn.MLP(2, [4, 1], seed=0)
    history = nn.fit(model, X, y, loss="hinge", optimizer=nn.SGD(model.parameters(), lr=0.5),
                     epochs=5, l2=1e-3, schedule=lambda k: 0.5 - 0.05 * k, progress=False)

    twin = nn.MLP(2, [4, 1], seed=0)
    optimizer = nn.SGD(twin.parameters(), lr=0.5)
    losses, accuracies = [], []
    for k in range(5):
        optimizer.lr = 0.5 - 0.05 * k
        scores = [twin(x) for x in X]
        loss = nn.hinge_loss(scores, y) + 1e-3 * sum((p * p for p in twin.parameters()), 0.0)
        twin.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.data)
        accuracies.append(sum((s.data > 0) == (t > 0) for s, t in zip(scores, y)) / len(y))
    assert history.loss == pytest.approx(losses, rel=1e-12)
    assert history.accuracy == accuracies
    assert history.lr == [0.5 - 0.05 * k for k in range(5)]
    assert [p.data for p in model.parameters()] == pytest.approx(
        [p.data for p in twin.parameters()], rel=1e-12)


def test_every_epoch_visits_each_example_once_in_seeded_batches():
    X = [[float(i)] for i in range(10)]
    y = [float(i) for i in range(10)]
    seen = []

    def recording_loss(predictions, targets):
        seen.append(list(targets))
        return nn.mse_loss(predictions, targets)

    model = nn.MLP(1, [1], seed=0)
    history = nn.fit(model, X, y, loss=recording_loss, optimizer=nn.SGD(model.parameters(), 0.0),
                     epochs=3, batch_size=4, seed=7, progress=False)
    assert [len(b) for b in seen] == [4, 4, 2] * 3
    for epoch in range(3):
        assert sorted(t for b in seen[3 * epoch:3 * epoch + 3] for t in b) == y
    assert seen[0] + seen[1] + seen[2] != y and seen[:3] != seen[3:6]      # shuffled each epoch
    assert history.accuracy == [None] * 3                                  # not class labels
    first = [list(b) for b in seen]
    seen.clear()
    nn.fit(nn.MLP(1, [1], seed=0), X, y, loss=recording_loss, epochs=3, batch_size=4, seed=7,
           progress=False)
    assert seen == first


def test_the_mean_loss_of_an_epoch_weighs_batches_by_their_size():
    X, y = [[0.0], [0.0], [0.0]], [1.0, 2.0, 4.0]
    model = nn.MLP(1, [1], seed=0)
    model.layers[0].neurons[0].b.data = 0.0
    history = nn.fit(model, X, y, loss="mse", optimizer=nn.SGD(model.parameters(), lr=0.0),
                     epochs=1, batch_size=2, progress=False)
    assert history.loss == [pytest.approx((1 + 4 + 16) / 3)]


def test_xor_with_a_2_4_1_sigmoid_network_and_bce():
    X, y = nn.data.xor()
    model = nn.MLP(2, [4, 1], activation="sigmoid", output_activation="sigmoid", seed=0)
    history = nn.fit(model, X, y, loss="bce", optimizer=nn.Adam(model.parameters(), lr=0.1),
                     epochs=300, progress=False)
    assert history.loss[-1] < 0.05 < history.loss[0]
    assert history.accuracy[-1] == 1.0 == nn.accuracy(model, X, y)
    assert len(history.time) == 300 and history.time == sorted(history.time)
    assert history.seconds == history.time[-1] > 0
    assert repr(history).startswith("History(300 epochs in ")


def test_accuracy_reads_classes_off_scores_probabilities_and_argmax():
    def score(x):
        return Value(x[0])
    assert nn.accuracy(score, [[0.5], [-0.2], [0.1]], [1, -1, -1]) == pytest.approx(2 / 3)
    assert nn.accuracy(score, [[0.5], [-0.2], [0.1]], [1, 0, 1]) == 1.0
    assert nn.accuracy(score, [[0.3], [0.7]], [0, 1], threshold=0.5) == 1.0
    probability = nn.MLP(1, [1], output_activation="sigmoid", seed=0)
    probability.layers[0].neurons[0].w[0].data, probability.layers[0].neurons[0].b.data = 1.0, 0.0
    # a sigmoid output is a probability: class 1 above 0.5, i.e. for x > 0
    assert nn.accuracy(probability, [[2.0], [-2.0]], [1, 0]) == 1.0

    def three(x):
        return [Value(v) for v in x]
    assert nn.accuracy(three, [[0.1, 0.7, 0.2], [3.0, 1.0, 2.0]], [1, 2]) == 0.5


def test_fit_defaults_to_adam_and_learns_a_line():
    X = [[x / 10] for x in range(-10, 11)]
    y = [2.0 * x[0] - 1.0 for x in X]
    model = nn.MLP(1, [1], seed=0)
    history = nn.fit(model, X, y, epochs=400, progress=False)
    assert history.loss[-1] < 1e-4
    neuron = model.layers[0].neurons[0]
    assert neuron.w[0].data == pytest.approx(2.0, abs=0.02)
    assert neuron.b.data == pytest.approx(-1.0, abs=0.02)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"loss": "nll"}, ValueError, "unknown loss 'nll'"),
    ({"loss": 3}, TypeError, "loss must be a name or a function"),
    ({"loss": lambda p, t: 1.0}, TypeError, "must return a Value"),
    ({"epochs": -1}, ValueError, "epochs"),
    ({"batch_size": 0}, ValueError, "batch_size"),
])
def test_bad_arguments_are_clear_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        nn.fit(nn.MLP(1, [1], seed=0), [[1.0]], [1.0], progress=False, **kwargs)
    with pytest.raises(ValueError, match="2 inputs but 1 targets"):
        nn.fit(nn.MLP(1, [1], seed=0), [[1.0], [2.0]], [1.0], progress=False)


def tiny_fit(**kwargs):
    X, y = nn.data.xor()
    model = nn.MLP(2, [2, 1], seed=0)
    return nn.fit(model, X, y, loss="mse", epochs=5, classify=True, **kwargs)


def test_progress_false_prints_nothing(capsys, monkeypatch):
    monkeypatch.setattr(nn.progress, "PROGRESS_DELAY", 0.0)
    tiny_fit(progress=False)
    assert capsys.readouterr() == ("", "")


def test_progress_shows_a_tqdm_bar_with_loss_and_accuracy(capsys, monkeypatch):
    monkeypatch.setattr(nn.progress, "PROGRESS_DELAY", 0.0)
    tiny_fit(progress=True)
    err = capsys.readouterr().err
    assert "training MLP" in err and "5/5" in err and "loss=" in err and "acc=" in err


def test_short_runs_show_no_bar(capsys):
    tiny_fit(progress=True)                      # well under PROGRESS_DELAY
    assert capsys.readouterr().err == ""


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_without_tqdm_a_line_of_text_on_a_terminal_and_no_crash(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    monkeypatch.setattr(nn.progress, "PROGRESS_DELAY", 0.0)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    history = tiny_fit(progress=True)
    assert len(history.loss) == 5
    text = terminal.getvalue()
    assert "training MLP: 5/5" in text and "loss=" in text and text.endswith("\n")
    piped = io.StringIO()                        # not a terminal: nothing at all
    monkeypatch.setattr(sys, "stderr", piped)
    tiny_fit(progress=True)
    assert piped.getvalue() == ""


def test_fit_pauses_the_cyclic_collector_and_restores_it_even_on_error():
    import gc

    states = []

    def observing_loss(predictions, targets):
        states.append(gc.isenabled())
        return nn.mse_loss(predictions, targets)

    assert gc.isenabled()
    nn.fit(nn.MLP(1, [1], seed=0), [[1.0]], [1.0], loss=observing_loss, epochs=2, progress=False)
    assert states == [False, False] and gc.isenabled()
    with pytest.raises(TypeError):
        nn.fit(nn.MLP(1, [1], seed=0), [[1.0]], [1.0], loss=lambda p, t: 0.0, progress=False)
    assert gc.isenabled()
    gc.disable()
    try:
        nn.fit(nn.MLP(1, [1], seed=0), [[1.0]], [1.0], epochs=1, progress=False)
        assert not gc.isenabled()                 # left as the caller had it
    finally:
        gc.enable()


# ---------------------------------------------------------------------------------------------
# train_step: one step of the loop, for your own loops; fit is a thin loop over it


def test_train_step_is_exactly_the_hand_written_step():
    X, y = nn.data.moons(12, noise=0.1, seed=2)
    y = [2 * t - 1 for t in y]
    model, twin = nn.MLP(2, [4, 1], seed=5), nn.MLP(2, [4, 1], seed=5)
    optimizer = nn.SGD(model.parameters(), lr=0.3, momentum=0.9)
    twin_optimizer = nn.SGD(twin.parameters(), lr=0.3, momentum=0.9)
    for _ in range(3):
        for p in model.parameters():
            p.grad = 123.0                               # stale grads: train_step zeroes them
        result = nn.train_step(model, optimizer, X, y, loss="hinge", l2=1e-3)
        scores = [twin(x) for x in X]
        loss = nn.hinge_loss(scores, y) + nn.l2_penalty(twin.parameters(), 1e-3)
        twin.zero_grad()
        loss.backward()
        twin_optimizer.step()
        assert result.loss == loss.data
        assert result.outputs == [s.data for s in scores]
        assert [p.grad for p in model.parameters()] == [p.grad for p in twin.parameters()]
        assert [p.data for p in model.parameters()] == [p.data for p in twin.parameters()]
    loss_value, outputs = result                          # a NamedTuple
    assert isinstance(result, nn.StepResult) and all(type(o) is float for o in outputs)


class MicrogradStyle:
    """A model as micrograd's lecture writes one: no nn.Module, __call__ and parameters()."""

    def __init__(self, seed):
        twin = nn.MLP(2, [4, 1], seed=seed)
        self.call, self.params = twin, twin.parameters()

    def __call__(self, x):
        return self.call(x)

    def parameters(self):
        return self.params


def test_train_step_and_fit_take_a_model_of_your_own_with_parameters():
    # l2 was silently left out for such a model, and fit() said it had no parameters
    X, y = nn.data.moons(12, noise=0.1, seed=2)
    y = [2 * t - 1 for t in y]
    model, twin = MicrogradStyle(5), nn.MLP(2, [4, 1], seed=5)
    result = nn.train_step(model, nn.SGD(model.parameters(), lr=0.3), X, y, loss="hinge",
                           l2=1e-3)
    loss = nn.hinge_loss([twin(x) for x in X], y) + nn.l2_penalty(twin.parameters(), 1e-3)
    assert result.loss == loss.data
    history = nn.fit(MicrogradStyle(5), X, y, loss="hinge", epochs=2, progress=False)
    assert len(history.loss) == 2
    with pytest.raises(ValueError, match="has no parameters"):
        nn.train_step(lambda x: x[0] * 2.0, nn.SGD(model.parameters(), lr=0.1), X, y, l2=0.1)


def test_train_step_outputs_of_a_multi_output_model_are_lists_of_numbers():
    model = nn.MLP(3, [4, 3], seed=0)
    result = nn.train_step(model, nn.Adam(model.parameters(), lr=0.01),
                           [[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]], [2, 0], loss="cross_entropy")
    assert [len(o) for o in result.outputs] == [3, 3] and type(result.outputs[0][0]) is float


def test_fit_is_train_step_over_shuffled_batches():
    X, y = nn.data.moons(20, noise=0.1, seed=0)
    model, twin = nn.MLP(2, [4, 1], seed=1), nn.MLP(2, [4, 1], seed=1)
    history = nn.fit(model, X, y, loss="bce_with_logits", optimizer=nn.Adam(model.parameters()),
                     epochs=3, batch_size=6, seed=4, progress=False)
    import random
    rng, order = random.Random(4), list(range(20))
    optimizer, losses = nn.Adam(twin.parameters()), []
    for _ in range(3):
        rng.shuffle(order)
        total = 0.0
        for first in range(0, 20, 6):
            batch = order[first:first + 6]
            total += nn.train_step(twin, optimizer, [X[i] for i in batch], [y[i] for i in batch],
                                   loss="bce_with_logits").loss * len(batch)
        losses.append(total / 20)
    assert history.loss == losses
    assert [p.data for p in model.parameters()] == [p.data for p in twin.parameters()]


def test_accuracy_is_recorded_when_asked_or_when_the_loss_implies_class_labels():
    X, y = nn.data.xor()
    for loss, classify, recorded in [("mse", None, False), ("mse", True, True),
                                     ("bce_with_logits", None, True), ("hinge", None, True),
                                     ("bce_with_logits", False, False)]:
        targets = [2 * t - 1 for t in y] if loss == "hinge" else y
        history = nn.fit(nn.MLP(2, [3, 1], seed=0), X, targets, loss=loss, epochs=2,
                         classify=classify, progress=False)
        assert (history.accuracy[0] is not None) == recorded, (loss, classify)
    # regression targets that happen to be 0/1 are not taken for class labels
    history = nn.fit(nn.MLP(1, [1], seed=0), [[0.0], [1.0]], [0.0, 1.0], epochs=1,
                     progress=False)
    assert history.accuracy == [None]


# ---------------------------------------------------------------------------------------------
# Data as users have it: NumPy arrays, tuples; bad data refused before training


def test_numpy_arrays_and_tuples_train_exactly_as_lists():
    np = pytest.importorskip("numpy")
    X, y = nn.data.moons(16, noise=0.1, seed=3)
    runs = []
    for data in [(X, y), (np.array(X), np.array(y)), (tuple(map(tuple, X)), tuple(y)),
                 (np.array(X), np.array(y, dtype=np.int8))]:
        model = nn.MLP(2, [3, 1], seed=0)
        runs.append(nn.fit(model, *data, loss="bce_with_logits", epochs=3, batch_size=5,
                           progress=False).loss)
        assert nn.accuracy(model, *data) == nn.accuracy(model, X, y)
    assert runs[1:] == [runs[0]] * 3
    digits = nn.MLP(3, [3], seed=0)
    history = nn.fit(digits, np.eye(3), np.arange(3), loss="cross_entropy", epochs=2,
                     progress=False)
    assert len(history.loss) == 2


def assert_refused_and_unchanged(model, error, message, X, y, **kwargs):
    before = [p.data for p in model.parameters()]
    with pytest.raises(error, match=message):
        nn.fit(model, X, y, progress=False, **kwargs)
    assert [p.data for p in model.parameters()] == before


@pytest.mark.parametrize("X, y, message", [
    ([[1.0], [float("inf")]], [0.0, 1.0], r"X\[1\]\[0\] is inf"),
    ([[1.0], [float("nan")]], [0.0, 1.0], r"X\[1\]\[0\] is nan"),
    ([[1.0], [2.0]], [0.0, -float("inf")], r"y\[1\] is -inf"),
    ([[1.0], [10 ** 400]], [0.0, 1.0], r"X\[1\]\[0\] = 1000.* is beyond the float range"),
    ([[1.0], [2.0]], [1.0], "2 inputs but 1 targets"),
    ([], [], "no examples"),
])
def test_non_finite_or_mismatched_data_is_refused_before_training(X, y, message):
    assert_refused_and_unchanged(nn.MLP(1, [1], seed=0), ValueError, message, X, y)


def test_bad_learning_rates_l2_and_schedules_are_refused_before_training():
    X, y = [[1.0], [2.0]], [1.0, 2.0]
    model = nn.MLP(1, [1], seed=0)
    for lr in (float("inf"), float("nan"), -0.1):
        with pytest.raises(ValueError, match="invalid learning rate"):
            nn.SGD(model.parameters(), lr=lr)
    optimizer = nn.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="invalid learning rate: inf"):
        optimizer.lr = float("inf")
    calls = []

    def schedule(epoch):
        calls.append(epoch)
        return 0.1 if epoch < 5 else float("inf")

    assert_refused_and_unchanged(model, ValueError, r"schedule\(5\) returned inf", X, y,
                                 optimizer=optimizer, epochs=10, schedule=schedule)
    assert calls == [0, 1, 2, 3, 4, 5]
    for l2 in (-1e-4, float("nan"), float("inf")):
        assert_refused_and_unchanged(model, ValueError, "l2 must be a finite number >= 0", X, y,
                                     l2=l2)


def test_settings_beyond_the_float_range_are_refused_and_numpy_numbers_taken():
    numpy = pytest.importorskip("numpy")
    X, y = [[1.0], [2.0]], [1.0, 2.0]
    model = nn.MLP(1, [1], seed=0)
    assert_refused_and_unchanged(model, ValueError, "l2 must be a finite number", X, y,
                                 l2=10 ** 400)
    assert_refused_and_unchanged(model, ValueError, r"schedule\(0\) returned 1000", X, y,
                                 schedule=lambda epoch: 10 ** 400)
    assert_refused_and_unchanged(model, ValueError, "threshold must be a finite number", X,
                                 [0, 1], loss="bce_with_logits", threshold=10 ** 400)
    assert_refused_and_unchanged(model, ValueError, r"X\[0\]\[0\] = .* is beyond the float",
                                 [[Fraction(10 ** 400, 3)], [1.0]], y)
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        nn.accuracy(model, X, [0, 1], threshold=10 ** 400)
    # NumPy integers and floats where Python's would do
    history = nn.fit(model, numpy.array(X), numpy.array(y), epochs=numpy.int64(2),
                     batch_size=numpy.int64(1), l2=numpy.float32(0.001), progress=False,
                     schedule=lambda epoch: numpy.float64(0.01))
    assert len(history.loss) == 2 and history.lr == [0.01, 0.01]
    assert nn.accuracy(model, X, [0, 1], threshold=numpy.float32(0.5)) in (0.0, 0.5, 1.0)
    assert len(nn.MLP(numpy.int64(2), [numpy.int64(3), 1]).parameters()) == 13


def test_an_optimizer_over_another_models_parameters_is_refused():
    model, other = nn.MLP(1, [1], seed=0), nn.MLP(1, [1], seed=1)
    assert_refused_and_unchanged(model, ValueError, "holds none of this model's parameters",
                                 [[1.0]], [1.0], optimizer=nn.SGD(other.parameters(), lr=0.1))
    assert_refused_and_unchanged(model, TypeError, r"got the class SGD; write SGD\(model",
                                 [[1.0]], [1.0], optimizer=nn.SGD)
    with pytest.raises(ValueError, match="holds none of this model's parameters"):
        nn.train_step(model, nn.SGD(other.parameters(), lr=0.1), [[1.0]], [1.0])
    # an optimizer over a part of the model (fine-tuning the last layer) is fine
    nn.fit(model, [[1.0]], [1.0], optimizer=nn.SGD(model.layers[-1].parameters(), lr=0.1),
           epochs=1, progress=False)


@pytest.mark.parametrize("nouts, y, loss, message", [
    ([3, 1], [0, 1], "cross_entropy", "cross_entropy needs one output per class"),
    ([3, 2], [0, 2], "cross_entropy", r"class indices below 2 .*y\[1\] = 2"),
    ([3, 2], [0, 1.5], "cross_entropy", r"class indices 0, 1, 2, ..., got y\[1\] = 1.5"),
    ([3, 1], [0, 1], "hinge", r"labels -1 or \+1, got y\[0\] = 0; for 0/1 labels"),
    ([3, 1], [-1, 1], "bce", r"targets in \[0, 1\].*y\[0\] = -1"),
    ([3, 1], [0, 2], "bce_with_logits", r"targets in \[0, 1\].*y\[1\] = 2"),
])
def test_labels_and_outputs_the_loss_cannot_take_are_refused_before_training(nouts, y, loss,
                                                                             message):
    assert_refused_and_unchanged(nn.MLP(2, nouts, seed=0), ValueError, message,
                                 [[0.0, 1.0], [1.0, 0.0]], y, loss=loss)


# ---------------------------------------------------------------------------------------------
# A run that diverges stops at once, keeping what it had


def test_a_diverging_run_stops_with_the_epoch_the_batch_and_the_history_so_far():
    X = [[float(i)] for i in range(-4, 5)]
    y = [3.0 * x[0] for x in X]
    model = nn.MLP(1, [1], seed=0)
    with pytest.raises(nn.TrainingDiverged) as caught:
        nn.fit(model, X, y, loss="mse", optimizer=nn.SGD(model.parameters(), lr=10.0),
               epochs=1000, batch_size=3, seed=0, progress=False)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.epoch >= 2 and 1 <= error.batch <= 3 and error.lr == 10.0
    assert len(error.history.loss) == error.epoch - 1
    assert error.history.loss == sorted(error.history.loss)     # growing: diverging
    message = str(error)
    assert f"epoch {error.epoch} of 1000, batch {error.batch} of 3" in message
    assert "try a smaller learning rate (lr=10 in this epoch)" in message
    assert all(math.isfinite(p.data) for p in model.parameters())


def test_the_engines_undefined_math_during_training_is_a_divergence_too():
    calls = []

    def loss(predictions, targets):
        calls.append(1)
        value = nn.mse_loss(predictions, targets)
        if len(calls) == 4:
            (value * -1.0 - 1.0).log()         # the engine refuses: log of a negative number
        return value

    model = nn.MLP(1, [1], seed=0)
    with pytest.raises(nn.TrainingDiverged, match="epoch 4 of 10, batch 1 of 1") as caught:
        nn.fit(model, [[1.0]], [2.0], loss=loss, epochs=10, progress=False)
    assert isinstance(caught.value.__cause__, UndefinedMathError)
    assert "log" in str(caught.value) and len(caught.value.history.loss) == 3
    # before any step, the engine's error is shown as it is: nothing was trained yet
    with pytest.raises(UndefinedMathError):
        nn.fit(nn.MLP(1, [1], seed=0), [[1.0]], [2.0],
               loss=lambda p, t: (nn.mse_loss(p, t) * -1.0 - 1.0).log(), epochs=3,
               progress=False)


def test_train_step_raises_training_diverged_and_keeps_the_parameters():
    model = nn.MLP(1, [1], seed=0)
    model.layers[0].neurons[0].w[0].data = 1e200
    optimizer = nn.SGD(model.parameters(), lr=1.0)
    optimizer.steps = 1                       # as if it had trained before
    before = [p.data for p in model.parameters()]
    with pytest.raises(nn.TrainingDiverged, match="smaller learning rate") as caught:
        nn.train_step(model, optimizer, [[1e200]], [0.0])
    assert caught.value.epoch is None and caught.value.history is None
    assert [p.data for p in model.parameters()] == before


def test_an_update_that_overflows_is_undone():
    model = nn.MLP(1, [1], seed=0)
    neuron = model.layers[0].neurons[0]
    neuron.w[0].data, neuron.b.data = 1.0, 0.0
    optimizer = nn.SGD(model.parameters(), lr=1e300)
    optimizer.steps = 1
    with pytest.raises(nn.TrainingDiverged, match=r"the update made 'L0.n0.w0' -?inf"):
        nn.train_step(model, optimizer, [[1e10]], [-1e10])
    assert (neuron.w[0].data, neuron.b.data) == (1.0, 0.0)


def test_accuracy_of_nan_outputs_is_an_error_not_a_class():
    def nan_second(x):
        score = Value(0.5)
        if x[0] >= 1:
            score._data = float("nan")         # Values refuse nan: force one, as a guard test
        return [Value(1.0), score]
    with pytest.raises(ValueError, match=r"example 1: predicted_class: the scores \[1.0, nan\]"):
        nn.accuracy(nan_second, [[0.0], [1.0]], [0, 1])
    with pytest.raises(ValueError, match=r"X\[0\]\[0\] is nan"):
        nn.accuracy(lambda x: Value(0.0), [[float("nan")]], [1])

    class NanModel(nn.Module):
        def forward(self, x):
            out = Value(x[0])
            out._data = float("nan")           # Values refuse nan: force one, as a guard test
            return out
    with pytest.raises(ValueError, match="example 0: predicted_class: the score is nan"):
        nn.accuracy(NanModel(), [[1.0], [2.0]], [0, 1])
