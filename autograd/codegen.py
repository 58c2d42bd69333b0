"""compile(): a graph as readable straight-line Python, from the engine's own local derivatives.

    >>> from autograd import compile, tanh
    >>> neuron = compile(lambda x, w, b: tanh(x * w + b), 2.0, -3.0, 6.88)
    >>> print(neuron.source)            # the forward and backward pass, one line per step
    >>> value, (dx, dw, db) = neuron(2.0, -3.0, 6.88)

How it works: `f` runs once on Values (a trace); the graph it builds is written out as Python.
The forward pass is one line per node. The backward pass is one line per chain-rule
contribution, `d<parent> += <local derivative> * d<node>`, where the local derivative is the
op's own `local` from engine.py fed names instead of numbers (as formula.py does for the
views): the code and the engine cannot disagree about a derivative. Constants of the graph
(numbers lifted to leaves, exponents, anything f computed from constants alone) are written as
exact literals (repr round-trips a float).

What the compiled function assumes: that `f` builds the same graph for every input. Data-
dependent *derivatives* are fine (relu's step, abs's sign become conditional expressions),
but Python control flow in `f` that looks at `.data` (an `if x.data > 0:` around different
ops) is frozen at the traced branch. `compile(..., check=True)` re-traces at a second input
and raises GraphChangedError if the code differs. Values that `f` reads from outside its
arguments (a model's parameters in a closure) are constants, frozen at their traced value:
pass them as arguments to differentiate with respect to them or to see them change.

Errors: the generated code checks cheaply (its outputs, and the inputs of the ops that can
turn an inf or NaN back into a finite number: tanh, sigmoid, relu, exp, a divisor, a power's
base). On an exception or a non-finite check it re-runs the interpreted engine on the same
inputs, which raises the engine's own UndefinedMathError naming the op and the input's label
(or, if the engine does not raise, returns the engine's result). What this misses: a non-finite
intermediate that a later op maps back to a finite number without passing through one of those
checked inputs (0.0 * inf would still give nan and be caught; a local derivative folded to the
constant 0.0 multiplying an infinite upstream gradient is not), a value f computes but does
not use (it is not computed: no error where it alone is undefined; f's own result inside a
grad() function is the exception: compile(grad(log)) computes log(x) too, and raises for
x <= 0 as grad(log) does), and f's own data-dependent control flow (see above).

Large graphs: nothing in the generated code nests, so there is no depth limit. A program of
more than READABLE_LINES statements is written for speed rather than reading (CPython runs a
function of 100,000 live floats about 3x slower per line): variables are reused once their
value is dead, plain grad copies are dropped and a product read once is written into its
reader, always with the same operations in the same order. Beyond CHUNK_LINES statements it is
split into parts, each compiled on its own (CPython's compiler is superlinear in memory and time
on huge functions), passing values between parts through one list. Functions of many inputs
take them as one sequence (PACKED_INPUTS).

For nn.fit(..., compile=True): CompiledLoss compiles a model and a loss's per-sample terms as
one function over a batch (the parameters in once; a loop over the samples runs each forward
and backward pass and adds each parameter's grad up); CompiledModel compiles a model of several
outputs as a generator, for a loss that runs on the engine: it yields the outputs, is sent
d loss/d output, and yields the parameters' grads.
"""

from __future__ import annotations

import builtins
import inspect
import keyword
import linecache
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import count

from . import engine, functional
from .engine import UndefinedMathError, Value, topological_order
from .formula import Symbol
from .text import constant_text, node_names

__all__ = ["compile", "Compiled", "CompiledModel", "CompiledLoss", "CompileError",
           "GraphChangedError", "CompileTooLarge", "CHUNK_LINES"]

CHUNK_LINES = 20000     # statements per generated function; larger graphs are split in parts
READABLE_LINES = 5000   # above this, variables whose value is dead are reused (see _reuse_names)
PACKED_INPUTS = 16      # above this many inputs, the function takes them as one sequence


class CompileError(Exception):
    """f cannot be compiled (it returns no Value, or uses an op whose forward is unknown)."""


class GraphChangedError(CompileError):
    """compile(check=True): f builds a different graph at the second input."""


class CompileTooLarge(CompileError):
    """CompiledLoss: the per-sample graph is too large for one batch function."""


# ---------------------------------------------------------------------------------------------
# The names the generated code may call (its whole namespace, besides the parts and user ops)

_FUNCTIONS = {
    "exp": math.exp, "log": math.log, "sin": math.sin, "cos": math.cos, "tanh": math.tanh,
    "sqrt": math.sqrt, "sigmoid": engine._float_sigmoid,       # the engine's own float sigmoid
}
_BUILTINS = {"abs": abs, "type": type, "float": float, "sum": sum, "max": max}
_RESERVED = set(_FUNCTIONS) | set(_BUILTINS) | {"relu", "step", "sign", "math"}


# ---------------------------------------------------------------------------------------------
# Identifiers from labels


def _identifier(text: str) -> str:
    """A label as a Python identifier: x stays x, 'h[1]' becomes h_1, '2x' becomes v2x.
    Never starts with '_' (those names are the generated code's own) nor is a keyword."""
    if text.isascii() and text.isidentifier() and text[0] != "_" and text[-1] != "_" \
            and "__" not in text and not keyword.iskeyword(text) \
            and not keyword.issoftkeyword(text):
        return text                                    # the usual case: x, w1, v17
    text = unicodedata.normalize("NFKC", text)         # what Python itself does to identifiers
    name = "".join(c if ("a" + c).isidentifier() else "_" for c in text)
    name = re.sub(r"__+", "_", name).strip("_")
    if not name or not name[0].isidentifier():
        name = "v" + name
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name += "_"
    return name


class _Names:
    """Hands out identifiers that never collide with each other or with reserved names."""

    def __init__(self, reserved) -> None:
        self.taken = set(reserved)

    def new(self, wanted: str) -> str:
        base = _identifier(wanted)
        name, k = base, 2
        while name in self.taken:
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        return name


def _comment_text(text: str) -> str:
    """Text safe inside a # comment: no line breaks or other unprintable characters."""
    return "".join(c if c.isprintable() else " " for c in text)


# ---------------------------------------------------------------------------------------------
# Formulas (Symbols fed to a local derivative) as Python source

_SUM, _PRODUCT, _NEGATION, _POWER, _ATOM = 1, 2, 3, 4, 5
_BINARY = {"+": _SUM, "-": _SUM, "*": _PRODUCT, "/": _PRODUCT}


def _number_code(x: float) -> str:
    """A float as an exact Python literal (repr round-trips); inf and nan by name."""
    x = float(x)
    if math.isfinite(x):
        return repr(x)
    return "_nan" if x != x else "_inf" if x > 0 else "-_inf"


