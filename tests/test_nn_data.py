"""nn.data: the generators against scikit-learn's (without noise), their geometry, determinism,
the digits, and the split."""

import math
import sys

import pytest

import nn


def as_set(X, y):
    return sorted((round(a, 12), round(b, 12), int(t)) for (a, b), t in zip(X, y))


def test_xor():
    X, y = nn.data.xor()
    assert X == [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    assert y == [int(a) ^ int(b) for a, b in X]


@pytest.mark.parametrize("n", [2, 7, 100])
def test_moons_without_noise_are_sklearns_moons(n):
    from sklearn.datasets import make_moons
    X, y = nn.data.moons(n, noise=0.0, seed=0)
    Xs, ys = make_moons(n_samples=n, noise=0.0, shuffle=False)
    assert as_set(X, y) == as_set(Xs.tolist(), ys.tolist())


@pytest.mark.parametrize("n", [2, 9, 100])
def test_circles_without_noise_are_sklearns_circles(n):
    from sklearn.datasets import make_circles
    X, y = nn.data.circles(n, noise=0.0, factor=0.3, seed=0)
    Xs, ys = make_circles(n_samples=n, noise=0.0, factor=0.3, shuffle=False)
    assert as_set(X, y) == as_set(Xs.tolist(), ys.tolist())


def test_moons_lie_on_their_half_circles_and_noise_moves_them_by_about_noise():
    X, y = nn.data.moons(101, noise=0.0, seed=3)
    assert y.count(0) == 50 and y.count(1) == 51
    for (a, b), t in zip(X, y):
        centre = (0.0, 0.0) if t == 0 else (1.0, 0.5)
        assert math.isclose(math.hypot(a - centre[0], b - centre[1]), 1.0, rel_tol=1e-12)
        assert (b >= -1e-12) if t == 0 else (b <= 0.5 + 1e-12)
    noisy, labels = nn.data.moons(2000, noise=0.1, seed=3)
    clean, _ = nn.data.moons(2000, noise=0.0, seed=3)          # the same shuffle
    assert labels == nn.data.moons(2000, noise=0.0, seed=3)[1]
    moved = [c - d for p, q in zip(noisy, clean) for c, d in zip(p, q)]
    std = math.sqrt(sum(m * m for m in moved) / len(moved))
    assert abs(std / 0.1 - 1) < 0.05


@pytest.mark.parametrize("make", [nn.data.moons, nn.data.circles, nn.data.spirals])
def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(make):
    assert make(60, seed=5) == make(60, seed=5)
    assert make(60, seed=5) != make(60, seed=6)
    X, y = make(60, seed=5)
    assert len(X) == len(y) == 60 and all(len(x) == 2 for x in X)


def test_spirals_have_the_classes_and_radii_asked_for():
    X, y = nn.data.spirals(100, classes=3, noise=0.0, seed=0)
    assert [y.count(k) for k in range(3)] == [34, 33, 33]
    assert all(math.hypot(a, b) <= 1 + 1e-12 for a, b in X)
    # without noise, arm k at radius r has angle 4k + 4r
    for (a, b), k in zip(X, y):
        r = math.hypot(a, b)
        if r > 0:
            t = 4 * k + 4 * r
            assert math.isclose(a, r * math.sin(t), abs_tol=1e-12)
            assert math.isclose(b, r * math.cos(t), abs_tol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda: nn.data.moons(1), "n must be an int >= 2"),
    (lambda: nn.data.moons(10, noise=-1), "noise must be >= 0"),
    (lambda: nn.data.circles(10, factor=1.5), "factor"),
    (lambda: nn.data.spirals(10, classes=1), "classes"),
])
def test_bad_arguments_are_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_digits_are_sklearns_8x8_digits_scaled_to_0_1():
    from sklearn.datasets import load_digits
    X, y = nn.data.digits()
    reference = load_digits()
    assert len(X) == len(y) == 1797 and all(len(x) == 64 for x in X)
    assert [[v * 16 for v in row] for row in X] == reference.data.tolist()
    assert y == reference.target.tolist() and set(y) == set(range(10))
    assert all(0.0 <= v <= 1.0 for row in X for v in row)
    assert nn.data.digits(scale=False)[0][0] == reference.data[0].tolist()


def test_digits_without_scikit_learn_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install scikit-learn .*chainrule\[digits\]"):
        nn.data.digits()


def test_train_test_split_holds_out_a_seeded_share():
    X = [[float(i)] for i in range(50)]
    y = list(range(50))
    X_train, X_test, y_train, y_test = nn.data.train_test_split(X, y, test_size=0.2, seed=1)
    assert len(X_test) == 10 and len(X_train) == 40
    assert sorted(y_train + y_test) == y                         # disjoint, and all of them
    assert all(x == [float(t)] for x, t in zip(X_train + X_test, y_train + y_test))
    assert nn.data.train_test_split(X, y, 0.2, seed=1) == (X_train, X_test, y_train, y_test)
    assert nn.data.train_test_split(X, y, 0.2, seed=2)[3] != y_test
    assert y_test != sorted(y_test)                               # shuffled
    assert len(nn.data.train_test_split(X, y, 0.25)[1]) == math.ceil(0.25 * 50)


@pytest.mark.parametrize("args, message", [
    (([[1.0]] * 3, [0] * 2, 0.2), "3 inputs but 2 labels"),
    (([[1.0]] * 3, [0] * 3, 1.0), "between 0 and 1"),
    (([[1.0]], [0], 0.5), "too few"),
])
def test_split_errors(args, message):
    with pytest.raises(ValueError, match=message):
        nn.data.train_test_split(*args)


def test_a_numpy_integer_seed_is_the_int_it_holds():
    np = pytest.importorskip("numpy")
    seed = np.int64(7)                       # e.g. from np.arange: random.Random refuses it
    assert nn.data.moons(12, seed=seed) == nn.data.moons(12, seed=7)
    X, y = nn.data.circles(12, seed=seed)
    assert nn.data.train_test_split(X, y, seed=seed) == nn.data.train_test_split(X, y, seed=7)
    assert nn.MLP(2, [3, 1], seed=seed).state_dict() == nn.MLP(2, [3, 1], seed=7).state_dict()
    masks = []
    for s in (seed, 7):
        dropout = nn.Dropout(0.5, seed=s)
        dropout([1.0] * 20)
        masks.append(dropout.mask)
    assert masks[0] == masks[1]
    runs = [nn.fit(nn.MLP(2, [3, 1], seed=0), X, [2 * t - 1 for t in y], epochs=2,
                   batch_size=4, seed=s, progress=False).loss for s in (seed, 7)]
    assert runs[0] == runs[1]
