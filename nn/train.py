"""fit(): the training loop (forward, loss, zero_grad, backward, step), with a history and a
progress bar; accuracy()."""

from __future__ import annotations

import gc
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from autograd import Value, no_grad

from . import losses
from .module import Module
from .optim import Adam, Optimizer

__all__ = ["fit", "accuracy", "History", "LOSSES"]

LOSSES: dict[str, Callable] = {
    "mse": losses.mse_loss,
    "mae": losses.mae_loss,
    "bce": losses.binary_cross_entropy,
    "bce_with_logits": losses.binary_cross_entropy_with_logits,
    "cross_entropy": losses.cross_entropy,
    "hinge": losses.hinge_loss,
}

PROGRESS_DELAY = 1.0   # seconds: shorter runs show no progress bar at all


@dataclass
class History:
    """What fit() measured, one entry per epoch: mean loss, accuracy (None when the targets
    are not class labels), learning rate, and seconds since the start."""
    loss: list[float] = field(default_factory=list)
    accuracy: list[float | None] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """Wall time of the whole run."""
        return self.time[-1] if self.time else 0.0

    def __repr__(self) -> str:
        if not self.loss:
            return "History(no epochs)"
        acc = self.accuracy[-1]
        shown = f", accuracy {acc:.1%}" if acc is not None else ""
        return (f"History({len(self.loss)} epochs in {self.seconds:.2f} s: "
                f"loss {self.loss[0]:.4g} -> {self.loss[-1]:.4g}{shown})")


def _predicted(output, threshold: float) -> int | float:
    """The class an output stands for: argmax for a list, else 1 above the threshold."""
    if isinstance(output, (list, tuple)):
        scores = [o.data if isinstance(o, Value) else o for o in output]
        return max(range(len(scores)), key=scores.__getitem__)
    score = output.data if isinstance(output, Value) else output
    return 1 if score > threshold else 0


def _correct(output, label, threshold: float) -> bool:
    """For one output (a score) the label may be 0/1 or -1/+1: right when the score is above
    the threshold exactly for the positive labels."""
    predicted = _predicted(output, threshold)
    if isinstance(output, (list, tuple)):
        return predicted == label
    return predicted == (1 if label > 0 else 0)


def _threshold(model, threshold: float | None) -> float:
    """0.5 for a model whose output is a probability (sigmoid), 0 for a score."""
    if threshold is not None:
        return threshold
    return 0.5 if getattr(model, "output_activation", None) == "sigmoid" else 0.0


CLASSIFICATION = ("bce", "bce_with_logits", "cross_entropy", "hinge")


def _are_labels(loss, y: Sequence) -> bool:
    """Whether the targets are class labels (so accuracy means something): a classification
    loss by name, or targets that are all 0/1 or all -1/+1 (XOR with mse, say)."""
    if isinstance(loss, str) and loss in CLASSIFICATION:
        return True
    values = set(y) if all(isinstance(t, (int, float)) for t in y) else set()
    return bool(values) and (values <= {0, 1} or values <= {-1, 1})


def accuracy(model: Callable, X: Sequence, y: Sequence, threshold: float | None = None) -> float:
    """The fraction of examples classified right. Several outputs: the argmax is the class.
    One output: class 1 (or +1) when above `threshold`: 0.5 for a sigmoid output, else 0."""
    if len(X) != len(y):
        raise ValueError(f"accuracy: {len(X)} inputs but {len(y)} labels")
    if not X:
        raise ValueError("accuracy: no examples")
    threshold = _threshold(model, threshold)
    with no_grad():
        right = sum(_correct(model(x), t, threshold) for x, t in zip(X, y))
    return right / len(X)


# ---------------------------------------------------------------------------------------------
# Progress: tqdm (notebook or terminal, via tqdm.auto) if installed, else one line of text


class _TextProgress:
    """One line on a terminal, rewritten at most twice a second; nothing when not a terminal."""

    def __init__(self, total: int, description: str) -> None:
        self.total, self.description, self.count = total, description, 0
        self.start = self.last = time.perf_counter()
        self.shown = False
        self.stream = sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()

    def set_postfix_str(self, text: str, refresh: bool = False) -> None:
        self.postfix = text

    def update(self, n: int = 1) -> None:
        self.count += n
        now = time.perf_counter()
        if self.enabled and now - self.start >= PROGRESS_DELAY and (
                now - self.last >= 0.5 or self.count == self.total):
            self.last = now
            self.shown = True
            self.stream.write(f"\r{self.description}: {self.count}/{self.total} "
                              f"[{now - self.start:.1f}s] {getattr(self, 'postfix', '')}  ")
            self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


