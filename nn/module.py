"""Module, Neuron, Layer, MLP, Dropout, Residual: networks made of Values; parameters, labels,
train and eval modes, state_dict, and save and load as JSON."""

from __future__ import annotations

import json
import math
import numbers
import os
import random
import stat
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from autograd import Value
from autograd._files import write_atomically

from ._examples import whole_number

__all__ = ["Module", "Neuron", "Layer", "MLP", "Dropout", "Residual", "save", "load",
           "ACTIVATIONS", "INITS"]

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
INITS = ("uniform", "xavier", "he")
FORMAT = "chainrule.nn"        # the "format" field of a saved file
FORMAT_VERSION = 2             # 2: flat state {name: number} and the modules' settings

Seed = int | random.Random | None

# In labels, these attribute names are written short: layers.0.neurons.1.w.0 -> L0.n1.w0
SHORT = {"layers": "L", "neurons": "n"}
# Module attributes that are the bookkeeping of this file, never searched for parameters
_INTERNAL = frozenset({"_nn_calls", "_nn_results", "_nn_prefix", "_nn_out"})


class _GeneratedLabel(str):
    """A label nn gave (L0.n1.w0): nn may rename it when the module moves into another one.
    Any other label is the user's and is never touched."""
    __slots__ = ()


class Module:
    """A piece of a network, as PyTorch's nn.Module: calling it runs `forward`.

    Parameters are found by walking the attributes in the order they were assigned: a leaf
    `Value` (one with no parents) is a parameter, a `Module` is a submodule, and lists, tuples
    and dicts are searched at any depth. A Value with parents (the output of an op) is never a
    parameter, and neither is anything assigned while the module's own forward runs (such as
    `self.last = out`: a result, even when computed under no_grad, where outputs are leaves).
    A Value held in two places is one parameter, under the first name found.

    Names (`named_parameters()`, `state_dict()`): attribute names and list indices joined by
    dots, as PyTorch: 'layers.0.neurons.1.w.0'. Labels: when a Value or a module is assigned to
    an attribute, its unlabelled parameters get the short form of that name as their `label`
    ('L0.n1.w0': layers -> L, neurons -> n, an index joins the name before it), so that steps,
    ledgers and drawings say which number is which weight. A label you set is never changed.

    Modes, as PyTorch's: every module starts in training mode (`training` is True);
    `model.eval()` puts it and all its submodules in eval mode, `model.train()` back. Only a
    module that behaves differently in training (Dropout) reads the mode.
    """

    training = True      # until train(False) or eval() says otherwise

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        state = self.__dict__
        state["_nn_calls"] = state.get("_nn_calls", 0) + 1   # what forward assigns: results
        try:
            return self.forward(*args, **kwargs)
        finally:
            state["_nn_calls"] -= 1

    def __setattr__(self, name: str, value) -> None:
        object.__setattr__(self, name, value)
        state = self.__dict__
        if state.get("_nn_calls"):                 # inside forward: a result, not a parameter
            state.setdefault("_nn_results", set()).add(name)
            return
        results = state.get("_nn_results")
        if results:
            results.discard(name)
        if isinstance(value, (Value, Module, list, tuple, dict)):
            _label(value, state.get("_nn_prefix", ""), SHORT.get(name, name), set())

    # -- modes -------------------------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Put this module and every submodule in training mode (mode=False: eval mode), as
        PyTorch's Module.train; returns the module."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode): mode must be True or False, got {mode!r}")
        for module in self.modules():
            module.__dict__["training"] = mode      # bookkeeping, never a parameter or result
        return self

    def eval(self) -> Module:
        """Eval mode for this module and every submodule (Dropout passes its input through
        unchanged); the same as train(False). Returns the module."""
        return self.train(False)

    # -- parameters --------------------------------------------------------------------------

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(name, Value) for every parameter, in a stable order: 'layers.0.neurons.1.w.0'."""
        return [(name, item) for name, item in _walk(self) if isinstance(item, Value)]

    def parameters(self) -> list[Value]:
        """Every parameter (a leaf Value), in a stable order."""
        return [item for _, item in _walk(self) if isinstance(item, Value)]

    def named_modules(self) -> list[tuple[str, Module]]:
        """(name, module) for this module ('') and every submodule, in a stable order."""
        return [(name, item) for name, item in _walk(self) if isinstance(item, Module)]

    def modules(self) -> list[Module]:
        """This module and every submodule."""
        return [item for _, item in self.named_modules()]

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0.0 (leaf grads accumulate across backward() calls)."""
        for p in self.parameters():
            p.grad = 0.0

    # -- state -------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, float]:
        """Every parameter's number, by its name in named_parameters()."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict) -> None:
        """Set every parameter from `state` (as made by state_dict()). The names must match
        exactly; on any mismatch raises ValueError and changes nothing."""
        for p, number in _updates(self, state):   # everything checked: now change the model
            p.data = number

    def _named(self, prefix: str) -> None:
        """Remember the label prefix this module's parameters got ('L0.n1.')."""
        self.__dict__["_nn_prefix"] = prefix

    def _settings(self) -> dict:
        """What, besides its parameters, decides what this module computes (its activation,
        say): saved with the model, so that load() can tell a model built differently.
        Override it in a module of your own that has such settings."""
        return {}