def _code(formula) -> tuple[str, int]:
    """Python source for a formula (a Symbol or a number) and how tightly it binds.
    Every binary operator's right operand of equal precedence keeps its parentheses:
    float arithmetic is not associative, so the tree is kept exactly."""
    if isinstance(formula, (int, float)):
        text = _number_code(formula)
        return text, _NEGATION if text.startswith("-") else _ATOM
    kind, args = formula.kind, formula.args
    if kind == "name":
        return args[0], _ATOM
    if kind == "number":
        return _code(args[0])
    if kind == "call":
        function, (inner, _) = args[0], _code(args[1])
        if function == "relu":
            return f"({inner} if {inner} > 0.0 else 0.0)", _ATOM
        if function == "step":                      # relu's slope: 1 where x > 0, else 0
            return f"(1.0 if {inner} > 0.0 else 0.0)", _ATOM
        if function == "sign":                      # abs's slope: -1, 0 or 1
            return f"(1.0 if {inner} > 0.0 else -1.0 if {inner} < 0.0 else 0.0)", _ATOM
        if function not in _FUNCTIONS and function != "abs":
            raise CompileError(f"a local derivative calls {function}(), which compile() "
                               "does not know")
        return f"{function}({inner})", _ATOM
    if kind == "neg":
        inner, binding = _code(args[0])
        return "-" + (f"({inner})" if binding <= _NEGATION else inner), _NEGATION
    (a, pa), (b, pb) = _code(args[0]), _code(args[1])
    if kind == "**":
        a = f"({a})" if pa <= _POWER else a
        b = b if pb == _ATOM or args[1].kind == "number" else f"({b})"
        return f"{a} ** {b}", _POWER
    mine = _BINARY[kind]
    a = f"({a})" if pa < mine else a
    b = f"({b})" if pb <= mine else b
    return f"{a} {kind} {b}", mine


def _names_in(formula) -> set[str]:
    """The names a formula reads."""
    found, stack = set(), [formula]
    while stack:
        item = stack.pop()
        if isinstance(item, Symbol):
            if item.kind == "name":
                found.add(item.args[0])
            else:
                stack.extend(a for a in item.args if isinstance(a, Symbol))
    return found


def _symbolic(local, args) -> tuple | None:
    """A local derivative fed symbols (and numbers for constants): a tuple of formulas, or
    None when it cannot take symbols (one written with math.exp, or with an `if`)."""
    try:
        formulas = local(*args)
        formulas = tuple(formulas)
    except (TypeError, AttributeError, ValueError, ArithmeticError):
        return None
    if len(formulas) != len(args) - 1:
        return None
    for formula in formulas:
        if not isinstance(formula, (Symbol, int, float)) or isinstance(formula, bool):
            return None
    return formulas


# ---------------------------------------------------------------------------------------------
# Forward code per op: what the engine computes on floats, written as Python


def _forward_code(op: str, operands: list[str], exponent: float | None,
                  user_op: str | None) -> str:
    """The right-hand side of a node's forward line, in its operands' code."""
    if user_op is not None:
        return f"{user_op}({', '.join(operands)})"
    if op in _BINARY:
        a, b = operands
        return f"{a} {op} {b}"
    if op == "**":
        a = operands[0]
        a = f"({a})" if a.startswith("-") else a
        b = _number_code(exponent) if exponent is not None else operands[1]
        return f"{a} ** {b}"
    x, = operands
    if op == "neg":
        return f"-{x}" if not x.startswith("-") else f"-({x})"
    if op == "relu":
        return f"{x} if {x} > 0.0 else 0.0"
    if op == "step":                     # nodes in the graph of a derivative (relu's slope)
        return f"1.0 if {x} > 0.0 else 0.0"
    if op == "sign":                     # (abs's slope)
        return f"1.0 if {x} > 0.0 else -1.0 if {x} < 0.0 else 0.0"
    if op in _FUNCTIONS or op == "abs":
        return f"{op}({x})"
    raise CompileError(f"compile() does not know the forward of op {op!r}")


# map +-inf (or nan) to a finite number
_SATURATING = {"tanh", "sigmoid", "relu", "exp", "step", "sign"}


def _checked_operands(node: Value, op_is_user: bool) -> tuple[int, ...]:
    """Which operands of this node the non-finite check must look at: those an inf or nan
    could enter without reaching the output (tanh(inf) = 1, relu(nan) = 0, 1/inf = 0)."""
    if op_is_user or node.op in _SATURATING:
        return (0, 1) if node._b is not None else (0,)
    if node.op == "/":
        return (1,)
    if node.op == "**":
        exponent = getattr(node.local, "exponent", None)
        if exponent is None:
            return (0, 1)
        return (0,) if exponent <= 0.0 else ()
    return ()


# ---------------------------------------------------------------------------------------------
# The program: statements in order, each with the variables it reads


@dataclass
class _Line:
    code: str                       # a statement, or "" for a comment line
    reads: tuple[str, ...] = ()
    writes: str | None = None
    comment: str = ""

    def text(self, indent: str = "    ") -> str:
        if not self.code:
            return f"{indent}# {self.comment}"
        if not self.comment:
            return indent + self.code
        return f"{indent}{self.code:<36}  # {self.comment}"


@dataclass
class _Batch:
    """What makes a program one function over a batch (CompiledLoss): the loss terms of one
    sample (summed over the batch, each differentiated with upstream grad _scale), and the
    derived constants: a leaf the trace made from its sources' data (cross-entropy's shift,
    max of the logits), by id: (leaf, function, sources), computed in the code the same way."""
    terms: list[Value]
    derived: dict[int, tuple[Value, str, list[Value]]]
    shared: int                     # the first `shared` inputs are the parameters, once per call
    single: bool = False            # one output per sample (collected as a number, not a tuple)


_DERIVED = {"max"}                  # the functions a derived constant may use


def _generic_comment(node: Value, position: int, op_name: str) -> str:
    """'d tanh(x)/dx = (1 - out) * (1 + out)': the op's local derivative in generic names."""
    exponent = getattr(node.local, "exponent", None)
    if node.op == "**" and node._b is None:
        shown, names = f"(x ** {constant_text(exponent)})", ["x"]
    elif node._b is None:
        shown, names = ("(-x)" if node.op == "neg" else f" {op_name}(x)"), ["x"]
    elif node.op in _BINARY or node.op == "**":
        shown, names = f"(a {node.op} b)", ["a", "b"]
    else:
        shown, names = f" {op_name}(a, b)", ["a", "b"]
    formulas = _symbolic(node.local, [Symbol(n) for n in names] + [Symbol("out")])
    if formulas is None:
        return _comment_text(f"d{shown}/d{names[position]}: {op_name}'s own local "
                             "derivative, called (it does not take symbols)")
    formula = formulas[position]
    text = formula.text() if isinstance(formula, Symbol) else constant_text(float(formula))
    return _comment_text(f"d{shown}/d{names[position]} = {text}")


