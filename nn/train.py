"""Training: train_step (one step of the loop, for your own loops) and fit (epochs of batches,
each one train_step), with a History; TrainingDiverged when the loss becomes nan or inf."""

from __future__ import annotations

import gc
import math
import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from autograd import UndefinedMathError, Value, no_grad

from . import losses
from ._examples import examples, random_from, real_number, whole_number
from .gradients import layer_norms, weight_groups
from .metrics import default_threshold, is_correct
from .module import Module, in_mode, set_mode
from .optim import Adam, Optimizer
from .progress import progress_bar

__all__ = ["train_step", "fit", "History", "StepResult", "TrainingDiverged", "LOSSES"]

LOSSES: dict[str, Callable] = {
    "mse": losses.mse_loss,
    "mae": losses.mae_loss,
    "bce": losses.binary_cross_entropy,
    "bce_with_logits": losses.binary_cross_entropy_with_logits,
    "cross_entropy": losses.cross_entropy,
    "hinge": losses.hinge_loss,
}
CLASSIFICATION = frozenset({"bce", "bce_with_logits", "cross_entropy", "hinge"})


class TrainingDiverged(ValueError):
    """Training stopped because the loss (or an output, a gradient or a parameter) became nan
    or infinite, as Keras' TerminateOnNaN. The model keeps the parameters it had before the
    step that failed. `epoch` and `batch` count from 1 (None outside fit); `lr` is the learning
    rate of that step; `history` holds the epochs completed before (fit only)."""

    def __init__(self, message: str, reason: str = "", epoch: int | None = None,
                 batch: int | None = None, lr: float | None = None,
                 history: History | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message
        self.epoch, self.batch, self.lr, self.history = epoch, batch, lr, history


class StepResult(NamedTuple):
    """What one train_step did: the loss before the update (a float, l2 included) and the
    model's outputs for the batch as numbers (a float, or a list of floats, per example)."""
    loss: float
    outputs: list


@dataclass
class History:
    """What fit() measured, one entry per epoch: mean loss, accuracy (None when not computed),
    learning rate, and seconds since the start. With validation data: the held-out loss and
    accuracy (`val_loss`, `val_accuracy`). With track_grads=True: `grad_norms`, each layer's
    weight-gradient norm per epoch, by layer name. `diverged` says why and where the run
    stopped when it diverged (None otherwise; set on TrainingDiverged's history)."""
    loss: list[float] = field(default_factory=list)
    accuracy: list[float | None] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float | None] = field(default_factory=list)
    grad_norms: dict[str, list[float]] = field(default_factory=dict)
    diverged: str | None = None

    @property
    def seconds(self) -> float:
        """Wall time of the whole run."""
        return self.time[-1] if self.time else 0.0

    def __repr__(self) -> str:
        stopped = f"; diverged: {self.diverged}" if self.diverged else ""
        if not self.loss:
            return f"History(no epochs{stopped})"
        acc = self.accuracy[-1]
        shown = f", accuracy {acc:.1%}" if acc is not None else ""
        held_out = f", held-out loss {self.val_loss[-1]:.4g}" if self.val_loss else ""
        return (f"History({len(self.loss)} epochs in {self.seconds:.2f} s: "
                f"loss {self.loss[0]:.4g} -> {self.loss[-1]:.4g}{shown}{held_out}{stopped})")


# ---------------------------------------------------------------------------------------------
# One step


def _finite(xs) -> bool:
    """Whether every number is finite: one fast sum (inf or nan anywhere makes it non-finite),
    and only if that overflows, a look at each."""
    return math.isfinite(sum(xs)) or all(map(math.isfinite, xs))


def _as_numbers(output):
    """A model's output as numbers: a Value's data, a list's each, anything else as it is."""
    if isinstance(output, Value):
        return output.data
    if isinstance(output, (list, tuple)):
        return [_as_numbers(o) for o in output]
    return output


def _parameters(model) -> list[Value]:
    """The model's parameters: a Module's, or what a model of your own returns from its
    parameters() method (as micrograd's classes have); none for a plain function."""
    if isinstance(model, Module):
        return model.parameters()
    method = getattr(model, "parameters", None)
    return list(method()) if callable(method) else []