def set_mode(model, training: bool) -> Callable[[], None]:
    """Put `model` (and every submodule) in training or eval mode; returns a function that puts
    each module back in the mode it was in. Anything that is not a Module is left alone."""
    if not isinstance(model, Module):
        return lambda: None
    modules = model.modules()
    before = [m.training for m in modules]
    model.train(training)

    def restore() -> None:
        for m, mode in zip(modules, before):
            m.__dict__["training"] = mode
    return restore


@contextmanager
def in_mode(model, training: bool) -> Iterator[None]:
    """Run the block with `model` in training or eval mode (set_mode), then put it back."""
    restore = set_mode(model, training)
    try:
        yield
    finally:
        restore()


def _walk(root: Module) -> list[tuple[str, Value | Module]]:
    """(name, item) for the root module (''), its submodules and its parameters, depth first in
    the order the attributes were assigned; each object once (the first name wins)."""
    found: list[tuple[str, Value | Module]] = [("", root)]
    _walk_attributes(root, "", {id(root)}, found)
    return found


def _walk_attributes(module: Module, prefix: str, seen: set[int], found: list) -> None:
    for key, item in _attributes(module):
        _walk_item(item, prefix + key, seen, found)


def _walk_item(item, name: str, seen: set[int], found: list) -> None:
    if isinstance(item, Value):
        if item._a is None and id(item) not in seen:      # a leaf: a parameter
            seen.add(id(item))
            found.append((name, item))
    elif isinstance(item, Module):
        if id(item) not in seen:
            seen.add(id(item))
            found.append((name, item))
            _walk_attributes(item, name + ".", seen, found)
    elif isinstance(item, (list, tuple, dict)) and id(item) not in seen:
        seen.add(id(item))
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in pairs:
            if type(child) is Value:                      # the common case, inline
                if child._a is None and id(child) not in seen:
                    seen.add(id(child))
                    found.append((f"{name}.{key}", child))
            else:
                _walk_item(child, f"{name}.{key}", seen, found)


def _attributes(module: Module):
    """The attributes that may hold parameters: not nn's bookkeeping, and not the results
    assigned during forward (unless they are submodules)."""
    state = module.__dict__
    results = state.get("_nn_results") or ()
    for key, item in state.items():
        if key in _INTERNAL or (key in results and not isinstance(item, Module)):
            continue
        yield key, item


