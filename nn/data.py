"""Small data sets in pure Python (xor, moons, circles, spirals), the 8x8 digits, a split."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ._examples import random_from

__all__ = ["xor", "moons", "circles", "spirals", "digits", "train_test_split"]

Points = list[list[float]]


def _linspace(start: float, stop: float, n: int, endpoint: bool = True) -> list[float]:
    if n == 1:
        return [start]
    step = (stop - start) / (n - 1 if endpoint else n)
    return [start + i * step for i in range(n)]


def _check_n(n, least: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < least:
        raise ValueError(f"n must be an int >= {least}, got {n!r}")
    return n


def _noisy_shuffled(points: Points, labels: list[int], noise: float,
                    seed: int | None) -> tuple[Points, list[int]]:
    """Shuffle (as sklearn does), then add Gaussian noise, all from one random.Random(seed)."""
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    rng = random_from(seed)
    order = list(range(len(points)))
    rng.shuffle(order)
    X = [[x + rng.gauss(0.0, noise) if noise else x for x in points[i]] for i in order]
    return X, [labels[i] for i in order]


def xor() -> tuple[Points, list[int]]:
    """The four XOR points and their labels 0, 1, 1, 0."""
    return [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0]


def moons(n: int = 100, noise: float = 0.1, seed: int | None = 0) -> tuple[Points, list[int]]:
    """Two interleaving half circles, as sklearn's make_moons: the upper moon (label 0) around
    (0, 0), the lower (label 1) around (1, 0.5); evenly spaced along each arc, then shuffled
    and moved by Gaussian noise of standard deviation `noise`. Labels 0/1 (for micrograd's
    -1/+1, use 2 * y - 1)."""
    _check_n(n, 2)
    outer, inner = n // 2, n - n // 2
    points = ([[math.cos(t), math.sin(t)] for t in _linspace(0.0, math.pi, outer)]
              + [[1.0 - math.cos(t), 0.5 - math.sin(t)] for t in _linspace(0.0, math.pi, inner)])
    return _noisy_shuffled(points, [0] * outer + [1] * inner, noise, seed)


def circles(n: int = 100, noise: float = 0.05, factor: float = 0.5,
            seed: int | None = 0) -> tuple[Points, list[int]]:
    """A circle of radius 1 (label 0) around a circle of radius `factor` (label 1), as
    sklearn's make_circles, with Gaussian noise."""
    _check_n(n, 2)
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor must be between 0 and 1, got {factor!r}")
    outer, inner = n // 2, n - n // 2
    points = ([[math.cos(t), math.sin(t)]
               for t in _linspace(0.0, 2 * math.pi, outer, endpoint=False)]
              + [[factor * math.cos(t), factor * math.sin(t)]
                 for t in _linspace(0.0, 2 * math.pi, inner, endpoint=False)])
    return _noisy_shuffled(points, [0] * outer + [1] * inner, noise, seed)


def spirals(n: int = 150, classes: int = 3, noise: float = 0.2,
            seed: int | None = 0) -> tuple[Points, list[int]]:
    """`classes` interleaved spiral arms (CS231n's data set), n points in all (split as evenly
    as possible), labels 0 .. classes - 1. Arm k: radius r from 0 to 1, angle
    4k + 4r plus Gaussian noise (in radians) of standard deviation `noise`."""
    _check_n(n, 1)
    if isinstance(classes, bool) or not isinstance(classes, int) or not 2 <= classes <= n:
        raise ValueError(f"classes must be an int from 2 to n = {n}, got {classes!r}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    rng = random_from(seed)
    X, y = [], []
    for k in range(classes):
        count = n // classes + (1 if k < n % classes else 0)
        for r in _linspace(0.0, 1.0, count):
            t = 4.0 * k + 4.0 * r + (rng.gauss(0.0, noise) if noise else 0.0)
            X.append([r * math.sin(t), r * math.cos(t)])
            y.append(k)
    order = list(range(len(X)))
    rng.shuffle(order)
    return [X[i] for i in order], [y[i] for i in order]


def digits(scale: bool = True) -> tuple[Points, list[int]]:
    """The 1,797 8x8 handwritten digits that ship inside scikit-learn: 64 pixel values per
    image (0..16, divided by 16 when `scale`), labels 0..9. Needs scikit-learn."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise ImportError(
            "nn.data.digits() needs scikit-learn, which ships the 8x8 digits: "
            "pip install scikit-learn  (or pip install 'chainrule[digits]')") from error
    bunch = load_digits()
    divisor = 16.0 if scale else 1.0
    X = [[float(v) / divisor for v in row] for row in bunch.data.tolist()]
    return X, [int(t) for t in bunch.target.tolist()]


def train_test_split(X: Sequence, y: Sequence, test_size: float = 0.2,
                     seed: int | None = 0) -> tuple[list, list, list, list]:
    """Shuffle with random.Random(seed) and hold out ceil(test_size * n) examples:
    returns X_train, X_test, y_train, y_test (sklearn's order)."""
    if len(X) != len(y):
        raise ValueError(f"train_test_split: {len(X)} inputs but {len(y)} labels")
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"train_test_split: test_size must be between 0 and 1, "
                         f"got {test_size!r}")
    n = len(X)
    n_test = math.ceil(test_size * n)
    if not 0 < n_test < n:
        raise ValueError(f"train_test_split: {n} examples are too few to hold out "
                         f"{test_size:.0%} and keep some for training")
    order = list(range(n))
    random_from(seed).shuffle(order)
    test, train = order[:n_test], order[n_test:]
    return ([X[i] for i in train], [X[i] for i in test],
            [y[i] for i in train], [y[i] for i in test])
