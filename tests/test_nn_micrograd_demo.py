"""micrograd's demo.ipynb, run on chainrule: its cells as written, with only the imports changed
and `seed=1337` given to the MLP (chainrule draws weights from a private random.Random, not the
global one), against the losses and accuracies micrograd's notebook has stored."""

import random

import pytest

# micrograd's demo.ipynb (karpathy/micrograd, MIT licence), the stored output of its training
# cell: "step k loss ..., accuracy ...%" for the first steps
MICROGRAD_STORED = [
    (0, 0.8958441028683222, 50.0),
    (1, 1.7235905336972022, 81.0),
    (2, 0.7429006313851131, 77.0),
    (3, 0.7705641260584198, 82.0),
    (4, 0.3692793385976538, 84.0),
    (5, 0.313545481918522, 86.0),
]


def test_micrograds_demo_runs_unchanged_and_gives_micrograds_stored_losses():
    np = pytest.importorskip("numpy")
    datasets = pytest.importorskip("sklearn.datasets")

    from autograd import Value  # micrograd: from micrograd.engine import Value
    from nn import MLP  # micrograd: from micrograd.nn import Neuron, Layer, MLP

    np.random.seed(1337)
    random.seed(1337)
    X, y = datasets.make_moons(n_samples=100, noise=0.1)
    y = y * 2 - 1
    model = MLP(2, [16, 16, 1], seed=1337)          # micrograd: MLP(2, [16, 16, 1])
    assert len(model.parameters()) == 337

    def loss(batch_size=None):                       # micrograd's cell, verbatim
        if batch_size is None:
            Xb, yb = X, y
        else:
            ri = np.random.permutation(X.shape[0])[:batch_size]
            Xb, yb = X[ri], y[ri]
        inputs = [list(map(Value, xrow)) for xrow in Xb]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yb, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        alpha = 1e-4
        reg_loss = alpha * sum((p * p for p in model.parameters()))  # noqa: UP034
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
        return total_loss, sum(accuracy) / len(accuracy)

    printed = []
    for k in range(len(MICROGRAD_STORED)):          # micrograd's optimisation cell
        total_loss, acc = loss()
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        printed.append((k, total_loss.data, acc * 100))
    for (k, ours, our_acc), (_, theirs, their_acc) in zip(printed, MICROGRAD_STORED):
        assert ours == pytest.approx(theirs, rel=1e-13), k
        assert our_acc == their_acc
