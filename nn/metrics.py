"""What a model predicts, read off its outputs: the class of an output, and accuracy."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from autograd import Value, no_grad

from ._examples import examples, real_number
from .module import in_mode

__all__ = ["accuracy", "predicted_class", "default_threshold"]


def _number(x) -> float:
    return x.data if isinstance(x, Value) else x


def predicted_class(output, threshold: float = 0.0) -> int:
    """The class an output stands for: the index of the largest score for a list of scores,
    else 1 when the single score is above `threshold`, 0 otherwise. A nan or infinite score
    has no class: ValueError."""
    if isinstance(output, (list, tuple)):
        scores = [_number(o) for o in output]
        if not scores:
            raise ValueError("predicted_class: an empty list of scores has no class")
        if not all(map(math.isfinite, scores)):
            raise ValueError(f"predicted_class: the scores {scores} are not all finite; the "
                             "model's output has no class (did the training diverge?)")
        return max(range(len(scores)), key=scores.__getitem__)
    score = _number(output)
    if not math.isfinite(score):
        raise ValueError(f"predicted_class: the score is {score}; the model's output has no "
                         "class (did the training diverge?)")
    return 1 if score > threshold else 0


def is_correct(output, label, threshold: float) -> bool:
    """Whether the output's class is the label. For one score the label may be 0/1 or -1/+1:
    right when the score is above the threshold exactly for the positive labels."""
    predicted = predicted_class(output, threshold)
    if isinstance(output, (list, tuple)):
        return predicted == label
    return predicted == (1 if label > 0 else 0)


def default_threshold(model, threshold: float | None = None) -> float:
    """`threshold` if given; else 0.5 for a model whose output is a probability (an MLP with a
    sigmoid output), 0 for a score."""
    if threshold is not None:
        number = real_number(threshold)      # NumPy scalars too; 10**400 is beyond the range
        if number is None or not math.isfinite(number):
            raise ValueError(f"threshold must be a finite number, got {threshold!r}")
        return number
    return 0.5 if getattr(model, "output_activation", None) == "sigmoid" else 0.0


def accuracy(model: Callable, X: Sequence, y: Sequence, threshold: float | None = None) -> float:
    """The fraction of examples classified right. Several outputs: the argmax is the class.
    One output: class 1 (or +1) when above `threshold`: 0.5 for a sigmoid output, else 0.
    A nan or infinite output is an error, never counted as a class. The model runs in eval
    mode (no dropout), and is put back in the mode it was in."""
    X, y = examples(X, y, "accuracy")
    threshold = default_threshold(model, threshold)
    right = 0
    with no_grad(), in_mode(model, False):
        for i, (x, t) in enumerate(zip(X, y)):
            output = model(x)
            try:
                right += is_correct(output, t, threshold)
            except ValueError as error:
                raise ValueError(f"accuracy: example {i}: {error}") from None
    return right / len(X)