def _label(item, prefix: str, short: str, seen: set[int]) -> None:
    """Give the parameters under `item` (named `short` inside a module whose own label prefix
    is `prefix`) their generated labels, and each submodule its prefix. Labels the user set
    are kept."""
    if isinstance(item, Value):
        if item._a is None and (not item.label or type(item.label) is _GeneratedLabel):
            item.label = _GeneratedLabel(prefix + short)
    elif isinstance(item, Module):
        if id(item) in seen:
            return
        seen.add(id(item))
        inner = prefix + short + "."
        item._named(inner)
        for key, child in _attributes(item):
            _label(child, inner, SHORT.get(key, key), seen)
    elif isinstance(item, (list, tuple, dict)) and id(item) not in seen:
        seen.add(id(item))
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in pairs:
            joined = (f"{short}{key}" if isinstance(key, int) and not short[-1:].isdigit()
                      else f"{short}.{key}")
            _label(child, prefix, joined, seen)


def _updates(module: Module, state) -> list[tuple[Value, float]]:
    """(parameter, its new number) for every parameter, once `state` is checked to fit."""
    if not isinstance(state, dict):
        raise ValueError(f"load_state_dict: expected a dict of parameters, "
                         f"got {type(state).__name__}")
    params = dict(module.named_parameters())
    missing = [name for name in params if name not in state]
    unexpected = [name for name in state if name not in params]
    if missing or unexpected:
        raise ValueError(
            f"load_state_dict: the parameters do not match this {type(module).__name__}"
            + (f"; missing: {_names(missing)}" if missing else "")
            + (f"; unexpected: {_names(unexpected)}" if unexpected else "")
            + " (was it saved from a model of another shape?)")
    return [(p, _number(name, state[name])) for name, p in params.items()]


