"""Names and numbers as every view writes them: node names, values, constants, LaTeX.

The ground that ledgers, steps, formulas, drawings, slides and the command line stand on; the
engine never imports it.
"""

from __future__ import annotations

import re

from .engine import Value, topological_order

__all__ = ["node_names", "made_text", "value_text", "constant_text", "factor_text",
           "latex_number", "latex_name", "latex_text"]


def node_names(root: Value, order: list[Value] | None = None) -> dict[int, str]:
    """A name for every node, by id: its label, or a stable generated one (v1, v2, ... in
    forward order; the root, if unlabelled, is L). Same graph, same names."""
    order = topological_order(root) if order is None else order
    taken = {node.label for node in order if node.label}
    names: dict[int, str] = {}
    counter = 0
    for node in order:
        if node.label:
            names[id(node)] = node.label
        elif node is root and "L" not in taken:
            names[id(node)] = "L"
        else:
            counter += 1
            while f"v{counter}" in taken:
                counter += 1
            names[id(node)] = f"v{counter}"
    return names


def made_text(node: Value, names: dict[int, str], values: bool = False) -> str:
    """How a node was made, in its parents' names (x * w, tanh(n), x ** 2, -x) or, with
    values=True, in their values (2.0 * (-3.0)). A leaf was not made: ''."""
    if values:
        parents = [factor_text(parent.data) for parent in node.parents]
    else:
        parents = [names.get(id(parent), parent.label or "?") for parent in node.parents]
    exponent = getattr(node.local, "exponent", None)
    if not parents:
        return ""
    if node.op == "**" and len(parents) == 1 and exponent is not None:
        return f"{parents[0]} ** {constant_text(exponent)}"
    if node.op == "neg":
        return f"-{parents[0]}"
    if len(parents) == 2 and not node.op.isidentifier():
        return f"{parents[0]} {node.op} {parents[1]}"
    if values:                        # inside a call's own parentheses: tanh(-6.0)
        parents = [value_text(parent.data) for parent in node.parents]
    return f"{node.op}({', '.join(parents)})"


def value_text(x: float, digits: int = 6) -> str:
    """A value as the views print it: -3.0, 0.5, 0.707107 (`digits` significant digits; a
    whole number keeps its '.0', so a value never reads as a constant)."""
    text = f"{x:.{digits}g}"
    return text + ".0" if text.lstrip("-").isdigit() else text


def constant_text(x: float) -> str:
    """A constant inside a formula, as a teacher writes it: 2, 0.5, -1.5, 1e-12."""
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.6g}"


def factor_text(x: float) -> str:
    """A value written after an operator: negative ones in parentheses, 3.0 * (-1.5)."""
    return f"({value_text(x)})" if x < 0 else value_text(x)


def latex_number(text: str) -> str:
    r"""A number already written as text, in LaTeX: 1e-12 becomes 1 \times 10^{-12}."""
    if text in ("inf", "-inf", "nan"):
        return {"inf": r"\infty", "-inf": r"-\infty", "nan": r"\mathrm{nan}"}[text]
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


_LATEX_SPECIAL = {"\\": r"\backslash{}", "_": r"\_", "{": r"\{", "}": r"\}", "#": r"\#",
                  "$": r"\$", "%": r"\%", "&": r"\&", "^": r"\hat{}", "~": r"\sim{}"}


def latex_name(name: str) -> str:
    """A node's name for LaTeX: x stays x, w1 becomes w_{1}, longer names go upright (with
    every character that means something to LaTeX escaped)."""
    match = re.fullmatch(r"([A-Za-z])(\d+)", name)
    if match:
        return f"{match[1]}_{{{match[2]}}}"
    if re.fullmatch(r"[A-Za-z]", name):
        return name
    return rf"\mathrm{{{latex_text(name)}}}"


def latex_text(text: str) -> str:
    """Any text with LaTeX's special characters escaped (for \\mathrm{...} or a table cell)."""
    return "".join(_LATEX_SPECIAL.get(c, c) for c in text)