class _Program:
    """The statements of one compiled function, built from a traced graph."""

    def __init__(self, roots: list[Value], inputs: list[Value], wrt: list[bool], function: str,
                 seeded: bool = False, batch: _Batch | None = None):
        # seeded: a generator for several outputs (nn's training step): it yields the outputs,
        # is sent d loss/d output for each, and yields the grads (a vector-Jacobian product).
        # batch: one function over a batch of samples (see _Batch): roots are the outputs
        # collected per sample, batch.terms the loss terms summed and differentiated
        self.seeded = seeded
        self.batch = batch
        self.shared = batch.shared if batch else 0
        root = roots[0]
        derived = batch.derived if batch else {}
        terms = batch.terms if batch else []
        sources = [s for _, _, nodes in derived.values() for s in nodes]
        order = _order(sources + roots + terms if batch else roots)  # a derived leaf: after
        self.nodes = len(order)                                       # its sources
        input_position = {id(leaf): i for i, leaf in enumerate(inputs)}
        live, needs_grad = set(), set()          # depends on an input; on a wrt input
        for node in order:
            position = input_position.get(id(node))
            if position is not None:
                live.add(id(node))
                if wrt[position]:
                    needs_grad.add(id(node))
            elif id(node) in derived:            # a constant computed from data (no grad)
                if any(id(s) in live for s in derived[id(node)][2]):
                    live.add(id(node))
            elif node._a is not None:
                parents = node.parents
                if any(id(p) in live for p in parents):
                    live.add(id(node))
                if any(id(p) in needs_grad for p in parents):
                    needs_grad.add(id(node))

        # user ops (define_op) are called by name: their forwards go into the namespace
        self.namespace: dict[str, object] = {}
        names = _Names(_RESERVED | {function})
        user_ops: dict[tuple[str, int], str] = {}
        for node in order:
            if id(node) in live and node._a is not None and _is_user_op(node):
                key = (node.op, id(node.local))
                if key not in user_ops:
                    forward = engine.defined_forward(node.op, node.local)
                    if forward is None:
                        raise CompileError(
                            f"compile(): op {node.op!r} was not made with define_op (or two "
                            "define_op calls share its name and local derivative), so its "
                            "forward is unknown")
                    name = names.new(node.op)
                    self.namespace[name] = forward
                    user_ops[key] = name
        self.function = function

        # names: inputs (the arguments), then the nodes, then their grads
        base = node_names(None if seeded or batch else root, order)
        self.arguments = [names.new(leaf.label or f"x{i + 1}") for i, leaf in enumerate(inputs)]
        name_of: dict[int, str] = {id(leaf): arg for leaf, arg in zip(inputs, self.arguments)}
        used_by_live = {id(r) for r in roots + terms}
        for node in order:
            if id(node) in live:
                used_by_live.update(id(p) for p in node.parents)
        constants = [node for node in order if id(node) not in live and node.label
                     and id(node) in used_by_live]
        named = live | {id(node) for node in constants}
        for node in order:
            if id(node) not in name_of and id(node) in named:
                name_of[id(node)] = names.new(base[id(node)])

        def operand(node: Value) -> str:
            name = name_of.get(id(node))
            return name if name is not None else _number_code(node.data)

        lines: list[_Line] = []
        checked: dict[str, None] = {}             # names the non-finite check adds up
        if constants:
            lines.append(_Line("", comment="constants: not inputs, frozen at their traced "
                                           "values"))
            for node in constants:
                lines.append(_Line(f"{name_of[id(node)]} = {_number_code(node.data)}",
                                   writes=name_of[id(node)]))
        lines.append(_Line("", comment="forward: one line per node"))
        emitted = set(input_position)
        for node in order:
            if id(node) in derived and id(node) in live:
                leaf, function_name, nodes = derived[id(node)]
                if not all(id(s) in emitted or id(s) not in live for s in nodes):
                    raise CompileError("compile: a derived constant comes before its sources")
                target = name_of[id(node)]
                reads = tuple(name_of[id(s)] for s in nodes if id(s) in name_of)
                lines.append(_Line(f"{target} = {function_name}("
                                   f"{', '.join(operand(s) for s in nodes)})", reads, target,
                                   "a constant of the loss, computed from the data"))
                emitted.add(id(node))
                continue
            if id(node) not in live or id(node) in input_position or node._a is None:
                continue
            emitted.add(id(node))
            parents = node.parents
            user = user_ops.get((node.op, id(node.local)))
            rhs = _forward_code(node.op, [operand(p) for p in parents],
                                getattr(node.local, "exponent", None) if node._b is None
                                else None, user)
            if user is not None and type(engine.defined_forward(node.op, node.local)(
                    *(p.data for p in parents))) is not float:
                rhs = f"float({rhs})"             # the engine makes a float of any real
            target = name_of[id(node)]
            reads = tuple(name_of[id(p)] for p in parents if id(p) in name_of)
            lines.append(_Line(f"{target} = {rhs}", reads, target))
            for position in _checked_operands(node, user is not None):
                parent = parents[position]
                if id(parent) in live:
                    checked[name_of[id(parent)]] = None

        # backward: reversed order, one line per contribution to a parent that needs a grad
        grad_of: dict[int, str] = {}
        self.backward_lines = 0
        self.split = len(lines)                     # where the backward pass begins
        self.accumulators = []
        if batch:
            # each wrt input's grad adds up over the samples: made before the loop, then +=
            for leaf, w in zip(inputs, wrt):
                if w and id(leaf) not in grad_of:
                    grad_of[id(leaf)] = names.new("d" + name_of[id(leaf)])
                    self.accumulators.append(grad_of[id(leaf)])
            lines.append(_Line("", comment="backward: each loss term's grad is the mean's "
                                           "1/n; one line per contribution"))
            for term in terms:
                if id(term) not in needs_grad:
                    continue
                target = grad_of.get(id(term))
                if target is None:
                    target = grad_of[id(term)] = names.new("d" + name_of[id(term)])
                    lines.append(_Line(f"{target} = _scale", ("_scale",), target))
                else:
                    lines.append(_Line(f"{target} += _scale", ("_scale", target), target))
        elif seeded:
            lines.append(_Line("", comment="backward, from d loss/d output for each output "
                                           "(sent in): one line per contribution"))
            for k, out in enumerate(roots):
                if id(out) not in needs_grad:
                    continue
                target = grad_of.get(id(out))
                if target is None:
                    target = grad_of[id(out)] = names.new("d" + name_of[id(out)])
                    lines.append(_Line(f"{target} = _up[{k}]", ("_up",), target))
                else:
                    lines.append(_Line(f"{target} += _up[{k}]", ("_up", target), target))
        elif id(root) in needs_grad:
            seed = names.new("d" + name_of[id(root)])
            grad_of[id(root)] = seed
            lines.append(_Line("", comment="backward: the chain rule, one line per "
                                           "contribution: d<parent> += local * d<node>"))
            lines.append(_Line(f"{seed} = 1.0", (), seed,
                               f"the seed: d{name_of[id(root)]}/d{name_of[id(root)]} = 1"))
        templates: dict[tuple, tuple] = {}
        comments: dict[tuple, str] = {}
        called: dict[int, str] = {}
        for node in reversed(order):
            if id(node) not in needs_grad or node._a is None:
                continue
            parents = node.parents
            upstream = grad_of.get(id(node))
            if upstream is None:                  # (batch: an output no loss term reads)
                continue
            shape = tuple("" if id(p) in name_of else _number_code(p.data) for p in parents)
            key = (node.local, shape)
            if key not in templates:
                templates[key] = _contribution_templates(node.local, shape)
            formulas = templates[key]
            out = name_of[id(node)]
            values = [name_of.get(id(p), "") for p in parents] + [out, upstream]
            if formulas is None:                  # a user local that cannot take symbols
                _check_count(node)
                local_name = called.get(id(node.local))
                if local_name is None:
                    local_name = names.new(f"{node.op}_local")
                    called[id(node.local)] = local_name
                    self.namespace[local_name] = node.local
                slopes = names.new(f"local_{out}")
                args = [operand(p) for p in parents] + [out]
                reads = tuple(name_of[id(p)] for p in parents if id(p) in name_of) + (out,)
                lines.append(_Line(f"{slopes} = {local_name}({', '.join(args)})", reads, slopes,
                                   _comment_text(f"{node.op}'s local derivative, called "
                                                 "(it does not take symbols)")))
            for position, parent in enumerate(parents):
                if id(parent) not in needs_grad:
                    continue
                comment_key = (node.op, node.local, position)
                if comment_key not in comments:
                    comments[comment_key] = _generic_comment(
                        node, position, _comment_text(node.op))
                target = grad_of.get(id(parent))
                first = target is None
                if first:
                    target = names.new("d" + name_of[id(parent)])
                    grad_of[id(parent)] = target
                if formulas is None:
                    rhs, reads, negated = f"{slopes}[{position}] * {upstream}", (
                        slopes, upstream), False
                else:
                    contribution, negated_code, used = formulas[position]
                    negated = negated_code is not None and not first
                    rhs = (negated_code if negated else contribution).format(*values)
                    reads = tuple(values[i] for i in used)
                operator = "=" if first else "-=" if negated else "+="
                lines.append(_Line(f"{target} {operator} {rhs}",
                                   reads if first else reads + (target,), target,
                                   comments[comment_key]))
                self.backward_lines += 1

        self.lines = lines
        self.outputs = [operand(out) for out in roots]
        self.terms = [operand(term) for term in terms]
        self.result = self.outputs[0]
        self.grads = [grad_of.get(id(leaf), "0.0") for leaf, w in zip(inputs, wrt) if w]
        if batch:                          # per sample; the summed grads are checked at the end
            checked = self.outputs + self.terms + list(checked)
        else:
            checked = self.outputs + [g for g in self.grads if g != "0.0"] + list(checked)
        self.checked = [c for c in dict.fromkeys(checked) if not _is_literal(c)]