def _names(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _number(name: str, x) -> float:
    """x as a finite float, or a ValueError naming the parameter."""
    if type(x) in (int, float):
        try:
            number = float(x)
        except OverflowError:                 # an int beyond the float range
            number = math.inf
        if math.isfinite(number):
            return number
    try:
        shown = repr(x) if len(repr(x)) < 40 else repr(x)[:37] + "..."
    except ValueError:                        # an int too long to print
        shown = "an int of thousands of digits"
    raise ValueError(f"load_state_dict: {name!r} must be a finite number, got {shown}")


# ---------------------------------------------------------------------------------------------
# Checking settings and inputs


def _rng(seed: Seed) -> random.Random:
    """A private random.Random (never the global one): the same int seed gives the same numbers
    on every run and machine; a Random is used as it is; None draws a fresh seed."""
    if isinstance(seed, random.Random):
        return seed
    if seed is None or whole_number(seed) is not None:       # a NumPy integer too
        return random.Random(seed if seed is None else whole_number(seed))
    raise TypeError(f"seed must be an int, a random.Random or None, got {type(seed).__name__}")


def _check_choice(kind: str, given: str, choices: tuple[str, ...]) -> str:
    if given not in choices:
        raise ValueError(f"unknown {kind} {given!r}; choose one of {', '.join(choices)}")
    return given


def _activation(activation, nonlin) -> str:
    """The activation's name. micrograd spells it nonlin=True (relu) or False (linear), also
    as the second positional argument: Neuron(3, False)."""
    if isinstance(activation, bool):
        activation, nonlin = None, activation if nonlin is None else nonlin
    if nonlin is not None:
        if not isinstance(nonlin, bool):
            raise TypeError(f"nonlin must be True (relu) or False (linear), got {nonlin!r}")
        implied = "relu" if nonlin else "linear"
        if activation not in (None, implied):
            raise ValueError(f"nonlin={nonlin} means activation={implied!r}, but "
                             f"activation={activation!r} was given too; give one of them")
        activation = implied
    return _check_choice("activation", "relu" if activation is None else activation,
                         ACTIVATIONS)


def _check_size(name: str, n) -> int:
    if whole_number(n) is None or n < 1:                    # an int, or a NumPy integer
        raise ValueError(f"{name} must be a positive int, got {n!r}")
    return whole_number(n)


class _Inputs(list):
    """Inputs already checked: `nin` Values. A layer checks its inputs once and hands them to
    each of its neurons as this list, so a neuron does not check them again."""
    __slots__ = ()


_INPUT_LABELS: list[_GeneratedLabel] = []


def _input_label(i: int) -> _GeneratedLabel:
    while len(_INPUT_LABELS) <= i:
        _INPUT_LABELS.append(_GeneratedLabel(f"x{len(_INPUT_LABELS)}"))
    return _INPUT_LABELS[i]


def _as_inputs(x, nin: int, owner: Module) -> _Inputs:
    """The inputs as `nin` Values: numbers become leaves (labelled x0, x1, ...) once here, so
    that the neurons of a layer share them instead of each wrapping its own constant."""
    if type(x) is _Inputs and len(x) == nin:
        return x
    if isinstance(x, Value) or (isinstance(x, numbers.Real) and not isinstance(x, bool)):
        x = [x]
    elif hasattr(x, "tolist") and not isinstance(x, (list, tuple)):
        x = x.tolist()                       # a NumPy array
    try:
        n = len(x)
    except TypeError:
        raise TypeError(f"{_who(owner)} takes a list of {nin} numbers or Values, "
                        f"got {type(x).__name__}: {x!r}") from None
    if n != nin or isinstance(x, str):
        raise ValueError(f"{_who(owner)} expects {nin} input{'s' if nin != 1 else ''}, "
                         f"got {n if not isinstance(x, str) else repr(x)}")
    return _Inputs(xi if isinstance(xi, Value) else Value(xi, _input_label(i))
                   for i, xi in enumerate(x))


def _who(module: Module) -> str:
    return repr(module).partition("\n")[0]


# ---------------------------------------------------------------------------------------------
# Neuron, Layer, MLP


class Neuron(Module):
    """act(b + w1*x1 + ... + wn*xn), the same graph as micrograd's Neuron.

    activation: "relu", "tanh", "sigmoid" or "linear"; micrograd's nonlin=True/False (also as
    the second positional argument) means relu/linear. init: "uniform" (micrograd: w ~ U(-1, 1)),
    "xavier" (Glorot uniform: U(-a, a), a = sqrt(6 / (nin + fan_out))) or "he" (He normal:
    N(0, sqrt(2 / nin))). The bias starts at 0. `fan_out` is the size of the layer the neuron
    sits in (for xavier). Parameters `w` (a list) and `b`, labelled w0, w1, ..., b; the output
    of each call is labelled `out` (all prefixed by where the neuron sits: L0.n1.out).
    """

    def __init__(self, nin: int, activation: str | bool | None = None, init: str = "uniform",
                 seed: Seed = None, fan_out: int = 1, *, nonlin: bool | None = None) -> None:
        self.nin = _check_size("nin", nin)
        self.activation = _activation(activation, nonlin)
        self.init = _check_choice("init", init, INITS)
        rng = _rng(seed)
        if init == "uniform":
            self.w = [Value(rng.uniform(-1.0, 1.0)) for _ in range(nin)]
        elif init == "xavier":
            bound = math.sqrt(6.0 / (nin + _check_size("fan_out", fan_out)))
            self.w = [Value(rng.uniform(-bound, bound)) for _ in range(nin)]
        else:
            std = math.sqrt(2.0 / nin)
            self.w = [Value(rng.gauss(0.0, std)) for _ in range(nin)]
        self.b = Value(0.0)
        self._named(self.__dict__.get("_nn_prefix", ""))

    def _named(self, prefix: str) -> None:
        self.__dict__["_nn_prefix"] = prefix
        self.__dict__["_nn_out"] = _GeneratedLabel(prefix + "out")   # built once, not per call

    def forward(self, x) -> Value:
        if type(x) is not _Inputs or len(x) != self.nin:
            x = _as_inputs(x, self.nin, self)
        total = self.b
        for wi, xi in zip(self.w, x):
            total = total + wi * xi
        activation = self.activation
        if activation == "relu":
            out = total.relu()
        elif activation == "tanh":
            out = total.tanh()
        elif activation == "sigmoid":
            out = total.sigmoid()
        else:
            out = total
        out.label = self._nn_out
        return out

    def _settings(self) -> dict:
        return {"activation": self.activation, "init": self.init}

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, {self.activation})"


