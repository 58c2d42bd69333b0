"""A graph of Values as a picture's description: value nodes (label, data, grad) and op nodes
between, built as a graphviz.Digraph (a Graph, autograd/picture.py).

This module only describes the picture: labels, escaping, highlight, and a layout dot can finish.
render.py runs Graphviz (system `dot`, else WebAssembly) within a time limit. The graphviz
package is imported on the first draw(), not with autograd.
"""

from __future__ import annotations

import numbers
import re
from typing import TYPE_CHECKING

from .engine import Value, local_derivatives, topological_order
from .text import constant_text, node_names, value_text
from .text import visible as _visible

if TYPE_CHECKING:
    from .picture import Graph

__all__ = ["draw", "GraphTooLargeError", "DEFAULT_MAX_NODES", "label_text", "record_field",
           "layout_size"]

DEFAULT_MAX_NODES = 300
FONT = "DejaVu Sans"           # Graphviz knows its widths; render.py ships the font for PNG
HIGHLIGHT = "#ffe08a"

# dot lays out an edge that crosses k ranks as a chain of k-1 hidden nodes and places all of them
# with a network simplex. A value used far down the graph (x + x + ... + x, Horner's x, a sum of
# everything made) crosses many ranks: 90 terms make 8,000 layout nodes, and dot's default, rounds
# until optimal, takes minutes there (in Graphviz 2.43 the first round alone costs seconds on
# 20,000 nodes). So draw() estimates the layout's size (drawn nodes + hidden ones) and
#   past FREE_LAYOUT gives dot a budget: ROUNDS_BUDGET / size^2 rounds of placement (nslimit,
#     counted per drawn node) and fewer ordering passes (mclimit = ORDERING_BUDGET / size);
#   past NO_ROUNDS, no rounds: rounds only centre nodes among their neighbours, and without them
#     the picture is the same graph, a little less balanced;
#   past MAX_LAYOUT (values used all along a 300-value chain: 90,000 layout nodes, over a minute
#     even without rounds, placing and routing the hidden nodes), the longest edges start from a
#     copy of their value drawn next to its use (dashed, the same text), until the size fits.
# Edge labels (edge_labels=True, a Step's picture) double every rank (each label is a node of
# its own), and routing the edges around them grows steeply: a 60-term sum took 1.6 s, Horner's
# x over 99 degrees 26 s in system dot. Past LABELLED_LAYOUT, labels become `xlabel`s, placed
# beside their edges after a layout made as if there were none.
FREE_LAYOUT = 1_000
NO_ROUNDS = 5_000
MAX_LAYOUT = 10_000
LABELLED_LAYOUT = 2_000
ROUNDS_BUDGET = 6.4e9          # rounds x size^2: ~0.3 s of dot placing nodes
ORDERING_BUDGET = 6_000


def check_max_nodes(max_nodes, who: str) -> int:
    """max_nodes as an int: a whole number >= 1 (a NumPy integer too; not a bool)."""
    if (isinstance(max_nodes, bool) or not isinstance(max_nodes, numbers.Integral)
            or max_nodes < 1):
        raise ValueError(f"{who}: max_nodes must be a whole number >= 1 (the most nodes to "
                         f"show), got {max_nodes!r}")
    return int(max_nodes)


class GraphTooLargeError(ValueError):
    """The graph has more nodes than draw() was allowed to lay out."""


def label_text(text: str) -> str:
    """A Graphviz label that shows `text` as written: graphviz.escape() keeps backslashes
    (\\N, \\l, a trailing one) and <...> literal, & is written &amp; (Graphviz would read
    &lt; as <), a newline breaks the line. quote() adds the quotes and escapes \"."""
    import graphviz
    text = graphviz.escape(_visible(text)).replace("&", "&amp;")
    return graphviz.nohtml(text.replace("\n", "\\n"))


