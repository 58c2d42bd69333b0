"""The chain rule one node at a time: the backward pass computed on the side (what every view
shows), backward_steps() (backward() itself, one node per step), Step, and the ledger."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .engine import (
    UndefinedMathError,
    Value,
    chain_rule_step,
    check_graph,
    grads_as_numbers,
    start_backward,
    topological_order,
    undo_backward,
)
from .formula import Symbol, local_formulas
from .text import (
    factor_text,
    latex_name,
    latex_number,
    latex_text,
    node_names,
    value_text,
    visible,
)

__all__ = ["Edge", "Step", "Pass", "backward_pass", "backward_steps", "Ledger", "ledger",
           "node_names", "value_text"]


@dataclass(frozen=True)
class Edge:
    """One parent's share of a step: contribution = local * upstream, added to d root / d parent.

    grad_before and grad_after are d root / d parent in this pass (from zero) before and after
    this contribution; `first` says whether it is the parent's first contribution."""
    parent: Value
    local: float            # d node / d parent, holding the node's other inputs fixed
    contribution: float     # local * upstream
    grad_before: float
    grad_after: float
    formula: Symbol | None  # the local derivative as a formula in the nodes' names
    first: bool = True


class Pass:
    """One backward pass from `root`, computed on the side (as autodidact's backward_pass):
    d root / d node for every node, as if every grad started from zero, kept in a dict keyed
    by node. It never writes a node's `grad` or `data`. `walk()` takes the steps one at a time;
    `backward_pass(root)` takes them all."""

    def __init__(self, root: Value, order: list[Value] | None = None,
                 who: str = "backward_pass") -> None:
        if not isinstance(root, Value):
            raise TypeError(f"{who}: takes the Value to step back from, got "
                            f"{type(root).__name__}")
        self.root = root
        if order is None:                   # a view: refuse to mix old and new numbers
            order = topological_order(root)
            check_graph(order, who)         # StaleGraphError, as backward() would raise
        self.order = order
        self.names = node_names(root, self.order)
        self.total = max(1, sum(1 for node in self.order if node.parents))
        self.grads: dict[Value, float] = {}    # d root / d node, as far as the walk has gone
        self.steps: list[Step] = []
        self.failed: Value | None = None        # the node whose local derivative was undefined
        self._changed: list[list[tuple[Value, float]]] = []   # per step: (node, total after)

    def name(self, node: Value) -> str:
        return self.names.get(id(node), node.label or "?")

    def walk(self) -> Iterator[Step]:
        """The steps, each computed when asked for: at each node with parents (backward order),
        every parent's total grows by local * upstream. The first step seeds the root."""
        root, grads = self.root, self.grads
        grads[root] = 1.0                                # d root / d root
        if not root.parents:                             # a lone leaf: nothing to pass back
            yield self._record(0, root, 1.0, (), [(root, 1.0)])
            return
        index = 0
        for node in reversed(self.order):
            if not node.parents:
                continue
            upstream = grads[node]                       # every contribution is in by now
            new = [p for p in node.parents if p not in grads]
            try:                                         # the chain rule at this node, each
                stepped = chain_rule_step(node, grads)   # number checked, as backward() does
            except UndefinedMathError:                   # sqrt at 0: an infinite slope
                self.failed = node
                raise
            formulas = local_formulas(node.local, [self.name(p) for p in node.parents],
                                      self.name(node))
            edges, changes = [], ([(root, 1.0)] if index == 0 else [])
            for position, (parent, local, contribution, before, after) in enumerate(stepped):
                first = parent in new and all(e.parent is not parent for e in edges)
                edges.append(Edge(parent, local, contribution, before, after,
                                  None if formulas is None else formulas[position], first))
                changes.append((parent, after))
            yield self._record(index, node, upstream, tuple(edges), changes)
            index += 1

    def _record(self, index: int, node: Value, upstream: float, edges: tuple[Edge, ...],
                changes: list[tuple[Value, float]]) -> Step:
        step = Step(self, index, node, upstream, edges)
        self.steps.append(step)
        self._changed.append(changes)
        return step

    def grads_at(self, index: int) -> dict[int, float]:
        """Totals reached by the end of step `index`, by node id (nodes not reached absent)."""
        grads: dict[int, float] = {}
        for changes in self._changed[:index + 1]:
            grads.update((id(node), total) for node, total in changes)
        return grads

    def grad(self, node: Value) -> float:
        """d root / d node in this pass (0.0 for a node the walk has not reached)."""
        return self.grads.get(node, 0.0)