class Layer(Module):
    """`nout` neurons over the same inputs. Returns a list of `nout` Values, or one Value when
    nout is 1, as micrograd's Layer (so layers compose: a Value is a one-input list)."""

    def __init__(self, nin: int, nout: int, activation: str | bool | None = None,
                 init: str = "uniform", seed: Seed = None, *,
                 nonlin: bool | None = None) -> None:
        self.nin = _check_size("nin", nin)
        self.nout = _check_size("nout", nout)
        self.activation = _activation(activation, nonlin)
        self.init = _check_choice("init", init, INITS)
        rng = _rng(seed)
        self.neurons = [Neuron(nin, self.activation, init, rng, fan_out=nout)
                        for _ in range(nout)]

    def forward(self, x) -> Value | list[Value]:
        x = _as_inputs(x, self.nin, self)
        out = [neuron(x) for neuron in self.neurons]
        return out[0] if len(out) == 1 else out

    def _settings(self) -> dict:
        return {"activation": self.activation, "init": self.init}

    def __repr__(self) -> str:
        return f"Layer({self.nin} -> {self.nout}, {self.activation})"


class MLP(Module):
    """A multilayer perceptron: `nin` inputs, then one Layer per size in `nouts`.

    Hidden layers use `activation`, the last `output_activation`. With one output the model
    returns a Value, with several a list (micrograd's convention). `seed` (an int) gives the
    same weights on every run and machine.

    dropout=p puts a Dropout(p) after each hidden layer (seeded from `seed`, drawn after the
    weights, so the weights are those of the same MLP without dropout). residual=True adds a
    skip connection around each hidden layer whose width equals its input's:
    x = x + layer(x) (after the dropout, if any), the layer's own activation inside.
    """

    def __init__(self, nin: int, nouts: Sequence[int], activation: str = "relu",
                 output_activation: str = "linear", init: str = "uniform",
                 seed: Seed = None, *, dropout: float = 0.0, residual: bool = False) -> None:
        if isinstance(nouts, int):
            nouts = [nouts]
        if not nouts:
            raise ValueError("MLP needs at least one layer size in nouts, e.g. MLP(2, [16, 1])")
        self.nin = _check_size("nin", nin)
        self.sizes = [nin] + [_check_size("a layer size", n) for n in nouts]
        self.activation = _check_choice("activation", activation, ACTIVATIONS)
        self.output_activation = _check_choice("output_activation", output_activation,
                                               ACTIVATIONS)
        self.init = _check_choice("init", init, INITS)
        _check_probability("MLP", dropout)
        if not isinstance(residual, bool):
            raise TypeError(f"MLP: residual must be True or False, got {residual!r}")
        hidden = list(zip(self.sizes[:-2], self.sizes[1:-1]))
        if residual and not any(a == b for a, b in hidden):
            raise ValueError(f"MLP: residual=True adds x + layer(x) around hidden layers whose "
                             f"width equals their input's, and {' -> '.join(map(str, self.sizes))}"
                             " has none; give equal widths, e.g. MLP(2, [8, 8, 8, 1])")
        if dropout and not hidden:
            raise ValueError(f"MLP: dropout={dropout!r} puts a Dropout after each hidden layer, "
                             f"and {' -> '.join(map(str, self.sizes))} has none; add one, e.g. "
                             f"MLP({nin}, [16, {', '.join(map(str, nouts))}], dropout=...), or "
                             "put an nn.Dropout before the model")
        rng = _rng(seed)
        last = len(nouts) - 1
        self.layers = [Layer(a, b, output_activation if i == last else activation, init, rng)
                       for i, (a, b) in enumerate(zip(self.sizes, self.sizes[1:]))]
        if residual:
            self.residual = True
        if dropout:                     # seeded after the weights: they stay the same
            self.dropout = float(dropout)
            self.dropouts = [Dropout(dropout, seed=rng.getrandbits(64)) for _ in hidden]

    def forward(self, x) -> Value | list[Value]:
        x = _as_inputs(x, self.nin, self)
        state = self.__dict__
        dropouts, residual = state.get("dropouts"), state.get("residual")
        if not (dropouts or residual):
            for layer in self.layers:
                x = layer(x)
            return x
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            h = layer(x)
            if i < last:
                if dropouts:
                    h = dropouts[i](h)
                if residual and layer.nin == layer.nout:
                    h = _skip(x, h, self)           # x + layer(x)
            x = h
        return x

    def _settings(self) -> dict:
        settings = {"activation": self.activation, "output_activation": self.output_activation,
                    "init": self.init}
        if self.__dict__.get("residual"):       # another function: a file must say so
            settings["residual"] = True
        return settings

    def __repr__(self) -> str:
        count = sum(layer.nin * layer.nout + layer.nout for layer in self.layers)
        extra = "".join(f", {key}={self.__dict__[key]!r}" for key in ("dropout", "residual")
                        if key in self.__dict__)
        lines = [f"MLP({' -> '.join(map(str, self.sizes))}, {count} parameters, "
                 f"init={self.init!r}{extra})"]
        lines += [f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers)]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Dropout and skip connections


