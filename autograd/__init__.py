"""chainrule's engine: scalar reverse-mode autodiff for learning backprop one number at a time."""

from . import _browser
from ._clash import warn_if_clashing
from .check import BUILTIN_OPS, GradcheckError, OpCheckError, check_op, check_ops, gradcheck
from .codegen import Compiled, CompileError, GraphChangedError
from .codegen import compile as compile  # public, but not in __all__ (see below)
from .draw import DEFAULT_MAX_NODES, GraphTooLargeError, draw
from .engine import (
    StaleGraphError,
    UndefinedMathError,
    Value,
    cos,
    define_op,
    enable_grad,
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
from .functional import grad, gradients, hessian, hvp
from .render import RenderError, RenderWarning, available_backends
from .slides import slides
from .stepper import Stepper, stepper
from .steps import Edge, Ledger, Pass, Step, backward_pass, backward_steps, ledger

__all__ = [
    "Value", "UndefinedMathError", "StaleGraphError", "no_grad", "enable_grad",
    "is_grad_enabled", "define_op",
    "topological_order", "local_derivatives", "grad", "gradients", "hessian", "hvp",
    "exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt", "step", "sign",
    "gradcheck", "GradcheckError", "check_op", "check_ops", "OpCheckError", "BUILTIN_OPS",
    "backward_steps", "backward_pass", "Pass", "Step", "Edge", "ledger", "Ledger", "Symbol",
    "slides", "stepper", "Stepper",
    "draw", "Graph", "GraphTooLargeError", "DEFAULT_MAX_NODES", "RenderError",
    "RenderWarning", "available_backends", "Compiled", "CompileError", "GraphChangedError",
    "browser_ready",
]
# autograd.compile is public but not in __all__: `from autograd import *` must not shadow
# Python's built-in compile().

__version__ = "0.1.0"


def __getattr__(name: str):
    """Graph (what draw() returns) when asked for: it imports the graphviz package."""
    if name == "Graph":
        from .picture import Graph
        return Graph
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

browser_ready = _browser.ready    # in the browser: `await autograd.browser_ready()` before drawing

warn_if_clashing()          # HIPS autograd installs the same import name: say so, and the fix
if _browser.here():         # in the JupyterLite site: start loading the browser's Graphviz
    _browser.preload()