def record_field(text: str) -> str:
    """One field of a record label, shown as written: as label_text, with the record's own
    characters { } | < > escaped, and spaces a record would trim or merge (at the ends, in
    runs) made no-break spaces, which look the same."""
    import graphviz
    text = graphviz.escape(_visible(text)).replace("&", "&amp;")
    for special in "{}|<>":
        text = text.replace(special, "\\" + special)
    text = re.sub(r"^ +| +$| {2,}", lambda m: "\u00a0" * len(m[0]), text)
    return text.replace("\n", "\\n")


def _quoted(text: str) -> str:
    """label_text(text) as DOT text, quoted, for DOT written by hand (slides.py)."""
    from graphviz.quoting import quote
    return quote(label_text(text))


def _field(text: str) -> str:
    """record_field(text) for a record label written by hand inside "...": quotes escaped
    (escape() has doubled every backslash, so one more escapes the quote)."""
    return record_field(text).replace('"', '\\"')


def _record(fields: list[str]) -> str:
    import graphviz
    return graphviz.nohtml("{" + " | ".join(record_field(f) for f in fields) + "}")


def _op_text(node: Value) -> str:
    exponent = getattr(node.local, "exponent", None)
    if node.op == "**" and exponent is not None and len(node.parents) == 1:
        return f"** {constant_text(exponent)}"        # as written: ** 2, ** 0.5
    return node.op


def layout_plan(order: list[Value], labelled: bool = False
                ) -> tuple[set[tuple[int, int]], int, int]:
    """(edges to draw from a copy of their parent, keyed (id(node), parent position); nodes
    drawn; nodes dot will lay out, hidden ones included). Ranks as dot makes them: an op one
    rank after its latest parent, its value one after the op, a leaf just before its first use;
    an edge from rank r to rank r + k crosses k - 1 ranks, each a hidden node. With any edge
    label (`labelled`), dot doubles every rank, so that the label sits on a rank of its own:
    the same edge crosses 2k - 1."""
    rank: dict[int, int] = {}
    first_use: dict[int, int] = {}
    for node in order:
        if node.parents:
            op_rank = max(rank[id(p)] for p in node.parents) + 1
            rank[id(node)] = op_rank + 1
            for parent in node.parents:
                if not parent.parents:
                    first_use[id(parent)] = min(first_use.get(id(parent), op_rank), op_rank)
        else:
            rank[id(node)] = 0
    rank.update((key, use - 1) for key, use in first_use.items())
    drawn, edges = 0, []                     # edges: (ranks spanned, node's index, position)
    for index, node in enumerate(order):
        drawn += 2 if node.parents else 1
        for position, parent in enumerate(node.parents):
            edges.append((rank[id(node)] - 1 - rank[id(parent)], index, position))
    factor = 2 if labelled else 1
    size = drawn + sum(factor * span - 1 for span, _, _ in edges)
    copied = set()
    if size > MAX_LAYOUT:   # longest first: a copy, one rank before its use, saves the rest
        for span, index, position in sorted(edges, key=lambda e: (-e[0], e[1], e[2])):
            saved = factor * (span - 1) - 1
            if size <= MAX_LAYOUT or saved <= 0:
                break
            copied.add((id(order[index]), position))
            size -= saved
    return copied, drawn + len(copied), size


def layout_size(order: list[Value], labelled: bool = False) -> tuple[int, int]:
    """(nodes drawn, nodes dot will lay out) for draw(order[-1]) (with edge labels: labelled)."""
    _, drawn, size = layout_plan(order, labelled)
    return drawn, size


def _layout_limits(drawn: int, size: int) -> dict[str, str]:
    """Graph attributes that keep dot's layout time bounded (none for ordinary graphs)."""
    if size <= FREE_LAYOUT:
        return {}
    rounds = ROUNDS_BUDGET / size ** 2 if size <= NO_ROUNDS else 0
    return {"nslimit": f"{rounds / drawn:.3g}",
            "mclimit": f"{min(1.0, ORDERING_BUDGET / size):.2g}"}