class _NoProgress:
    def set_postfix_str(self, text: str, refresh: bool = False) -> None:
        pass

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(enabled: bool, total: int, description: str):
    if not enabled:
        return _NoProgress()
    try:
        import tqdm.std
    except ImportError:
        return _TextProgress(total, description)
    # In Jupyter, tqdm's notebook bar needs ipywidgets; without it tqdm.auto would only warn
    # and draw the text bar anyway, so take the text bar directly.
    try:
        import ipywidgets  # noqa: F401
        from tqdm.auto import tqdm
    except ImportError:
        tqdm = tqdm.std.tqdm
    return tqdm(total=total, desc=description, unit="epoch", delay=PROGRESS_DELAY,
                leave=True, dynamic_ncols=True)


# ---------------------------------------------------------------------------------------------
# fit


def fit(model: Module, X: Sequence, y: Sequence, loss: str | Callable = "mse",
        optimizer: Optimizer | None = None, epochs: int = 100, batch_size: int | None = None,
        seed: int | None = 0, progress: bool = True, l2: float = 0.0,
        schedule: Callable[[int], float] | None = None,
        threshold: float | None = None, classify: bool | None = None) -> History:
    """Train `model` on inputs X and targets y; returns the History.

    Each step: forward over a batch, loss (+ l2 * sum(p*p) over the parameters, micrograd's
    regularisation), zero_grad, backward, optimizer.step(). Every epoch visits each example
    once, in an order shuffled by random.Random(seed) when there are several batches
    (batch_size=None: the whole data set, one step per epoch).

    loss: "mse", "mae", "bce", "bce_with_logits", "cross_entropy", "hinge", or a function
    (predictions, targets) -> Value. optimizer: default Adam(lr=0.01). schedule(epoch) sets
    the learning rate before each epoch (epoch counts from 0). The accuracy of the predictions
    made during each epoch is recorded when the targets are class labels: `classify`, or when
    None, for a classification loss ("bce", "bce_with_logits", "cross_entropy", "hinge") or
    targets all 0/1 or all -1/+1. `threshold`: as for accuracy().

    Speed: a graph of Values holds no reference cycles, so reference counting frees each
    step's graph, and fit pauses Python's cyclic garbage collector while it trains (its
    passes over a large live graph would otherwise take most of the time); the collector's
    state is restored when fit returns or raises.
    """
    if len(X) != len(y):
        raise ValueError(f"fit: {len(X)} inputs but {len(y)} targets")
    if not X:
        raise ValueError("fit: no examples")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"fit: epochs must be an int >= 0, got {epochs!r}")
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"fit: unknown loss {loss!r}; choose one of {', '.join(LOSSES)} "
                             "or pass a function (predictions, targets) -> Value")
        loss_function = LOSSES[loss]
    elif callable(loss):
        loss_function = loss
    else:
        raise TypeError(f"fit: loss must be a name or a function, got {type(loss).__name__}")
    n = len(X)
    if batch_size is None:
        batch_size = n
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"fit: batch_size must be a positive int or None, got {batch_size!r}")
    params = model.parameters()
    if optimizer is None:
        optimizer = Adam(params, lr=0.01)
    if l2 and not params:
        raise ValueError("fit: l2 needs a model with parameters")
    known = {id(p) for p in params}
    to_zero = params + [p for p in optimizer.params if id(p) not in known]
    labels = _are_labels(loss, y) if classify is None else classify
    threshold = _threshold(model, threshold)
    rng = random.Random(seed)
    order = list(range(n))
    history = History()
    bar = _progress(progress, epochs, f"training {type(model).__name__}")
    collecting = gc.isenabled()
    gc.disable()
    start = time.perf_counter()
    try:
        for epoch in range(epochs):
            if schedule is not None:
                optimizer.lr = schedule(epoch)
            if batch_size < n:
                rng.shuffle(order)
            total_loss, right = 0.0, 0
            for first in range(0, n, batch_size):
                batch = order[first:first + batch_size]
                inputs = [X[i] for i in batch]
                targets = [y[i] for i in batch]
                outputs = [model(x) for x in inputs]
                value = loss_function(outputs, targets)
                if not isinstance(value, Value):
                    raise TypeError(f"fit: the loss must return a Value, "
                                    f"got {type(value).__name__}")
                if l2:
                    value = value + losses.l2_penalty(params, l2)
                for p in to_zero:
                    p.grad = 0.0
                value.backward()
                optimizer.step()
                total_loss += value.data * len(batch)
                if labels:
                    right += sum(_correct(o, t, threshold) for o, t in zip(outputs, targets))
                del value, outputs
            history.loss.append(total_loss / n)
            history.accuracy.append(right / n if labels else None)
            history.lr.append(optimizer.lr)
            history.time.append(time.perf_counter() - start)
            shown = f"loss={history.loss[-1]:.4g}"
            if labels:
                shown += f", acc={right / n:.1%}"
            bar.set_postfix_str(shown, refresh=False)
            bar.update(1)
    finally:
        if collecting:
            gc.enable()
        bar.close()
    return history