_LITERALS = {"_inf": math.inf, "-_inf": -math.inf, "_nan": math.nan}


def _check_count(node: Value) -> None:
    """A local derivative the code calls must give one number per operand, as backward()
    requires (the code reads it by position, and would miss a wrong count)."""
    try:
        count = len(node.local(*(p.data for p in node.parents), node.data))
    except Exception:                      # raises here: the engine says why, when run
        return
    if count != len(node.parents):
        raise CompileError(f"compile(): the local derivative of {node.op} gave {count} "
                           f"numbers for {len(node.parents)} operand(s) at the traced "
                           "input, and backward() refuses that; return one per operand")


def _order(roots: list[Value]) -> list[Value]:
    """topological_order for several roots: every node once, after its parents."""
    order: list[Value] = []
    seen: set[Value] = set()       # each root adds the nodes not placed before, in the order
    for root in roots:             # its own topological_order gives them
        order += topological_order(root, seen)
    return order


def _is_literal(code: str) -> bool:
    return code[:1].isdigit() or code[:1] == "-" or code in ("_inf", "_nan")


def _is_user_op(node: Value) -> bool:
    return engine.defined_forward(node.op, node.local) is not None or not _is_builtin(node)


def _is_builtin(node: Value) -> bool:
    local = node.local
    if node.op == "**":
        return local is Value._pow_value_local or hasattr(local, "exponent")
    builtin = getattr(Value, f"_{_BUILTIN_LOCALS.get(node.op, '')}_local", None)
    return builtin is not None and local is builtin


_BUILTIN_LOCALS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "neg": "neg", "exp": "exp",
                   "log": "log", "tanh": "tanh", "sigmoid": "sigmoid", "relu": "relu",
                   "sin": "sin", "cos": "cos", "sqrt": "sqrt", "abs": "abs",
                   "step": "step", "sign": "sign"}


def _contribution_templates(local, shape: tuple) -> tuple | None:
    """For one local derivative and one pattern of operands (names, or constant numbers):
    per operand, (code of local * upstream, code of -(that) for `-=` or None, indices read),
    with {0}, {1} for the operands, {n} for the node and {n+1} for its upstream grad."""
    n = len(shape)
    args = [Symbol(f"{{{i}}}") if kind == "" else float(_LITERALS.get(kind, kind))
            for i, kind in enumerate(shape)]
    formulas = _symbolic(local, args + [Symbol(f"{{{n}}}")])
    if formulas is None:
        return None
    upstream = Symbol(f"{{{n + 1}}}")
    result = []
    for formula in formulas:
        # local * upstream, in the engine's order (a float on the left goes to Symbol.__rmul__)
        contribution = (float(formula) if not isinstance(formula, Symbol) else formula) * upstream
        code, _ = _code(contribution)
        negated = None
        if isinstance(contribution, Symbol) and contribution.kind == "neg":
            negated, _ = _code(contribution.args[0])
        used = sorted(int(name[1:-1]) for name in _names_in(contribution))
        result.append((code, negated, tuple(used)))
    return tuple(result)


# ---------------------------------------------------------------------------------------------
# Writing the program out: one function, or parts of at most CHUNK_LINES statements

def _wrapped(items: Sequence[str], first: str, last: str, indent: str) -> list[str]:
    """first + items joined by ', ' + last, broken over lines of about 96 characters."""
    text = first + ", ".join(items) + last
    if len(text) <= 96:
        return [text]
    lines, current = [first.rstrip()], indent + "    "
    for item in items:
        if len(current) + len(item) + 2 > 96 and current.strip():
            lines.append(current.rstrip())
            current = indent + "    "
        current += item + ", "
    lines.append(current.rstrip())
    lines.append(indent + last.lstrip(","))
    return lines


def _sum_line(target: str, names: list[str], indent: str, operator: str = "=") -> list[str]:
    """target = sum((a, b, ...)): Python's C-level sum, any number of names, nothing nested."""
    return _wrapped(names, f"{indent}{target} {operator} sum((", "," * (len(names) == 1) + "))",
                    indent)


def _tail(program: _Program, checked: list[str], indent: str, start: str | None,
          mode: str) -> list[str]:
    """The end of the function: the cheap non-finite check, then the result.
    mode: "return" (the function itself), "part" (the last part, to its driver) or "yield"
    (a seeded generator)."""
    lines = []
    grads = program.grads
    lines += _wrapped(grads, f"{indent}_grads = (", "," * (len(grads) == 1) + ")", indent)
    returned = [g for g in dict.fromkeys(grads) if not _is_literal(g) and g != "0.0"]
    skip = set(returned)
    terms = ([start] if start else []) + [c for c in checked if c not in skip]
    if terms or (returned and not program.seeded):
        lines.append(f"{indent}# an inf or nan above makes this sum one: then the engine "
                     "re-runs and says where")
        if terms:
            lines += _sum_line("_check", terms, indent)
        if returned and not program.seeded:     # (a seeded one's caller checks the grads)
            lines.append(f"{indent}_check {'+=' if terms else '='} sum(_grads)")
        lines.append(f"{indent}if _check - _check != 0.0 or type(_check) is not float:")
        lines.append(f"{indent}    {'_grads = None' if mode == 'yield' else 'return None'}")
    if mode == "yield":
        lines.append(f"{indent}yield _grads")
    elif program.seeded:
        lines.append(f"{indent}return _grads")
    else:
        lines.append(f"{indent}return {program.result}, _grads")
    return lines


def _tuple(items: list[str]) -> str:
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _chunks(lines: list[_Line]) -> list[list[_Line]]:
    """Consecutive runs of at most CHUNK_LINES statements (comments ride along)."""
    parts: list[list[_Line]] = [[]]
    size = 0
    for line in lines:
        if line.code:
            if size == CHUNK_LINES:
                parts.append([])
                size = 0
            size += 1
        parts[-1].append(line)
    return parts


