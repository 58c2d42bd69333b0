"""Module, Neuron, Layer, MLP: networks made of Values; state_dict, save and load as JSON."""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Iterator, Sequence

from autograd import Value
from autograd._files import write_atomically

__all__ = ["Module", "Neuron", "Layer", "MLP", "save", "load", "ACTIVATIONS", "INITS"]

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
INITS = ("uniform", "xavier", "he")
FORMAT = "chainrule.nn"        # the "format" field of a saved file
FORMAT_VERSION = 1

Seed = int | random.Random | None


class Module:
    """A piece of a network. Parameters are found by walking the attributes in the order they
    were assigned: a `Value`, a `Module`, or a list or tuple of them (as PyTorch registers
    submodules). `__call__` runs `forward`, as in PyTorch."""

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(name, Value) for every parameter, in a stable order: 'layers.0.neurons.1.w.0'."""
        return [(name, leaf) for name, entry in self._entries()
                for name, leaf in _flatten(name, entry)]

    def parameters(self) -> list[Value]:
        """Every parameter (a leaf Value), in a stable order."""
        return [leaf for _, leaf in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0.0 (leaf grads accumulate across backward() calls)."""
        for p in self.parameters():
            p.grad = 0.0

    def state_dict(self) -> dict[str, float | list[float]]:
        """The parameters' numbers by name: a float for a Value, a list for a list of Values."""
        return {name: (entry.data if isinstance(entry, Value) else [v.data for v in entry])
                for name, entry in self._entries()}

    def load_state_dict(self, state: dict) -> None:
        """Set every parameter from `state` (as made by state_dict()). The names and sizes must
        match exactly; on any mismatch raises ValueError and changes nothing."""
        if not isinstance(state, dict):
            raise ValueError(f"load_state_dict: expected a dict of parameters, "
                             f"got {type(state).__name__}")
        entries = dict(self._entries())
        missing = [name for name in entries if name not in state]
        unexpected = [name for name in state if name not in entries]
        if missing or unexpected:
            raise ValueError(
                f"load_state_dict: the parameters do not match this {type(self).__name__}"
                + (f"; missing: {_names(missing)}" if missing else "")
                + (f"; unexpected: {_names(unexpected)}" if unexpected else "")
                + " (was it saved from a model of another shape?)")
        updates: list[tuple[Value, float]] = []
        for name, entry in entries.items():
            given = state[name]
            if isinstance(entry, Value):
                updates.append((entry, _number(name, given)))
                continue
            if not isinstance(given, list) or len(given) != len(entry):
                size = len(given) if isinstance(given, list) else type(given).__name__
                raise ValueError(f"load_state_dict: {name!r} has {len(entry)} numbers in this "
                                 f"model, but {size} in the state (a model of another shape?)")
            updates.extend((v, _number(f"{name}[{i}]", x))
                           for i, (v, x) in enumerate(zip(entry, given)))
        for value, number in updates:          # everything checked: now change the model
            value.data = number

    def _entries(self) -> Iterator[tuple[str, Value | list[Value]]]:
        """(name, Value or list of Values) for each parameter entry, walking the attributes."""
        yield from _walk("", vars(self))


def _walk(prefix: str, items) -> Iterator[tuple[str, Value | list[Value]]]:
    pairs = items.items() if isinstance(items, dict) else enumerate(items)
    for key, item in pairs:
        name = f"{prefix}{key}"
        if isinstance(item, Value):
            yield name, item
        elif isinstance(item, Module):
            yield from _walk(f"{name}.", vars(item))
        elif isinstance(item, (list, tuple)) and item:
            if all(isinstance(x, Value) for x in item):
                yield name, list(item)
            elif any(isinstance(x, (Value, Module, list, tuple)) for x in item):
                yield from _walk(f"{name}.", item)


def _flatten(name: str, entry) -> list[tuple[str, Value]]:
    if isinstance(entry, Value):
        return [(name, entry)]
    return [(f"{name}.{i}", v) for i, v in enumerate(entry)]


def _names(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _number(name: str, x) -> float:
    if type(x) not in (int, float) or not math.isfinite(x):
        raise ValueError(f"load_state_dict: {name!r} must be a finite number, got {x!r}")
    return float(x)


def _rng(seed: Seed) -> random.Random:
    """A private random.Random (never the global one): the same int seed gives the same numbers
    on every run and machine; a Random is used as it is; None draws a fresh seed."""
    if isinstance(seed, random.Random):
        return seed
    if seed is None or (isinstance(seed, int) and not isinstance(seed, bool)):
        return random.Random(seed)
    raise TypeError(f"seed must be an int, a random.Random or None, got {type(seed).__name__}")


def _check_choice(kind: str, given: str, choices: tuple[str, ...]) -> str:
    if given not in choices:
        raise ValueError(f"unknown {kind} {given!r}; choose one of {', '.join(choices)}")
    return given


def _check_size(name: str, n) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{name} must be a positive int, got {n!r}")
    return n


def _as_inputs(x, nin: int, owner: Module) -> list[Value]:
    """The inputs as a list of `nin` Values: numbers become leaves once here, so that the
    neurons of a layer share them instead of each wrapping its own constant."""
    if isinstance(x, (Value, int, float)) and not isinstance(x, bool):
        x = [x]
    try:
        n = len(x)
    except TypeError:
        who = repr(owner).partition("\n")[0]
        raise TypeError(f"{who} takes a list of {nin} numbers or Values, "
                        f"got {type(x).__name__}: {x!r}") from None
    if n != nin:
        who = repr(owner).partition("\n")[0]
        raise ValueError(f"{who} expects {nin} input{'s' if nin != 1 else ''}, got {n}")
    return [xi if isinstance(xi, Value) else Value(xi) for xi in x]


class Neuron(Module):
    """act(b + w1*x1 + ... + wn*xn), the same graph as micrograd's Neuron.

    init: "uniform" (micrograd: w ~ U(-1, 1)), "xavier" (Glorot uniform:
    U(-a, a), a = sqrt(6 / (nin + fan_out))) or "he" (He normal: N(0, sqrt(2 / nin))).
    The bias starts at 0. `fan_out` is the size of the layer the neuron sits in (for xavier).
    """

    def __init__(self, nin: int, activation: str = "relu", init: str = "uniform",
                 seed: Seed = None, fan_out: int = 1) -> None:
        self.nin = _check_size("nin", nin)
        self.activation = _check_choice("activation", activation, ACTIVATIONS)
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

    def forward(self, x) -> Value:
        return self._forward(_as_inputs(x, self.nin, self))

    def _forward(self, x: list[Value]) -> Value:
        total = self.b
        for wi, xi in zip(self.w, x):
            total = total + wi * xi
        activation = self.activation
        if activation == "relu":
            return total.relu()
        if activation == "tanh":
            return total.tanh()
        if activation == "sigmoid":
            return total.sigmoid()
        return total

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, {self.activation})"


