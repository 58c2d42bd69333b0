"""DOT text for a graph of Values: value nodes with label, data and grad, op nodes between.

This module only builds text; render.py turns it into SVG or PNG.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ._files import write_atomically
from .engine import Value, local_derivatives, topological_order
from .text import node_names, value_text

__all__ = ["draw", "Graph", "GraphTooLargeError", "DEFAULT_MAX_NODES"]

DEFAULT_MAX_NODES = 300
FONT = "DejaVu Sans"           # Graphviz knows its widths; render.py ships the font for PNG
HIGHLIGHT = "#ffe08a"
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


class GraphTooLargeError(ValueError):
    """The graph has more nodes than draw() was allowed to lay out."""


def _visible(text: str) -> str:
    """Control characters shown as escapes (\\x07), newlines kept."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", text)


def _quoted(text: str) -> str:
    """A DOT quoted string that shows `text` as written (backslashes, quotes, unicode)."""
    text = _visible(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _field(text: str) -> str:
    """Text for one field of a record label: also escapes the record's own | { } < >."""
    text = _visible(text).replace("\\", "\\\\")
    for special in '|{}<>"':
        text = text.replace(special, "\\" + special)
    return text.replace("\n", "\\n")


def _op_text(node: Value) -> str:
    exponent = getattr(node.local, "exponent", None)
    if node.op == "**" and exponent is not None and len(node.parents) == 1:
        return f"** {value_text(exponent)}"
    return node.op


def draw(root: Value, rankdir: str = "LR", show_grad: bool = True,
         highlight: Value | list[Value] | None = None, edge_labels: bool = False,
         max_nodes: int = DEFAULT_MAX_NODES, *, grads: dict[int, float] | None = None,
         edge_text: dict[tuple[int, int], str] | None = None,
         names: dict[int, str] | None = None) -> Graph:
    """The graph that computed `root`, as a Graph (DOT text in .source; .svg(), .png(), .save()).

    rankdir: "LR" (left to right) or "TB" (top to bottom). show_grad: print each node's grad.
    highlight: a node (or list of nodes) to fill in colour. edge_labels: write each edge's
    local derivative on it. max_nodes: refuse larger graphs (layout would be slow and
    unreadable). grads (by node id) replaces the nodes' grads; a node missing from it is shown
    as not yet computed ('?'). edge_text labels chosen edges, keyed by (id(node), parent index).
    """
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    if not isinstance(root, Value):
        raise TypeError(f"draw: takes the Value to draw, got {type(root).__name__}")
    order = topological_order(root)
    if len(order) > max_nodes:
        raise GraphTooLargeError(
            f"draw: this graph has {len(order):,} nodes, more than max_nodes={max_nodes:,}; "
            "a layout that large is slow and unreadable. Draw a part of it (draw(some_node)) "
            f"or raise the limit: draw(root, max_nodes={len(order)})")
    if names is None:
        names = node_names(root)
    marked = {id(v) for v in ([] if highlight is None else
                               [highlight] if isinstance(highlight, Value) else highlight)}
    ids = {id(node): f"n{i}" for i, node in enumerate(order)}

    lines = [
        "digraph backprop {",
        f'  graph [rankdir={rankdir}, fontname="{FONT}", bgcolor="white", nodesep=0.25, '
        "ranksep=0.35];",
        f'  node [fontname="{FONT}", fontsize=11];',
        f'  edge [fontname="{FONT}", fontsize=9, color="#555555", arrowsize=0.7];',
    ]
    for node in order:
        key = ids[id(node)]
        fields = [names.get(id(node), node.label), f"data {value_text(node.data)}"]
        if show_grad:
            if grads is None:
                fields.append(f"grad {value_text(node.grad)}")
            else:
                fields.append(f"grad {value_text(grads[id(node)])}" if id(node) in grads
                              else "grad ?")
        label = "{" + " | ".join(_field(f) for f in fields) + "}"
        fill = HIGHLIGHT if id(node) in marked else "white"
        lines.append(f'  {key} [shape=record, style=filled, fillcolor="{fill}", '
                     f'label="{label}"];')
        if node.parents:
            fill = HIGHLIGHT if id(node) in marked else "#eeeeee"
            lines.append(f'  {key}_op [shape=ellipse, style=filled, fillcolor="{fill}", '
                         f"margin=0.02, label={_quoted(_op_text(node))}];")
            lines.append(f"  {key}_op -> {key};")
    for node in order:
        if not node.parents:
            continue
        key = ids[id(node)]
        local = None
        if edge_labels:
            local = local_derivatives(node)
        for position, parent in enumerate(node.parents):
            label = None
            if edge_text and (id(node), position) in edge_text:
                label = edge_text[(id(node), position)]
            elif local is not None:
                label = value_text(local[position])
            attributes = f" [label={_quoted(label)}]" if label is not None else ""
            lines.append(f"  {ids[id(parent)]} -> {key}_op{attributes};")
    lines.append("}")
    return Graph("\n".join(lines) + "\n")


class Graph:
    """A drawn graph: DOT text, and the ways to turn it into a picture."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __repr__(self) -> str:
        return f"<Graph: {self.source.count('->')} edges; .svg(), .png(), .save(path)>"

    def svg(self, backend: str = "auto") -> str:
        """SVG text (system Graphviz if on PATH, else the bundled WebAssembly Graphviz)."""
        from .render import dot_to_svg
        return dot_to_svg(self.source, backend=backend)

    def png(self, backend: str = "auto", scale: float = 2.0) -> bytes:
        """PNG bytes, `scale` times the natural size."""
        from .render import dot_to_png
        return dot_to_png(self.source, backend=backend, scale=scale)

    def save(self, path: str | os.PathLike, backend: str = "auto") -> Path:
        """Write the graph; the format comes from the suffix: .svg, .png or .dot. The file is
        replaced in one step: a failed render leaves any old file as it was."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".svg":
            data = self.svg(backend=backend).encode("utf-8")
        elif suffix == ".png":
            data = self.png(backend=backend)
        elif suffix in (".dot", ".gv"):
            data = self.source.encode("utf-8")
        else:
            raise ValueError(f"save: cannot tell the format from {path.name!r}; "
                             "end the name in .svg, .png or .dot")
        write_atomically(path, data)
        return path

    def to_graphviz(self):
        """The same graph as a `graphviz.Source` (pip install graphviz), for its own tools."""
        try:
            import graphviz
        except ImportError as error:
            raise ImportError("to_graphviz needs the graphviz package: pip install graphviz") \
                from error
        return graphviz.Source(self.source)

    def _repr_mimebundle_(self, include=None, exclude=None):
        try:
            return {"image/svg+xml": self.svg()}
        except Exception as error:          # show why, instead of nothing
            return {"text/plain": f"{self!r}\n(could not render: {error})"}
