"""to_torch and from_torch: an MLP-shaped model as a torch.nn.Sequential (float64) and back."""

# The road to PyTorch. A chainrule MLP is a stack of layers, each a Linear map followed by an
# activation, so PyTorch spells it torch.nn.Sequential(Linear, ReLU, Linear, ...):
#
#     Layer(nin, nout, activation)      Linear(nin, nout) then ReLU() / Tanh() / Sigmoid() / -
#     neuron j of the layer             row j of Linear.weight, and Linear.bias[j]
#     neuron j's w[i]                   Linear.weight[j, i]
#     Dropout(p), MLP(..., dropout=p)   Dropout(p) (after the activation), in the same mode
#
# PyTorch is imported only when to_torch or from_torch is called (`import torch` below means
# PyTorch itself: imports are absolute, this file is nn.torch).

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .module import MLP, Dropout, Layer, Module, Neuron

if TYPE_CHECKING:
    import torch

__all__ = ["to_torch", "from_torch", "TORCH_VERSION"]

TORCH_VERSION = "2.13.0"     # the version the tests and notebook 09 run against (its CPU build)

# chainrule's activation -> the torch.nn module applied after the Linear (None: nothing)
ACTIVATION_MODULES = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": None}


def _import_torch(who: str):
    try:
        import torch
    except ImportError as error:
        raise ImportError(f"{who} needs PyTorch, which chainrule does not install for you: "
                          f"pip install torch=={TORCH_VERSION}") from error
    return torch


@dataclass
class _Dense:
    """One Linear-then-activation stage of the model: its neurons, in order."""
    neurons: list[Neuron]
    activation: str
    name: str                 # how the error messages call it, e.g. "Layer(16 -> 10, linear)"

    @property
    def nin(self) -> int:
        return len(self.neurons[0].w)

    @property
    def nout(self) -> int:
        return len(self.neurons)

    def describe(self) -> str:
        act = ACTIVATION_MODULES.get(self.activation)
        return f"Linear({self.nin} -> {self.nout})" + (f", {act}" if act else "")


@dataclass
class _Drop:
    """A Dropout between stages: no weights, only p and the mode."""
    dropout: Dropout
    name: str = "Dropout"

    def describe(self) -> str:
        return f"Dropout({self.dropout.p:g})"


SUPPORTED = "nn.MLP, nn.Layer, nn.Neuron, nn.Dropout, or a list of them"


def _dense(stages: list) -> list[_Dense]:
    return [stage for stage in stages if isinstance(stage, _Dense)]


def _stages(model, who: str) -> list[_Dense | _Drop]:
    """The model as Linear-then-activation stages (and Dropouts between them); a clear error
    for anything else."""
    parts = list(model) if isinstance(model, (list, tuple)) else [model]
    if not parts:
        raise ValueError(f"{who}: an empty list; give {SUPPORTED}")
    stages: list[_Dense | _Drop] = []
    for part in parts:
        stages.extend(_stages_of(part, who))
    dense = _dense(stages)
    if not stages:
        raise ValueError(f"{who}: only empty lists; give {SUPPORTED}")
    if not dense:
        raise ValueError(f"{who}: only Dropout, no layer with weights; give {SUPPORTED}")
    held: dict[int, str] = {}            # each parameter, and the stage that holds it
    for stage in dense:
        for v in (v for n in stage.neurons for v in (*n.w, n.b)):
            if id(v) in held:
                raise ValueError(f"{who}: {stage.name} and {held[id(v)]} share one parameter "
                                 f"({v.label or f'data {v.data:g}'}): tied weights, or a layer "
                                 "listed twice; each torch Linear holds its own copy of every "
                                 "weight, so the gradients would differ. Give each place its "
                                 "own Value")
            held[id(v)] = stage.name
    for a, b in zip(dense, dense[1:]):
        if a.nout != b.nin:
            raise ValueError(f"{who}: the stack does not fit together: {a.name} gives {a.nout} "
                             f"output{'s' if a.nout != 1 else ''}, but the next, {b.name}, "
                             f"takes {b.nin}")
    return stages