def _flat(numbers_: list) -> list[float]:
    flat = []
    for x in numbers_:
        if isinstance(x, list):
            flat.extend(_flat(x))
        elif isinstance(x, (int, float)):
            flat.append(x)
    return flat


class _Trainer:
    """The checked pieces of a training step (model, optimizer, loss, l2), made once per fit;
    step() is one step of the loop."""

    def __init__(self, model: Callable, optimizer, loss, l2: float, who: str,
                 compile: bool = False) -> None:
        self.who = who
        if not isinstance(compile, bool):
            raise TypeError(f"{who}: compile must be True or False, got {compile!r}")
        if compile and not isinstance(model, Module):
            raise TypeError(f"{who}: compile=True needs an nn Module (its parameters are what "
                            f"the compiled code differentiates), got {type(model).__name__}")
        self.compile = compile
        self.compiled = None                 # the compiled code, found at the first step
        if isinstance(loss, str):
            if loss not in LOSSES:
                raise ValueError(f"{who}: unknown loss {loss!r}; choose one of "
                                 f"{', '.join(LOSSES)} or pass a function "
                                 "(predictions, targets) -> Value")
            self.name, self.loss = loss, LOSSES[loss]
        elif callable(loss):
            self.name, self.loss = None, loss
        else:
            raise TypeError(f"{who}: loss must be a name or a function, "
                            f"got {type(loss).__name__}")
        number = real_number(l2)
        if number is None or not (math.isfinite(number) and number >= 0):
            raise ValueError(f"{who}: l2 must be a finite number >= 0, got {l2!r}")
        self.l2 = number
        if isinstance(optimizer, type):
            raise TypeError(f"{who}: optimizer must be an optimizer object, got the class "
                            f"{optimizer.__name__}; write {optimizer.__name__}"
                            "(model.parameters(), lr=...)")
        if not (hasattr(optimizer, "params") and callable(getattr(optimizer, "step", None))):
            raise TypeError(f"{who}: optimizer must be an nn optimizer such as "
                            f"nn.SGD(model.parameters(), lr=0.1), got {type(optimizer).__name__}")
        self.model, self.optimizer = model, optimizer
        self.params = _parameters(model)
        if self.l2 and not self.params:
            raise ValueError(f"{who}: l2 adds l2 * sum(p * p) over the model's parameters, and "
                             f"this {type(model).__name__} has no parameters() to give them")
        mine = {id(p) for p in self.params}
        self.updated = list(optimizer.params)       # what optimizer.step() changes
        if self.params and not any(id(p) in mine for p in self.updated):
            raise ValueError(f"{who}: the optimizer holds none of this model's parameters (was "
                             "it made for another model?); make it from this one: "
                             "nn.SGD(model.parameters(), lr=...)")
        # grads to zero: the model's, and any other the optimizer updates (a loss's own)
        self.to_zero = self.params + [p for p in self.updated if id(p) not in mine]
        self.updates_params = len(self.updated) == len(self.params) and all(
            a is b for a, b in zip(self.updated, self.params))     # the same, in order

    def step(self, inputs: list, targets: list) -> StepResult:
        """forward over the batch, loss (+ l2 * sum(p*p)), zero_grad, backward, optimizer.step.
        Python's cyclic garbage collector is paused meanwhile: a graph of Values holds no
        reference cycles, reference counting frees it, and the collector's passes over a large
        live graph would otherwise take most of the time."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._step(inputs, targets)
        finally:
            if collecting:
                gc.enable()

    def _step(self, inputs: list, targets: list) -> StepResult:
        if self.compile:                      # compiled code (nn/_compiled.py)
            from ._compiled import CompiledBatch, Fallback, FusedLoss, compiled_step
            try:
                compiled = self.compiled
                if compiled is None:          # once per fit (or train_step call); with
                    compiled = self.compiled = compiled_step(   # respect to all it updates
                        self.model, self.to_zero, self.loss, inputs, targets, self.who)
                if isinstance(compiled, FusedLoss):     # the model and the loss, one function
                    return self._run_fused(compiled, inputs, targets)
                return self._run(inputs, targets, CompiledBatch(compiled, inputs))
            except Fallback:                  # trouble: the engine redoes it, and says what
                for p in self.to_zero:
                    p.grad = 0.0
        return self._run(inputs, targets)

    def _run_fused(self, fused, inputs: list, targets: list) -> StepResult:
        """The step with the loss compiled too: the grads come as numbers (no graph at all);
        the l2 penalty alpha * (p0*p0 + p1*p1 + ...) and its grad 2 alpha p are added on
        floats, in the engine's order. Any trouble raises Fallback (the engine redoes it)."""
        from ._compiled import Fallback
        # compiled with respect to the model's parameters, then any other Value the
        # optimizer updates (to_zero); the l2 penalty is over the model's parameters only
        n = len(self.params)
        values = [p.data for p in self.to_zero]
        loss, grads, outputs = fused.run(values, inputs, targets)
        if self.l2:
            alpha, total = self.l2, values[0] * values[0]
            for v in values[1:n]:
                total = total + v * v
            loss = loss + alpha * total
            grads = [g + v * alpha + v * alpha for g, v in zip(grads, values[:n])] + \
                list(grads[n:])
            if not _finite(grads):
                raise Fallback
        if not math.isfinite(loss):
            raise Fallback
        for p, g in zip(self.to_zero, grads):
            p.grad = g
        self._update(values if self.updates_params else None)
        return StepResult(loss, outputs)

    def _run(self, inputs: list, targets: list, batch=None) -> StepResult:
        model, optimizer = self.model, self.optimizer
        try:
            outputs = [model(x) for x in inputs] if batch is None else batch.outputs
            if self.name == "cross_entropy":
                _check_logits(outputs[0], self.who)
            value = self.loss(outputs, targets)
            if not isinstance(value, Value):
                raise TypeError(f"{self.who}: the loss must return a Value, "
                                f"got {type(value).__name__}")
            if self.l2:
                value = value + losses.l2_penalty(self.params, self.l2)
            numbers_ = [_as_numbers(o) for o in outputs]
            if not math.isfinite(value.data):
                self._diverged(f"the loss became {value.data}")
            if not _finite(_flat(numbers_)):
                self._diverged("an output of the model became nan or infinite")
            for p in self.to_zero:
                p.grad = 0.0
            value.backward()
            if batch is not None:
                batch.add_grads()                 # d loss/d parameter from the compiled code
        except UndefinedMathError as error:          # the engine met nan or inf on the way
            if getattr(optimizer, "steps", 1) == 0:
                raise                                # nothing trained yet: show it as it is
            raise TrainingDiverged(*self._message(f"{error}")) from error
        updated = self.updated
        if not _finite([p.grad for p in updated]):
            bad = next(p for p in updated if not math.isfinite(p.grad))
            self._diverged(f"the gradient of {_name(bad)} became {bad.grad}")
        self._update()
        return StepResult(value.data, numbers_)

    def _update(self, before: list[float] | None = None) -> None:
        """optimizer.step(); an update to inf or nan puts back the parameters as they were
        (`before`: their numbers, if the caller has them) and raises TrainingDiverged."""
        optimizer, updated = self.optimizer, self.updated
        if before is None:
            before = [p.data for p in updated]
        try:
            optimizer.step()
        except UndefinedMathError as error:         # a Value refused an update to inf or nan
            if error.node is None:
                raise
            for p, x in zip(updated, before):       # keep the parameters of the last good step
                p.data = x
            self._diverged(f"the update made {_name(error.node)} {error.result}")
        if not _finite([p.data for p in updated]):
            bad = next(p for p in updated if not math.isfinite(p.data))
            reason = f"the update made {_name(bad)} {bad.data}"
            for p, x in zip(updated, before):       # keep the parameters of the last good step
                p.data = x
            self._diverged(reason)

    def _message(self, reason: str) -> tuple[str, str]:
        lr = getattr(self.optimizer, "lr", None)
        now = f" (lr={lr:g} now)" if isinstance(lr, (int, float)) else ""
        return (f"{self.who}: training diverged: {reason}; try a smaller learning rate{now}, "
                "or clip the gradients (nn.clip_grad_norm)", reason)

    def _diverged(self, reason: str):
        if getattr(self.optimizer, "steps", 1) == 0:
            raise ValueError(f"{self.who}: {reason} before the optimizer's first step: the "
                             "inputs or the model's starting weights give no finite loss")
        raise TrainingDiverged(*self._message(reason))


