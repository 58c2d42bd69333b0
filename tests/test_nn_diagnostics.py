"""Seeing why training fails: per-layer gradients (layer_grads, gradient_flow) equal the ones
computed by hand, fit(track_grads=True) records them, held-out losses, lr_sweep (deterministic,
a diverging rate reported, not raised) and the figures that show them."""

import math
import warnings
from fractions import Fraction

import pytest

import nn

ACT = {"tanh": (math.tanh, lambda a: 1 - a * a),
       "sigmoid": (lambda z: 1 / (1 + math.exp(-z)), lambda a: a * (1 - a)),
       "relu": (lambda z: max(z, 0.0), lambda a: 1.0 if a > 0 else 0.0),
       "linear": (lambda z: z, lambda a: 1.0)}


def by_hand(model, X, y):
    """d mse / d W for every layer of an MLP, by the textbook's delta rule on floats:
    delta_L = dloss/dout * f'(z_L), delta_k = (W_{k+1}^T delta_{k+1}) * f'(z_k),
    dW_k = sum over examples of delta_k a_{k-1}^T."""
    layers = [([[w.data for w in n.w] for n in layer.neurons], [n.b.data for n in layer.neurons],
               layer.activation) for layer in model.layers]
    grads = [[[0.0] * len(W[0]) for _ in W] for W, _, _ in layers]
    for x, t in zip(X, y):
        activations = [list(x)]
        for W, b, act in layers:
            f = ACT[act][0]
            activations.append([f(bj + sum(w * a for w, a in zip(row, activations[-1])))
                                for row, bj in zip(W, b)])
        out = activations[-1][0]
        upstream = [2 * (out - t) / len(X)]
        for k in range(len(layers) - 1, -1, -1):
            W, _, act = layers[k]
            delta = [u * ACT[act][1](a) for u, a in zip(upstream, activations[k + 1])]
            for j, d in enumerate(delta):
                for i, a in enumerate(activations[k]):
                    grads[k][j][i] += d * a
            upstream = [sum(W[j][i] * delta[j] for j in range(len(W)))
                        for i in range(len(W[0]))]
    return grads


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_layer_grads_are_the_per_layer_gradients_computed_by_hand(activation):
    model = nn.MLP(2, [5, 4, 3, 1], activation=activation, seed=2)
    X = [[0.5, -1.0], [1.5, 0.2], [-0.3, 0.8]]
    y = [1.0, -1.0, 0.5]
    loss = nn.mse_loss([model(x) for x in X], y)
    model.zero_grad()
    loss.backward()
    expected = by_hand(model, X, y)
    stats = nn.layer_grads(model)
    assert [s.name for s in stats] == ["L0", "L1", "L2", "L3"]
    for s, layer in zip(stats, expected):
        sizes = [abs(g) for row in layer for g in row]          # the weights only, no biases
        assert s.count == len(sizes)
        assert s.mean == pytest.approx(sum(sizes) / len(sizes), rel=1e-12)
        assert s.max == pytest.approx(max(sizes), rel=1e-12)
        assert s.norm == pytest.approx(math.sqrt(sum(g * g for g in sizes)), rel=1e-12)
    figure = nn.plot.gradient_flow(model)
    ax = figure.axes[0]
    wide, narrow = ax.containers                                # max bars, mean bars
    assert [b.get_y() + b.get_height() for b in wide] == pytest.approx([s.max for s in stats])
    assert [b.get_y() + b.get_height() for b in narrow] == pytest.approx(
        [s.mean for s in stats])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["L0", "L1", "L2", "L3"]
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["max |grad|", "mean |grad|"]
    # on a fixed scale, to compare models: the bars start at its low end
    ax = nn.plot.gradient_flow(model, ylim=(1e-9, 10.0)).axes[0]
    assert ax.get_ylim() == pytest.approx((1e-9, 10.0))
    assert [b.get_y() for b in ax.containers[0]] == [1e-9] * 4
    assert [b.get_y() + b.get_height() for b in ax.containers[0]] == pytest.approx(
        [s.max for s in stats])
    with pytest.raises(ValueError, match="0 < low < high"):
        nn.plot.gradient_flow(model, ylim=(0.0, 1.0))


