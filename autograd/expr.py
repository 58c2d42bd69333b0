"""A safe expression language for the command line: parsed with `ast`, checked against a
whitelist, then built from Values. Nothing the user types is ever evaluated by Python.

Every step is iterative (no recursion over the syntax tree), every number is checked to be
finite, and every refusal is one `ExpressionError` or `UndefinedMathError` whose message names
the part of the expression at fault in the student's own words."""

from __future__ import annotations

import ast
import difflib
import math
import re
import unicodedata

from .engine import UndefinedMathError, Value, local_derivatives, no_grad, topological_order

__all__ = ["ExpressionError", "FUNCTIONS", "MAX_DEPTH", "MAX_LENGTH", "build",
           "parse_assignments", "variables_in"]

FUNCTIONS = ("exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt", "abs")
MAX_LENGTH = 10_000
MAX_DEPTH = 1_000          # levels of nesting; Python's own parser stops near here (3.10-3.13)
ALLOWED = ("numbers, variable names, + - * / **, unary minus, parentheses and the functions "
           + ", ".join(FUNCTIONS))
LARGEST = "about 1.8e308"
SMALLEST = "about 5e-324"

_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_REFUSED_NAMES = {
    ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions", ast.GeneratorExp: "comprehensions",
    ast.List: "lists", ast.Tuple: "tuples", ast.Set: "sets", ast.Dict: "dicts",
    ast.Compare: "comparisons", ast.BoolOp: "and/or", ast.IfExp: "if-else",
    ast.NamedExpr: "assignments (:=)", ast.Starred: "starred arguments",
    ast.JoinedStr: "f-strings", ast.Await: "await", ast.Yield: "yield",
    ast.YieldFrom: "yield", ast.Slice: "slices",
}
# Names students reach for that are spelt differently here.
_OTHER_SPELLINGS = {
    "ln": "log(x) is the natural logarithm", "log10": "use log(x) / log(10)",
    "log2": "use log(x) / log(2)", "pow": "use x ** y for powers",
    "square": "use x ** 2", "sqr": "use x ** 2", "fabs": "use abs(x)",
    "sgn": "sign is not available; abs(x) / x is one way", "max": "use relu(x - y) + y",
    "ReLU": "use relu(x)", "logistic": "use sigmoid(x)", "expit": "use sigmoid(x)",
}
_SYMBOLS = {ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@", ast.BitOr: "|",
            ast.BitAnd: "&", ast.LShift: "<<", ast.RShift: ">>"}
_MODULES = {"math", "np", "numpy", "torch", "cmath", "F"}


def _too_deep(how: str) -> ExpressionError:
    return ExpressionError(
        f"the expression is nested too deeply ({how}); write it with less nesting, or build "
        "a deeper graph in Python with autograd.Value, which has no depth limit")


class ExpressionError(ValueError):
    """The expression or a variable was refused; the message says what and why."""


def _refuse(what: str, hint: str = "") -> ExpressionError:
    if hint:
        return ExpressionError(f"refused {what}: {hint}")
    return ExpressionError(f"refused {what}: expressions may use only {ALLOWED}")


