"""fit(..., compile=True): a training step as compiled Python (autograd.codegen).

Two ways, chosen per loss:

- A built-in loss (mse, mae, hinge, bce_with_logits, cross_entropy; by name or as the nn
  function itself): each is a mean of per-example terms, so the model and one example's terms
  are traced once and compiled as one function over a batch (CompiledLoss): the parameters go
  in once, a loop runs each example's forward and backward pass and adds its grads up. The
  terms are written below (FORMS) with the target as numbers fed in, built from the same
  engine ops as nn/losses.py in the same order, so the numbers are the interpreted loss's
  (tests/test_codegen.py compares them); the mean's 1/n is each term's upstream grad, as in
  the engine. The l2 penalty is added on floats in the engine's order.
- Any other loss (binary_cross_entropy on probabilities, whose log is clamped by an `if` on
  the data, or a function of your own): the model alone is compiled (CompiledModel); each
  example's outputs become leaf Values, the loss is built and backpropagated by the engine as
  in the interpreted step, and the compiled backward pass takes d loss/d output from there.

Either way the step fills each parameter's `grad`, so optimizers and clipping work unchanged,
and whenever the compiled code meets trouble (an exception, a nan or inf in an output, a term
or a grad, a target the loss does not accept) the step is done again by the interpreted
engine, which raises the precise error or gives its own numbers.

The compiled code is kept per model and reused while the model is unchanged: the same
parameter Values, and for every module the same type, mode (train/eval) and settings
(numbers of any kind, strings, NumPy arrays, lists and dicts of them at any depth, functions,
a Value with parents: an activation, a dropout probability, a constant you stored), compared
by value (a list or an array changed in place counts). A change there compiles anew; a model
with Dropout active in training mode is refused before any cached code is used. What the check
cannot see: the model reading something outside its modules (a global, a closure) or branching
on a parameter's data.
"""

from __future__ import annotations

import math
import numbers
import weakref

from autograd import Value
from autograd.codegen import CompiledLoss, CompiledModel, CompileTooLarge

from . import losses
from .module import Dropout, Module, _walk

__all__ = ["compiled_step", "compiled_model", "compiled_loss", "CompiledBatch", "FusedLoss",
           "Fallback", "FORMS", "fingerprint", "check_dropout"]

KEEP = 256      # examples per batch whose generators stay open between forward and backward
CACHED = 4      # compiled programs kept per model

_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class Fallback(Exception):
    """The compiled step met trouble: do this step with the interpreted engine."""


# ---------------------------------------------------------------------------------------------
# When compiled code is still the model's: its fingerprint


_BOOKKEEPING = frozenset({"_nn_calls", "_nn_results"})


def fingerprint(model: Module, params: list[Value]) -> tuple:
    """What decides the graph a model builds, besides the data: its parameters (which Values),
    for every module its type, mode and settings, and the number in each leaf Value it holds
    but does not train (a frozen layer's weight: a constant in the compiled code). Equal
    fingerprints: the same compiled code serves."""
    trained = set(map(id, params))
    modules, frozen = [], []
    for name, item in _walk(model):
        if isinstance(item, Module):
            modules.append((name, id(item), type(item), item.training, _settings(item)))
        elif id(item) not in trained:
            frozen.append((id(item), repr(item.data)))
    return tuple(map(id, params)), tuple(modules), tuple(frozen)


def _settings(module: Module) -> tuple:
    found = []
    results = module.__dict__.get("_nn_results", ())     # assigned by forward: its outputs
    for key, value in module.__dict__.items():
        if key in _BOOKKEEPING or (key in results and isinstance(value, Value)):
            continue
        setting = _setting(value)
        if setting is not None:
            found.append((key, setting))
    return tuple(found)