def _name(p: Value) -> str:
    return repr(p.label) if p.label else "a parameter"


def _check_logits(output, who: str) -> None:
    if not isinstance(output, (list, tuple)) or len(output) < 2:
        raise ValueError(f"{who}: cross_entropy needs one output per class (a list of logits), "
                         "but the model gives a single number per example; build it with one "
                         "output per class (nn.MLP(nin, [..., 10]) for 10 classes), or for two "
                         "classes use loss='bce_with_logits' on the single output")


def train_step(model: Callable, optimizer: Optimizer, inputs: Sequence, targets: Sequence,
               loss: str | Callable = "mse", l2: float = 0.0,
               compile: bool = False) -> StepResult:
    """One step of the training loop, as you would write it by hand:

        outputs = [model(x) for x in inputs]
        value = loss(outputs, targets) + l2 * sum(p * p for p in model.parameters())
        model.zero_grad(); value.backward(); optimizer.step()

    Returns a StepResult (loss, outputs): the loss before the update, and the outputs as
    numbers (the graph is freed at once). `loss`: a name as in fit(), or a function
    (predictions, targets) -> Value. A loss, output, gradient or update that is nan or
    infinite raises TrainingDiverged, and the model keeps the parameters it had.
    compile=True: the step runs as compiled Python (as in fit), compiled on the first call for
    this model and reused while the model is unchanged.
    """
    inputs, targets = examples(inputs, targets, "train_step")
    return _Trainer(model, optimizer, loss, l2, "train_step", compile).step(inputs, targets)


