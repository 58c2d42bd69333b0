"""lr_sweep: the same model trained from the same start at several learning rates."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

from ._examples import real_number
from .module import Module
from .optim import SGD
from .train import History, TrainingDiverged, fit

__all__ = ["lr_sweep"]


def lr_sweep(model_factory: Callable[[], Module], X: Sequence, y: Sequence,
             lrs: Sequence[float], epochs: int = 100, loss: str | Callable = "mse",
             optimizer: type | Callable = SGD, **fit_options) -> dict[float, History]:
    """Train one fresh model per learning rate and return {lr: History}, in the order given.

    model_factory() builds the model, the same each time (give it a seed: nn.MLP(..., seed=0));
    the sweep warns if two calls give different starting weights. optimizer: a class such as
    nn.SGD or nn.Adam, or a function (parameters, lr) -> optimizer, e.g.
    lambda params, lr: nn.SGD(params, lr, momentum=0.9). fit_options go to fit (batch_size,
    seed, l2, classify, validation, track_grads, ...; progress is off unless asked).

    A rate whose run diverges does not stop the sweep: its History holds the epochs completed
    before, with `diverged` saying where and why. Deterministic: the same factory, data and
    options give the same histories (but for their times).
    """
    rates = _check_rates(lrs)
    if not callable(model_factory) or isinstance(model_factory, Module):
        raise TypeError("lr_sweep: model_factory must be a function that builds a fresh model, "
                        "e.g. lambda: nn.MLP(2, [16, 16, 1], seed=0) (a model object would be "
                        "trained over and over)")
    if not callable(optimizer):
        raise TypeError(f"lr_sweep: optimizer must be an optimizer class (nn.SGD) or a function "
                        f"(parameters, lr) -> optimizer, got {type(optimizer).__name__}")
    if "schedule" in fit_options:
        raise TypeError("lr_sweep: a schedule would override the learning rates being swept; "
                        "sweep without one")
    fit_options.setdefault("progress", False)
    histories: dict[float, History] = {}
    first_state = None
    built: list[Module] = []            # each model made, to tell a fresh one from a reused one
    for lr in rates:
        model = model_factory()
        if not isinstance(model, Module):
            raise TypeError(f"lr_sweep: model_factory() must return an nn Module, got "
                            f"{type(model).__name__}")
        if any(model is earlier for earlier in built):
            raise TypeError("lr_sweep: model_factory() returned a model it had returned "
                            "before, already trained at another rate; it must build a fresh "
                            "one on each call, e.g. lambda: nn.MLP(2, [16, 16, 1], seed=0)")
        built.append(model)
        state = model.state_dict()
        if first_state is None:
            first_state = state
        elif state != first_state:
            warnings.warn("lr_sweep: model_factory() gave different starting weights for "
                          f"lr={lr:g} than for lr={rates[0]:g}, so the rates are not compared "
                          "from the same start; give the model a seed (nn.MLP(..., seed=0))",
                          UserWarning, stacklevel=2)
            first_state = state
        chosen = optimizer(model.parameters(), lr)
        if chosen is None:                 # fit would train with its default optimizer
            raise TypeError("lr_sweep: optimizer(parameters, lr) returned None; it must return "
                            "the optimizer, e.g. lambda params, lr: nn.SGD(params, lr, "
                            "momentum=0.9)")
        if getattr(chosen, "lr", lr) != lr:     # every run would train at the same rate
            raise ValueError(f"lr_sweep: optimizer(parameters, lr={lr:g}) made an optimizer "
                             f"with lr={chosen.lr!r}; pass the rate on, e.g. lambda params, "
                             "lr: nn.SGD(params, lr, momentum=0.9)")
        try:
            histories[lr] = fit(model, X, y, loss=loss, optimizer=chosen, epochs=epochs,
                                **fit_options)
        except TrainingDiverged as error:      # reported in its history, not raised
            histories[lr] = error.history
    return histories


def _check_rates(lrs) -> list[float]:
    if isinstance(lrs, (str, bytes)) or not isinstance(lrs, Sequence) and not hasattr(
            lrs, "tolist"):
        raise TypeError(f"lr_sweep: lrs must be a list of learning rates, got {lrs!r}")
    rates = list(lrs.tolist() if hasattr(lrs, "tolist") else lrs)
    if not rates:
        raise ValueError("lr_sweep: lrs is empty; give the learning rates to try, e.g. "
                         "[0.001, 0.01, 0.1, 1.0]")
    checked = []
    for lr in rates:
        number = real_number(lr)
        if number is None or not (math.isfinite(number) and number > 0):
            raise ValueError(f"lr_sweep: every learning rate must be a finite number > 0, "
                             f"got {lr!r}")
        if number in checked:             # 0.1 and Fraction(1, 10) too: one key, one run
            raise ValueError(f"lr_sweep: the learning rate {number:g} is listed twice in "
                             f"{rates}")
        checked.append(number)
    return checked