def backward_pass(root: Value, who: str = "backward_pass") -> Pass:
    """The whole backward pass from `root`, computed on the side: `.grads` (d root / d node
    by node, as a fresh backward() would leave them), `.steps`, `.names`. Writes nothing to
    the graph. Raises UndefinedMathError where a local derivative is undefined, and
    StaleGraphError (naming `who`, the view) where a node's data changed after the graph was
    built."""
    run = Pass(root, who=who)
    for _ in run.walk():
        pass
    return run


def backward_steps(root: Value) -> Iterator[Step]:
    """backward(), one node per next(): each step applies the chain rule at one node with
    parents (the first seeds the root with 1.0), writes the parents' grads exactly as
    backward() does, and yields a Step. Consumed fully, it leaves every grad as backward()
    does (interior grads from zero, leaves accumulate). A Step's numbers are this pass's own."""
    order, leaves = start_backward(root)             # interior grads zeroed, the root seeded
    grads_as_numbers(leaves)                          # as backward(): a Value grad, its number
    run = Pass(root, order)
    steps = run.walk()
    while True:
        try:
            step = next(steps)
        except StopIteration:
            return
        except BaseException:                         # put every grad back as it was
            undo_backward(order, leaves)
            raise
        for edge in step.edges:
            edge.parent.grad += edge.contribution     # parent.grad += local * node.grad
        yield step