# ---------------------------------------------------------------------------------------------
# fit


def fit(model: Module, X: Sequence, y: Sequence, loss: str | Callable = "mse",
        optimizer: Optimizer | None = None, epochs: int = 100, batch_size: int | None = None,
        seed: int | None = 0, progress: bool = True, l2: float = 0.0,
        schedule: Callable[[int], float] | None = None,
        threshold: float | None = None, classify: bool | None = None,
        validation: tuple[Sequence, Sequence] | None = None,
        track_grads: bool = False, compile: bool = False) -> History:
    """Train `model` on inputs X and targets y (lists, tuples or NumPy arrays); returns the
    History.

    Each epoch visits every example once, in batches (batch_size=None: the whole data set,
    one step per epoch), in an order shuffled by random.Random(seed) when there are several;
    each batch is one train_step(): forward, loss (+ l2 * sum(p*p), micrograd's
    regularisation), zero_grad, backward, optimizer.step().

    loss: "mse", "mae", "bce", "bce_with_logits", "cross_entropy", "hinge", or a function
    (predictions, targets) -> Value. optimizer: default Adam(lr=0.01). schedule(epoch) gives
    the learning rate of each epoch (epoch counts from 0). accuracy is recorded when `classify`
    is True, or when it is None for a loss whose targets are class labels ("bce",
    "bce_with_logits", "cross_entropy", "hinge"); `threshold`: as for accuracy().

    The model trains in training mode (Dropout active; the training loss and accuracy are
    those of the batches as trained) and is put back in the mode it was in afterwards.
    validation=(X_val, y_val): after each epoch, the loss (without l2) and accuracy on these
    held-out examples, in eval mode, in history.val_loss and val_accuracy.
    track_grads=True: each layer's weight-gradient norm (see nn.layer_grads), averaged over
    the epoch's batches, in history.grad_norms (nn.plot.grad_norms draws them).

    Everything is checked before the first step (finite data, labels the loss accepts, the
    model's output against the loss, l2 >= 0, every scheduled rate finite, an optimizer over
    this model's parameters). A run whose loss becomes nan or infinite stops at once with
    TrainingDiverged (its `.history` holds the epochs before, with `diverged` set).

    compile=True: the model is traced once and its forward and backward pass run as generated
    straight-line Python (autograd.compile), reused for every example: the history is the
    interpreted one's to rounding, many times faster. A built-in loss (each is a mean of
    per-example terms) is compiled with the model into one function over a batch; any other
    loss (a function of yours, or "bce", whose log is clamped by an `if` on the data) runs on
    the engine, on the compiled model's outputs. The compiled code is reused while the model
    keeps its parameters and, in every module, its type, mode and plain settings (an
    activation, a number it stores); a change there compiles anew. A model whose graph
    changes with its input (an `if` on x.data) or by chance (Dropout in training mode) is
    refused. Not seen: a forward that reads a global, or branches on a parameter's data.
    """
    X, y = examples(X, y, "fit")
    if whole_number(epochs) is None or epochs < 0:          # an int, or a NumPy integer
        raise ValueError(f"fit: epochs must be an int >= 0, got {epochs!r}")
    epochs = whole_number(epochs)
    n = len(X)
    if batch_size is None:
        batch_size = n
    if whole_number(batch_size) is None or batch_size < 1:
        raise ValueError(f"fit: batch_size must be a positive int or None, got {batch_size!r}")
    batch_size = whole_number(batch_size)
    if classify is not None and not isinstance(classify, bool):
        raise TypeError(f"fit: classify must be True, False or None, got {classify!r}")
    if optimizer is None:
        params = _parameters(model)
        if not params:
            raise ValueError("fit: the model has no parameters to train (give it a "
                             "parameters() method, or pass optimizer=...)")
        optimizer = Adam(params, lr=0.01)
    trainer = _Trainer(model, optimizer, loss, l2, "fit", compile)
    rates = _rates(schedule, epochs)
    _check_targets(trainer, model, X[0], y)
    labels = classify if classify is not None else trainer.name in CLASSIFICATION
    threshold = default_threshold(model, threshold)
    if validation is not None:
        validation = _held_out(validation, trainer, model)
    if not isinstance(track_grads, bool):
        raise TypeError(f"fit: track_grads must be True or False, got {track_grads!r}")
    try:
        groups = weight_groups(model) if track_grads else []
    except (TypeError, ValueError) as error:     # say which setting asked for the weights
        raise type(error)(f"fit(track_grads=True): {error}") from None

    rng = random_from(seed)
    order = list(range(n))
    history = History()
    history.grad_norms.update((name, []) for name, _ in groups)
    bar = progress_bar(progress, epochs, f"training {type(model).__name__}")
    collecting = gc.isenabled()
    gc.disable()
    restore_modes = set_mode(model, True)          # training mode; put back afterwards
    start = time.perf_counter()
    try:
        for epoch in range(epochs):
            if rates is not None:
                optimizer.lr = rates[epoch]
            if batch_size < n:
                rng.shuffle(order)
            total_loss, right = 0.0, 0
            norms = [0.0] * len(groups)
            for batch, first in enumerate(range(0, n, batch_size)):
                chosen = order[first:first + batch_size]
                targets = [y[i] for i in chosen]
                try:
                    result = trainer.step([X[i] for i in chosen], targets)
                except TrainingDiverged as error:
                    raise _stopped(error, epoch, epochs, batch, n, batch_size, optimizer,
                                   history) from (error.__cause__ or error)
                total_loss += result.loss * len(chosen)
                if labels:
                    right += sum(is_correct(o, t, threshold)
                                 for o, t in zip(result.outputs, targets))
                if groups:                  # the grads this step's update used
                    norms = [a + b for a, b in zip(norms, layer_norms(groups))]
            history.loss.append(total_loss / n)
            history.accuracy.append(right / n if labels else None)
            history.lr.append(optimizer.lr)
            for (name, _), norm in zip(groups, norms):
                history.grad_norms[name].append(norm / (batch + 1))
            shown = f"loss={history.loss[-1]:.4g}"
            if validation is not None:
                val_loss, val_right = _evaluate(model, trainer, validation, labels, threshold)
                history.val_loss.append(val_loss)
                history.val_accuracy.append(val_right)
                shown += f", held-out {val_loss:.4g}"
            history.time.append(time.perf_counter() - start)
            if labels:
                shown += f", acc={right / n:.1%}"
            bar.set_postfix_str(shown, refresh=False)
            bar.update(1)
    finally:
        restore_modes()
        if collecting:
            gc.enable()
        bar.close()
    return history


