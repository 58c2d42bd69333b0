"""How big the gradients are, layer by layer: what gradient_flow draws and fit(track_grads=True)
records. A deep network's gradients shrink (vanish) or grow (explode) from layer to layer."""

from __future__ import annotations

import math
from typing import NamedTuple

from autograd import Value

from .module import Layer, Module

__all__ = ["LayerGrads", "layer_grads", "weight_groups"]


class LayerGrads(NamedTuple):
    """The gradients of one layer's weights, as numbers: how many weights, the mean and the
    largest |grad|, and the norm sqrt(sum grad**2)."""
    name: str
    count: int
    mean: float
    max: float
    norm: float


def weight_groups(model: Module) -> list[tuple[str, list[Value]]]:
    """(layer name, its weights) for each layer, in the order of model.parameters().

    A layer is each nn.Layer (its neurons' weights together); a parameter outside any Layer
    belongs to the module that holds it. Biases (parameters named `b` or `bias`) are left out,
    as in the usual gradient-flow plot: they do not multiply the signal on its way back. The
    name is the layer's label prefix ('L0', 'body.L2'), or the module's type for the model
    itself.
    """
    if not isinstance(model, Module):
        raise TypeError(f"expected an nn Module (such as nn.MLP), got {type(model).__name__}")
    modules = dict(model.named_modules())
    groups: dict[str, list[Value]] = {}
    for name, p in model.named_parameters():
        if _is_bias(name):
            continue
        groups.setdefault(_owner(name, modules), []).append(p)
    if not groups:
        raise ValueError(f"{type(model).__name__} has no weights (only biases, or no "
                         "parameters at all)")
    return [(_display_name(owner, modules[owner]), weights) for owner, weights in groups.items()]


def _is_bias(name: str) -> bool:
    parts = [part for part in name.split(".") if not part.isdigit()]
    return bool(parts) and parts[-1] in ("b", "bias")


def _owner(name: str, modules: dict[str, Module]) -> str:
    """The outermost Layer holding the parameter, else the innermost module holding it."""
    parts = name.split(".")
    holders = [""] + [".".join(parts[:k]) for k in range(1, len(parts))]
    holders = [h for h in holders if h in modules]
    layers = [h for h in holders if isinstance(modules[h], Layer)]
    return layers[0] if layers else holders[-1]


def _display_name(owner: str, module: Module) -> str:
    prefix = module.__dict__.get("_nn_prefix", "").rstrip(".")
    return prefix or owner or type(module).__name__


def layer_grads(model: Module) -> list[LayerGrads]:
    """Each layer's weight gradients as it holds them now (after a backward pass), in layer
    order: name, count, mean |grad|, max |grad| and norm. See weight_groups for what a layer
    is. Reads the grads; changes nothing."""
    return [_stats(name, weights) for name, weights in weight_groups(model)]


def _stats(name: str, weights: list[Value]) -> LayerGrads:
    sizes = [abs(float(p.grad)) for p in weights]    # a Value grad (create_graph): its number
    return LayerGrads(name, len(sizes), math.fsum(sizes) / len(sizes), max(sizes),
                      math.sqrt(math.fsum(g * g for g in sizes)))


def layer_norms(groups: list[tuple[str, list[Value]]]) -> list[float]:
    """The norm of each group's grads (fit's track_grads, once per step)."""
    return [math.sqrt(math.fsum(p.grad * p.grad for p in weights)) for _, weights in groups]
