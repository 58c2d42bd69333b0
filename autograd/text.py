"""Names and numbers as every view writes them: node names, values, constants, LaTeX.

The ground that ledgers, steps, formulas, drawings, slides and the command line stand on; the
engine never imports it.
"""

from __future__ import annotations

import re

from .engine import Value, topological_order

__all__ = ["node_names", "visible", "made_text", "value_text", "constant_text", "factor_text",
           "latex_number", "latex_name", "latex_text"]


def node_names(root: Value, order: list[Value] | None = None) -> dict[int, str]:
    """A name for every node, by id: its label (on one line, every character printable:
    visible(label, newline=False)), or a stable generated one (v1, v2, ... in forward order;
    the root, if unlabelled, is L). Same graph, same names."""
    order = topological_order(root) if order is None else order
    taken = {node.label for node in order if node.label}
    names: dict[int, str] = {}
    counter = 0
    for node in order:
        if node.label:
            names[id(node)] = visible(node.label, newline=False)
        elif node is root and "L" not in taken:
            names[id(node)] = "L"
        else:
            counter += 1
            while f"v{counter}" in taken:
                counter += 1
            names[id(node)] = f"v{counter}"
    return names


# Characters a label cannot show as themselves: control characters (newline aside: in a
# picture it breaks the line), the bidirectional overrides and isolates (they would reorder
# the text around the label: "dL/dx = 5" could read otherwise), lone surrogates (not
# encodable) and the two non-characters XML forbids. On one line: line breaks of every kind.
_CONTROL = "\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff"
_HIDDEN = re.compile(f"[{_CONTROL}]")
_HIDDEN_OR_NEWLINE = re.compile(f"[{_CONTROL}\n\u2028\u2029]")


def visible(text: str, newline: bool = True) -> str:
    """Text with invisible or unencodable characters written as escapes (\\x07, \\ud800), so
    that it prints, encodes and shows as written anywhere; newline=False escapes line breaks
    too (\\n), for text that must stay on one line (names in tables and steps)."""
    hidden = _HIDDEN if newline else _HIDDEN_OR_NEWLINE
    return hidden.sub(lambda m: "\\n" if m[0] == "\n" else f"\\x{ord(m[0]):02x}"
                      if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


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
    op = visible(node.op, newline=False)        # define_op takes any name
    if len(parents) == 2 and not op.isidentifier():
        return f"{parents[0]} {op} {parents[1]}"
    if values:                        # inside a call's own parentheses: tanh(-6.0)
        parents = [value_text(parent.data) for parent in node.parents]
    return f"{op}({', '.join(parents)})"


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