def test_layer_grads_after_create_graph_are_the_same_numbers():
    # after backward(create_graph=True) each grad is a Value: read as its number, no node made
    stats = []
    for create_graph in (False, True):
        model = nn.MLP(2, [3, 2, 1], activation="tanh", seed=4)
        model([0.5, -1.5]).backward(create_graph=create_graph)
        stats.append(nn.layer_grads(model))
    for plain, on_values in zip(*stats):
        assert plain == on_values
        assert all(type(x) is float for x in (on_values.mean, on_values.max, on_values.norm))


def test_a_sigmoid_networks_gradients_shrink_toward_the_input_by_at_most_a_quarter_per_layer():
    """Backprop through a sigmoid layer multiplies by sigmoid'(z) <= 1/4 and by the weights:
    with |w| <= 1 (uniform init) and width 4, each layer can pass back at most 4 * 1/4 = 1 of
    the largest upstream gradient, and in fact much less."""
    model = nn.MLP(4, [4] * 8 + [1], activation="sigmoid", seed=0)
    X = [[0.5, -0.2, 0.1, 0.9], [-1.0, 0.4, 0.3, -0.5]]
    loss = nn.mse_loss([model(x) for x in X], [1.0, 0.0])
    loss.backward()
    means = [s.mean for s in nn.layer_grads(model)]
    assert all(a < b for a, b in zip(means[1:-1], means[2:]))   # shrinking toward the input
    assert means[1] < means[-1] / 100


def test_layers_are_found_in_custom_modules_and_biases_left_out():
    class Net(nn.Module):
        def __init__(self):
            self.body = nn.MLP(2, [3, 3], seed=0)
            self.skip = nn.Residual(nn.Layer(3, 3, seed=1))
            self.scale = nn.Neuron(3, "linear", seed=2)

        def forward(self, x):
            return self.scale(self.skip(self.body(x)))

    net = Net()
    net([1.0, 2.0]).backward()
    groups = nn.gradients.weight_groups(net)
    assert [(name, len(ws)) for name, ws in groups] == [
        ("body.L0", 6), ("body.L1", 9), ("skip.block", 9), ("scale", 3)]
    assert all(not w.label.endswith(".b") for _, ws in groups for w in ws)
    stats = nn.layer_grads(net)
    assert stats[3].max == max(abs(w.grad) for w in net.scale.w)


def test_gradient_flow_before_a_backward_pass_is_a_clear_error_and_a_dead_layer_is_marked():
    model = nn.MLP(2, [3, 3, 1], seed=0)
    with pytest.raises(ValueError, match="every weight's grad is 0; draw it after a backward"):
        nn.plot.gradient_flow(model)
    for n in model.layers[0].neurons:                 # a dead relu layer: no gradient at all
        n.b.data = -100.0
    model([1.0, 1.0]).backward()
    model.layers[1].neurons[0].w[0].grad = 0.5         # something downstream has a grad
    figure = nn.plot.gradient_flow(model)
    assert "all 0" in [t.get_text() for t in figure.axes[0].texts]
    with pytest.raises(TypeError, match="expected an nn Module"):
        nn.layer_grads(lambda x: x)


