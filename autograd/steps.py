"""The chain rule one node at a time: backward_steps(), Step, and the ledger of a backward pass."""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass

from .engine import Value, chain_rule_step, start_backward, topological_order, undo_backward
from .formula import Symbol, latex_name, local_formulas

__all__ = ["Edge", "Step", "backward_steps", "Ledger", "ledger", "node_names", "value_text"]


def value_text(x: float) -> str:
    """A value as the steps print it: -3.0, 0.5, 0.707107 (6 significant digits)."""
    text = f"{x:.6g}"
    return text + ".0" if text.lstrip("-").isdigit() else text


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


@dataclass(frozen=True)
class Edge:
    """One parent's share of a step: contribution = local * upstream, added to parent.grad."""
    parent: Value
    local: float            # d node / d parent
    contribution: float     # local * upstream
    grad_before: float
    grad_after: float
    formula: Symbol | None  # the local derivative as a formula in the nodes' names


class _Run:
    """What every step of one backward_steps() run shares: the graph, names, and what each
    step changed, so a step can be drawn as the graph stood at that moment."""

    def __init__(self, root: Value, order: list[Value]) -> None:
        self.root = root
        self.order = order
        self.names = node_names(root, order)
        self.total = max(1, sum(1 for node in self.order if node.parents))
        self.changed: list[list[tuple[int, float]]] = []   # per step: (node id, grad after)

    def grads_at(self, index: int) -> dict[int, float]:
        """The grads reached by the end of step `index` (nodes not yet reached are absent)."""
        grads: dict[int, float] = {}
        for changes in self.changed[:index + 1]:
            grads.update(changes)
        return grads


class Step:
    """One application of the chain rule: at `node`, for each parent, grad += local * upstream."""

    def __init__(self, run: _Run, index: int, node: Value, upstream: float,
                 edges: tuple[Edge, ...]) -> None:
        self._run = run
        self.index = index          # 0 for the first step (the root, seeded with 1.0)
        self.node = node
        self.upstream = upstream    # d root / d node, when the step is applied
        self.edges = edges

    @property
    def total(self) -> int:
        """How many steps the whole pass has (one per node with parents; at least one)."""
        return self._run.total

    def name(self, node: Value) -> str:
        return self._run.names.get(id(node), node.label or "?")

    def __repr__(self) -> str:
        return (f"Step({self.index + 1}/{self.total}, node={self.name(self.node)!r}, "
                f"upstream={self.upstream!r}, edges={len(self.edges)})")

    def lines(self) -> list[str]:
        """The step in plain text, one line per edge (the first step starts with the seed)."""
        root, node = self.name(self._run.root), self.name(self.node)
        lines = []
        if self.index == 0:
            lines.append(f"d{root}/d{root} = 1.0 (the seed: the root's slope with respect to "
                         "itself)")
        for edge in self.edges:
            parent = self.name(edge.parent)
            chain = f"d{root}/d{parent} += d{node}/d{parent} * d{root}/d{node}"
            upstream, local = _factor(self.upstream), value_text(edge.local)
            parts = [chain]
            if edge.formula is not None and edge.formula.kind != "number":
                parts.append(f"{edge.formula._wrap(2, 'text')} * {upstream}")
            parts.append(f"{local} * {upstream}")
            parts.append(value_text(edge.contribution))
            lines.append(" = ".join(parts))
        if not self.edges and self.index == 0:
            lines.append(f"{root} is a leaf: nothing to pass back")
        return lines

    def __str__(self) -> str:
        return "\n".join(self.lines())

    @property
    def latex(self) -> str:
        """The same as LaTeX (an aligned block, one row per edge)."""
        root, node = latex_name(self.name(self._run.root)), latex_name(self.name(self.node))
        rows = []
        if self.index == 0:
            rows.append(rf"\frac{{\partial {root}}}{{\partial {root}}} &= 1")
        for edge in self.edges:
            parent = latex_name(self.name(edge.parent))
            upstream, local = _latex_number(self.upstream), _latex_number(edge.local)
            parts = [rf"\frac{{\partial {node}}}{{\partial {parent}}} \cdot "
                     rf"\frac{{\partial {root}}}{{\partial {node}}}"]
            if edge.formula is not None and edge.formula.kind != "number":
                parts.append(rf"{edge.formula._wrap(2, 'latex')} \cdot {upstream}")
            parts.append(rf"{local} \cdot {upstream}")
            parts.append(_latex_number(edge.contribution))
            rows.append(rf"\frac{{\partial {root}}}{{\partial {parent}}} &\mathrel{{+}}= "
                        + " = ".join(parts))
        return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"

    def grads(self) -> dict[int, float]:
        """Grads as they stood right after this step, by node id (unreached nodes absent)."""
        return self._run.grads_at(self.index)

    def draw(self, **options):
        """The graph as it stands at this step: the node highlighted, its parents' edges
        labelled local x upstream = contribution, grads not yet reached shown as '?'."""
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
        body = f"<div>$${self.latex}$$</div>"
        try:
            svg = self.draw().svg()
        except Exception as error:      # no renderer: the formula alone, and why
            return (body + f"<pre>{html.escape(str(self))}</pre>"
                    f"<p>(graph: {html.escape(str(error))})</p>")
        return body + f"<div>{svg}</div>"