class Step:
    """One application of the chain rule: at `node`, for each parent,
    d root / d parent += local * upstream (numbers of this pass, from zero)."""

    def __init__(self, run: Pass, index: int, node: Value, upstream: float,
                 edges: tuple[Edge, ...]) -> None:
        self._run = run
        self.index = index          # 0 for the first step (the root, seeded with 1.0)
        self.node = node
        self.upstream = upstream    # d root / d node
        self.edges = edges

    @property
    def total(self) -> int:
        """How many steps the whole pass has (one per node with parents; at least one)."""
        return self._run.total

    def name(self, node: Value) -> str:
        return self._run.name(node)

    def __repr__(self) -> str:
        return (f"Step({self.index + 1}/{self.total}, node={self.name(self.node)!r}, "
                f"upstream={self.upstream!r}, edges={len(self.edges)})")

    @property
    def header(self) -> str:
        """step k/n at v (op)"""
        return (f"step {self.index + 1}/{self.total} at {self.name(self.node)} "
                f"({visible(self.node.op, newline=False) or 'leaf'})")

    def lines(self) -> list[str]:
        """The step in plain text: the header, then one line per edge. A total derivative of
        the root is d (dL/dx); a local derivative of one op is ∂ (∂n/∂x). A parent's later
        contribution is followed by its running total."""
        root, node = self.name(self._run.root), self.name(self.node)
        lines = [self.header]
        if self.index == 0:
            lines.append(f"  d{root}/d{root} = 1.0 (the seed)")
        upstream = factor_text(self.upstream)
        for edge in self.edges:
            parent = self.name(edge.parent)
            parts = [f"d{root}/d{parent} += ∂{node}/∂{parent} * d{root}/d{node}"]
            if edge.formula is not None and edge.formula.kind != "number":
                parts.append(f"{edge.formula._wrap(2, 'text')} * {upstream}")
            parts.append(f"{value_text(edge.local)} * {upstream}")
            parts.append(value_text(edge.contribution))
            lines.append("  " + " = ".join(parts))
            if not edge.first:
                lines.append(f"    d{root}/d{parent} = {value_text(edge.grad_before)} + "
                             f"{factor_text(edge.contribution)} = {value_text(edge.grad_after)}")
        if not self.node.parents:
            lines.append(f"  {root} is a leaf: nothing to pass back")
        return lines

    def __str__(self) -> str:
        return "\n".join(self.lines())

    @property
    def latex(self) -> str:
        r"""The same as LaTeX, an aligned block: totals \frac{dL}{dx}, locals with \partial."""
        root, node = latex_name(self.name(self._run.root)), latex_name(self.name(self.node))

        def total(of: str) -> str:
            return rf"\frac{{d {root}}}{{d {of}}}"
        rows = []
        if self.index == 0:
            rows.append(rf"{total(root)} &= 1")
        upstream = _latex_factor(self.upstream)
        for edge in self.edges:
            parent = latex_name(self.name(edge.parent))
            parts = [rf"\frac{{\partial {node}}}{{\partial {parent}}} \cdot {total(node)}"]
            if edge.formula is not None and edge.formula.kind != "number":
                parts.append(rf"{edge.formula._wrap(2, 'latex')} \cdot {upstream}")
            parts.append(rf"{latex_number(value_text(edge.local))} \cdot {upstream}")
            parts.append(latex_number(value_text(edge.contribution)))
            rows.append(rf"{total(parent)} &\mathrel{{+}}= " + " = ".join(parts))
            if not edge.first:
                rows.append(rf"{total(parent)} &= {latex_number(value_text(edge.grad_before))}"
                            rf" + {_latex_factor(edge.contribution)} = "
                            rf"{latex_number(value_text(edge.grad_after))}")
        return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"

    def grads(self) -> dict[int, float]:
        """d root / d node as it stood right after this step, by node id (unreached absent)."""
        return self._run.grads_at(self.index)

    def draw(self, **options):
        """The graph as it stands at this step: the node highlighted, its parents' edges
        labelled local x upstream = contribution, totals not yet reached shown as '?'."""
        from .draw import draw
        labels = {}
        for position, edge in enumerate(self.edges):
            labels[(id(self.node), position)] = (f"{value_text(edge.local)} × "
                                                 f"{value_text(self.upstream)} = "
                                                 f"{value_text(edge.contribution)}")
        options.setdefault("highlight", self.node)
        return draw(self._run.root, grads=self.grads(), edge_text=labels,
                    names=self._run.names, **options)

    def _repr_html_(self) -> str:
        head = (f'<div class="chainrule-step"><p{NO_MATH}><b>{html.escape(self.header)}</b></p>'
                f"<div>$${html.escape(self.latex)}$$</div>")
        try:                            # top to bottom: narrow, readable in a notebook
            svg = inline_svg(self.draw(rankdir="TB").svg())
        except Exception as error:      # no renderer: the text alone, and why
            return (head + f"<pre{NO_MATH}>{html.escape(str(self))}</pre>"
                    f"<p{NO_MATH}>(graph: {html.escape(str(error))})</p></div>")
        return head + f"<div{NO_MATH}>{svg}</div></div>"


# Jupyter typesets the math in HTML outputs ($...$, \(...\)) with MathJax: text that shows
# labels as written is kept out of it (MathJax 3's class, and MathJax 2's).
NO_MATH = ' class="mathjax_ignore tex2jax_ignore"'


def _latex_factor(x: float) -> str:
    text = latex_number(value_text(x))
    return f"({text})" if x < 0 else text