_NAME = re.compile(r"(?<!\w)[^\W\d]\w*")      # an identifier (not the e of 1e-05)


def _without_copies(program: _Program) -> None:
    """Drop from a long program the copies `t = s` (a sum passes its grad on unchanged) whose
    t is written only there and whose s never changes afterwards: readers of t read s. The
    numbers are the same; about a third of an MLP's backward lines go."""
    writes: dict[str, int] = {}
    last_write: dict[str, int] = {}
    for index, line in enumerate(program.lines):
        if line.writes:
            writes[line.writes] = writes.get(line.writes, 0) + 1
            last_write[line.writes] = index
    alias: dict[str, str] = {}
    kept = []
    split = program.split
    for index, line in enumerate(program.lines):
        if index == program.split:
            split = len(kept)
        if alias and line.code:
            line.reads = tuple(alias.get(name, name) for name in line.reads)
            line.code = _NAME.sub(lambda m: alias.get(m.group(), m.group()), line.code)
        target = line.writes
        if (target and len(line.reads) == 1 and line.code == f"{target} = {line.reads[0]}"
                and writes[target] == 1 and last_write.get(line.reads[0], -1) < index):
            alias[target] = line.reads[0]
            continue
        kept.append(line)
    for line in kept:                     # the headers no longer promise one line per step
        if not line.code and line.comment.startswith(("forward", "backward")):
            line.comment = (line.comment.split(":")[0].split(",")[0] + ": a long program, "
                            "written for speed (see autograd/codegen.py)")
    program.lines, program.split = _fused(kept, split, program)
    for attribute in ("checked", "grads", "outputs", "terms"):
        setattr(program, attribute, [alias.get(n, n) for n in getattr(program, attribute)])
    program.result = program.outputs[0]


_SIMPLE = re.compile(r"\S+ [-+*/] \S+")      # a op b, on two names or numbers


def _fused(lines: list[_Line], split: int, program: _Program) -> tuple[list[_Line], int]:
    """In the forward pass of a long program, write a simple line (v1 = w0 * x0) whose value
    is read once, by a later forward line, into that line: v2 = b + (w0 * x0). The same
    operations in the same order, one store and load fewer; nesting stays two deep."""
    reads: dict[str, int] = {}
    for line in lines:
        for name in line.reads:
            reads[name] = reads.get(name, 0) + 1
    for name in program.checked + program.grads + program.outputs + program.terms:
        reads[name] = reads.get(name, 0) + 2                # read at the end: keep it
    pending: dict[str, _Line] = {}                          # simple lines not yet written
    kept = []
    for line in lines[:split]:
        if pending and line.code:
            inline = [name for name in line.reads if name in pending]
            used = _NAME.findall(line.code.split(" = ", 1)[-1])
            for name in inline:
                fused = pending.pop(name)
                if used.count(name) != 1:           # read twice in one line (a relu): keep
                    kept.append(fused)
                    continue
                expression = fused.code.split(" = ", 1)[1]
                line.code = line.code.split(" = ", 1)[0] + " = " + _NAME.sub(
                    lambda m, n=name, e=expression: f"({e})" if m.group() == n else m.group(),
                    line.code.split(" = ", 1)[1])
                line.reads = tuple(r for r in line.reads if r != name) + fused.reads
        target = line.writes
        if (target and reads.get(target) == 1 and " = " in line.code
                and _SIMPLE.fullmatch(line.code.split(" = ", 1)[1])):
            pending[target] = line
            continue
        kept.append(line)
    kept.extend(pending.values())        # (none: every pending value has its one reader)
    return kept + lines[split:], len(kept)


def _reuse_names(program: _Program) -> None:
    """Rename the variables of a long program to a few reused ones (_r1, _r2, ...): a value
    is dropped as soon as its last reader has run, so the working set stays small. CPython
    slows down about 3x per line on a function of 100,000 distinct live floats (cache
    misses); no one reads such a function line by line, so its names go. Arguments keep theirs
    and are never reused."""
    _without_copies(program)
    lines = [line for line in program.lines if line.code]
    final = len(lines)
    end: dict[str, int] = {}
    for index, line in enumerate(lines):
        for name in line.reads:
            end[name] = index
        if line.writes:
            end[line.writes] = index
    for name in program.checked + program.grads + program.outputs + program.terms:
        end[name] = final
    dying: dict[int, list[str]] = {}
    for name, index in end.items():
        dying.setdefault(index, []).append(name)
    # never reused: the arguments (the caller holds their values anyway), and a batch
    # function's accumulators (they carry their sums from one sample to the next)
    fixed = program.arguments + program.accumulators
    arguments = set(fixed)
    rename = {arg: arg for arg in fixed}
    free: list[str] = []
    made = count(1)
    for index, line in enumerate(lines):
        target = line.writes
        for name in dying.get(index, ()):        # read for the last time here: free after
            if name != target and name in rename and name not in arguments:
                free.append(rename[name])
        if target is not None and target not in rename:
            rename[target] = free.pop() if free else f"_r{next(made)}"
        line.code = _NAME.sub(lambda m: rename.get(m.group(), m.group()), line.code)
        line.reads = tuple(rename.get(name, name) for name in line.reads)
        line.writes = rename.get(target, target)
        if target is not None and end.get(target) == index and target not in arguments:
            free.append(rename[target])           # written and never read again
    program.checked = [rename.get(name, name) for name in program.checked]
    program.grads = [rename.get(name, name) for name in program.grads]
    program.outputs = [rename.get(name, name) for name in program.outputs]
    program.terms = [rename.get(name, name) for name in program.terms]
    program.result = program.outputs[0]


def _write_batch(program: _Program, header: list[str]) -> list[tuple[str, list[str]]]:
    """A batch function: the parameters once, then a loop over the samples that runs the
    forward and backward pass of each, adding the loss terms into _total and each
    parameter's grad into its accumulator; the outputs are collected for accuracy."""
    shared = program.arguments[:program.shared]
    sample = program.arguments[program.shared:]
    body = header + [f"def {program.function}(_params, _samples, _scale):"]
    if shared:
        body += _wrapped(shared, "    (", ",) = _params", "    ")
    if program.accumulators:
        body.append("    # each parameter's grad, summed over the batch")
        body += _wrapped(program.accumulators, "    (", f",) = (0.0,) * "
                         f"{len(program.accumulators)}", "    ")
    body += ["    _total = _check = 0.0", "    _outputs = []"]
    body += _wrapped(sample, "    for (", ",) in _samples:", "    ")
    forward, backward = program.lines[:program.split], program.lines[program.split:]
    body += [line.text("        ") for line in forward]
    outputs = program.outputs
    shown = outputs[0] if program.batch.single else _tuple(outputs)
    body.append(f"        _outputs.append({shown})")
    body += [f"        _total += {term}" for term in program.terms]
    body += [line.text("        ") for line in backward]
    if program.checked:
        body.append("        # an inf or nan in this sample makes _check one: then the engine "
                    "redoes the batch")
        body += _sum_line("_check", program.checked, "        ", "+=")
    grads = program.grads
    body += _wrapped(grads, "    _grads = (", "," * (len(grads) == 1) + ")", "    ")
    body.append("    _check += _total + sum(_grads)")
    body.append("    if _check - _check != 0.0 or type(_check) is not float:")
    body.append("        return None")
    body.append("    return _total, _grads, _outputs")
    return [(program.function, body)]