def _check_probability(who: str, p) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{who}: the dropout probability must be a number in [0, 1] (the "
                         f"fraction of units zeroed in training), got {p!r}")
    return float(p)


class Dropout(Module):
    """Inverted dropout, as torch.nn.Dropout(p): in training mode each input is zeroed with
    probability p and the others are scaled by 1 / (1 - p), so the expected output is the
    input; in eval mode (model.eval()) it returns its input unchanged (the same Values).

    In the graph a unit is kept as `x * kept` and dropped as `x * dropped`, two constant leaves
    holding 1/(1-p) and 0: a dropped unit stays in the graph, and its backward passes exactly
    0 to x (d(x*0)/dx = 0). The mask comes from a private random.Random(seed): the same seed
    gives the same masks, call after call (not PyTorch's numbers: its generator is another).
    `mask` holds the last call's factors (1/(1-p) kept, 0.0 dropped; None before any call in
    training mode). Takes a Value, a number or a list of them; returns the same shape.
    """

    def __init__(self, p: float = 0.5, seed: Seed = None) -> None:
        self.p = _check_probability("Dropout", p)
        self.rng = _rng(seed)
        self.mask: list[float] | None = None

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        single = not isinstance(x, (list, tuple))
        units = [x] if single else x
        p, draw = self.p, self.rng.random
        scale = 1.0 / (1.0 - p) if p < 1.0 else 0.0
        mask = [0.0 if draw() < p else scale for _ in units]   # each unit dropped with prob. p
        self.mask = mask
        kept, dropped = Value(scale, "kept"), Value(0.0, "dropped")   # one of each per call
        out = [(u if isinstance(u, Value) else Value(u)) * (kept if m else dropped)
               for u, m in zip(units, mask)]
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"Dropout(p={self.p:g})"


def _width(module) -> int | None:
    """How many outputs a module gives, when it says (Layer, Neuron, MLP)."""
    if isinstance(module, Layer):
        return module.nout
    if isinstance(module, Neuron):
        return 1
    if isinstance(module, MLP):
        return module.sizes[-1]
    return None


def _skip(x, out, owner: Module):
    """x + out, unit by unit; a Value when `out` is one."""
    if isinstance(out, Value):
        if len(x) != 1:
            raise ValueError(f"{_who(owner)}: a skip connection adds the input to the output, "
                             f"but the input has {len(x)} units and the output 1")
        return x[0] + out
    if len(out) != len(x):
        raise ValueError(f"{_who(owner)}: a skip connection adds the input to the output, but "
                         f"the input has {len(x)} units and the output {len(out)}")
    return [xi + oi for xi, oi in zip(x, out)]