def inline_svg(svg: str) -> str:
    """An SVG document as an element to put inside HTML (no XML prolog, doctype, comments)."""
    svg = re.sub(r"<\?xml[^>]*\?>", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>", "", svg, flags=re.S)
    return re.sub(r"<!--.*?-->", "", svg, flags=re.S).strip()


# ---------------------------------------------------------------------------------------------
# The ledger: one row per node, in backward order, for handouts.


@dataclass(frozen=True)
class Row:
    name: str
    op: str
    data: float
    locals: tuple[tuple[str, float], ...]    # (parent name, d node / d parent)
    contributions: tuple[float, ...]         # what each use of the node passed back to it
    grad: float                              # d root / d node: their sum (1.0 at the root)


class Ledger:
    """The whole backward pass as a table: name, op, data, local derivatives, the
    contributions a node received, and their sum d root / d node (this pass, from zero)."""

    columns = ("node", "op", "data", "local derivatives", "contributions", "grad")

    def __init__(self, rows: list[Row], root_name: str) -> None:
        self.rows = rows
        self.root_name = root_name

    def _sum(self, row: Row, latex: bool = False) -> str:
        if not row.contributions:
            return r"1\ \text{(seed)}" if latex else "1.0 (seed)"
        if latex:
            return " + ".join(_latex_factor(c) if i else latex_number(value_text(c))
                              for i, c in enumerate(row.contributions))
        return " + ".join(factor_text(c) if i else value_text(c)
                          for i, c in enumerate(row.contributions))

    def _cells(self, row: Row, latex: bool = False) -> list[str]:
        if latex:
            name = latex_name(row.name)
            locals_ = ", ".join(rf"$\partial {name}/\partial {latex_name(p)}"
                                rf" = {latex_number(value_text(v))}$" for p, v in row.locals)
            return [f"${name}$", _latex_op(row.op), f"${latex_number(value_text(row.data))}$",
                    locals_ or "--", f"${self._sum(row, latex=True)}$",
                    f"${latex_number(value_text(row.grad))}$"]
        locals_ = ", ".join(f"∂{row.name}/∂{p} = {value_text(v)}" for p, v in row.locals)
        return [row.name, row.op or "leaf", value_text(row.data), locals_ or "-",
                self._sum(row), value_text(row.grad)]

    def to_markdown(self) -> str:
        lines = ["| " + " | ".join(self.columns) + " |",
                 "|" + "|".join(["---"] * 2 + ["---:"] + ["---"] * 2 + ["---:"]) + "|"]
        lines += ["| " + " | ".join(_markdown(c) for c in self._cells(row)) + " |"
                  for row in self.rows]
        return "\n".join(lines) + "\n"

    def to_latex(self) -> str:
        header = " & ".join(rf"\textbf{{{c}}}" for c in self.columns) + r" \\ \hline"
        body = [" & ".join(self._cells(row, latex=True)) + r" \\" for row in self.rows]
        return "\n".join([r"\begin{tabular}{llrllr}", r"\hline", header, *body, r"\hline",
                          r"\end{tabular}"]) + "\n"

    def to_html(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in self._cells(row))
                       + "</tr>" for row in self.rows)
        return (f'<table class="chainrule-ledger mathjax_ignore tex2jax_ignore"><thead><tr>'
                f"{head}</tr></thead><tbody>{body}</tbody></table>")

    _repr_html_ = to_html

    def __str__(self) -> str:
        cells = [list(self.columns)] + [self._cells(row) for row in self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.columns))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return (f"<Ledger of {self.root_name}: {len(self.rows)} rows; str(), .to_markdown(), "
                ".to_latex(), .to_html()>")


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~&$!])")


def _markdown(cell: str) -> str:
    """A table cell shown as written: every character Markdown (or HTML inside it) would
    read as markup is backslash-escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", cell)


def _latex_op(op: str) -> str:
    known = {"": "leaf", "*": r"$\times$", "**": "$x^n$", "-": "$-$", "+": "$+$",
             "neg": "$-x$", "/": "$/$"}
    return known.get(op, rf"$\mathrm{{{latex_text(op)}}}$")


def ledger(root: Value) -> Ledger:
    """The backward pass from `root`, computed on the side, as a table: one row per node in
    backward order, leaves included. Changes no grad: the numbers are this pass's own."""
    run = backward_pass(root, "ledger")
    locals_: dict[Value, tuple[tuple[str, float], ...]] = {}
    received: dict[Value, list[float]] = {}
    for step in run.steps:
        locals_[step.node] = tuple((run.name(e.parent), e.local) for e in step.edges)
        for edge in step.edges:
            received.setdefault(edge.parent, []).append(edge.contribution)
    rows = [Row(run.name(node), visible(node.op, newline=False), node.data,
                locals_.get(node, ()), tuple(received.get(node, ())), run.grad(node))
            for node in reversed(run.order)]
    return Ledger(rows, run.name(root))