def _write(program: _Program, header: list[str]) -> list[tuple[str, list[str]]]:
    """The generated functions as (name, source lines), the public one last."""
    statements = sum(1 for line in program.lines if line.code)
    if statements > READABLE_LINES:
        _reuse_names(program)
    if program.batch:
        if statements > CHUNK_LINES:
            raise CompileTooLarge(f"compile: {statements:,} statements per sample is more than "
                                  f"one batch function holds ({CHUNK_LINES:,})")
        return _write_batch(program, header)
    # many inputs come as one sequence: CPython binds thousands of parameters slowly (50 us
    # for 2,500) but unpacks a sequence of them quickly (3 us)
    packed = program.seeded or len(program.arguments) > PACKED_INPUTS
    if packed:
        arguments = [f"def {program.function}(_inputs):"]
        unpack = _wrapped(program.arguments, "    (", ",) = _inputs", "    ")
    else:
        arguments = _wrapped(program.arguments, f"def {program.function}(", "):", "")
        unpack = []
    forward, backward = program.lines[:program.split], program.lines[program.split:]
    if statements <= CHUNK_LINES:
        body = unpack + [line.text() for line in forward]
        if program.seeded:
            body.append(f"    _up = yield {_tuple(program.outputs)}"
                        "      # the outputs out, d loss/d outputs in")
        body += [line.text() for line in backward]
        body += _tail(program, program.checked, "    ", None,
                      "yield" if program.seeded else "return")
        return [(program.function, header + arguments + body)]

    # parts: cut the statements into runs; a value read in a later part travels in _m. A
    # seeded generator yields between the forward parts and the backward parts.
    if program.seeded:
        parts = _chunks(forward)
        boundary = len(parts)
        parts += _chunks(backward)
    else:
        parts, boundary = _chunks(program.lines), len(program.lines)
    literal = {name for name in program.outputs + program.grads
               if _is_literal(name) or name == "0.0"}
    returned = [name for name in dict.fromkeys(
        ([] if program.seeded else [program.result]) + program.grads) if name not in literal]
    yielded = [name for name in program.outputs if name not in literal] if program.seeded else []
    needs, writes = [], []
    for part in parts:
        need: dict[str, None] = {}                # read before written here: loaded from _m
        written: set[str] = set()
        for line in part:
            for name in line.reads:
                if name not in written:
                    need[name] = None
            if line.writes:
                written.add(line.writes)
        needs.append(need)
        writes.append(written)
    for name in returned:
        if name not in writes[-1]:
            needs[-1][name] = None
    # each checked value joins the sum in the part that makes it (an input: first reads it)
    check_in: dict[str, int] = {}
    skip = set(returned)
    for index in range(len(parts)):
        for name in program.checked:
            if name not in skip and name not in check_in and (
                    name in writes[index] or name in needs[index]):
                check_in[name] = index
    last_need = dict.fromkeys(yielded, boundary)   # the last part that reads each value
    for index, need in enumerate(needs):
        for name in need:
            last_need[name] = max(last_need.get(name, -1), index)
    slots: dict[str, int] = {"_check": 0}
    for name in program.arguments:
        slots[name] = len(slots)
    if program.seeded:
        slots["_up"] = len(slots)
    functions = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        name = f"_part{index + 1}"
        lines = [f"def {name}(_m):"]
        for var in needs[index]:
            lines.append(f"    {var} = _m[{slots.setdefault(var, len(slots))}]")
        lines += [line.text() for line in part]
        mine = [var for var in program.checked if check_in.get(var) == index]
        if last:
            lines += _tail(program, mine + returned, "    ", "_m[0]", "part")
        else:
            for var in sorted(var for var in writes[index] if last_need.get(var, -1) > index):
                lines.append(f"    _m[{slots.setdefault(var, len(slots))}] = {var}")
            if mine:
                lines += _sum_line("_m[0]", mine, "    ", "+=")
        functions.append((name, lines))
    driver = header + arguments
    driver += (["    _m = [0.0, *_inputs]"] if packed else
               _wrapped(program.arguments, "    _m = [0.0, ", "]", "    "))
    driver.append("    _m.extend(_blank)")
    for k in range(1, len(parts)):
        driver.append(f"    _part{k}(_m)")
        if k == boundary:
            shown = [name if name in literal else f"_m[{slots[name]}]"
                     for name in program.outputs]
            driver.append(f"    _m[{slots['_up']}] = yield {_tuple(shown)}")
    driver.append(f"    {'yield' if program.seeded else 'return'} _part{len(parts)}(_m)")
    functions.append((program.function, driver))
    program.blank = (0.0,) * (len(slots) - 1 - len(program.arguments))
    return functions


# ---------------------------------------------------------------------------------------------
# compile()

_serial = count(1)
_FLOAT = {float}


_grad_mode = engine.enable_grad      # build graphs even inside no_grad(): a trace needs its graph


def _trace(f: Callable, values: Sequence[float], labels: Sequence[str]):
    """f run on leaves: (its result, the leaves, and what the grad() functions f called
    computed on the way: f's own results, which a derivative's graph may not reach)."""
    leaves = [Value(x, label) for x, label in zip(values, labels)]
    forwards: list[Value] = []
    token = functional.traced_forwards.set(forwards)
    try:
        with _grad_mode():
            root = f(*leaves)
    finally:
        functional.traced_forwards.reset(token)
    if not isinstance(root, Value):
        kind = type(root).__name__
        hint = ("; return one Value (sum several outputs, or compile one function per "
                "output)" if isinstance(root, (list, tuple)) else "")
        raise CompileError(f"compile(): f must return a Value computed from its inputs, "
                           f"got {kind}{hint}")
    return root, leaves, [out for out in forwards if out is not root]