def _setting(value, depth: int = 0):
    """A module's attribute as a key that changes whenever the attribute does, or None for
    what is not a setting (a parameter, a submodule: the fingerprint has them already, or
    an object it cannot see into). A number by its type and repr (so 1 and True, 0.0 and
    -0.0, float32 and float64 differ); a NumPy array by its bytes; lists, tuples and dicts of
    settings at any depth; a Value with parents (a constant the forward reads) and a function
    by identity."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Number):
        return type(value), repr(value)
    if isinstance(value, Value):
        return None if value._a is None else ("Value", id(value))
    if isinstance(value, Module) or depth > 8:
        return None
    if isinstance(value, (list, tuple, dict)):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        found = []
        for key, item in items:
            key, item = _setting(key, depth + 1), _setting(item, depth + 1)
            if item is None:
                return None                     # (a list of parameters: stop at the first)
            found.append((key, item))
        return type(value), tuple(found)
    if type(value).__module__ == "numpy" and hasattr(value, "tobytes"):   # an array, a bool_
        return type(value), str(value.dtype), value.shape, value.tobytes()
    if callable(value):
        return "function", id(value)            # an activation function stored on the module
    return None


def check_dropout(model, who: str) -> None:
    """Refuse a model with Dropout active: its mask is drawn anew at every call."""
    if isinstance(model, Module) and any(
            isinstance(m, Dropout) and m.training and m.p > 0.0 for m in model.modules()):
        raise ValueError(f"{who}: compile=True cannot train a model with Dropout in training "
                         "mode: its mask is drawn anew at every call, and compiled code is one "
                         "fixed graph; train without compile=True (or with p=0)")


def _cached(model, key, make):
    try:
        entries = _cache.get(model)
    except TypeError:                          # a model that cannot be weakly referenced
        return make()
    if entries is None:
        entries = _cache[model] = {}
    if key in entries:
        return entries[key]
    made = make()
    if len(entries) >= CACHED:
        entries.pop(next(iter(entries)))
    entries[key] = made
    return made


def _width(x) -> int:
    if hasattr(x, "tolist") and not isinstance(x, (list, tuple)):
        x = x.tolist()
    return len(x) if isinstance(x, (list, tuple)) else 1


# ---------------------------------------------------------------------------------------------
# The model alone (any loss on the engine)


def compiled_model(model, params: list[Value], inputs: list, who: str) -> CompiledModel:
    """The model compiled once (cached per model while its fingerprint holds)."""
    check_dropout(model, who)
    key = ("model", fingerprint(model, params), _width(inputs[0]))
    return _cached(model, key, lambda: CompiledModel(model, params, inputs[:2],
                                                     name=type(model).__name__))


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


# ---------------------------------------------------------------------------------------------
# The model and a built-in loss's per-example terms, as one batch function
#
# Each form: encode(target, outputs) -> the target as numbers (Fallback if the loss would
# refuse it: the engine then says why), and terms(outputs, target leaves) -> (terms, derived).
# Each term is built from the ops nn/losses.py uses, in the same order, with the target a leaf
# instead of a number, so that one graph serves every target and gives the loss's numbers.


def _real(t) -> float:
    if isinstance(t, bool) or not isinstance(t, (int, float)):
        raise Fallback
    return float(t)


def _targets(target, count: int, single: bool) -> list[float]:
    """The target of one example as `count` numbers, shaped as the outputs."""
    if single:
        return [_real(target)]
    if not isinstance(target, (list, tuple)) or len(target) != count:
        raise Fallback
    return [_real(t) for t in target]


class _Form:
    def __init__(self, width, encode, terms) -> None:
        self.width, self.encode, self.terms = width, encode, terms


def _squared(outputs, targets):          # mse_loss: (p - t) ** 2
    return [(p - t) ** 2 for p, t in zip(outputs, targets)], {}


def _absolute(outputs, targets):         # mae_loss: |p - t|
    return [abs(p - t) for p, t in zip(outputs, targets)], {}


def _hinge_target(target, count, single):
    labels = _targets(target, count, single)
    if any(y not in (1.0, -1.0) for y in labels):
        raise Fallback
    return [-y for y in labels]           # fed in as -y


def _hinge(outputs, minus_labels):
    # hinge_loss: relu(1 - s) for y = +1, relu(1 + s) for y = -1; here relu(1 + (-y) * s):
    # (-1) * s is -s exactly and 1 + -s is 1 - s exactly, so the numbers are the same
    return [(1.0 + u * s).relu() for s, u in zip(outputs, minus_labels)], {}


def _probability_target(target, count, single):
    targets = _targets(target, count, single)
    if any(not 0.0 <= t <= 1.0 for t in targets):
        raise Fallback
    return targets


def _with_logits(outputs, targets):
    # binary_cross_entropy_with_logits: t softplus(-x) + (1 - t) softplus(x); for t = 1 the
    # loss writes softplus(-x) alone, which is the same number (0 * softplus(x) adds 0.0)
    return [t * losses.softplus(-x) + (1.0 - t) * losses.softplus(x)
            for x, t in zip(outputs, targets)], {}


_ONE_HOT: dict[int, list[list[float]]] = {}


def _class_target(target, count, single):
    if single or isinstance(target, bool) or not isinstance(target, (int, float)) \
            or target != int(target) or not 0 <= target < count:
        raise Fallback
    rows = _ONE_HOT.get(count)
    if rows is None:
        rows = _ONE_HOT[count] = [[float(k == c) for k in range(count)] for c in range(count)]
    return rows[int(target)]


def _cross_entropy(logits, one_hot):
    # cross_entropy: logsumexp(x - m) - (x[target] - m), m = max of the logits' data (a
    # constant: the leaf `shift`, which the compiled code computes as max(...) too). The
    # target's shifted logit is picked as sum(onehot * shifted): 0 * s adds 0.0, so it is
    # exactly x[target] - m
    shift = Value(max(x.data for x in logits), "shift")
    shifted = [x - shift for x in logits]
    picked = one_hot[0] * shifted[0]
    for t, s in zip(one_hot[1:], shifted[1:]):
        picked = picked + t * s
    return [losses._logsumexp(shifted) - picked], {id(shift): (shift, "max", list(logits))}


FORMS = {
    losses.mse_loss: _Form("outputs", _targets, _squared),
    losses.mae_loss: _Form("outputs", _targets, _absolute),
    losses.hinge_loss: _Form("outputs", _hinge_target, _hinge),
    losses.binary_cross_entropy_with_logits: _Form("outputs", _probability_target,
                                                   _with_logits),
    losses.cross_entropy: _Form("classes", _class_target, _cross_entropy),
}


def compiled_step(model, params: list[Value], loss, inputs: list, targets: list,
                  who: str) -> FusedLoss | CompiledModel:
    """What a compiled training step runs: the model with the loss (a built-in one) or the
    model alone."""
    fused = compiled_loss(model, params, loss, inputs, targets, who)
    return fused if fused is not None else compiled_model(model, params, inputs, who)


def compiled_loss(model, params: list[Value], loss, inputs: list, targets: list,
                  who: str) -> FusedLoss | None:
    """The model and the loss's per-example terms compiled as one batch function (cached per
    model while its fingerprint holds), or None for a loss without such a form (or a model
    too large for one function): then compile the model alone."""
    form = FORMS.get(loss)
    if form is None:
        return None
    check_dropout(model, who)
    key = ("loss", loss, fingerprint(model, params), _width(inputs[0]))
    fused = _cached(model, key, lambda: _fuse(model, params, form, inputs, targets, loss))
    return fused or None


def _fuse(model, params, form: _Form, inputs, targets, loss):
    from autograd import no_grad
    listed = isinstance(inputs[0], (list, tuple)) or hasattr(inputs[0], "tolist")

    def call(leaves):                     # the model on Values, shaped as its inputs are
        return model(leaves if listed else leaves[0])
    with no_grad():                       # how many outputs (no graph)
        first = call([Value(v) for v in _numbers(inputs[0])])
    single = isinstance(first, Value)
    if not single and not (isinstance(first, (list, tuple)) and first
                           and all(isinstance(o, Value) for o in first)):
        return False                      # not Values: compiling the model alone says so
    count = 1 if single else len(first)
    if form.width == "classes" and (single or count < 2):
        return False                      # the engine refuses it, with its message
    try:
        encoded = [_numbers(x) + form.encode(t, count, single)
                   for x, t in zip(inputs[:2], targets[:2])]
    except Fallback:
        return False
    width = len(encoded[0]) - count

    def trace(leaves):
        xs, ts = leaves[:width], leaves[width:]
        outputs = call(xs)
        values = [outputs] if isinstance(outputs, Value) else list(outputs)
        if len(values) != count:
            raise Fallback
        terms, derived = form.terms(values, ts)
        return outputs, terms, derived

    labels = [f"x{i}" for i in range(width)] + [f"t{i}" for i in range(count)]
    try:
        compiled = CompiledLoss(trace, params, encoded, labels,
                                name=f"{type(model).__name__}_{loss.__name__}")
    except (CompileTooLarge, Fallback):
        return False
    return FusedLoss(compiled, form, count, single)


class FusedLoss:
    """A built-in loss and the model, compiled: run(values, inputs, targets) gives (the mean
    loss without l2, each parameter's grad, the outputs as numbers per example)."""

    def __init__(self, compiled: CompiledLoss, form: _Form, count: int, single: bool) -> None:
        self.compiled, self.form = compiled, form
        self.count, self.single = count, single
        self.function = compiled.function
        self.source = compiled.source

    def run(self, values: list[float], inputs: list, targets: list):
        encode, count, single = self.form.encode, self.count, self.single
        samples = [(*_numbers(x), *encode(t, count, single)) for x, t in zip(inputs, targets)]
        n = len(samples) * self.compiled.terms     # the mean is over every term
        scale = 1.0 / n if n > 1 else 1.0
        try:
            result = self.function(values, samples, scale)
        except (ArithmeticError, ValueError, TypeError):
            raise Fallback from None
        if result is None:
            raise Fallback
        total, grads, outputs = result
        return (total * scale if n > 1 else total), grads, (
            outputs if single else [list(o) for o in outputs])
