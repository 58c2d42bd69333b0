"""A graph of Values as a picture: a graphviz.Digraph with value nodes (label, data, grad) and op
nodes between.

This module only describes the picture; render.py runs Graphviz (system `dot`, else WebAssembly)
within a time limit. Graph is a graphviz.Digraph, so what micrograd's draw_dot users know works
(.source, .attr(), .node(), .edge(), .format, .pipe(), .render(), Jupyter display), with the
pictures coming from render.py: no system Graphviz needed for SVG and PNG.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import graphviz

from ._files import write_atomically
from .engine import Value, local_derivatives, topological_order
from .text import node_names, value_text

__all__ = ["draw", "Graph", "GraphTooLargeError", "DEFAULT_MAX_NODES", "label_text",
           "record_field"]

DEFAULT_MAX_NODES = 300
FONT = "DejaVu Sans"           # Graphviz knows its widths; render.py ships the font for PNG
HIGHLIGHT = "#ffe08a"
OUR_FORMATS = ("svg", "png")   # drawn by render.py; other formats need system Graphviz
PICTURE_SUFFIXES = {".svg": "svg", ".png": "png"}
SOURCE_SUFFIXES = (".dot", ".gv")

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
FREE_LAYOUT = 1_000
NO_ROUNDS = 5_000
MAX_LAYOUT = 10_000
ROUNDS_BUDGET = 6.4e9          # rounds x size^2: ~0.3 s of dot placing nodes
ORDERING_BUDGET = 6_000


class GraphTooLargeError(ValueError):
    """The graph has more nodes than draw() was allowed to lay out."""


# Characters a label cannot show as themselves: control characters (newline aside: it breaks
# the line), lone surrogates (not encodable) and the two non-characters XML forbids.
_HIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _visible(text: str) -> str:
    """Invisible or unencodable characters written as escapes: \\x07, \\ud800."""
    return _HIDDEN.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100
                       else f"\\u{ord(m[0]):04x}", text)


def label_text(text: str) -> str:
    """A Graphviz label that shows `text` as written: graphviz.escape() keeps backslashes
    (\\N, \\l, a trailing one) and <...> literal, & is written &amp; (Graphviz would read
    &lt; as <), a newline breaks the line. quote() adds the quotes and escapes \"."""
    text = graphviz.escape(_visible(text)).replace("&", "&amp;")
    return graphviz.nohtml(text.replace("\n", "\\n"))


def record_field(text: str) -> str:
    """One field of a record label, shown as written: as label_text, with the record's own
    characters { } | < > escaped, and spaces a record would trim or merge (at the ends, in
    runs) made no-break spaces, which look the same."""
    text = graphviz.escape(_visible(text)).replace("&", "&amp;")
    for special in "{}|<>":
        text = text.replace(special, "\\" + special)
    text = re.sub(r"^ +| +$| {2,}", lambda m: "\u00a0" * len(m[0]), text)
    return text.replace("\n", "\\n")


def _quoted(text: str) -> str:
    """label_text(text) as DOT text, quoted, for DOT written by hand (slides.py)."""
    return graphviz.quoting.quote(label_text(text))


def _field(text: str) -> str:
    """record_field(text) for a record label written by hand inside "...": quotes escaped
    (escape() has doubled every backslash, so one more escapes the quote)."""
    return record_field(text).replace('"', '\\"')


def _record(fields: list[str]) -> str:
    return graphviz.nohtml("{" + " | ".join(record_field(f) for f in fields) + "}")


def _op_text(node: Value) -> str:
    exponent = getattr(node.local, "exponent", None)
    if node.op == "**" and exponent is not None and len(node.parents) == 1:
        return f"** {value_text(exponent)}"
    return node.op


def layout_plan(order: list[Value]) -> tuple[set[tuple[int, int]], int, int]:
    """(edges to draw from a copy of their parent, keyed (id(node), parent position); nodes
    drawn; nodes dot will lay out, hidden ones included). Ranks as dot makes them: an op one
    rank after its latest parent, its value one after the op, a leaf just before its first use;
    an edge from rank r to rank r + k crosses k - 1 ranks, each a hidden node."""
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
    size = drawn + sum(span - 1 for span, _, _ in edges)
    copied = set()
    if size > MAX_LAYOUT:                    # longest first: each copy saves span - 2 nodes
        for span, index, position in sorted(edges, key=lambda e: (-e[0], e[1], e[2])):
            if size <= MAX_LAYOUT or span <= 2:
                break
            copied.add((id(order[index]), position))
            size -= span - 2
    return copied, drawn + len(copied), size