class Residual(Module):
    """A skip connection around a module: forward(x) = x + block(x), unit by unit, as in a
    ResNet. The gradient reaching x is its upstream gradient plus what flows back through the
    block, so the identity path carries it past the block undiminished. The block's output
    must have as many units as its input (Layer(8, 8), MLP(8, [16, 8]), ...)."""

    def __init__(self, block: Module) -> None:
        if not isinstance(block, Module):
            raise TypeError(f"Residual takes an nn Module (such as nn.Layer(8, 8)), "
                            f"got {type(block).__name__}")
        nin, nout = getattr(block, "nin", None), _width(block)
        if isinstance(nin, int) and nout is not None and nin != nout:
            raise ValueError(f"Residual: x + block(x) needs as many outputs as inputs, but "
                             f"{_who(block)} maps {nin} to {nout}")
        self.block = block

    def forward(self, x):
        nin = getattr(self.block, "nin", None)
        if isinstance(nin, int):
            x = _as_inputs(x, nin, self)        # numbers become labelled leaves, once
        elif not isinstance(x, (list, tuple)):
            x = [x]
        return _skip(x, self.block(x), self)

    def __repr__(self) -> str:
        return f"Residual({_who(self.block)})"


# ---------------------------------------------------------------------------------------------
# Saving and loading: JSON, written atomically

# Differences worth a warning, not a refusal: init only says how the weights started, and a
# module's class may be renamed or subclassed (another forward) on purpose
WARN_ONLY = frozenset({"init", "type"})


def _describe(module: Module) -> dict[str, dict]:
    """Each module's type and settings, by name: what load() compares."""
    return {name: {"type": type(m).__name__, **m._settings()}
            for name, m in module.named_modules()}


def save(module: Module, path: str | os.PathLike) -> None:
    """Write the module's parameters to `path` as JSON. Atomic: the file is written next to
    `path` under a temporary name and then renamed over it, so a crash mid-write leaves the
    old file as it was."""
    path = _check_path("save", path)
    if os.path.isdir(path):
        raise ValueError(f"save: {path!r} is a folder; give a file name such as "
                         f"{os.path.join(path, 'model.json')!r}")
    state = module.state_dict()
    for name, x in state.items():
        if not math.isfinite(x):
            raise ValueError(f"save: parameter {name!r} is {x} (the training diverged?); "
                             "JSON holds only finite numbers, and nothing was written")
    write_atomically(path, _document(module, state).encode("utf-8"))


def _document(module: Module, state: dict[str, float]) -> str:
    return json.dumps({"format": FORMAT, "version": FORMAT_VERSION, "model": repr(module),
                       "modules": _describe(module), "state": state}, indent=1)


def _check_path(verb: str, path) -> str:
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not path:
        raise ValueError(f"{verb}: the path is empty; give a file name such as 'model.json'")
    return path


def _size_limit(module: Module) -> int:
    """The most bytes a file saved from this module can need: its document with the longest
    number repr in every place, twice over (for hand edits and version 1's layout), plus 64 KiB."""
    longest = -2.2250738585072014e-308
    document = _document(module, {name: longest for name, _ in module.named_parameters()})
    return 2 * len(document.encode("utf-8")) + 65536