def draw(root: Value, rankdir: str = "LR", show_grad: bool = True,
         highlight: Value | list[Value] | None = None, edge_labels: bool = False,
         max_nodes: int = DEFAULT_MAX_NODES, *, grads: dict[int, float] | None = None,
         edge_text: dict[tuple[int, int], str] | None = None,
         names: dict[int, str] | None = None) -> Graph:
    """The graph that computed `root`, as a Graph: a graphviz.Digraph (DOT text in .source,
    .pipe(), .render(), Jupyter display) with .svg(), .png() and .save(path).

    rankdir: "LR" (left to right) or "TB" (top to bottom). show_grad: print each node's grad.
    highlight: a node (or list of nodes) to fill in colour. edge_labels: write each edge's
    local derivative on it. max_nodes: refuse larger graphs (layout would be slow and
    unreadable). grads (by node id) replaces the nodes' grads; a node missing from it is shown
    as not yet computed ('?'). edge_text labels chosen edges, keyed by (id(node), parent index).
    A value used very far from where it was made may be drawn again, dashed, next to that use
    (only in graphs whose layout would otherwise be huge; see MAX_LAYOUT).
    """
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    if not isinstance(root, Value):
        raise TypeError(f"draw: takes the Value to draw, got {type(root).__name__}")
    max_nodes = check_max_nodes(max_nodes, "draw")
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
    labelled = edge_labels or bool(edge_text)
    copied, drawn, size = layout_plan(order, labelled)
    beside = labelled and size > LABELLED_LAYOUT     # labels beside the edges: xlabel
    if beside:
        copied, drawn, size = layout_plan(order)

    from .picture import Graph
    graph_attr = {"rankdir": rankdir, "fontname": FONT, "bgcolor": "white",
                  "nodesep": "0.25", "ranksep": "0.35", **_layout_limits(drawn, size)}
    graph = Graph("backprop", graph_attr=graph_attr,
                  node_attr={"fontname": FONT, "fontsize": "11"},
                  edge_attr={"fontname": FONT, "fontsize": "9", "color": "#555555",
                             "arrowsize": "0.7"})

    def fields(node: Value) -> list[str]:
        shown = [node.label or names.get(id(node), ""), f"data {value_text(node.data)}"]
        if show_grad:
            if grads is None:
                shown.append(f"grad {value_text(node.grad)}")
            else:
                shown.append(f"grad {value_text(grads[id(node)])}" if id(node) in grads
                             else "grad ?")
        return shown

    for node in order:
        key = ids[id(node)]
        graph.node(key, label=_record(fields(node)), shape="record", style="filled",
                   fillcolor=HIGHLIGHT if id(node) in marked else "white")
        if node.parents:
            graph.node(f"{key}_op", label=label_text(_op_text(node)), shape="ellipse",
                       style="filled", fillcolor=HIGHLIGHT if id(node) in marked else "#eeeeee",
                       margin="0.02")
            graph.edge(f"{key}_op", key)
    for node in order:
        if not node.parents:
            continue
        key = ids[id(node)]
        local = local_derivatives(node) if edge_labels else None
        for position, parent in enumerate(node.parents):
            label = None
            if edge_text and (id(node), position) in edge_text:
                label = edge_text[(id(node), position)]
            elif local is not None:
                label = value_text(local[position])
            tail = ids[id(parent)]
            if (id(node), position) in copied:       # the same value, drawn again here
                tail = f"{key}_again{position}"
                graph.node(tail, label=_record(fields(parent)), shape="record",
                           style="filled,dashed",
                           fillcolor=HIGHLIGHT if id(parent) in marked else "white")
            if label is None:
                graph.edge(tail, f"{key}_op")
            else:
                graph.edge(tail, f"{key}_op", **{"xlabel" if beside else "label":
                                                 label_text(label)})
    return graph


def __getattr__(name: str):
    """Graph, from autograd/picture.py, when asked for (it imports the graphviz package)."""
    if name == "Graph":
        from .picture import Graph
        return Graph
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