def layout_size(order: list[Value]) -> tuple[int, int]:
    """(nodes drawn, nodes dot will lay out) for draw(order[-1])."""
    _, drawn, size = layout_plan(order)
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
    copied, drawn, size = layout_plan(order)

    graph_attr = {"rankdir": rankdir, "fontname": FONT, "bgcolor": "white",
                  "nodesep": "0.25", "ranksep": "0.35", **_layout_limits(drawn, size)}
    graph = Graph("backprop", graph_attr=graph_attr,
                  node_attr={"fontname": FONT, "fontsize": "11"},
                  edge_attr={"fontname": FONT, "fontsize": "9", "color": "#555555",
                             "arrowsize": "0.7"})

    def fields(node: Value) -> list[str]:
        shown = [names.get(id(node), node.label), f"data {value_text(node.data)}"]
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
            graph.edge(tail, f"{key}_op", label=None if label is None else label_text(label))
    return graph


class Graph(graphviz.Digraph):
    """A drawn graph: a graphviz.Digraph whose pictures come from chainrule's renderers
    (system Graphviz if on PATH, else WebAssembly Graphviz; a time limit; RenderError with
    the reason and a fix; a RenderWarning when one renderer stood in for another).

    .svg(), .png(), .save(path) as before; .pipe(), .render() and the Jupyter display as in
    graphviz, through the same renderers for SVG and PNG (other formats, such as PDF, go to
    system Graphviz as graphviz does). backend ("auto", "dot" or "wasm") and timeout (seconds,
    None for render.TIME_LIMIT) apply to every picture of this graph.
    """

    def __init__(self, *args, backend: str = "auto", timeout: float | None = None,
                 **kwargs) -> None:
        kwargs.setdefault("format", "svg")
        super().__init__(*args, **kwargs)
        self.backend, self.timeout = backend, timeout

    def _copy_kwargs(self, **kwargs):
        return super()._copy_kwargs(backend=self.backend, timeout=self.timeout, **kwargs)

    def __repr__(self) -> str:
        edges = sum(" -> " in line for line in self.body)
        return f"<Graph: {edges} edges; .svg(), .png(), .save(path)>"

    # -- pictures, through render.py ------------------------------------------------------------

    def _options(self, backend: str | None, timeout: float | None) -> dict:
        """The renderer's options for this graph: its backend, and its time limit and layout
        engine when they are not the defaults."""
        options = {"backend": backend or self.backend}
        if timeout is not None or self.timeout is not None:
            options["timeout"] = self.timeout if timeout is None else timeout
        if self.engine != "dot":
            options["engine"] = self.engine
        return options

    def svg(self, backend: str | None = None, timeout: float | None = None) -> str:
        """SVG text (system Graphviz if on PATH, else the bundled WebAssembly Graphviz).
        backend: "auto", "dot" or "wasm"; timeout: seconds (render.TIME_LIMIT by default)."""
        from .render import dot_to_svg
        return dot_to_svg(self.source, **self._options(backend, timeout))

    def png(self, backend: str | None = None, scale: float = 2.0,
            timeout: float | None = None) -> bytes:
        """PNG bytes, `scale` times the natural size (less for a huge graph, with a
        RenderWarning)."""
        from .render import dot_to_png
        return dot_to_png(self.source, scale=scale, **self._options(backend, timeout))

    def _picture(self, format: str, backend: str | None = None,
                 timeout: float | None = None) -> bytes:
        if format == "svg":
            return self.svg(backend=backend, timeout=timeout).encode("utf-8")
        return self.png(backend=backend, timeout=timeout)

    def save(self, filename: str | os.PathLike | None = None,
             directory: str | os.PathLike | None = None, backend: str | None = None,
             timeout: float | None = None, *, skip_existing: bool | None = False) -> Path:
        """Write the graph; the format comes from the suffix: .svg or .png for the picture,
        .dot or .gv (or no name: graphviz's default, name + '.gv') for the DOT text. The file
        is replaced in one step: a failed render leaves any old file as it was."""
        if filename is not None:
            suffix = Path(filename).suffix.lower()
            if suffix in PICTURE_SUFFIXES:
                path = Path(directory or "", filename)
                write_atomically(path, self._picture(PICTURE_SUFFIXES[suffix], backend,
                                                     timeout))
                return path
            if suffix not in SOURCE_SUFFIXES:
                raise ValueError(
                    f"save: cannot tell the format from {os.fspath(filename)!r}; end the name "
                    "in .svg, .png or .dot (other formats: render(format=...), which needs "
                    "system Graphviz)")
            self.filename = os.fspath(filename)
        if directory is not None:
            self.directory = os.fspath(directory)
        path = Path(self.filepath)
        if not (skip_existing and path.exists()):
            write_atomically(path, self.source.encode(self.encoding))
        return path

    def pipe(self, format: str | None = None, renderer: str | None = None,
             formatter: str | None = None, neato_no_op=None, quiet: bool = False, *,
             engine: str | None = None, encoding: str | None = None):
        """The picture as bytes (str with encoding=...), as graphviz's pipe(); SVG and PNG
        come from chainrule's renderers, other formats from system Graphviz."""
        format = format or self.format
        if format in OUR_FORMATS and renderer is formatter is neato_no_op is None:
            graph = self if engine in (None, self.engine) else self._with_engine(engine)
            data = graph._picture(format)
            return data if encoding is None else data.decode(encoding)
        return _system_graphviz(format, lambda: super(Graph, self).pipe(
            format, renderer=renderer, formatter=formatter, neato_no_op=neato_no_op,
            quiet=quiet, engine=engine, encoding=encoding))

    def render(self, filename: str | os.PathLike | None = None,
               directory: str | os.PathLike | None = None, view: bool = False,
               cleanup: bool = False, format: str | None = None, renderer: str | None = None,
               formatter: str | None = None, neato_no_op=None, quiet: bool = False,
               quiet_view: bool = False, *, outfile: str | os.PathLike | None = None,
               engine: str | None = None, raise_if_result_exists: bool = False,
               overwrite_source: bool = False) -> str:
        """Save the DOT text, write the picture beside it (filename + '.svg'), return the
        picture's path: graphviz's render(); SVG and PNG come from chainrule's renderers
        (written in one step), other formats from system Graphviz."""
        if outfile is not None:
            outfile = Path(outfile)
            if format is None:
                format = outfile.suffix[1:].lower()
                if not format:
                    raise ValueError(f"render: cannot tell the format of {os.fspath(outfile)!r}"
                                     "; give it a suffix (.svg, .png) or format=...")
            if directory is None:
                outfile = Path(self.directory, outfile)
        format = format or self.format
        if format not in OUR_FORMATS or not renderer is formatter is neato_no_op is None:
            return _system_graphviz(format, lambda: super(Graph, self).render(
                filename, directory=directory, view=view, cleanup=cleanup, format=format,
                renderer=renderer, formatter=formatter, neato_no_op=neato_no_op, quiet=quiet,
                quiet_view=quiet_view, outfile=outfile, engine=engine,
                raise_if_result_exists=raise_if_result_exists,
                overwrite_source=overwrite_source))
        if outfile is not None and filename is None:
            filename = outfile.with_suffix(".gv")
        source = super().save(filename, directory=directory)      # graphviz writes the DOT
        target = outfile if outfile is not None else Path(f"{source}.{format}")
        if raise_if_result_exists and target.exists():
            raise graphviz.FileExistsError(f"output file exists: {os.fspath(target)!r}")
        if Path(target).resolve() == Path(source).resolve() and not overwrite_source:
            raise ValueError(f"render: outfile {os.fspath(target)!r} is the DOT file itself "
                             "(overwrite_source=True allows it)")
        graph = self if engine in (None, self.engine) else self._with_engine(engine)
        write_atomically(target, graph._picture(format))
        if cleanup:
            os.remove(source)
        if view or quiet_view:
            self._view(os.fspath(target), format=format, quiet=quiet_view)
        return os.fspath(target)

    def _with_engine(self, engine: str) -> Graph:
        graph = self.copy()
        graph.engine = engine
        return graph

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        """Jupyter's display: the SVG (through .pipe(), so through chainrule's renderers), or,
        when no picture can be made, the reason as text."""
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except Exception as error:          # show why, instead of nothing
            return {"text/plain": f"{self!r}\n(could not render: {error})"}


def _system_graphviz(format: str, call):
    """Run one of graphviz's own calls (formats chainrule does not draw); a missing `dot`
    becomes RenderError with what to install."""
    from .render import RenderError
    try:
        return call()
    except graphviz.ExecutableNotFound as error:
        raise RenderError(
            f"render: the format {format!r} needs system Graphviz, and `dot` is not on PATH "
            "(apt-get install graphviz, brew install graphviz or winget install graphviz); "
            "svg and png work without it") from error
    except graphviz.CalledProcessError as error:
        message = (error.stderr or b"").decode("utf-8", "replace").strip() \
            if isinstance(error.stderr, bytes) else str(error.stderr or error)
        raise RenderError(f"render: system Graphviz could not make {format!r}: "
                          f"{message[:500]}") from error
