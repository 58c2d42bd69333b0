"""chainrule's engine: scalar reverse-mode autodiff for learning backprop one number at a time."""

from .check import BUILTIN_OPS, GradcheckError, OpCheckError, check_op, check_ops, gradcheck
from .draw import DEFAULT_MAX_NODES, Graph, GraphTooLargeError, draw
from .engine import (
    UndefinedMathError,
    Value,
    cos,
    define_op,
    exp,
    is_grad_enabled,
    local_derivatives,
    log,
    no_grad,
    relu,
    sigmoid,
    sign,
    sin,
    sqrt,
    step,
    tanh,
    topological_order,
)
from .formula import Symbol
from .render import RenderError, RenderWarning, available_backends
from .slides import slides
from .steps import Edge, Ledger, Step, backward_steps, ledger

__all__ = [
    "Value", "UndefinedMathError", "no_grad", "is_grad_enabled", "define_op",
    "topological_order", "local_derivatives",
    "exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt", "step", "sign",
    "gradcheck", "GradcheckError", "check_op", "check_ops", "OpCheckError", "BUILTIN_OPS",
    "backward_steps", "Step", "Edge", "ledger", "Ledger", "Symbol", "slides",
    "draw", "Graph", "GraphTooLargeError", "DEFAULT_MAX_NODES", "RenderError",
    "RenderWarning", "available_backends",
]

__version__ = "0.1.0"