def _factor(x: float) -> str:
    """A number written after '*': negative ones in parentheses, -3.0 * (-1.5)."""
    return f"({value_text(x)})" if x < 0 else value_text(x)


def _latex_number(x: float) -> str:
    text = value_text(x)
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


def backward_steps(root: Value) -> Iterator[Step]:
    """backward(), one node per next(): each step applies the chain rule at one node with
    parents (the first seeds the root with 1.0) and yields a Step. Consumed fully, it leaves
    every grad exactly as backward() does (interior grads from zero, leaves accumulate)."""
    order, saved = start_backward(root)
    run = _Run(root, order)
    if not root.parents:                        # a lone leaf: one step, nothing to pass back
        run.changed.append([(id(root), root.grad)])
        yield Step(run, 0, root, root.grad, ())
        return
    index = 0
    for node in reversed(order):
        if not node.parents:
            continue
        upstream = node.grad
        names = [run.names.get(id(p), "?") for p in node.parents]
        formulas = local_formulas(node.local, names, run.names.get(id(node), "?"))
        try:
            applied = chain_rule_step(node)        # each number checked; on error, no change
        except BaseException:
            undo_backward(order, saved)            # every grad as before the run
            raise
        edges = []
        changes = [(id(root), root.grad)] if index == 0 else []    # the seed, on step one
        for position, (parent, local, contribution, before, after) in enumerate(applied):
            edges.append(Edge(parent, local, contribution, before, after,
                              None if formulas is None else formulas[position]))
            changes.append((id(parent), after))
        run.changed.append(changes)
        yield Step(run, index, node, upstream, tuple(edges))
        index += 1


# ---------------------------------------------------------------------------------------------
# The ledger: one row per node, in backward order, for handouts.


@dataclass(frozen=True)
class Row:
    name: str
    op: str
    data: float
    locals: tuple[tuple[str, float], ...]    # (parent name, d node / d parent)
    upstream: float                           # d root / d node when its step ran
    grad: float                               # final grad


class Ledger:
    """The whole backward pass as a table: name, op, data, local derivatives, upstream, grad."""

    columns = ("node", "op", "data", "local derivatives", "upstream", "grad")

    def __init__(self, rows: list[Row], root_name: str) -> None:
        self.rows = rows
        self.root_name = root_name

    def _cells(self, row: Row, latex: bool = False) -> list[str]:
        if latex:
            locals_ = ", ".join(rf"$\partial {latex_name(row.name)}/\partial {latex_name(p)}"
                                rf" = {_latex_number(v)}$" for p, v in row.locals)
            return [f"${latex_name(row.name)}$", _latex_op(row.op), value_text(row.data),
                    locals_ or "--", value_text(row.upstream), value_text(row.grad)]
        locals_ = ", ".join(f"d{row.name}/d{p} = {value_text(v)}" for p, v in row.locals)
        return [row.name, row.op or "leaf", value_text(row.data), locals_ or "-",
                value_text(row.upstream), value_text(row.grad)]

    def to_markdown(self) -> str:
        def escape(cell: str) -> str:
            return cell.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*")
        lines = ["| " + " | ".join(self.columns) + " |",
                 "|" + "|".join(["---"] * 2 + ["---:"] + ["---"] + ["---:"] * 2) + "|"]
        lines += ["| " + " | ".join(escape(c) for c in self._cells(row)) + " |"
                  for row in self.rows]
        return "\n".join(lines) + "\n"

    def to_latex(self) -> str:
        header = " & ".join(rf"\textbf{{{c}}}" for c in self.columns) + r" \\ \hline"
        body = [" & ".join(self._cells(row, latex=True)) + r" \\" for row in self.rows]
        return "\n".join([r"\begin{tabular}{llrlrr}", r"\hline", header, *body, r"\hline",
                          r"\end{tabular}"]) + "\n"

    def to_html(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in self._cells(row))
                       + "</tr>" for row in self.rows)
        return (f'<table class="chainrule-ledger"><thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>")

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


def _latex_op(op: str) -> str:
    return {"": "leaf", "*": r"$\times$", "**": "$x^n$", "-": "$-$", "neg": "$-x$"}.get(op, op)


def ledger(root: Value) -> Ledger:
    """Run the backward pass from `root` (as backward() would) and return its ledger:
    one row per node in backward order, leaves included."""
    order = topological_order(root)
    names = node_names(root)
    before = {id(node): node.grad for node in order if not node.parents}
    upstream: dict[int, float] = {}
    locals_: dict[int, tuple[tuple[str, float], ...]] = {}
    for step in backward_steps(root):
        upstream[id(step.node)] = step.upstream
        locals_[id(step.node)] = tuple((names[id(e.parent)], e.local) for e in step.edges)
    for node in order:          # a leaf's upstream: what this pass added to its grad
        if id(node) not in upstream:
            upstream[id(node)] = node.grad - before[id(node)]
    rows = [Row(names[id(node)], node.op, node.data, locals_.get(id(node), ()),
                upstream[id(node)], node.grad) for node in reversed(order)]
    return Ledger(rows, names[id(root)])