def load(module: Module, path: str | os.PathLike) -> Module:
    """Set the module's parameters from a file written by save(); returns the module.

    A file larger than any this model could have written is refused unread. A corrupt file,
    another shape, or a model built with another activation raises ValueError naming the file,
    and changes nothing; another init only warns (the loaded weights replace the initial ones).
    """
    path = _check_path("load", path)
    limit = _size_limit(module)
    with _open_file(path) as file:
        size = os.fstat(file.fileno()).st_size
        content = file.read(limit + 1) if size <= limit else b""
    if size > limit or len(content) > limit:
        raise ValueError(f"load: {path!r} is larger ({max(size, len(content)):,} bytes or more) "
                         f"than any file saved from this model ({limit:,} bytes at most); it "
                         "was not written by nn.save for this model")
    document = _parse(path, content)
    if (not isinstance(document, dict) or document.get("format") != FORMAT
            or "state" not in document):
        raise ValueError(f"load: {path!r} is not a chainrule model file "
                         f"(expected a JSON object with format {FORMAT!r}, written by nn.save)")
    version = document.get("version")
    if version not in (1, FORMAT_VERSION) or isinstance(version, bool):
        raise ValueError(f"load: {path!r} has format version {version!r}; this chainrule "
                         f"reads versions 1 and {FORMAT_VERSION}")
    state = document["state"]
    if version == 1 and isinstance(state, dict):        # lists of numbers under 'x.w'
        state = {key: value for name, entry in state.items()
                 for key, value in (_flat(name, entry))}
    saved = str(document.get("model", "?"))
    try:
        updates = _updates(module, state)     # everything checked before anything changes
    except ValueError as error:
        raise ValueError(f"load: {path!r} does not fit this model: {error}\n"
                         f"  saved model: {saved}\n  this model:  {module!r}") from error
    if version != 1:
        _compare_settings(path, document.get("modules"), module, saved)
    for p, number in updates:
        p.data = number
    return module


def _open_file(path: str):
    """The file at `path`, open for reading, if it is a regular file: a FIFO, a device or a
    terminal is refused (opened without waiting: reading a FIFO nobody writes would block)."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise ValueError(f"load: {path!r} is not a regular file (a FIFO, a device or a "
                             "folder); give the path of a file written by nn.save")
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _compare_settings(path: str, modules, module: Module, saved: str) -> None:
    """Refuse a model built with other settings (another activation computes another function
    with the same weights); warn when only the init differs."""
    if not isinstance(modules, dict) or not all(isinstance(m, dict) for m in modules.values()):
        raise ValueError(f"load: {path!r} is corrupt: its 'modules' entry is not a dict of "
                         "settings (was it written by nn.save?)")
    changed = []                     # (where, key, saved, here) for every difference
    for name, here in _describe(module).items():
        there = modules.get(name)
        if there is not None:
            where = f"the model's {name!r}" if name else "the model"
            changed += [(where, key, there.get(key), here.get(key)) for key in {**there, **here}
                        if there.get(key) != here.get(key)]
    refused = [c for c in changed if c[1] not in WARN_ONLY]
    if refused:                      # the outermost difference: the module nearest the root
        where = refused[0][0]
        shown = "; ".join(f"{key} {a!r} there, {b!r} here" for w, key, a, b in refused
                          if w == where)
        raise ValueError(f"load: {path!r} was saved from a model built differently at {where} "
                         f"({shown}): its weights would compute something else here. Build "
                         f"the model as it was saved:\n  saved model: {saved}\n  this model:  "
                         f"{module!r}")
    if changed:
        where, key, a, b = changed[0]
        warnings.warn(f"load: {path!r} was saved from a model with {key}={a!r} at {where}, this "
                      f"one has {key}={b!r}; the loaded weights replace the initial ones, so this "
                      "changes nothing unless you meant to build the same model",
                      UserWarning, stacklevel=3)


def _flat(name: str, entry) -> list[tuple[str, object]]:
    if isinstance(entry, list):
        return [(f"{name}.{i}", x) for i, x in enumerate(entry)]
    return [(name, entry)]


def _parse(path: str, content: bytes):
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"load: {path!r} is not UTF-8 text ({error}); it was not written by "
                         "nn.save") from error
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"load: {path!r} is nested too deeply to be a chainrule model file "
                         "(it was not written by nn.save)") from None
    except ValueError as error:             # JSONDecodeError, or an int of too many digits
        raise ValueError(f"load: {path!r} is not valid JSON ({error}); the file is corrupt "
                         "or was not written by nn.save") from error