def _input_labels(f: Callable, inputs: Sequence) -> list[str]:
    """Each input's name: its label if it is a labelled Value, else f's parameter name."""
    try:
        parameters = [p.name for p in inspect.signature(f).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        parameters = []
    labels = []
    for i, x in enumerate(inputs):
        if isinstance(x, Value) and x.label:
            labels.append(x.label)
        elif i < len(parameters):
            labels.append(parameters[i])
        else:
            labels.append(f"x{i + 1}")
    return labels


def _numbers(inputs: Sequence, who: str) -> list[float]:
    """The inputs as floats, each refused as the engine's Value() refuses it: the same
    UndefinedMathError for nan, inf or an int beyond the float range; a TypeError for a
    non-number."""
    values = []
    for i, x in enumerate(inputs):
        number = engine._real(x.data if isinstance(x, Value) else x, "Value()")
        if number is None:
            raise TypeError(f"{who}: input {i + 1} must be a number or a Value, "
                            f"got {type(x).__name__}: {x!r}")
        values.append(number)
    return values


def _wrt_mask(wrt, labels: list[str]) -> list[bool]:
    if wrt is None:
        return [True] * len(labels)
    if isinstance(wrt, (int, str)):
        wrt = [wrt]
    mask = [False] * len(labels)
    for item in wrt:
        if isinstance(item, str):
            if item not in labels:
                raise ValueError(f"compile(): wrt names {item!r}, which is not an input "
                                 f"({', '.join(labels)})")
            mask[labels.index(item)] = True
        elif isinstance(item, int) and not isinstance(item, bool) and 0 <= item < len(labels):
            mask[item] = True
        else:
            raise ValueError(f"compile(): wrt takes input positions (0 to {len(labels) - 1}) "
                             f"or names, got {item!r}")
    return mask


def _build(f, values, labels, wrt, function) -> tuple[_Program, list]:
    root, leaves, forwards = _trace(f, values, labels)
    # the forwards are computed and checked too (a grad function: f's result, undefined where
    # f is), though the result does not read them
    program = _Program([root] + forwards, leaves, wrt, function)
    header = [f"# compiled by chainrule from {_comment_text(_describe(f))}: "
              f"{program.nodes} nodes, {program.backward_lines} backward lines"]
    return program, _write(program, header), (root, leaves)


def _describe(f) -> str:
    name = getattr(f, "__qualname__", None) or type(f).__name__
    return name.replace("<locals>.", "")


def compile(f: Callable[..., Value], *example_inputs, wrt=None, check=False) -> Compiled:
    """Trace `f` once on the example inputs and write its forward and backward pass as
    straight-line Python: returns a Compiled function, `fn(*floats) -> (value, grads)`,
    with the generated code in `fn.source`.

    f: a function of Values returning one Value. example_inputs: numbers or Values (a
    labelled Value names its input; otherwise f's parameter names do). wrt: the inputs to
    differentiate with respect to (positions or names; default all): grads come in the
    inputs' order. check: True to re-trace f at a second input, or the second input itself,
    and raise GraphChangedError when f builds a different graph there (Python control flow
    on `.data`)."""
    if not callable(f):
        raise TypeError(f"compile(): f must be a function of Values, got {type(f).__name__}")
    values = _numbers(example_inputs, "compile()")
    labels = _input_labels(f, example_inputs)
    mask = _wrt_mask(wrt, labels)
    name = getattr(f, "__name__", "")
    function = _identifier(name) if name.isidentifier() and not name.startswith("_") else "fn"
    if function in _RESERVED:
        function = "fn"
    program, functions, _ = _build(f, values, labels, mask, function)
    compiled = Compiled(f, program, functions, labels, mask)
    if check is not False and check is not None:
        compiled._check(values, check)
    return compiled


class Compiled:
    """A graph compiled to Python: call it with floats, get (value, grads); read `.source`."""

    def __init__(self, f, program: _Program, functions, labels: list[str], wrt: list[bool]):
        self.f = f
        self.labels = tuple(labels)
        self.arguments = tuple(program.arguments)   # the names in the generated code
        self.wrt = tuple(i for i, w in enumerate(wrt) if w)
        self.nodes = program.nodes
        self._mask = wrt
        self._generated = functions
        # function(inputs), not function(*inputs): for many inputs, and for CompiledModel
        self.packed = program.seeded or len(self.arguments) > PACKED_INPUTS
        filename = f"<chainrule compiled {program.function} #{next(_serial)}>"
        namespace = {"__builtins__": dict(_BUILTINS), "_inf": math.inf, "_nan": math.nan,
                     "_blank": getattr(program, "blank", ()), **_FUNCTIONS, **program.namespace}
        lines: list[str] = []
        for name, source in functions:
            first = len(lines)
            # exec runs code we generated from the graph: labels appear in it only as
            # identifiers (_identifier) or inside comments (_comment_text), never as code
            code = builtins.compile("\n".join(source), filename, "exec")
            exec(code, namespace)
            made = namespace[name]
            made.__code__ = made.__code__.replace(
                co_firstlineno=made.__code__.co_firstlineno + first)
            lines += source + [""]
        self.source = "\n".join(lines[:-1]) + "\n"
        self.lines = sum(1 for line in lines if line.strip() and
                         not line.lstrip().startswith("#"))
        linecache.cache[filename] = (len(self.source), None, self.source.splitlines(True),
                                     filename)
        self.function = namespace[program.function]   # the raw function: floats in, None on
        self.name = program.function                 # trouble (see __call__)

    def __call__(self, *inputs) -> tuple[float, tuple[float, ...]]:
        """(value, grads) at these inputs; grads in the order of `wrt` (default: all inputs).
        Undefined math raises the engine's own UndefinedMathError (by re-running it)."""
        if self.f is None:
            raise TypeError("this Compiled comes from a CompiledModel or CompiledLoss: call "
                            "its .function as nn.fit does (see their docstrings)")
        if len(inputs) != len(self.labels):
            raise TypeError(f"{self.name}() takes {len(self.labels)} inputs "
                            f"({', '.join(self.arguments)}), got {len(inputs)}")
        if set(map(type, inputs)) != _FLOAT:
            inputs = _numbers(inputs, self.name)          # TypeError for a non-number
        try:
            result = self.function(inputs) if self.packed else self.function(*inputs)
        except (ArithmeticError, ValueError, TypeError):
            result = None
        if result is None:
            return self.interpreted(*inputs)        # the engine: its error, or its numbers
        return result

    def interpreted(self, *inputs) -> tuple[float, tuple[float, ...]]:
        """The same (value, grads) from the interpreted engine: f traced and backward() run
        on fresh Values. Grads of any Value f reads from outside are left as they were."""
        root, leaves, _ = _trace(self.f, _numbers(inputs, self.name), self.labels)
        order = topological_order(root)
        saved = [(node, node.grad) for node in order]
        try:
            root.backward()
            return root.data, tuple(leaf.grad for leaf, w in zip(leaves, self._mask) if w)
        finally:
            for node, grad in saved:
                node.grad = grad

    def _check(self, values: list[float], check) -> None:
        """Re-trace at a second input; the code must be the same, and so must the numbers."""
        if check is True:
            candidates = _second_inputs(values)
        else:
            candidates = [_numbers(check if isinstance(check, (list, tuple)) else [check],
                                   "compile(check=...)")]
            if len(candidates[0]) != len(values):
                raise ValueError(f"compile(check=...): give {len(values)} inputs, "
                                 f"got {len(candidates[0])}")
        error = None
        for second in candidates:
            try:
                program, functions, _ = _build(self.f, second, self.labels, self._mask,
                                               self.name)
            except UndefinedMathError as caught:      # outside f's domain: try another point
                error = caught
                continue
            except CompileError as caught:            # no Value there: f's control flow
                raise GraphChangedError(
                    f"compile(check=...): f builds a graph at {values} but not at {second} "
                    f"({caught}): its Python control flow depends on the data, so one "
                    "compiled function cannot serve every input") from caught
            if functions != self._generated:
                raise GraphChangedError(
                    f"compile(check=...): f builds a different graph at {second} than at "
                    f"{values}: its Python control flow depends on the data (an `if` on "
                    "x.data, or a loop whose length does), so one compiled function cannot "
                    "serve every input; compile per branch, or write the choice with "
                    "relu/abs/step")
            ours, theirs = self(*second), self.interpreted(*second)
            for a, b in zip((ours[0],) + ours[1], (theirs[0],) + theirs[1]):
                if not math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300):
                    raise CompileError(f"compile(check=...): the compiled function gives {a!r} "
                                       f"where the engine gives {b!r} at {second}; please "
                                       "report this")
            return
        raise CompileError(f"compile(check=True): f is undefined at every second input tried "
                           f"({error}); pass one inside its domain: check=(...)")

    def __repr__(self) -> str:
        shown = ", ".join(self.arguments[:6]) + (", ..." if len(self.arguments) > 6 else "")
        return (f"<compiled {self.name}({shown}): {len(self.arguments)} inputs, {self.nodes} "
                f"nodes, {self.lines} lines; .source to read it>")

    def _repr_markdown_(self) -> str:
        lines = self.source.splitlines()
        shown = "\n".join(lines[:300])
        more = f"\n\n({len(lines) - 300} more lines in `.source`)" if len(lines) > 300 else ""
        return f"```python\n{shown}\n```{more}"


