"""Slides for class: the forward pass, a slide per step of the backward pass and a summary, on
one layout of the graph that scales to fill the screen; as one self-contained HTML file, or as
a list of Slides (title, text, SVG) for other formats."""

from __future__ import annotations

import copy
import html
import json
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from ._files import check_folder, write_atomically
from .draw import (
    DEFAULT_MAX_NODES,
    FONT,
    HIGHLIGHT,
    LABELLED_LAYOUT,
    GraphTooLargeError,
    check_max_nodes,
    label_text,
    record_field,
)
from .engine import Value, topological_order
from .steps import Pass, Step, backward_pass, inline_svg
from .text import made_text, value_text, visible

__all__ = ["slides", "slides_html", "deck", "parts", "Slide", "Frame", "Picture", "Parts"]

SVG = "http://www.w3.org/2000/svg"
ET.register_namespace("", SVG)
ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")

DIGITS = 4                       # significant digits on the picture (the text has 6)
NOW = "#c0392b"                  # what the current step does: its edges, labels and totals
PAST = "#8a8a8a"                 # contributions already passed back
UNKNOWN = "#9a9a9a"              # a grad not reached yet ('grad ?')
# The boxes a slide gives its graph at 1024x768 and 1920x1080 (CSS pixels), and the body text
# there: "auto" lays the graph out both ways and keeps the one whose text is larger.
SCREENS = ((990.0, 545.0, 16.9), (1880.0, 850.0, 23.8))


@dataclass(frozen=True)
class Frame:
    """What one slide changes on the picture: totals that changed (node key -> text), the
    node of the step, the edges it passes contributions along, and which totals it changed.
    A slide shows every frame up to its own applied in turn (reset shows the forward pass)."""
    grads: dict[str, str] = field(default_factory=dict)
    current: str | None = None
    edges: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Slide:
    """One slide: its kind ("forward", "step" or "summary"), a title, the explanation as plain
    text, and the graph as this slide shows it (SVG with a viewBox and no fixed size: it
    scales to any box). `step` is the Step of a step slide."""
    kind: str
    title: str
    text: str
    svg: str
    step: Step | None = None