def _shown(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def parse(text: str) -> ast.expr:
    """The expression's syntax tree, after checking every node against the whitelist."""
    if not isinstance(text, str):
        raise ExpressionError(f"the expression must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text):,} characters long; the limit "
                              f"is {MAX_LENGTH:,}")
    bad = re.search(r"[\ud800-\udfff]", text)      # a byte that was not UTF-8 (surrogateescape)
    if bad:
        raise ExpressionError(
            f"the expression has a byte that is not UTF-8 text "
            f"({bad.group().encode('utf-8', 'surrogateescape')!r} at character "
            f"{bad.start() + 1}); type it again in plain text")
    if not text.strip():
        raise ExpressionError('the expression is empty: give one, quoted, as in "x**2 + 1"')
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        if "too many nested parentheses" in str(error.msg):
            raise _too_deep("too many nested parentheses: Python allows 200 inside one "
                            "another") from None
        raise ExpressionError(f"not a valid expression: {error.msg} in {_shown(text)!r}"
                              + _syntax_hint(text)) from None
    except (RecursionError, MemoryError):
        raise _too_deep(f"the command line allows {MAX_DEPTH:,} levels") from None
    _check(tree.body, text.strip())
    return tree.body


def _syntax_hint(text: str) -> str:
    """A teaching hint for a common slip that Python cannot parse."""
    if re.search(r"(?<![=<>!])=(?!=)", text):
        return ("; give the expression first, quoted, then the values: "
                '"x*w + b" x=2 w=-3 b=1')
    number_then_name = re.search(r"(?<![\w.])(\d+\.?\d*(?:[eE][+-]?\d+)?)([A-Za-z_]\w*)", text)
    if number_then_name and not re.fullmatch(r"[eE][+-]?\d*", number_then_name.group(2)):
        number, name = number_then_name.groups()
        return f"; write {number}*{name} for a product (Python needs the *)"
    if "|" in text:
        return "; write abs(x) for |x|"
    called = re.search(rf"\b({'|'.join(FUNCTIONS)})\s+([\w.]+)", text)
    if called:
        return f"; call a function with parentheses: {called.group(1)}({called.group(2)})"
    for symbol, written in _MATH_SYMBOLS.items():
        if symbol in text:
            return f"; write {written} for {symbol}"
    return ""


# Characters pasted from a textbook, and how to type them here.
_MATH_SYMBOLS = {"²": "**2", "³": "**3", "×": "*", "·": "*", "⋅": "*", "−": "-", "–": "-",
                 "÷": "/", "√": "sqrt(x)", "∗": "*"}


def _check(root: ast.expr, text: str) -> None:
    """Walk the tree (iteratively: no depth limit of its own) and refuse anything outside the
    whitelist; then refuse trees deeper than MAX_DEPTH."""
    stack = [(root, 1)]
    deepest = 0
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        for child in _check_node(node, text):
            stack.append((child, depth + 1))
    if deepest > MAX_DEPTH:
        raise _too_deep(f"{deepest:,} levels, each operator or call inside another adding "
                        f"one; the command line allows {MAX_DEPTH:,}")


def _check_node(node: ast.AST, text: str) -> list[ast.expr]:
    """Refuse `node` unless the whitelist allows it; returns the children to check."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            kind = "strings" if isinstance(node.value, (str, bytes)) else \
                f"the constant {node.value!r}"
            raise _refuse(kind)
        try:
            finite = math.isfinite(float(node.value))
        except OverflowError:
            finite = False
        if not finite:
            raise ExpressionError(f"the number {str(node.value)[:20]} is too large for a float "
                                  f"(the largest is {LARGEST})")
        if node.value == 0 and _underflows(_segment(text, node)):
            raise ExpressionError(f"the number {_shown(_segment(text, node), 20)} is too small "
                                  f"for a float (the smallest is {SMALLEST}): it would be 0.0; "
                                  "write 0, or use larger numbers")
        return []
    if isinstance(node, ast.Name):
        _check_name(node.id)
        if node.id in FUNCTIONS:
            raise ExpressionError(f"{node.id} is a function: call it, as in {node.id}(x)")
        return []
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _OPERATORS:
            raise _binop_refusal(node, text)
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise _refuse(f"the operator {type(node.op).__name__}")
        return [node.operand]
    if isinstance(node, ast.Call):
        return _check_call(node, text)
    raise _refuse(_REFUSED_NAMES.get(type(node), type(node).__name__))


def _binop_refusal(node: ast.BinOp, text: str) -> ExpressionError:
    name = type(node.op).__name__
    symbol = _SYMBOLS.get(type(node.op))
    if isinstance(node.op, ast.BitXor):
        left, right = (_shown(_grouped(text, part), 20) for part in (node.left, node.right))
        if left in ("e", "E"):
            return _refuse("the operator ^ (BitXor)",
                           f"for e to the power {right} write "
                           f"exp({_shown(_segment(text, node.right), 20)}), not {left}^{right} "
                           "(in Python ^ is bitwise xor, and ** the power)")
        return _refuse("the operator ^ (BitXor)",
                       f"use ** for powers: {left}**{right}, not {left}^{right} "
                       "(in Python ^ is bitwise xor)")
    return _refuse(f"the operator {symbol} ({name})" if symbol else f"the operator {name}")


def _grouped(text: str, node: ast.expr) -> str:
    """The source of an operand, in parentheses if it is an operation (x^(y+1) -> (y+1)),
    so that advice written around it keeps its meaning."""
    piece = _segment(text, node)
    return f"({piece})" if isinstance(node, (ast.BinOp, ast.UnaryOp)) else piece


def _check_call(node: ast.Call, text: str) -> list[ast.expr]:
    func = node.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
            and func.value.id in _MODULES and func.attr in FUNCTIONS:
        raise _refuse(f"{func.value.id}.{func.attr}()",
                      f"write {func.attr}(...) without {func.value.id}.: the functions "
                      "are built in")
    if isinstance(func, ast.Attribute) and func.attr in FUNCTIONS and not node.args:
        inner = _shown(_grouped(text, func.value), 20)        # x.exp(): as a Value's method
        raise _refuse(f"{inner}.{func.attr}()", f"write {func.attr}("
                      f"{_shown(_segment(text, func.value), 20)}): the functions take the "
                      "value in parentheses")
    if not isinstance(func, ast.Name):
        if isinstance(func, (ast.Constant, ast.BinOp, ast.UnaryOp, ast.Call)):
            shown = _shown(_segment(text, func), 20)
            raise _refuse(f"calling {shown}(...)",
                          f"write {shown}*(...) for a product (Python needs the *)")
        for child in ast.walk(func):                # names what it is: attribute access, ...
            if not isinstance(child, (ast.Name, ast.Load)):
                _check_node(child, text)
        raise _refuse("calls of anything but a function name")
    _check_name(func.id)
    if func.id not in FUNCTIONS:
        raise _refuse(f"a call of {func.id}()", _unknown_function_hint(func.id))
    if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
        raise ExpressionError(f"{func.id}() takes exactly one argument, as in {func.id}(x)")
    return [node.args[0]]


def _unknown_function_hint(name: str) -> str:
    if name in _OTHER_SPELLINGS:
        return f"{_OTHER_SPELLINGS[name]}"
    close = _close_match(name, FUNCTIONS)
    if close:
        return f"did you mean {close}()? (the functions are {', '.join(FUNCTIONS)})"
    if len(name) <= 2:
        return (f"for a product write {name}*(...); the functions are "
                f"{', '.join(FUNCTIONS)}")
    return f"the functions are {', '.join(FUNCTIONS)}"


def _close_match(name: str, candidates) -> str | None:
    """The candidate a slip of the keyboard or of the shift key most likely meant."""
    candidates = list(candidates)
    for candidate in candidates:
        if candidate.lower() == name.lower():
            return candidate
    found = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
    return found[0] if found else None


def _check_name(name: str) -> None:
    if name.startswith("_"):
        raise _refuse(f"the name {name!r} (names may not start with _)")


def variables_in(tree: ast.expr) -> list[str]:
    """The variable names an expression uses, in order of first appearance."""
    functions = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    found = sorted((node.lineno, node.col_offset, node.id) for node in ast.walk(tree)
                   if isinstance(node, ast.Name) and id(node) not in functions)
    return list(dict.fromkeys(name for _, _, name in found))


def parse_assignments(pairs: list[str]) -> dict[str, float]:
    """['x=2', 'w=-3'] -> {'x': 2.0, 'w': -3.0}, refusing anything malformed."""
    values: dict[str, float] = {}
    for pair in pairs:
        if re.search(r"[\ud800-\udfff]", pair):
            raise ExpressionError(f"{pair.encode('utf-8', 'surrogateescape')!r} is not UTF-8 "
                                  "text; type it again, as in x=2.5")
        name, equals, number = pair.partition("=")
        name, number = unicodedata.normalize("NFKC", name.strip()), number.strip()
        if not equals or not name:
            raise ExpressionError(f"expected name=value, got {_shown(pair)!r} (for example "
                                  "x=2.5)")
        if not name.isidentifier() or name.startswith("_") or name in FUNCTIONS:
            raise ExpressionError(f"{_shown(name, 30)!r} cannot be a variable name (use "
                                  "letters, digits and _, not starting with _ or a digit, and "
                                  "not a function)")
        if name in values:
            raise ExpressionError(f"{name} is given twice")
        try:
            value = float(number)
        except ValueError:
            raise ExpressionError(f"{name}={_shown(number, 30)!r}: the value must be a number, "
                                  "as in x=2.5") from None
        if not math.isfinite(value):
            raise ExpressionError(f"{name}={_shown(number, 30)}: the value must be a finite "
                                  f"number (at most {LARGEST})")
        if value == 0.0 and _underflows(number):
            raise ExpressionError(f"{name}={_shown(number, 30)}: too small for a float (the "
                                  f"smallest is {SMALLEST}): it would be 0.0; give {name}=0, "
                                  "or a larger number")
        values[name] = value
    return values


def _underflows(number: str) -> bool:
    """Does this written number have a nonzero digit before its exponent (1e-400), so that a
    float 0.0 for it is an underflow, not a zero?"""
    return bool(re.search(r"[1-9]", re.split(r"[eE]", number, maxsplit=1)[0]))


def _missing_hint(name: str, values: dict[str, float]) -> str:
    close = _close_match(name, values)
    if close:
        return f"did you mean {close}? (names are case-sensitive)"
    if name == "e":
        return "for Euler's number write exp(x) instead of e**x (and exp(1) for e)"
    if name == "pi":
        return "give pi=3.141592653589793"
    close = _close_match(name, FUNCTIONS)
    if close:
        return f"did you mean {close}(...)?"
    return ""


def build(text: str, values: dict[str, float | Value], *,
          check_backward: bool = False) -> tuple[Value, dict[str, Value]]:
    """Build the expression from Values: each variable a labelled leaf. Returns (root, leaves).
    A variable whose value is a Value is that Value itself (how `chainrule code` traces the
    expression on the Values autograd.compile gives it).

    Undefined math (log of a negative, division by zero) and any value beyond the float range
    raise UndefinedMathError naming the part of the expression at fault. With
    check_backward=True, also works out every local derivative and grad of the backward pass
    on the side (writing no grad) and refuses the expression if one is undefined or not a
    finite number."""
    tree = parse(text)
    used = variables_in(tree)
    missing = [name for name in used if name not in values]
    if missing:
        hints = [hint for hint in (_missing_hint(name, values) for name in missing) if hint]
        raise ExpressionError(
            f"no value for {', '.join(missing)}: give "
            + " ".join(f"{name}=..." for name in missing) + " after the expression"
            + (f"; {hints[0]}" if hints else ""))
    leaves = {name: values[name] if isinstance(values[name], Value) else Value(values[name], name)
              for name in used}
    builder = _Builder(text.strip(), tree, leaves)
    root = builder.build()
    if check_backward:
        builder.check_backward(root)
    return root, builder.leaves


def _named(text: str, value: float) -> str:
    """'x - 1 = -2.0' for a part of the expression, '-2' for a plain number."""
    if re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text.strip()):
        return text
    return f"{text} = {value!r}"


def _segment(text: str, node: ast.AST) -> str:
    """The source text of `node` (ast positions count UTF-8 bytes, per line)."""
    lines = re.split(r"\r\n|\r|\n", text)          # the line ends ast counts, no others
    try:
        start, end = node.lineno - 1, node.end_lineno - 1
        if start == end:
            piece = lines[start].encode("utf-8")[node.col_offset:node.end_col_offset]
            return piece.decode("utf-8", "replace")
        first = lines[start].encode("utf-8")[node.col_offset:].decode("utf-8", "replace")
        last = lines[end].encode("utf-8")[:node.end_col_offset].decode("utf-8", "replace")
        return " ".join([first, *lines[start + 1:end], last])
    except (AttributeError, IndexError, TypeError):
        return "?"


class _Builder:
    """Builds the graph of a checked syntax tree, iteratively, and remembers which part of the
    expression made each node, for messages in the student's own words."""

    def __init__(self, text: str, tree: ast.expr, leaves: dict[str, Value]) -> None:
        self.text = text
        self.tree = tree
        self.leaves = leaves
        self.made_by: dict[int, ast.AST] = {}    # id(Value) -> the syntax node that made it
        self.has_names: dict[int, bool] = {}     # id(syntax node) -> does a variable occur in it

    def source(self, node: ast.AST) -> str:
        return _shown(_segment(self.text, node), 40)

    def at(self, node: ast.AST) -> str:
        """' at x = 2.0, w = -3.0': the values of the variables in `node`."""
        names = variables_in(node)
        if not names:
            return ""
        return " at " + ", ".join(f"{name} = {self.leaves[name].data!r}" for name in names[:6])

    def build(self) -> Value:
        """Post-order over the tree. Constants are leaves; a variable-free unary minus (-2)
        and a variable-free exponent (x ** (1/2)) are folded into one number, as Python reads
        them; everything else is a node of the graph."""
        self.has_names = has_names = self._has_names()
        results: dict[int, Value] = {}
        # (node, folded: computed as a number, not recorded in the graph, expanded)
        stack: list[tuple[ast.expr, bool, bool]] = [(self.tree, False, False)]
        while stack:
            node, folded, expanded = stack.pop()
            fold_here = folded or (isinstance(node, ast.UnaryOp) and not has_names[id(node)])
            if not expanded:
                stack.append((node, folded, True))
                for child, child_folded in self._children(node, fold_here, has_names):
                    stack.append((child, child_folded, False))
                continue
            if fold_here:                           # a number: computed, not recorded
                with no_grad():
                    value = self._apply(node, results)
            else:
                value = self._apply(node, results)
            if not folded:                          # a node or a leaf of the graph
                self.made_by.setdefault(id(value), node)
            results[id(node)] = value
        return results[id(self.tree)]

    def _has_names(self) -> dict[int, bool]:
        """For every syntax node: does a variable occur in it? (post-order, iterative)"""
        order = []
        stack = [self.tree]
        while stack:
            node = stack.pop()
            order.append(node)
            stack.extend(self._operands(node))
        has: dict[int, bool] = {}
        for node in reversed(order):
            has[id(node)] = isinstance(node, ast.Name) or any(
                has[id(child)] for child in self._operands(node))
        return has

    @staticmethod
    def _operands(node: ast.expr) -> list[ast.expr]:
        if isinstance(node, ast.BinOp):
            return [node.left, node.right]
        if isinstance(node, ast.UnaryOp):
            return [node.operand]
        if isinstance(node, ast.Call):
            return [node.args[0]]
        return []

    def _children(self, node, folded, has_names):
        children = []
        for child in self._operands(node):
            child_folded = folded or (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow)
                                      and child is node.right and not has_names[id(child)])
            children.append((child, child_folded))
        return children

    def _apply(self, node: ast.expr, results: dict[int, Value]) -> Value:
        """The Value for `node`, its operands already built; every result checked finite."""
        if isinstance(node, ast.Constant):
            return Value(float(node.value))
        if isinstance(node, ast.Name):
            return self.leaves[node.id]
        operands = [results[id(child)] for child in self._operands(node)]
        try:
            if isinstance(node, ast.UnaryOp):
                value = -operands[0] if isinstance(node.op, ast.USub) else operands[0]
            elif isinstance(node, ast.Call):
                argument = operands[0]
                value = abs(argument) if node.func.id == "abs" else \
                    getattr(argument, node.func.id)()
            else:
                left, right = operands
                if isinstance(node.op, ast.Pow) and not self.has_names[id(node.right)]:
                    right = right.data              # x ** 2: a number exponent, not a node
                value = {ast.Add: lambda: left + right, ast.Sub: lambda: left - right,
                         ast.Mult: lambda: left * right, ast.Div: lambda: left / right,
                         ast.Pow: lambda: left ** right}[type(node.op)]()
        except (ArithmeticError, ValueError) as error:    # UndefinedMathError, domain errors
            result = getattr(error, "result", None)     # the engine refused an inf or nan
            if result is not None:
                raise UndefinedMathError(self._overflow(node, result)) from error
            raise UndefinedMathError(self._explain(node, operands, error)) from error
        if not math.isfinite(value.data):
            raise UndefinedMathError(self._overflow(node, value.data))
        return value

    def _overflow(self, node: ast.AST, data: float) -> str:
        return (f"{self.source(node)} is {data!r}{self.at(node)}: beyond the largest float "
                f"({LARGEST}); use smaller numbers")

    def _explain(self, node: ast.expr, operands: list[Value], error: Exception) -> str:
        """The engine refused an op: say why in the expression's own terms."""
        whole = self.source(node)
        values = [operand.data for operand in operands]
        if isinstance(node, ast.Call):
            inner, x = self.source(node.args[0]), values[0]
            if node.func.id == "log" and x <= 0:
                return (f"{whole} is undefined{self.at(node)}: log needs a number > 0, but "
                        f"{inner} = {x!r}; keep it positive (e.g. log({inner} + 1e-12) "
                        "if it can reach 0)")
            if node.func.id == "sqrt" and x < 0:
                return (f"{whole} is undefined{self.at(node)}: sqrt needs a number >= 0, but "
                        f"{inner} = {x!r}")
            if node.func.id == "exp":
                return (f"{whole} overflows{self.at(node)}: exp({inner}) is beyond the "
                        f"largest float ({LARGEST}) for {inner} > 709.78; use smaller numbers")
        if isinstance(node, ast.BinOp):
            left, right = self.source(node.left), self.source(node.right)
            x, y = values
            if isinstance(node.op, ast.Div) and y == 0.0:
                return (f"division by zero in {whole}{self.at(node)}: the divisor {right} is "
                        f"{y!r}; divide by something that is never zero")
            if isinstance(node.op, ast.Pow):
                if x < 0 and not float(y).is_integer():
                    return (f"{whole} is not a real number{self.at(node)}: the base "
                            f"{_named(left, x)} is negative and the power {_named(right, y)} "
                            f"is not a whole number; use abs({left}) ** {right}, or a whole "
                            "power")
                if x == 0 and y < 0:
                    return (f"division by zero in {whole}{self.at(node)}: the base "
                            f"{_named(left, x)} is zero and the power {_named(right, y)} is "
                            "negative")
                if x <= 0 and self.has_names[id(node.right)]:
                    return (f"{whole} needs a positive base{self.at(node)}, but the base is "
                            f"{_named(left, x)}: with a variable power, backward takes the log "
                            "of the base; use a number power, or a positive base")
        message = str(error) or type(error).__name__
        if "overflow" in message or "too large" in message or "range" in message:
            return self._overflow(node, math.inf)
        return f"{whole}{self.at(node)}: {message}"

    def check_backward(self, root: Value) -> None:
        """Work out the backward pass on the side (the graph's grads untouched), and refuse the
        expression where a local derivative or a grad is undefined or beyond the float
        range."""
        grads: dict[int, float] = {id(root): 1.0}
        for node in reversed(topological_order(root)):
            if not node.parents:
                continue
            upstream = grads.get(id(node), 0.0)
            try:
                local_values = local_derivatives(node)
            except (ArithmeticError, ValueError):
                local_values = (math.inf,) * len(node.parents)
            for parent, local in zip(node.parents, local_values):
                contribution = local * upstream
                total = grads.get(id(parent), 0.0) + contribution
                if not (math.isfinite(local) and math.isfinite(total)):
                    raise UndefinedMathError(self._backward_refusal(node, parent, local))
                grads[id(parent)] = total

    def _backward_refusal(self, node: Value, parent: Value, local: float) -> str:
        made, source = self.made_by.get(id(node)), self.made_by.get(id(parent))
        whole = self.source(made) if made is not None else "the result"
        part = self.source(source) if source is not None else "an operand"
        where = self.at(made) if made is not None else ""
        if not math.isfinite(local):
            what = "infinite" if math.isinf(local) else "undefined"
            return (f"backward through {whole}: its local derivative with respect to {part} "
                    f"is {what}{where}; move the input away from that point (e.g. add "
                    "1e-12)")
        return (f"backward: the grad of {part} is beyond the largest float ({LARGEST})"
                f"{where}; use numbers nearer 1")