def test_fit_track_grads_records_each_layers_gradient_norm_averaged_over_the_batches():
    X, y = nn.data.moons(12, noise=0.1, seed=0)
    model = nn.MLP(2, [4, 4, 1], activation="tanh", seed=0)
    history = nn.fit(model, X, y, loss="bce_with_logits", epochs=3, batch_size=5, seed=1,
                     track_grads=True, optimizer=nn.SGD(model.parameters(), lr=0.1),
                     progress=False)
    assert list(history.grad_norms) == ["L0", "L1", "L2"]

    twin = nn.MLP(2, [4, 4, 1], activation="tanh", seed=0)
    optimizer = nn.SGD(twin.parameters(), lr=0.1)
    import random
    rng, order = random.Random(1), list(range(12))
    expected = {"L0": [], "L1": [], "L2": []}
    for _ in range(3):
        rng.shuffle(order)
        sums = dict.fromkeys(expected, 0.0)
        for first in range(0, 12, 5):
            chosen = order[first:first + 5]
            nn.train_step(twin, optimizer, [X[i] for i in chosen], [y[i] for i in chosen],
                          loss="bce_with_logits")
            for s in nn.layer_grads(twin):
                sums[s.name] += s.norm
        for name in expected:
            expected[name].append(sums[name] / 3)              # 3 batches: 5, 5, 2
    for name in expected:
        assert history.grad_norms[name] == pytest.approx(expected[name], rel=1e-12)
    assert nn.fit(nn.MLP(2, [3, 1], seed=0), X, y, epochs=1, progress=False).grad_norms == {}
    figure = nn.plot.grad_norms(history)
    lines = figure.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["L0", "L1", "L2"]
    assert [list(line.get_ydata()) for line in lines] == list(history.grad_norms.values())
    assert figure.axes[0].get_yscale() == "log"
    # a layer with no gradient at all in an epoch (saturated units): a gap, on the same scale
    figure = nn.plot.grad_norms(nn.History(grad_norms={"L0": [1.0, 0.0, 2.0], "L1": [3.0] * 3}))
    assert figure.axes[0].get_yscale() == "log"
    assert list(figure.axes[0].get_lines()[0].get_ydata()) == [1.0, 0.0, 2.0]
    with pytest.raises(ValueError, match="track_grads=True"):
        nn.plot.grad_norms(nn.History())
    with pytest.raises(TypeError, match="track_grads must be True or False"):
        nn.fit(model, X, y, epochs=1, track_grads="yes", progress=False)
    only_bias = nn.Neuron(2, seed=0)
    only_bias.w = []                              # a model with a bias and no weight
    with pytest.raises(ValueError, match=r"fit\(track_grads=True\): Neuron has no weights"):
        nn.fit(only_bias, X, y, epochs=1, track_grads=True, progress=False)
    with pytest.raises(TypeError, match=r"fit\(track_grads=True\): expected an nn Module"):
        nn.fit(lambda x: x[0] * only_bias.b, X, y, epochs=1, track_grads=True,
               optimizer=nn.SGD([only_bias.b], lr=0.1), progress=False)


def test_validation_records_the_held_out_loss_and_accuracy_of_each_epoch_in_eval_mode():
    X, y = nn.data.moons(20, noise=0.2, seed=0)
    (X_train, y_train), (X_val, y_val) = (X[:14], y[:14]), (X[14:], y[14:])
    model = nn.MLP(2, [6, 1], seed=0, dropout=0.5)
    history = nn.fit(model, X_train, y_train, loss="bce_with_logits", epochs=3, l2=0.01,
                     optimizer=nn.SGD(model.parameters(), lr=0.5),
                     validation=(X_val, y_val), progress=False)

    twin = nn.MLP(2, [6, 1], seed=0, dropout=0.5)
    optimizer = nn.SGD(twin.parameters(), lr=0.5)
    losses, accuracies = [], []
    for _ in range(3):
        nn.train_step(twin, optimizer, X_train, y_train, loss="bce_with_logits", l2=0.01)
        twin.eval()
        scores = [twin(x) for x in X_val]
        losses.append(nn.binary_cross_entropy_with_logits(scores, y_val).data)   # no l2
        accuracies.append(sum((s.data > 0) == (t == 1) for s, t in zip(scores, y_val)) / 6)
        twin.train()
    assert history.val_loss == pytest.approx(losses, rel=1e-12)
    assert history.val_accuracy == accuracies
    assert "held-out loss" in repr(history)
    with pytest.raises(TypeError, match="validation must be a pair"):
        nn.fit(model, X, y, validation=X_val, progress=False)
    with pytest.raises(ValueError, match=r"fit \(validation\): 6 inputs but 5 targets"):
        nn.fit(model, X, y, validation=(X_val, y_val[:5]), progress=False)