class Picture:
    """One layout of the graph for a whole deck: laid out once with every text at its widest
    (each node's widest total, every contribution on its own edge), then shown slide by slide
    by changing only texts and colours, so that no node moves.

    rankdir "LR" (boxes of three lines: how it was made, data, grad), "TB" (a record per node:
    one line, or two where that gives larger text) or "auto": each laid out, and the one whose
    text comes out largest on the `screens` kept (boxes the graph gets, width and height in CSS
    px, with the body text there: a slide at 1024x768 and at 1920x1080 by default)."""

    def __init__(self, run: Pass, backend: str = "auto", rankdir: str = "auto",
                 max_nodes: int = DEFAULT_MAX_NODES,
                 screens: tuple[tuple[float, float, float], ...] | None = None) -> None:
        if rankdir not in ("auto", "LR", "TB"):
            raise ValueError(f"slides: rankdir must be 'auto', 'LR' or 'TB', got {rankdir!r}")
        _refuse_large(len(run.order), max_nodes)
        self.run = run
        self.keys = {node: f"n{i}" for i, node in enumerate(run.order)}
        self.edges = {(node, position): f"{self.keys[node]}-{position}"
                      for node in run.order for position in range(len(node.parents))}
        self.contribution: dict[tuple[Value, int], float] = {}
        widest = {node: self.grad_text(None) for node in run.order}
        widest[run.root] = self.grad_text(1.0)
        for step in run.steps:
            for position, edge in enumerate(step.edges):
                self.contribution[(step.node, position)] = edge.contribution
                widest[edge.parent] = max(widest[edge.parent], self.grad_text(edge.grad_after),
                                          key=_width)
        from .render import dot_to_svg
        size = _layout_size(run.order)
        if size > MAX_LAYOUT:
            raise GraphTooLargeError(
                f"slides: laying this graph out means placing {size:,} nodes (values used far "
                "from where they were made, as x in x + x + ... + x, each need a hidden node "
                "per rank they cross): minutes of layout, and slides nobody could read. Make "
                "slides of a part of it: slides(some_node, path)")
        # (direction, node form): LR boxes of three lines; TB records of one line, or of two
        # (how it was made; data | grad), narrower and taller. All only while layout is quick.
        forms = {"LR": [("LR", "box")], "TB": [("TB", "line"), ("TB", "stack")]}
        if rankdir == "auto":
            chosen = forms["LR"] + forms["TB"] if size <= FREE_LAYOUT else forms["LR"]
        else:
            chosen = forms[rankdir] if size <= FREE_LAYOUT else forms[rankdir][:1]
        beside = size > LABELLED_LAYOUT    # contributions as xlabels: a layout without labels
        limits = _layout_limits(len(run.order),
                                _layout_size(run.order, labelled=False) if beside else size)
        best = None
        for direction, form in chosen:
            source = self._source(direction, widest, limits, form, beside)
            tree = _tree(dot_to_svg(source, backend=backend))
            score = _score(tree, screens or SCREENS)
            if best is None or score > best[0]:
                best = (score, direction, form, source, tree)
        _, self.rankdir, self.form, self.source, self._tree = best

    @property
    def size(self) -> tuple[float, float]:
        """The picture's width and height (its viewBox), in points."""
        width, height = (float(v) for v in self._tree.get("viewBox").split()[2:])
        return width, height

    @staticmethod
    def grad_text(grad: float | None) -> str:
        return "grad ?" if grad is None else f"grad {value_text(grad, DIGITS)}"

    def _source(self, rankdir: str, widest: dict[Value, str], limits: str = "",
                form: str = "box", beside: bool = False) -> str:
        names = self.run.names
        lines = [
            "digraph slides {",
            f'  graph [rankdir={rankdir}, fontname="{FONT}", bgcolor="white", nodesep=0.1, '
            f"ranksep=0.18, pad=0.05{limits}];",
            f'  node [fontname="{FONT}", fontsize=16, style="rounded,filled", '
            'fillcolor="white", penwidth=1.2, margin="0.07,0.03", height=0];',
            f'  edge [fontname="{FONT}", fontsize=15, color="#555555", arrowsize=0.6];',
        ]
        for node, key in self.keys.items():
            name, data = names[id(node)], value_text(node.data, DIGITS)
            head = f"{name} = {made_text(node, names)}" if node.parents else name
            if form == "box":          # three lines: how it was made, data, grad
                text = _quoted("\n".join([head, f"data {data}", widest[node]]))
                lines.append(f'  {key} [id="{key}", shape=box, label={text}];')
            elif form == "line":       # one line: x = 2.0 | grad -1.5
                text = f"{_field(f'{head} = {data}')} | {_field(widest[node])}"
                lines.append(f'  {key} [id="{key}", shape=Mrecord, label="{text}"];')
            else:                      # two lines: v1 = x * w, then = -6.0 | grad 0.5
                text = f"{{{_field(head)} | {{{_field(f'= {data}')} | {_field(widest[node])}}}}}"
                lines.append(f'  {key} [id="{key}", shape=Mrecord, margin="0.07,0.01", '
                             f'label="{text}"];')
        for (node, position), key in self.edges.items():
            label = value_text(self.contribution[(node, position)], DIGITS)
            parent = self.keys[node.parents[position]]
            lines.append(f'  {parent} -> {self.keys[node]} [id="{key}", '
                         f"{'xlabel' if beside else 'label'}={_quoted(label)}];")
        lines.append("}")
        return "\n".join(lines) + "\n"

    # -- slides ---------------------------------------------------------------------------

    def frames(self) -> list[Frame]:
        """One frame per slide: the forward pass, each step, the summary."""
        run, frames = self.run, [Frame()]
        for step in run.steps:
            grads = {self.keys[edge.parent]: self.grad_text(edge.grad_after)
                     for edge in step.edges}
            if step.index == 0:
                grads = {self.keys[run.root]: self.grad_text(1.0), **grads}
            changed = tuple(dict.fromkeys(
                ([self.keys[run.root]] if step.index == 0 else [])
                + [self.keys[edge.parent] for edge in step.edges]))
            frames.append(Frame(grads, self.keys[step.node],
                                tuple(self.edges[(step.node, p)] for p in range(len(step.edges))),
                                changed))
        leaves = tuple(key for node, key in self.keys.items() if not node.parents)
        frames.append(Frame(changed=leaves))
        return frames

    def svg(self, frames: list[Frame], upto: int, prefix: str = "") -> str:
        """The picture as slide `upto` shows it (frames 0..upto applied in turn); `prefix`
        goes before every id in it (several pictures in one page must not share ids)."""
        tree = copy.deepcopy(self._tree)
        groups = {g.get("id"): g for g in tree.iter(f"{{{SVG}}}g") if g.get("id")}
        grads: dict[str, str] = {}
        shown: set[str] = set()
        for frame in frames[:upto + 1]:
            grads.update(frame.grads)
            shown.update(frame.edges)
        frame = frames[upto]
        for key in self.keys.values():
            group = groups[key]
            grad = group.findall(f"{{{SVG}}}text")[-1]
            grad.text = grads.get(key, self.grad_text(None))
            if key not in grads:
                grad.set("fill", UNKNOWN)
            elif key in frame.changed:        # colour only: bold would outgrow the box
                grad.set("fill", NOW)
            if key == frame.current:
                _shape(group).set("fill", HIGHLIGHT)
        for key in self.edges.values():
            group = groups[key]
            label = group.find(f"{{{SVG}}}text")
            if key in frame.edges:
                for part in group:
                    if part.tag == f"{{{SVG}}}path":
                        part.set("stroke", NOW)
                        part.set("stroke-width", "2.5")
                    elif part.tag == f"{{{SVG}}}polygon":
                        part.set("stroke", NOW)
                        part.set("fill", NOW)
                label.set("fill", NOW)
                label.set("font-weight", "bold")
            elif key in shown:
                label.set("fill", PAST)
            else:
                label.set("visibility", "hidden")
        if prefix:
            for element in tree.iter():
                if element.get("id"):
                    element.set("id", prefix + element.get("id"))
        return ET.tostring(tree, encoding="unicode")

