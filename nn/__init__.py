"""chainrule's neural-network layer, built only from autograd Values."""

import autograd as _autograd

if not hasattr(_autograd, "Value"):      # HIPS autograd (pip install autograd) has this name too
    _where = getattr(_autograd, "__file__", None) or list(getattr(_autograd, "__path__", []))
    raise ImportError(
        f"nn: `import autograd` found {_where}, which is not chainrule's autograd: another "
        "package (HIPS autograd, pip install autograd) installs the same import name. Fix: use "
        "a separate virtual environment for each, and in chainrule's: "
        "pip uninstall -y autograd chainrule && pip install chainrule")

from . import data, plot, progress
from .gradients import LayerGrads, layer_grads
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    l2_penalty,
    log_softmax,
    mae_loss,
    mse_loss,
    softmax,
    softplus,
)
from .metrics import accuracy, predicted_class
from .module import MLP, Dropout, Layer, Module, Neuron, Residual, load, save
from .optim import SGD, Adagrad, Adam, Optimizer, RMSProp, clip_grad_norm
from .sweep import lr_sweep
from .torch import from_torch, to_torch
from .train import History, StepResult, TrainingDiverged, fit, train_step

__all__ = [
    "Module", "Neuron", "Layer", "MLP", "Dropout", "Residual", "save", "load",
    "mse_loss", "mae_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "softmax", "log_softmax", "cross_entropy", "hinge_loss", "l2_penalty", "softplus",
    "Optimizer", "SGD", "Adam", "RMSProp", "Adagrad", "clip_grad_norm",
    "train_step", "fit", "History", "StepResult", "TrainingDiverged", "lr_sweep",
    "accuracy", "predicted_class", "layer_grads", "LayerGrads",
    "to_torch", "from_torch",
    "data", "plot", "progress",
]