# ---------------------------------------------------------------------------------------------
# lr_sweep


def moons():
    X, y = nn.data.moons(16, noise=0.1, seed=3)
    return X, [2 * t - 1 for t in y]


def factory():
    return nn.MLP(2, [6, 1], seed=4)


def test_lr_sweep_is_one_fresh_fit_per_rate_and_deterministic():
    X, y = moons()
    rates = [0.01, 0.1, 1.0]
    sweep = nn.lr_sweep(factory, X, y, lrs=rates, epochs=4, loss="hinge", batch_size=5)
    assert list(sweep) == rates
    for lr, history in sweep.items():
        model = factory()
        alone = nn.fit(model, X, y, loss="hinge", epochs=4, batch_size=5, progress=False,
                       optimizer=nn.SGD(model.parameters(), lr))
        assert history.loss == alone.loss and history.lr == [lr] * 4
        assert history.diverged is None
    again = nn.lr_sweep(factory, X, y, lrs=rates, epochs=4, loss="hinge", batch_size=5)
    assert [h.loss for h in again.values()] == [h.loss for h in sweep.values()]
    assert len({tuple(h.loss) for h in sweep.values()}) == 3


def test_lr_sweep_takes_an_optimizer_class_or_a_factory():
    X, y = moons()
    adam = nn.lr_sweep(factory, X, y, lrs=[0.01], epochs=3, loss="hinge", optimizer=nn.Adam)
    made = []

    def momentum(params, lr):
        made.append(lr)
        return nn.SGD(params, lr, momentum=0.9)

    with_momentum = nn.lr_sweep(factory, X, y, lrs=[0.01, 0.05], epochs=3, loss="hinge",
                                optimizer=momentum)
    assert made == [0.01, 0.05]
    model = factory()
    assert adam[0.01].loss == nn.fit(model, X, y, loss="hinge", epochs=3, progress=False,
                                     optimizer=nn.Adam(model.parameters(), 0.01)).loss
    model = factory()
    assert with_momentum[0.05].loss == nn.fit(
        model, X, y, loss="hinge", epochs=3, progress=False,
        optimizer=nn.SGD(model.parameters(), 0.05, momentum=0.9)).loss


def test_a_diverging_rate_is_reported_in_its_history_and_the_sweep_goes_on():
    X = [[float(i)] for i in range(-4, 5)]
    y = [3.0 * x[0] for x in X]
    sweep = nn.lr_sweep(lambda: nn.MLP(1, [1], seed=0), X, y, lrs=[0.01, 10.0, 0.02],
                        epochs=200, loss="mse", batch_size=3)
    slow, wild, other = sweep.values()
    assert slow.diverged is None and other.diverged is None and len(other.loss) == 200
    assert 0 < len(wild.loss) < 200 and wild.loss == sorted(wild.loss)       # growing
    assert wild.diverged.startswith(f"in epoch {len(wild.loss) + 1}, batch ")
    assert "diverged: in epoch" in repr(wild)
    figure = nn.plot.loss_curves(sweep)
    ax = figure.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["lr 0.01", f"lr 10 (diverged in epoch {len(wild.loss) + 1})", "lr 0.02"]
    lines = ax.get_lines()
    assert list(lines[0].get_ydata()) == slow.loss
    # the runaway loss leaves the chart: the cross sits on its top edge, 1000x the start
    top = 1000 * max(h.loss[0] for h in sweep.values())
    assert wild.loss[-1] > top and ax.get_ylim()[1] == top
    assert lines[2].get_marker() == "x" and list(lines[2].get_ydata()) == [top]
    assert ax.get_yscale() == "log"