# dot lays out an edge that crosses k ranks as k - 1 hidden nodes (a contribution's label is
# one of them) and places them all by network simplex, rounds until optimal: a value used far
# down the graph (x + x + ... + x) makes thousands, and minutes of layout. Past FREE_LAYOUT,
# the layout gets a budget of rounds, as draw() gives its own (see draw.py); past MAX_LAYOUT
# (a 90-term x + x + ... + x is 8,100) slides are refused: their layout takes minutes. Routing
# edges around their labels grows steeply too (two values reused along a 95-value sum: 15 s in
# system dot, over 30 s in WebAssembly): past LABELLED_LAYOUT the contributions are xlabels,
# placed beside their edges after a layout made without them (as draw() does).
FREE_LAYOUT = 1_000
MAX_LAYOUT = 10_000
ROUNDS_BUDGET = 6.4e9          # rounds x size^2
ORDERING_BUDGET = 6_000


def _layout_size(order: list[Value], labelled: bool = True) -> int:
    """How many nodes dot will lay out for the picture, hidden ones included: a value two
    ranks after its latest parent (its label between), a leaf two before its first use (one,
    without edge labels)."""
    gap = 2 if labelled else 1
    rank: dict[Value, int] = {}
    first_use: dict[Value, int] = {}
    for node in order:
        if node.parents:
            rank[node] = max(rank[parent] for parent in node.parents) + gap
            for parent in node.parents:
                if not parent.parents:
                    first_use[parent] = min(first_use.get(parent, rank[node]), rank[node])
        else:
            rank[node] = 0
    rank.update((leaf, use - gap) for leaf, use in first_use.items())
    return len(order) + sum(rank[node] - rank[parent] - 1
                            for node in order for parent in node.parents)


def _layout_limits(drawn: int, size: int) -> str:
    """Graph attributes that keep dot's layout time bounded (none for ordinary graphs)."""
    if size <= FREE_LAYOUT:
        return ""
    return (f", nslimit={ROUNDS_BUDGET / size ** 2 / drawn:.3g}, "
            f"mclimit={min(1.0, ORDERING_BUDGET / size):.2g}")


def _tree(svg: str) -> ET.Element:
    """Graphviz's SVG as a tree whose size comes from its viewBox alone (it fills its box)."""
    tree = ET.fromstring(inline_svg(svg).encode("utf-8"))
    for attribute in ("width", "height"):
        tree.attrib.pop(attribute, None)
    tree.set("preserveAspectRatio", "xMidYMid meet")
    return tree