def _stages_of(part, who: str) -> list[_Dense | _Drop]:
    if isinstance(part, (list, tuple)):
        return [stage for p in part for stage in _stages_of(p, who)] if part else []
    if isinstance(part, Dropout):
        _check_plain(part, Dropout, who)
        return [_Drop(part)]
    if isinstance(part, MLP):
        _check_plain(part, MLP, who)
        if part.__dict__.get("residual"):
            raise TypeError(f"{who}: this MLP has residual=True: its skip connections "
                            "(x + layer(x)) are not a torch.nn.Sequential; write its forward "
                            "in PyTorch by hand")
        dropouts = part.__dict__.get("dropouts") or []
        stages = []
        for i, layer in enumerate(part.layers):
            stages.append(_layer_stage(layer, who))
            if i < len(dropouts):
                stages.append(_Drop(dropouts[i]))
    elif isinstance(part, Layer):
        stages = [_layer_stage(part, who)]
    elif isinstance(part, Neuron):
        _check_plain(part, Neuron, who)
        _check_activation(part, who)
        stages = [_Dense([part], part.activation, repr(part))]
    else:
        what = type(part).__name__
        hint = (" (write its PyTorch module by hand, or build it from those)"
                if isinstance(part, Module) else "")
        raise TypeError(f"{who} supports {SUPPORTED}; {what} is not supported{hint}")
    # every parameter must sit in a neuron that becomes a Linear: no extra weights left behind
    mapped = {id(v) for stage in _dense(stages) for n in stage.neurons for v in (*n.w, n.b)}
    extra = [name for name, v in part.named_parameters() if id(v) not in mapped]
    if extra:
        raise TypeError(f"{who}: {type(part).__name__} has parameters outside its neurons "
                        f"({', '.join(map(repr, extra[:3]))}{', ...' if len(extra) > 3 else ''})"
                        f"; {who} supports plain {SUPPORTED}")
    return stages


def _layer_stage(layer, who: str) -> _Dense:
    if not isinstance(layer, Layer):
        raise TypeError(f"{who}: the MLP holds a {type(layer).__name__} among its layers; "
                        f"{who} supports {SUPPORTED}")
    _check_plain(layer, Layer, who)
    if not layer.neurons:
        raise ValueError(f"{who}: {layer!r} has no neurons")
    for neuron in layer.neurons:
        if not isinstance(neuron, Neuron):
            raise TypeError(f"{who}: {layer!r} holds a {type(neuron).__name__} among its "
                            f"neurons; {who} supports {SUPPORTED}")
        _check_plain(neuron, Neuron, who)
        _check_activation(neuron, who)
    activations = sorted({n.activation for n in layer.neurons})
    if len(activations) > 1:
        raise ValueError(f"{who}: the neurons of {layer!r} mix activations "
                         f"({', '.join(activations)}); a torch Linear layer is followed by one")
    sizes = sorted({len(n.w) for n in layer.neurons})
    if len(sizes) > 1:
        raise ValueError(f"{who}: the neurons of {layer!r} have different numbers of weights "
                         f"({', '.join(map(str, sizes))})")
    return _Dense(list(layer.neurons), activations[0], repr(layer))


def _check_plain(part, base: type, who: str) -> None:
    """A subclass may add nothing to what it computes: its forward must be the base class's."""
    if type(part).forward is not base.forward:
        raise TypeError(f"{who}: {type(part).__name__} overrides forward(), so what it computes "
                        f"is not known to be a plain {base.__name__}'s; {who} supports "
                        f"{SUPPORTED}")


def _check_activation(neuron: Neuron, who: str) -> None:
    if neuron.activation not in ACTIVATION_MODULES:
        raise ValueError(f"{who}: activation {neuron.activation!r} has no PyTorch counterpart "
                         f"here; supported: {', '.join(ACTIVATION_MODULES)}")


# ---------------------------------------------------------------------------------------------
# chainrule -> PyTorch


