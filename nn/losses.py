"""Losses made of Values: mse, mae, binary cross-entropy (on probabilities or logits), softmax,
cross-entropy, hinge. Each takes one prediction or a list, and averages."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from autograd import Value, define_op, sigmoid

__all__ = ["mse_loss", "mae_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "softmax", "log_softmax", "cross_entropy", "hinge_loss", "l2_penalty", "softplus"]

LOG_FLOOR = -100.0   # binary_cross_entropy clamps log(p) here, as PyTorch does


@define_op("softplus", local=lambda x, out: (sigmoid(x),))   # d softplus(x)/dx = sigmoid(x)
def softplus(x: float) -> float:
    """softplus(x) = log(1 + exp(x)), computed without overflow: max(x, 0) + log1p(exp(-|x|))."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


# ---------------------------------------------------------------------------------------------
# Pairing predictions with targets


def _is_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _pairs(name: str, prediction, target) -> list[tuple]:
    """[(prediction, target), ...] for one prediction or (nested) lists of equal shape."""
    if isinstance(prediction, Value) or _is_number(prediction):
        if not _is_number(target):
            raise TypeError(f"{name}: the target for a single prediction must be a number, "
                            f"got {type(target).__name__}: {target!r}")
        return [(prediction, float(target))]
    if not isinstance(prediction, Sequence) or isinstance(prediction, str):
        raise TypeError(f"{name}: predictions must be a Value, a number or a list of them, "
                        f"got {type(prediction).__name__}")
    if _is_number(target) or not isinstance(target, Sequence):
        raise TypeError(f"{name}: {len(prediction)} predictions need a list of "
                        f"{len(prediction)} targets, got {type(target).__name__}: {target!r}")
    if len(prediction) != len(target):
        raise ValueError(f"{name}: {len(prediction)} predictions but {len(target)} targets; "
                         "give one target per prediction")
    if not prediction:
        raise ValueError(f"{name}: no predictions (an empty list has no mean)")
    pairs = []
    for p, t in zip(prediction, target):
        pairs.extend(_pairs(name, p, t))
    return pairs


def _mean(terms: list[Value]) -> Value:
    """The average, summed left to right from the first term (no extra 0 node)."""
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total if len(terms) == 1 else total * (1.0 / len(terms))


def _as_value(x) -> Value:
    return x if isinstance(x, Value) else Value(x)


# ---------------------------------------------------------------------------------------------
# Regression


def mse_loss(prediction, target) -> Value:
    """Mean squared error: mean((p - t)**2)."""
    return _mean([(_as_value(p) - t) ** 2 for p, t in _pairs("mse_loss", prediction, target)])


def mae_loss(prediction, target) -> Value:
    """Mean absolute error: mean(|p - t|); its slope at p == t is 0, as PyTorch."""
    return _mean([abs(_as_value(p) - t) for p, t in _pairs("mae_loss", prediction, target)])


# ---------------------------------------------------------------------------------------------
# Binary classification


def _check_probability_target(name: str, t: float) -> None:
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"{name}: targets must be probabilities in [0, 1] (class 0 or 1), "
                         f"got {t!r}; for -1/+1 labels use hinge_loss or map them to (y + 1) / 2")


def _clamped_log(p: Value) -> Value:
    """log(p), clamped below at -100 as PyTorch's binary_cross_entropy (so p = 0 costs 100
    instead of infinity); where clamped it is a constant with slope 0."""
    if p.data > 0.0:
        out = p.log()
        if out.data >= LOG_FLOOR:
            return out
    return Value(LOG_FLOOR)


def binary_cross_entropy(probability, target) -> Value:
    """mean(-(t log p + (1 - t) log(1 - p))) for probabilities p in [0, 1] (after a sigmoid).

    log is clamped at -100 as PyTorch does. For scores (logits) use
    binary_cross_entropy_with_logits: it is exact for any logit.
    """
    name = "binary_cross_entropy"
    terms = []
    for p, t in _pairs(name, probability, target):
        p = _as_value(p)
        if not 0.0 <= p.data <= 1.0:
            raise ValueError(f"{name}: predictions must be probabilities in [0, 1], got "
                             f"{p.data!r}; apply sigmoid first, or use "
                             "binary_cross_entropy_with_logits on the raw score")
        _check_probability_target(name, t)
        # with a hard label only one term is there: -log p (t = 1) or -log(1 - p) (t = 0)
        if t == 1.0:
            terms.append(-_clamped_log(p))
        elif t == 0.0:
            terms.append(-_clamped_log(1.0 - p))
        else:
            terms.append(-(t * _clamped_log(p) + (1.0 - t) * _clamped_log(1.0 - p)))
    return _mean(terms)


