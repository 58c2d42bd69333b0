"""nn.fit and nn.accuracy: fit is the hand-written loop, batches cover each epoch, histories are
seeded, schedules apply, XOR is learnt, progress shows (or not) and never crashes."""

import io
import sys

import pytest

import nn
import nn.train
from autograd import Value


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
    return nn.fit(model, X, y, loss="mse", epochs=5, **kwargs)


def test_progress_false_prints_nothing(capsys, monkeypatch):
    monkeypatch.setattr(nn.train, "PROGRESS_DELAY", 0.0)
    tiny_fit(progress=False)
    assert capsys.readouterr() == ("", "")


def test_progress_shows_a_tqdm_bar_with_loss_and_accuracy(capsys, monkeypatch):
    monkeypatch.setattr(nn.train, "PROGRESS_DELAY", 0.0)
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
    monkeypatch.setattr(nn.train, "PROGRESS_DELAY", 0.0)
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