def to_torch(model: MLP | Layer | Neuron | Sequence) -> torch.nn.Sequential:
    """A torch.nn.Sequential in float64 with the model's weights and activations.

    Each Layer becomes Linear(nin, nout) and its activation (ReLU, Tanh, Sigmoid; nothing for
    linear); neuron j's weights are row j of Linear.weight, its bias Linear.bias[j]. A Neuron
    is a Linear(nin, 1). A Dropout (also an MLP's dropout=p) becomes torch.nn.Dropout(p), in
    the mode the chainrule one is in (train or eval); the rest is in training mode unless
    every chainrule module given is in eval mode. The masks are PyTorch's own draws. The
    module takes a tensor of shape (batch, nin) and returns (batch, nout), also for one output
    (where the chainrule model returns a Value).
    Forward and backward agree with chainrule's to rounding (about 1e-15).

    The weights are copied: training one does not change the other (see from_torch). A
    parameter held in two places (tied weights, a layer listed twice) is refused: each torch
    Linear would hold its own copy, and the gradients would differ.
    PyTorch's random generator is left untouched (no random init is drawn).
    """
    stages = _stages(model, "to_torch")
    torch = _import_torch("nn.to_torch")
    modules = []
    with torch.no_grad():
        for stage in stages:
            if isinstance(stage, _Drop):
                modules.append(torch.nn.Dropout(stage.dropout.p))
                continue
            # skip_init: no random weights drawn (they are overwritten at once)
            linear = torch.nn.utils.skip_init(torch.nn.Linear, stage.nin, stage.nout,
                                              dtype=torch.float64)
            linear.weight.copy_(torch.tensor([[w.data for w in n.w] for n in stage.neurons],
                                             dtype=torch.float64))
            linear.bias.copy_(torch.tensor([n.b.data for n in stage.neurons],
                                           dtype=torch.float64))
            modules.append(linear)
            activation = ACTIVATION_MODULES[stage.activation]
            if activation:
                modules.append(getattr(torch.nn, activation)())
    net = torch.nn.Sequential(*modules)
    parts = model if isinstance(model, (list, tuple)) else [model]
    net.train(any(part.training for part in _flat_parts(parts)))
    dropouts = [m for m in net if isinstance(m, torch.nn.Dropout)]
    for ours, theirs in zip([s for s in stages if isinstance(s, _Drop)], dropouts):
        theirs.train(ours.dropout.training)
    return net


def _flat_parts(parts):
    for part in parts:
        if isinstance(part, (list, tuple)):
            yield from _flat_parts(part)
        else:
            yield part


# ---------------------------------------------------------------------------------------------
# PyTorch -> chainrule