def _quoted(text: str) -> str:
    """A DOT string, quoted, whose label shows `text` as written (draw.label_text)."""
    from graphviz.quoting import quote
    return quote(label_text(text))


def _field(text: str) -> str:
    """One field of a record label written inside "...": draw.record_field, quotes escaped."""
    return record_field(text).replace('"', '\\"')


def _score(tree: ET.Element, screens: tuple[tuple[float, float, float], ...]) -> float:
    """How large node text comes out against body text on the worst of the screens."""
    width, height = (float(v) for v in tree.get("viewBox").split()[2:])
    return min(min(box_w / width, box_h / height) * 16 / body for box_w, box_h, body in screens)


def _shape(group: ET.Element) -> ET.Element:
    return next(e for e in group if e.tag in (f"{{{SVG}}}path", f"{{{SVG}}}polygon"))


def _width(text: str) -> float:
    """Roughly how wide a text is set (digits and letters one unit, . and - less)."""
    return sum(0.45 if c in ".-,:; " else 1.0 for c in text)


# ---------------------------------------------------------------------------------------------
# The slides' texts, and the deck as Slides or as one HTML file


def _texts(run: Pass, title: str) -> list[tuple[str, str, str, Step | None]]:
    """(kind, title, explanation, step) for each slide: forward pass, steps, summary."""
    names, root = run.names, run.name(run.root)
    leaves = [node for node in run.order if not node.parents]
    made = [f"{names[id(node)]} = {made_text(node, names)} = "
            f"{made_text(node, names, values=True)} = {value_text(node.data)}"
            for node in run.order if node.parents]
    texts = [("forward", f"{title}: the forward pass",
              f"Each node's data comes from its parents', from the leaves to {root}: "
              + ";  ".join(made), None)]
    for step in run.steps:
        if step.index == 0:
            heading = f"{step.header}: the seed d{root}/d{root} = 1"
        else:
            heading = (f"{step.header}: upstream d{root}/d{step.name(step.node)} = "
                       f"{value_text(step.upstream)}")
        texts.append(("step", heading, "\n".join(line[2:] for line in step.lines()[1:]), step))

    def grads(nodes: list[Value]) -> str:
        return ",  ".join(f"d{root}/d{names[id(node)]} = {value_text(run.grad(node))}"
                          for node in nodes)
    summary = (f"The leaves: {grads(leaves)}\nInside: "
               f"{grads([node for node in reversed(run.order) if node.parents])}")
    texts.append(("summary", f"Done: every grad of {root} in this pass", summary, None))
    return texts


def deck(root: Value, title: str | None = None, backend: str = "auto",
         max_nodes: int = DEFAULT_MAX_NODES, rankdir: str = "auto",
         screens: tuple[tuple[float, float, float], ...] | None = None) -> list[Slide]:
    """The slides of the backward pass from `root`: the forward pass, one slide per step and a
    summary of every grad, each with its own SVG of the one layout (for pictures, handouts or
    a stepper; `screens`: see Picture). The numbers are this pass's, computed on the side: no
    grad is changed."""
    made = parts(root, title, backend, max_nodes, rankdir, screens)
    return [Slide(kind, heading, text, made.picture.svg(made.frames, index), step)
            for index, (kind, heading, text, step) in enumerate(made.texts)]


