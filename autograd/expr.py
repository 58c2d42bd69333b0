"""A safe expression language for the command line: parsed with `ast`, checked against a
whitelist, then built from Values. Nothing the user types is ever evaluated by Python."""

from __future__ import annotations

import ast
import math

from .engine import Value, no_grad

__all__ = ["ExpressionError", "FUNCTIONS", "build", "parse_assignments", "variables_in"]

FUNCTIONS = ("exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt", "abs")
MAX_LENGTH = 10_000
ALLOWED = ("numbers, variable names, + - * / **, unary minus, parentheses and the functions "
           + ", ".join(FUNCTIONS))

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


class ExpressionError(ValueError):
    """The expression or a variable was refused; the message says what and why."""


def _refuse(what: str) -> ExpressionError:
    return ExpressionError(f"refused {what}: expressions may use only {ALLOWED}")


def parse(text: str) -> ast.expr:
    """The expression's syntax tree, after checking every node against the whitelist."""
    if not isinstance(text, str):
        raise ExpressionError(f"the expression must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text):,} characters long; the limit "
                              f"is {MAX_LENGTH:,}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise ExpressionError(f"not a valid expression: {error.msg} in {shown!r}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply") from None
    try:
        _check(tree.body)
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply") from None
    return tree.body


def _check(node: ast.AST) -> None:
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
            raise ExpressionError(f"the number {str(node.value)[:20]} is too large for a float")
    elif isinstance(node, ast.Name):
        _check_name(node.id)
        if node.id in FUNCTIONS:
            raise ExpressionError(f"{node.id} is a function: call it, as in {node.id}(x)")
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _OPERATORS:
            raise _refuse(f"the operator {type(node.op).__name__}")
        _check(node.left)
        _check(node.right)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise _refuse(f"the operator {type(node.op).__name__}")
        _check(node.operand)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            _check(node.func)              # names what it is: attribute access, a lambda, ...
            raise _refuse("calls of anything but a function name")
        _check_name(node.func.id)
        if node.func.id not in FUNCTIONS:
            raise _refuse(f"a call of {node.func.id}()")
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            raise ExpressionError(f"{node.func.id}() takes exactly one argument, as in "
                                  f"{node.func.id}(x)")
        _check(node.args[0])
    else:
        raise _refuse(_REFUSED_NAMES.get(type(node), type(node).__name__))


def _check_name(name: str) -> None:
    if name.startswith("_"):
        raise _refuse(f"the name {name!r} (names may not start with _)")


def variables_in(tree: ast.expr) -> list[str]:
    """The variable names an expression uses, in order of first appearance."""
    functions = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    found = sorted((node.col_offset, node.id) for node in ast.walk(tree)
                   if isinstance(node, ast.Name) and id(node) not in functions)
    return list(dict.fromkeys(name for _, name in found))


def parse_assignments(pairs: list[str]) -> dict[str, float]:
    """['x=2', 'w=-3'] -> {'x': 2.0, 'w': -3.0}, refusing anything malformed."""
    values: dict[str, float] = {}
    for pair in pairs:
        name, equals, number = pair.partition("=")
        name, number = name.strip(), number.strip()
        if not equals or not name:
            raise ExpressionError(f"expected name=value, got {pair!r} (for example x=2.5)")
        if not name.isidentifier() or name.startswith("_") or name in FUNCTIONS:
            raise ExpressionError(f"{name!r} cannot be a variable name (use letters, digits "
                                  "and _, not starting with _ or a digit, and not a function)")
        if name in values:
            raise ExpressionError(f"{name} is given twice")
        try:
            value = float(number)
        except ValueError:
            raise ExpressionError(f"{name}={number!r}: the value must be a number, "
                                  "as in x=2.5") from None
        if not math.isfinite(value):
            raise ExpressionError(f"{name}={number}: the value must be a finite number")
        values[name] = value
    return values


def build(text: str, values: dict[str, float]) -> tuple[Value, dict[str, Value]]:
    """Build the expression from Values: each variable a labelled leaf. Returns (root, leaves).

    Undefined math (log of a negative, division by zero) raises UndefinedMathError."""
    tree = parse(text)
    used = variables_in(tree)
    missing = [name for name in used if name not in values]
    if missing:
        raise ExpressionError(
            f"no value for {', '.join(missing)}: give "
            + " ".join(f"{name}=..." for name in missing) + " after the expression")
    leaves = {name: Value(values[name], name) for name in used}
    root = _build(tree, leaves)
    if not isinstance(root, Value):               # a constant expression: still a graph root
        root = Value(root)
    return root, leaves


def _constant(node: ast.expr) -> float | None:
    """The value of a variable-free subexpression (as a float), else None."""
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.UnaryOp):
        inner = _constant(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if any(isinstance(n, ast.Name) for n in ast.walk(node)):
        return None
    with no_grad():                               # through Values: overflow etc. are clear
        result = _build(node, {})
    return result.data if isinstance(result, Value) else float(result)


def _build(node: ast.expr, leaves: dict[str, Value]):
    if isinstance(node, ast.Constant):
        return Value(float(node.value))
    if isinstance(node, ast.Name):
        return leaves[node.id]
    if isinstance(node, ast.UnaryOp):
        constant = _constant(node)
        if constant is not None:
            return Value(constant)
        operand = _build(node.operand, leaves)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left = _build(node.left, leaves)
        if isinstance(node.op, ast.Pow):
            exponent = _constant(node.right)        # x ** 2: a number exponent, not a node
            right = exponent if exponent is not None else _build(node.right, leaves)
            return left ** right
        right = _build(node.right, leaves)
        return {ast.Add: lambda: left + right, ast.Sub: lambda: left - right,
                ast.Mult: lambda: left * right, ast.Div: lambda: left / right}[type(node.op)]()
    if isinstance(node, ast.Call):
        argument = _build(node.args[0], leaves)
        return abs(argument) if node.func.id == "abs" else getattr(argument, node.func.id)()
    raise AssertionError(f"unchecked node {type(node).__name__}")   # parse() refused it