def from_torch(module: torch.nn.Module, model: MLP | Layer | Neuron | Sequence):
    """Copy the weights of a torch module shaped like `model` (as made by to_torch) into
    `model`; returns the model.

    The module must be a Linear, or a Sequential of Linear layers (with bias), each followed
    by the model's activation at that place (ReLU, Tanh, Sigmoid, or nothing / Identity for
    linear); Dropout is allowed anywhere, on either side (it has no weights). Any dtype or
    device: the numbers are read as float64. On any mismatch (sizes, activations, a missing
    bias, a nan or inf, complex numbers, a subclass with a forward of its own) raises
    ValueError and changes nothing, as nn.load does.
    """
    stages = _dense(_stages(model, "from_torch"))    # Dropouts have no weights to copy
    torch = _import_torch("nn.from_torch")
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch: expected a torch.nn.Module (e.g. from nn.to_torch), "
                        f"got {type(module).__name__}")
    linears = _torch_stages(module, torch)
    ours = ", ".join(stage.describe() for stage in stages)
    theirs = ", ".join(_describe(linear, act) for linear, act in linears)

    def mismatch(reason: str) -> ValueError:
        shown = repr(model).partition("\n")[0] if not isinstance(model, (list, tuple)) \
            else f"a list of {len(model)}"
        return ValueError(f"from_torch: the torch module does not fit this model: {reason}\n"
                          f"  torch module: {theirs}\n  this model:   {ours} ({shown})")

    if len(linears) != len(stages):
        raise mismatch(f"it has {len(linears)} Linear layer{'s' if len(linears) != 1 else ''}, "
                       f"the model {len(stages)}")
    updates: list[tuple] = []
    for k, (stage, (linear, activation)) in enumerate(zip(stages, linears), start=1):
        if (linear.in_features, linear.out_features) != (stage.nin, stage.nout):
            raise mismatch(f"Linear layer {k} is {linear.in_features} -> "
                           f"{linear.out_features}, the model's {stage.name}")
        if linear.bias is None:
            raise mismatch(f"Linear layer {k} has no bias (bias=False); every chainrule "
                           "neuron has one")
        if activation != stage.activation:
            raise mismatch(f"Linear layer {k} is followed by "
                           f"{ACTIVATION_MODULES[activation] or 'no activation'}, the model's "
                           f"{stage.name} by {ACTIVATION_MODULES[stage.activation] or 'none'}")
        for tensor in (linear.weight, linear.bias):
            if tensor.is_meta:
                raise ValueError(f"from_torch: Linear layer {k} holds no numbers (its weights "
                                 "are on the meta device); nothing was copied")
            if tensor.is_complex():
                raise ValueError(f"from_torch: Linear layer {k} holds complex numbers "
                                 f"({tensor.dtype}); a chainrule weight is a real number, "
                                 "nothing was copied")
        weight = linear.weight.detach().to("cpu", torch.float64).tolist()
        bias = linear.bias.detach().to("cpu", torch.float64).tolist()
        for j, neuron in enumerate(stage.neurons):
            for i, w in enumerate(neuron.w):
                updates.append((w, weight[j][i], f"Linear layer {k}: weight[{j}, {i}]"))
            updates.append((neuron.b, bias[j], f"Linear layer {k}: bias[{j}]"))
    for _, number, where in updates:
        if not math.isfinite(number):
            raise ValueError(f"from_torch: {where} is {number} (the training diverged?); "
                             "nothing was copied")
    for value, number, _ in updates:           # everything checked: now change the model
        value.data = number
    return model


def _torch_stages(module, torch) -> list[tuple]:
    """[(Linear, activation name), ...] of a Linear or a (nested) Sequential of them."""
    children = list(_flat(module, torch))
    known = {getattr(torch.nn, name): act for act, name in ACTIVATION_MODULES.items() if name}
    stages: list[list] = []
    for position, child in enumerate(children):
        for base in (torch.nn.Linear, torch.nn.Dropout, torch.nn.Identity):
            if isinstance(child, base) and type(child).forward is not base.forward:
                raise ValueError(f"from_torch: {type(child).__name__} at position {position} "
                                 f"overrides forward(), so what it computes is not known to "
                                 f"be a plain {base.__name__}'s")
        if isinstance(child, torch.nn.Linear):
            stages.append([child, "linear"])
        elif isinstance(child, torch.nn.Dropout):
            continue
        elif type(child) in known or isinstance(child, torch.nn.Identity):
            act = known.get(type(child), "linear")
            if not stages or (stages[-1][1] != "linear" and act != "linear"):
                raise ValueError(f"from_torch: {type(child).__name__} at position {position} "
                                 "does not follow a Linear layer; a chainrule layer is a Linear "
                                 "and one activation")
            if act != "linear":
                stages[-1][1] = act
        else:
            raise ValueError(f"from_torch: the torch module holds {type(child).__name__} at "
                             f"position {position}; from_torch reads Linear layers with ReLU, "
                             "Tanh, Sigmoid, Identity or Dropout between them")
    if not stages:
        raise ValueError("from_torch: the torch module has no Linear layer")
    return [tuple(stage) for stage in stages]


def _flat(module, torch):
    if isinstance(module, torch.nn.Sequential):
        for child in module:
            yield from _flat(child, torch)
    else:
        yield module


def _describe(linear, activation: str) -> str:
    act = ACTIVATION_MODULES[activation]
    return f"Linear({linear.in_features} -> {linear.out_features})" + (f", {act}" if act else "")