_STYLE = """
html { font-size: clamp(13px, 2.2vh, 40px); }
body { margin: 0; height: 100vh; display: grid; grid-template-columns: minmax(0, 1fr) auto;
       grid-template-rows: auto minmax(0, 1fr) auto; background: #fafafa; color: #222;
       font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; }
.bar { grid-row: 1; grid-column: 1 / 3; background: #2d3e50; }
.slide { display: contents; }
.slide[hidden] { display: none; }
h2 { grid-row: 1; grid-column: 1; z-index: 1; margin: 0; padding: 0.3rem 0.5rem;
     font-size: 1rem; color: white; }
nav { grid-row: 1; grid-column: 2; z-index: 1; display: flex; align-items: center;
      gap: 0.8em; padding: 0.2rem 0.5rem; color: white; font-size: 0.8rem; }
nav button { font-size: 1em; padding: 0.2em 0.8em; cursor: pointer; }
.counter { font-variant-numeric: tabular-nums; min-width: 4.5em; text-align: center; }
.graph { grid-row: 2; grid-column: 1 / 3; min-height: 0; margin: 0.3rem 0.5rem 0;
         background: white; border: 1px solid #ddd; }
.graph svg { display: block; width: 100%; height: 100%; }
pre { grid-row: 3; grid-column: 1 / 3; box-sizing: content-box; height: calc(var(--lines) * 1.3em);
      overflow: auto; margin: 0.3rem 0.5rem 0.4rem; padding: 0.3rem 0.8rem;
      font: 1rem/1.3 "DejaVu Sans Mono", Consolas, Menlo, monospace;
      background: #fff8e1; border-left: 4px solid #ffc107; white-space: pre-wrap; }
/* without scripts: the graph at the end of the pass, then every slide's text in turn */
.no-script body { display: block; height: auto; }
.no-script .slide { display: block; }
.no-script h2 { color: #222; padding: 0.8rem 1rem 0; }
.no-script .graph { height: 70vh; }
.no-script pre { height: auto; }
.no-script nav, .no-script .bar { display: none; }
"""

# The player: shows slide k as a fresh copy of the one picture with frames 0..k applied in
# turn (the same rules as Picture.svg; tests/test_slides.py checks that both show the same).
# It finds its parts by data-part inside `deck`, so that several decks share a page, and
# listens for keys on `keys` (the document for a slideshow, the deck itself for a stepper).
# SVG ids may carry a prefix (data.prefix) that the frames' keys leave out.
PLAYER = """function (deck, keys) {
  if (deck.getAttribute("data-playing")) { return; }   // a front end that runs scripts twice
  deck.setAttribute("data-playing", "1");
  function part(name) { return deck.querySelector("[data-part=" + name + "]"); }
  var data = JSON.parse(part("frames").textContent);
  var frames = data.frames, colour = data.colours, prefix = data.prefix || "";
  var slides = deck.querySelectorAll("[data-part=slide]");
  var graph = part("graph"), counter = part("counter");
  var previous = part("previous"), next = part("next");
  var pristine = graph.querySelector("svg");        // shown as at the end (for no scripts):
  pristine.querySelectorAll("text").forEach(function (text) {       // back to the bare layout
    ["fill", "visibility", "font-weight"].forEach(function (a) { text.removeAttribute(a); });
  });
  pristine = pristine.cloneNode(true);
  var current = 0;
  function key(group) { return group.id.slice(prefix.length); }
  function apply(k) {
    var svg = pristine.cloneNode(true);
    graph.replaceChild(svg, graph.querySelector("svg"));
    var grads = {}, shown = {}, frame = frames[k];
    for (var j = 0; j <= k; j++) {
      Object.assign(grads, frames[j].grads);
      frames[j].edges.forEach(function (edge) { shown[edge] = true; });
    }
    svg.querySelectorAll("g.node").forEach(function (group) {
      var texts = group.querySelectorAll("text"), grad = texts[texts.length - 1];
      var name = key(group);
      grad.textContent = grads[name] || "grad ?";
      if (!(name in grads)) { grad.setAttribute("fill", colour.unknown); }
      else if (frame.changed.indexOf(name) >= 0) { grad.setAttribute("fill", colour.now); }
      if (name === frame.current) {
        group.querySelector("path, polygon").setAttribute("fill", colour.highlight); }
    });
    svg.querySelectorAll("g.edge").forEach(function (group) {
      var label = group.querySelector("text"), name = key(group);
      if (frame.edges.indexOf(name) >= 0) {
        group.querySelectorAll("path, polygon").forEach(function (piece) {
          piece.setAttribute("stroke", colour.now);
          if (piece.tagName === "path") { piece.setAttribute("stroke-width", "2.5"); }
          else { piece.setAttribute("fill", colour.now); }
        });
        label.setAttribute("fill", colour.now); label.setAttribute("font-weight", "bold");
      } else if (shown[name]) { label.setAttribute("fill", colour.past); }
      else { label.setAttribute("visibility", "hidden"); }
    });
  }
  function show(k) {
    current = Math.max(0, Math.min(slides.length - 1, k));
    for (var j = 0; j < slides.length; j++) { slides[j].hidden = (j !== current); }
    apply(current);
    counter.textContent = (current + 1) + " / " + slides.length;
    previous.disabled = current === 0;
    next.disabled = current === slides.length - 1;
  }
  previous.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });
  keys.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var onButton = event.target.tagName === "BUTTON";   // its own click already moves
    var moves = {ArrowRight: current + 1, PageDown: current + 1, ArrowLeft: current - 1,
                 PageUp: current - 1, Home: 0, End: slides.length - 1};
    var to = moves.hasOwnProperty(event.key) ? moves[event.key] : undefined;
    if (event.key === " " && !onButton) { to = current + 1; }
    if (to === undefined) { return; }
    show(to);
    event.preventDefault();
    if (keys !== document) { event.stopPropagation(); }   // a notebook's own shortcuts
  });
  show(0);
}"""