class Layer(Module):
    """`nout` neurons over the same inputs; returns a list of `nout` Values (always a list)."""

    def __init__(self, nin: int, nout: int, activation: str = "relu", init: str = "uniform",
                 seed: Seed = None) -> None:
        self.nin = _check_size("nin", nin)
        self.nout = _check_size("nout", nout)
        self.activation = _check_choice("activation", activation, ACTIVATIONS)
        rng = _rng(seed)
        self.neurons = [Neuron(nin, activation, init, rng, fan_out=nout) for _ in range(nout)]

    def forward(self, x) -> list[Value]:
        x = _as_inputs(x, self.nin, self)
        return [neuron._forward(x) for neuron in self.neurons]

    def __repr__(self) -> str:
        return f"Layer({self.nin} -> {self.nout}, {self.activation})"


class MLP(Module):
    """A multilayer perceptron: `nin` inputs, then one Layer per size in `nouts`.

    Hidden layers use `activation`, the last `output_activation`. With one output the model
    returns a Value, with several a list (micrograd's convention). `seed` (an int) gives the
    same weights on every run and machine.
    """

    def __init__(self, nin: int, nouts: Sequence[int], activation: str = "relu",
                 output_activation: str = "linear", init: str = "uniform",
                 seed: Seed = None) -> None:
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
        rng = _rng(seed)
        last = len(nouts) - 1
        self.layers = [Layer(a, b, output_activation if i == last else activation, init, rng)
                       for i, (a, b) in enumerate(zip(self.sizes, self.sizes[1:]))]

    def forward(self, x) -> Value | list[Value]:
        x = _as_inputs(x, self.nin, self)
        for layer in self.layers:
            x = [neuron._forward(x) for neuron in layer.neurons]
        return x[0] if len(x) == 1 else x

    def __repr__(self) -> str:
        count = sum(layer.nin * layer.nout + layer.nout for layer in self.layers)
        lines = [f"MLP({' -> '.join(map(str, self.sizes))}, {count} parameters, "
                 f"init={self.init!r})"]
        lines += [f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers)]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Saving and loading: JSON, written atomically


def save(module: Module, path: str | os.PathLike) -> None:
    """Write the module's parameters to `path` as JSON. Atomic: the file is written next to
    `path` under a temporary name and then renamed over it, so a crash mid-write leaves the
    old file as it was."""
    path = os.fspath(path)
    document = {"format": FORMAT, "version": FORMAT_VERSION,
                "model": repr(module), "state": module.state_dict()}
    for name, _ in _nonfinite(document["state"]):
        raise ValueError(f"save: parameter {name!r} is not a finite number (the training "
                         "diverged?); JSON cannot hold nan or inf")
    write_atomically(path, json.dumps(document, indent=1).encode("utf-8"))


def _nonfinite(state: dict) -> Iterator[tuple[str, float]]:
    for name, entry in state.items():
        for x in entry if isinstance(entry, list) else [entry]:
            if not math.isfinite(x):
                yield name, x


def load(module: Module, path: str | os.PathLike) -> Module:
    """Set the module's parameters from a file written by save(); returns the module.
    On a corrupt file or a shape mismatch raises ValueError and changes nothing."""
    path = os.fspath(path)
    with open(path, encoding="utf-8") as file:
        text = file.read()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"load: {path!r} is not valid JSON ({error}); the file is corrupt "
                         "or was not written by nn.save") from error
    if (not isinstance(document, dict) or document.get("format") != FORMAT
            or "state" not in document):
        raise ValueError(f"load: {path!r} is not a chainrule model file "
                         f"(expected a JSON object with format {FORMAT!r}, written by nn.save)")
    if document.get("version") != FORMAT_VERSION:
        raise ValueError(f"load: {path!r} has format version {document.get('version')!r}; "
                         f"this chainrule reads version {FORMAT_VERSION}")
    try:
        module.load_state_dict(document["state"])
    except ValueError as error:
        saved = document.get("model", "?")
        raise ValueError(f"load: {path!r} does not fit this model: {error}\n"
                         f"  saved model: {saved}\n  this model:  {module!r}") from error
    return module
