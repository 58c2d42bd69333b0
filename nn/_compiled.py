"""fit(..., compile=True): the model's forward and backward pass as compiled Python
(autograd.codegen), with the loss still computed by the engine.

Per batch: the compiled model gives each example's outputs as floats; they become leaf Values,
the loss (and l2 penalty) is built and backpropagated by the engine exactly as in the
interpreted step, which leaves d loss/d output on each leaf; each example's compiled backward
pass takes those and returns d loss/d parameter, added to the parameters' `grad`. Any loss
works (it runs on the engine), and so do optimizers and gradient clipping (they see `grad`).

Whenever the compiled code meets trouble (an exception, or a nan or inf in an output or a
gradient), the step is done again by the interpreted engine, which raises the precise error or
gives its own numbers.
"""

from __future__ import annotations

import math
import weakref

from autograd import Value
from autograd.codegen import CompiledModel

__all__ = ["compiled_model", "CompiledBatch", "Fallback"]

KEEP = 256      # examples per batch whose generators stay open between forward and backward

_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class Fallback(Exception):
    """The compiled step met trouble: do this step with the interpreted engine."""


def compiled_model(model, params: list[Value], inputs: list, who: str) -> CompiledModel:
    """The model compiled once (cached per model, its parameters and its input width)."""
    key = (tuple(map(id, params)), _width(inputs[0]))
    try:
        cached = _cache.get(model)
    except TypeError:                          # a model that cannot be weakly referenced
        cached = None
    if cached is not None and cached[0] == key:
        return cached[1]
    from .module import Dropout, Module
    if isinstance(model, Module) and any(
            isinstance(m, Dropout) and m.training and m.p > 0.0 for _, m in model.named_modules()):
        raise ValueError(f"{who}: compile=True cannot train a model with Dropout in training "
                         "mode: its mask is drawn anew at every call, and compiled code is one "
                         "fixed graph; train without compile=True (or with p=0)")
    compiled = CompiledModel(model, params, inputs[:2], name=type(model).__name__)
    try:
        _cache[model] = (key, compiled)
    except TypeError:
        pass
    return compiled


def _width(x) -> int:
    if hasattr(x, "tolist") and not isinstance(x, (list, tuple)):
        x = x.tolist()
    return len(x) if isinstance(x, (list, tuple)) else 1


class CompiledBatch:
    """One batch through the compiled model: `outputs` (leaf Values shaped as the model's),
    then, after the loss's backward(), add_grads() puts d loss/d parameter into `grad`."""

    def __init__(self, compiled: CompiledModel, inputs: list) -> None:
        self.compiled = compiled
        self.values = [p.data for p in compiled.parameters]
        self.inputs = inputs
        self.keep = len(inputs) <= KEEP
        self.steps = []
        outputs = []
        run = compiled.function
        try:
            for x in inputs:
                step = run(self.values + _numbers(x))
                numbers = next(step)
                if not all(map(math.isfinite, numbers)):
                    raise Fallback
                outputs.append(numbers)
                if self.keep:
                    self.steps.append(step)
        except (ArithmeticError, ValueError, TypeError):
            raise Fallback from None
        self.leaves = [[Value(o) for o in numbers] for numbers in outputs]
        self.outputs = [leaves[0] if compiled.single else leaves for leaves in self.leaves]

    def add_grads(self) -> None:
        """Each example's backward pass from its outputs' grads; the sums go into `grad`."""
        run = self.compiled.function
        per_example = []
        try:
            for k, leaves in enumerate(self.leaves):
                if self.keep:
                    step = self.steps[k]
                else:                              # a large batch: run its forward again
                    step = run(self.values + _numbers(self.inputs[k]))
                    next(step)
                grads = step.send(tuple(leaf.grad for leaf in leaves))
                if grads is None:
                    raise Fallback
                per_example.append(grads)
        except (ArithmeticError, ValueError, TypeError):
            raise Fallback from None
        finally:
            self.steps = []
        totals = list(map(sum, zip(*per_example)))       # per parameter, over the examples
        check = sum(totals)
        if check - check != 0.0:                        # an inf or nan in some example's grads
            raise Fallback
        for p, total in zip(self.compiled.parameters, totals):
            p.grad += total


_FLOAT = {float}


def _numbers(x) -> list[float]:
    if type(x) is list and set(map(type, x)) == _FLOAT:
        return x                              # the usual case: a list of floats, as is
    if hasattr(x, "tolist") and not isinstance(x, (list, tuple)):
        x = x.tolist()
    if isinstance(x, (list, tuple)):
        return [v.data if isinstance(v, Value) else float(v) for v in x]
    return [x.data if isinstance(x, Value) else float(x)]