_START = """
document.documentElement.classList.remove("no-script");
(%s)(document.currentScript.closest("[data-deck]"), document);
"""


@dataclass(frozen=True)
class Parts:
    """What every form of a deck is made of: the one picture, a frame per slide, the slides'
    texts (kind, heading, explanation, step) and the deck's title."""
    picture: Picture
    frames: list[Frame]
    texts: list[tuple[str, str, str, Step | None]]
    title: str

    def final_svg(self, prefix: str = "") -> str:
        """The picture as the last slide shows it (what a page without scripts shows)."""
        return self.picture.svg(self.frames, len(self.frames) - 1, prefix=prefix)


def _refuse_large(count: int, max_nodes) -> None:
    """GraphTooLargeError where a graph of `count` nodes has more than max_nodes."""
    if count > check_max_nodes(max_nodes, "slides"):
        raise GraphTooLargeError(
            f"slides: this graph has {count:,} nodes, more than max_nodes={max_nodes:,}; "
            "slides that large are unreadable. Make slides of a part of it, or raise the "
            f"limit: max_nodes={count}")


def parts(root: Value, title: str | None = None, backend: str = "auto",
          max_nodes: int = DEFAULT_MAX_NODES, rankdir: str = "auto",
          screens: tuple[tuple[float, float, float], ...] | None = None) -> Parts:
    """Lay the graph out once (for `screens`, see Picture) and write every slide's text (no
    grad is changed)."""
    if title is not None and not isinstance(title, str):
        raise TypeError(f"slides: title must be text (a str) or None, got "
                        f"{type(title).__name__}: {title!r:.60}")
    if not isinstance(root, Value):
        raise TypeError(f"slides: takes the Value to step back from, got {type(root).__name__}")
    _refuse_large(len(topological_order(root)), max_nodes)    # before the whole pass is run
    run = backward_pass(root, "slides")
    picture = Picture(run, backend=backend, rankdir=rankdir, max_nodes=max_nodes,
                      screens=screens)
    title = visible(title) if title else f"Backpropagation through {run.name(root)}"
    return Parts(picture, picture.frames(), _texts(run, title), title)


def frames_json(frames: list[Frame], prefix: str = "") -> str:
    """The frames as JSON for the player, safe inside a <script> element."""
    data = {"colours": {"now": NOW, "past": PAST, "unknown": UNKNOWN, "highlight": HIGHLIGHT},
            "prefix": prefix,
            "frames": [{"grads": f.grads, "current": f.current, "edges": list(f.edges),
                        "changed": list(f.changed)} for f in frames]}
    text = json.dumps(data, separators=(",", ":"))
    for character, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(character, escape)     # ASCII already (json.dumps escapes the rest)
    return text


def text_lines(texts: list[tuple[str, str, str, Step | None]]) -> int:
    """How many lines of explanation a slide keeps room for: its longest step, 3 to 6."""
    return min(6, max(3, *(text.count("\n") + 1 for kind, _, text, _ in texts
                           if kind == "step")))