def binary_cross_entropy_with_logits(logit, target) -> Value:
    """binary_cross_entropy(sigmoid(x), t), exact for any logit x:
    -log sigmoid(x) = softplus(-x) and -log(1 - sigmoid(x)) = softplus(x), so the loss is
    t softplus(-x) + (1 - t) softplus(x), never overflowing. Its slope is sigmoid(x) - t."""
    name = "binary_cross_entropy_with_logits"
    terms = []
    for x, t in _pairs(name, logit, target):
        x = _as_value(x)
        _check_probability_target(name, t)
        if t == 1.0:
            terms.append(softplus(-x))
        elif t == 0.0:
            terms.append(softplus(x))
        else:
            terms.append(t * softplus(-x) + (1.0 - t) * softplus(x))
    return _mean(terms)


def hinge_loss(score, label) -> Value:
    """micrograd's max-margin loss: mean(relu(1 - y * score)) for labels y = -1 or +1."""
    terms = []
    for s, y in _pairs("hinge_loss", score, label):
        s = _as_value(s)
        if y == 1.0:
            terms.append((1.0 - s).relu())
        elif y == -1.0:
            terms.append((1.0 + s).relu())
        else:
            raise ValueError(f"hinge_loss: labels must be -1 or +1, got {y!r}; "
                             "for 0/1 labels use 2 * y - 1")
    return _mean(terms)


def l2_penalty(parameters: Sequence[Value], alpha: float) -> Value:
    """alpha * sum(p * p): micrograd's L2 regularisation, added to a loss."""
    parameters = list(parameters)
    if not parameters:
        raise ValueError("l2_penalty: no parameters")
    total = parameters[0] * parameters[0]
    for p in parameters[1:]:
        total = total + p * p
    return alpha * total


# ---------------------------------------------------------------------------------------------
# Several classes: softmax and cross-entropy


def _logits(name: str, logits) -> list[Value]:
    if isinstance(logits, Value) or _is_number(logits) or not isinstance(logits, Sequence):
        raise TypeError(f"{name}: expects a list of logits (one per class), got "
                        f"{type(logits).__name__}: {logits!r}")
    if not logits:
        raise ValueError(f"{name}: an empty list of logits")
    return [_as_value(x) for x in logits]


def softmax(logits: Sequence) -> list[Value]:
    """exp(x_i - m) / sum_j exp(x_j - m), with m = max x (a constant: the result is the same,
    and exp never overflows)."""
    exps = [s.exp() for s in _shifted(_logits("softmax", logits))]
    total = exps[0]
    for e in exps[1:]:
        total = total + e
    return [e / total for e in exps]


def _shifted(logits: list[Value]) -> list[Value]:
    """x - max(x): the same softmax, and exp never overflows (the max is a constant)."""
    m = max(x.data for x in logits)
    return [x - m for x in logits]


def _logsumexp(shifted: list[Value]) -> Value:
    """log(sum exp(s)) of logits already shifted by their max."""
    total = shifted[0].exp()
    for s in shifted[1:]:
        total = total + s.exp()
    return total.log()


def log_softmax(logits: Sequence) -> list[Value]:
    """x_i - logsumexp(x), with the max subtracted: stable for any logits."""
    shifted = _shifted(_logits("log_softmax", logits))
    lse = _logsumexp(shifted)
    return [s - lse for s in shifted]


def _class_index(name: str, target, classes: int) -> int:
    if isinstance(target, bool) or not _is_number(target) or target != int(target):
        raise ValueError(f"{name}: the target must be a class index (an int), got {target!r}")
    index = int(target)
    if not 0 <= index < classes:
        raise ValueError(f"{name}: class index {index} is out of range for {classes} logits "
                         f"(0 to {classes - 1})")
    return index


def cross_entropy(logits, target) -> Value:
    """-log softmax(x)[target] = logsumexp(x) - x[target], for one list of logits and a class
    index, or a list of them and a list of indices (averaged). logsumexp subtracts the max
    first, so large logits never overflow. Its slope is softmax(x) - onehot(target)."""
    name = "cross_entropy"
    if (isinstance(logits, Sequence) and logits
            and not isinstance(logits[0], Value) and not _is_number(logits[0])):
        batch, targets = logits, target
        if _is_number(targets) or not isinstance(targets, Sequence):
            raise TypeError(f"{name}: {len(batch)} lists of logits need a list of "
                            f"{len(batch)} class indices, got {targets!r}")
        if len(batch) != len(targets):
            raise ValueError(f"{name}: {len(batch)} lists of logits but {len(targets)} "
                             "targets; give one class index per list")
    else:
        batch, targets = [logits], [target]
    terms = []
    for row, t in zip(batch, targets):
        row = _logits(name, row)
        index = _class_index(name, t, len(row))
        shifted = _shifted(row)
        terms.append(_logsumexp(shifted) - shifted[index])    # logsumexp(x) - x[target]
    return _mean(terms)