def test_lr_sweep_warns_when_the_models_do_not_start_alike_and_checks_its_arguments():
    X, y = moons()
    with pytest.warns(UserWarning, match="different starting weights.*give the model a seed"):
        nn.lr_sweep(lambda: nn.MLP(2, [3, 1]), X, y, lrs=[0.1, 0.2], epochs=1, loss="hinge")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.lr_sweep(factory, X, y, lrs=[0.1, 0.2], epochs=1, loss="hinge")
    for lrs, message in [([], "lrs is empty"), ([0.1, -1.0], "finite number > 0"),
                         ([0.1, float("inf")], "finite number > 0"), ([0.1, 0.1], "twice"),
                         ("0.1", "must be a list")]:
        with pytest.raises((ValueError, TypeError), match=message):
            nn.lr_sweep(factory, X, y, lrs=lrs, epochs=1)
    with pytest.raises(TypeError, match="model_factory must be a function"):
        nn.lr_sweep(factory(), X, y, lrs=[0.1], epochs=1)
    with pytest.raises(TypeError, match="schedule would override"):
        nn.lr_sweep(factory, X, y, lrs=[0.1], epochs=1, schedule=lambda k: 0.1)


def test_loss_curves_draws_named_runs_and_held_out_losses():
    X, y = moons()
    runs = {}
    for name, l2 in [("no L2", 0.0), ("L2", 0.1)]:
        runs[name] = nn.fit(factory(), X[:10], y[:10], loss="hinge", epochs=5, l2=l2,
                            validation=(X[10:], y[10:]), progress=False)
    figure = nn.plot.loss_curves(runs, validation=True, title="L2")
    ax = figure.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == [
        "no L2", "no L2, held-out", "L2", "L2, held-out"]
    assert list(ax.get_lines()[3].get_ydata()) == runs["L2"].val_loss
    assert ax.get_lines()[1].get_linestyle() == "--"
    assert ax.get_title() == "L2"
    figure = nn.plot.loss_curves([runs["L2"].loss, runs["no L2"]])
    assert [line.get_label() for line in figure.axes[0].get_lines()] == ["run 1", "run 2"]
    with pytest.raises(ValueError, match="no histories"):
        nn.plot.loss_curves({})


@pytest.fixture(autouse=True)
def close_figures():
    yield
    import matplotlib.pyplot as plt
    plt.close("all")


def test_lr_sweep_refuses_a_reused_model_an_optimizer_that_ignores_the_rate_and_twins():
    X, y = moons()
    model = factory()
    with pytest.raises(TypeError, match="returned a model it had returned before"):
        nn.lr_sweep(lambda: model, X, y, lrs=[0.1, 0.2], epochs=1, loss="hinge")
    with pytest.raises(TypeError, match="returned None"):    # fit would pick its default
        nn.lr_sweep(factory, X, y, lrs=[0.1], epochs=1, optimizer=lambda params, lr: None)
    with pytest.raises(ValueError, match=r"lr=0.2\) made an optimizer with lr=0.1"):
        nn.lr_sweep(factory, X, y, lrs=[0.2], epochs=1,
                    optimizer=lambda params, lr: nn.SGD(params, 0.1))
    for lrs in ([0.1, Fraction(1, 10)], [1, 1.0]):
        with pytest.raises(ValueError, match="listed twice"):    # one key: a run would vanish
            nn.lr_sweep(factory, X, y, lrs=lrs, epochs=1)


def test_loss_curves_takes_one_history_and_names_what_is_not_a_run():
    X, y = moons()
    history = nn.fit(factory(), X, y, loss="hinge", epochs=3, progress=False)
    lines = nn.plot.loss_curves(history).axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["run 1"]
    assert list(lines[0].get_ydata()) == history.loss
    for given, message in [([1, 2], "run 1 must be a History or a list of losses, got int"),
                           ({"a": ["x", "y"]}, "a holds 'x', not a number"),
                           (None, "must be a dict"), ("loss", "must be a dict")]:
        with pytest.raises(TypeError, match=message):
            nn.plot.loss_curves(given)