def slides_html(root: Value, title: str | None = None, backend: str = "auto",
                max_nodes: int = DEFAULT_MAX_NODES, rankdir: str = "auto") -> str:
    """The slideshow as one HTML string: one picture of the graph, the slides' texts, and
    what each slide changes on the picture (so the file grows with the graph, not its square)."""
    deck = parts(root, title, backend, max_nodes, rankdir)
    sections = "".join(
        f'<section class="slide {kind}" data-kind="{kind}" data-part="slide">'
        f"<h2>{html.escape(heading)}</h2><pre>{html.escape(text)}</pre></section>"
        for kind, heading, text, _ in deck.texts)
    return (
        '<!DOCTYPE html>\n<html lang="en" class="no-script"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(deck.title)}</title><style>{_STYLE}</style></head>"
        f'<body class="chainrule-deck" data-deck style="--lines: {text_lines(deck.texts)}">'
        '<div class="bar"></div><nav><button class="previous" data-part="previous" '
        'type="button" title="previous (left arrow)">&larr; previous</button>'
        '<span class="counter" data-part="counter"></span><button class="next" '
        'data-part="next" type="button" title="next (right arrow)">next &rarr;</button></nav>'
        f'<div class="graph" data-part="graph">{deck.final_svg()}</div>'
        f"{sections}"
        f'<script type="application/json" data-part="frames">{frames_json(deck.frames)}</script>'
        f"<script>{_START % PLAYER}</script></body></html>\n")


HTML = (".html", ".htm")
PICTURES = {".pdf": "a PDF, a page per slide", ".gif": "an animated GIF"}


def slides(root: Value, path: str | os.PathLike | None = None, title: str | None = None,
           backend: str = "auto", max_nodes: int = DEFAULT_MAX_NODES,
           rankdir: str = "auto", size: tuple[int, int] = (1920, 1080)):
    """The backward pass from `root` as slides: the forward pass, a slide per step (the graph
    in one layout with the step's node highlighted, the chain rule with its numbers), a
    summary of every grad. No grad is changed. What it makes depends on `path`:

      None            a Stepper, shown in a notebook (buttons, arrow keys)
      "x.html"        a self-contained slideshow: buttons, arrow keys, a counter; the graph
                      scales to fill the screen; no network, no other files
      "x.pdf"         a handout to print: a page per slide (16:9, crisp at 288 dpi)
      "frames/"       (ending in a separator, or a folder that exists) step-01.png,
                      step-02.png, ... of `size` pixels; the folder is created if its parent
                      exists; all frames or none
      "x.gif"         an animated GIF of `size` pixels: a frame per slide, a pause on each

    Pictures (PDF, PNG, GIF) need Pillow: pip install 'chainrule[handouts]' (and have no
    rasteriser in the browser: the stepper and .html work there). Any other suffix is refused.
    Files are written in one step: a failure leaves nothing half-written. Returns the path
    written (or the Stepper)."""
    from . import handouts
    size = handouts.check_size(size)      # checked for every output, used by the pictures
    if path is None:
        from .stepper import stepper
        return stepper(root, title=title, backend=backend, max_nodes=max_nodes,
                       rankdir=rankdir)
    name = os.fsdecode(path)              # a str, bytes or Path name, as open() takes
    if not name:                          # Path("") is "." : never the current folder unasked
        raise ValueError("slides: the path is empty; give a file name (backprop.html, .pdf, "
                         ".gif), a folder ending in / for PNG frames, or no path for a "
                         "stepper in the notebook")
    folder = name.endswith(("/", os.sep)) or Path(name).is_dir()
    suffix = Path(name).suffix.lower()
    if not folder and suffix not in HTML and suffix not in PICTURES:
        raise ValueError(
            f"slides: cannot tell what to write from {Path(name).name!r}: end the name in "
            ".html (a slideshow), .pdf (a handout, a page per slide), .gif (an animation), or "
            "in / for a folder of PNG frames; or give no path for a stepper in the notebook")
    path = Path(name)
    if not folder and suffix in HTML:
        document = slides_html(root, title=title, backend=backend, max_nodes=max_nodes,
                               rankdir=rankdir)
        write_atomically(path, document.encode("utf-8"))
        return path
    handouts.check_pillow()
    if folder:
        check_folder(path)
    width, height = handouts.graph_box(size)
    shown = deck(root, title=title, backend=backend, max_nodes=max_nodes, rankdir=rankdir,
                 screens=((width, height, 16.0),))
    if folder:
        return handouts.write_frames(path, shown, size)
    if suffix == ".gif":
        return handouts.write_gif(path, shown, size)
    return handouts.write_pdf(path, shown, size, title=shown[0].title.rsplit(":", 1)[0])