def _held_out(validation, trainer: _Trainer, model) -> tuple[list, list]:
    """validation=(X_val, y_val), checked as the training data is."""
    if not isinstance(validation, (tuple, list)) or len(validation) != 2:
        raise TypeError("fit: validation must be a pair (X_val, y_val) of held-out inputs and "
                        f"targets, got {type(validation).__name__}")
    X_val, y_val = examples(validation[0], validation[1], "fit (validation)")
    _check_targets(trainer, model, X_val[0], y_val)
    return X_val, y_val


def _evaluate(model, trainer: _Trainer, validation, labels: bool, threshold: float):
    """The loss (without l2) and the accuracy (None unless classifying) on held-out data, in
    eval mode and without a graph."""
    X_val, y_val = validation
    with no_grad(), in_mode(model, False):
        outputs = [model(x) for x in X_val]
        value = trainer.loss(outputs, y_val)
    loss = value.data if isinstance(value, Value) else float(value)
    if not labels:
        return loss, None
    right = sum(is_correct(o, t, threshold) for o, t in zip(outputs, y_val))
    return loss, right / len(y_val)


def _stopped(error: TrainingDiverged, epoch: int, epochs: int, batch: int, n: int,
             batch_size: int, optimizer, history: History) -> TrainingDiverged:
    batches = -(-n // batch_size)
    lr = getattr(optimizer, "lr", None)
    now = f" (lr={lr:g} in this epoch)" if isinstance(lr, (int, float)) else ""
    message = (f"fit: training diverged in epoch {epoch + 1} of {epochs}, batch {batch + 1} of "
               f"{batches}: {error.reason}; try a smaller learning rate{now}, or clip the "
               "gradients (nn.clip_grad_norm). The model keeps the parameters it had before "
               f"this step; .history holds the {len(history.loss)} epochs before.")
    history.diverged = f"in epoch {epoch + 1}, batch {batch + 1}: {error.reason}"
    return TrainingDiverged(message, error.reason, epoch + 1, batch + 1, lr, history)


def _rates(schedule, epochs: int) -> list[float] | None:
    """Every epoch's learning rate from schedule(epoch), checked before training starts."""
    if schedule is None:
        return None
    if not callable(schedule):
        raise TypeError(f"fit: schedule must be a function epoch -> learning rate, "
                        f"got {type(schedule).__name__}")
    rates = []
    for epoch in range(epochs):
        lr = schedule(epoch)
        number = real_number(lr)
        if number is None or not (math.isfinite(number) and number >= 0):
            raise ValueError(f"fit: schedule({epoch}) returned {lr!r}; a learning rate must be "
                             "a finite number >= 0 (nothing was trained)")
        rates.append(number)
    return rates


def _check_targets(trainer: _Trainer, model: Callable, first_input, y: list) -> None:
    """Every label is one the named loss accepts; for cross_entropy, the model gives one output
    per class (its output on the first example, under no_grad: nothing changes)."""
    name, who = trainer.name, trainer.who

    def refuse(i: int, needs: str, fix: str = ""):
        raise ValueError(f"{who}: the loss {name!r} needs {needs}, got y[{i}] = {y[i]!r}{fix}")

    for i, t in enumerate(y):
        if name == "hinge" and (not isinstance(t, numbers.Real) or t not in (-1, 1)):
            refuse(i, "labels -1 or +1", "; for 0/1 labels use [2 * t - 1 for t in y]")
        if name in ("bce", "bce_with_logits") and (
                isinstance(t, bool) or not isinstance(t, numbers.Real) or not 0 <= t <= 1):
            refuse(i, "targets in [0, 1] (class 0 or 1)",
                   "; for -1/+1 labels use loss='hinge' or [(t + 1) / 2 for t in y]")
        if name == "cross_entropy" and (isinstance(t, bool) or not isinstance(t, numbers.Real)
                                        or t != int(t) or t < 0):
            refuse(i, "class indices 0, 1, 2, ...")
    if name == "cross_entropy":            # how many classes: the model's output, under no_grad
        with no_grad(), in_mode(model, False):     # and in eval mode: no dropout mask drawn
            output = model(first_input)
        _check_logits(output, who)
        classes = len(output)
        top = max(range(len(y)), key=lambda i: y[i])
        if y[top] >= classes:
            refuse(top, f"class indices below {classes} (the model has {classes} outputs)")