def _second_inputs(values: list[float]) -> list[list[float]]:
    """Points to re-trace at: each input's sign flipped and moved a little, then the same
    signs, scaled (for functions defined on one side only)."""
    import random
    rng = random.Random(12345)
    flipped = [-x + rng.uniform(-0.5, 0.5) for x in values]
    scaled = [x * rng.uniform(0.6, 1.4) + rng.uniform(-0.1, 0.1) * (x == 0.0) for x in values]
    nudged = [x * rng.uniform(0.95, 1.05) for x in values]
    return [flipped, scaled, nudged]


# ---------------------------------------------------------------------------------------------
# A model compiled for training (nn.fit(..., compile=True)): outputs out, d loss/d outputs in,
# the parameters' grads back


class CompiledModel:
    """`model(x)` traced once and compiled as a seeded generator over (parameters..., x...):

        step = fn(*parameter_values, *x)
        outputs = next(step)                   # the model's outputs, as floats
        grads = step.send(d_loss_d_outputs)    # d loss/d parameter (None: re-run interpreted)

    The outputs are checked in the generated code; the grads are not (nn.fit sums a batch's
    and checks the sum once: an inf or nan in any of them makes it one).

    so that any loss, computed on the outputs by the engine as usual, drives the compiled
    backward pass (a vector-Jacobian product). The trace is repeated on a second example and
    the code compared: a model whose graph depends on its input or on chance (an `if` on
    x.data, dropout) is refused with GraphChangedError.
    """

    def __init__(self, model: Callable, parameters: list[Value], examples: Sequence,
                 name: str = "model") -> None:
        self.parameters = list(parameters)
        sources = []
        for x in examples[:2]:
            program, functions, traced = self._build(model, x, name)
            sources.append(functions)
        if len(sources) == 2 and sources[0] != sources[1]:
            raise GraphChangedError(
                f"compile: {name} builds a different graph for different inputs (Python "
                "control flow on the data, or randomness such as dropout), so one compiled "
                "function cannot serve every example; train without compile=True")
        self.single = traced                   # the model returns one Value (not a list)
        self.width = len(program.arguments) - len(self.parameters)
        self.compiled = Compiled(None, program, sources[0],
                                 [p.label for p in self.parameters] +
                                 [f"x{i}" for i in range(self.width)],
                                 [True] * len(self.parameters) + [False] * self.width)
        self.function = self.compiled.function
        self.source = self.compiled.source

    def _build(self, model, x, name):
        values = _flat_inputs(x)
        inputs = [Value(v, f"x{i}") for i, v in enumerate(values)]
        with _grad_mode():
            out = model(inputs if isinstance(x, (list, tuple)) or hasattr(x, "tolist")
                        else inputs[0])
        single = isinstance(out, Value)
        outputs = [out] if single else list(out)
        if not outputs or not all(isinstance(o, Value) for o in outputs):
            raise CompileError(f"compile: {name} must return a Value or a list of Values")
        wrt = [True] * len(self.parameters) + [False] * len(inputs)
        program = _Program(outputs, self.parameters + inputs, wrt, name, seeded=True)
        header = [f"# compiled by chainrule from {_comment_text(name)}: {program.nodes} "
                  f"nodes, {program.backward_lines} backward lines"]
        return program, _write(program, header), single


def _flat_inputs(x) -> list[float]:
    if hasattr(x, "tolist") and not isinstance(x, (list, tuple)):
        x = x.tolist()
    items = x if isinstance(x, (list, tuple)) else [x]
    values = []
    for item in items:
        number = engine._as_number(item.data if isinstance(item, Value) else item)
        if number is None:
            raise TypeError(f"compile: a model input must be a number, got {item!r}")
        values.append(number)
    return values


# ---------------------------------------------------------------------------------------------
# A per-sample loss compiled for training over batches (nn.fit(..., compile=True) with a
# built-in loss): the parameters in, each parameter's grad of the batch's loss out


class CompiledLoss:
    """`trace(sample)` (the model and a loss's per-sample terms on Values) compiled once as a
    function over a batch:

        total, grads, outputs = fn.function(parameter_values, samples, scale)

    samples: one tuple of numbers per example (the model's inputs, then the target as
    numbers). total: the sum of every sample's loss terms, in order; grads: d (scale * total)
    / d parameter, summed over the samples (scale is the mean's 1/n: each term's upstream
    grad, as in the engine); outputs: the model's outputs per sample. None when an output, a
    term, a saturating op's input or a summed grad is inf or nan: redo the batch on the engine.

    trace(leaves) returns (outputs, terms, derived): the model's outputs (a Value or a list),
    the loss terms of this sample (Values), and the derived constants {id(leaf): (leaf, "max",
    sources)}: leaves the trace computed from the data of other nodes (a shift by the max
    logit), which the code computes the same way. The trace is repeated on a second sample
    and the code compared, as CompiledModel does.
    """

    def __init__(self, trace: Callable, parameters: list[Value], samples: Sequence,
                 labels: Sequence[str], name: str = "loss") -> None:
        self.parameters = list(parameters)
        self.labels = list(labels)
        sources = []
        for sample in samples[:2]:
            program, functions = self._build(trace, sample, name)
            sources.append(functions)
        if len(sources) == 2 and sources[0] != sources[1]:
            raise GraphChangedError(
                f"compile: {name} builds a different graph for different examples (Python "
                "control flow on the data, or randomness such as dropout), so one compiled "
                "function cannot serve every example; train without compile=True")
        self.width = len(self.labels)
        self.compiled = Compiled(None, program, sources[0],
                                 [p.label for p in self.parameters] + self.labels,
                                 [True] * len(self.parameters) + [False] * self.width)
        self.function = self.compiled.function
        self.source = self.compiled.source
        self.nodes = program.nodes
        self.terms = len(program.terms)        # loss terms per sample

    def _build(self, trace, sample, name):
        values = _flat_inputs(sample)
        if len(values) != len(self.labels):
            raise CompileError(f"compile: a sample of {len(values)} numbers, expected "
                               f"{len(self.labels)}")
        leaves = [Value(v, label) for v, label in zip(values, self.labels)]
        with _grad_mode():
            outputs, terms, derived = trace(leaves)
        single = isinstance(outputs, Value)
        outputs = [outputs] if single else list(outputs)
        if not outputs or not all(isinstance(o, Value) for o in outputs + list(terms)):
            raise CompileError(f"compile: {name} must give Values (outputs and loss terms)")
        for leaf, function, _sources in derived.values():
            if function not in _DERIVED or leaf._a is not None:
                raise CompileError(f"compile: a derived constant must be a leaf made with one "
                                   f"of {sorted(_DERIVED)}, got {function!r}")
        batch = _Batch(list(terms), dict(derived), len(self.parameters), single)
        wrt = [True] * len(self.parameters) + [False] * len(leaves)
        program = _Program(outputs, self.parameters + leaves, wrt, name, batch=batch)
        header = [f"# compiled by chainrule from {_comment_text(name)}: {program.nodes} nodes "
                  f"per sample, {program.backward_lines} backward lines"]
        return program, _write(program, header)
