"""Slides for class: one self-contained HTML file, one slide per step of the backward pass."""

from __future__ import annotations

import html
import os
from pathlib import Path

from ._files import write_atomically
from .draw import DEFAULT_MAX_NODES
from .engine import Value
from .steps import backward_pass, inline_svg
from .text import value_text

__all__ = ["slides", "slides_html"]

_STYLE = """
body { margin: 0; font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif;
       background: #fafafa; color: #222; }
header { display: flex; align-items: center; gap: 1em; padding: 0.6em 1.2em;
         background: #2d3e50; color: white; }
header h1 { font-size: 1.1em; margin: 0; flex: 1; font-weight: normal; }
header button { font-size: 1em; padding: 0.3em 0.9em; cursor: pointer; }
#counter { font-variant-numeric: tabular-nums; min-width: 4.5em; text-align: center; }
.slide { padding: 1em 2em; }
.slide h2 { font-size: 1.2em; margin: 0.2em 0 0.6em; }
.graph { overflow-x: auto; background: white; border: 1px solid #ddd; padding: 0.5em; }
.graph svg { max-width: 100%; height: auto; }
pre.explanation { font-size: 1.25em; background: #fff8e1; border-left: 4px solid #ffc107;
                  padding: 0.8em 1em; white-space: pre-wrap; }
.grads { color: #555; }
@media print { .slide { display: block !important; page-break-after: always; }
               header button { display: none; } }
"""

_SCRIPT = """
(function () {
  var slides = document.querySelectorAll(".slide");
  var counter = document.getElementById("counter");
  var previous = document.getElementById("previous");
  var next = document.getElementById("next");
  var current = 0;
  function show(k) {
    current = Math.max(0, Math.min(slides.length - 1, k));
    for (var j = 0; j < slides.length; j++) { slides[j].hidden = (j !== current); }
    counter.textContent = (current + 1) + " / " + slides.length;
    previous.disabled = current === 0;
    next.disabled = current === slides.length - 1;
  }
  previous.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "ArrowRight" || event.key === "PageDown" || event.key === " ") {
      show(current + 1); event.preventDefault();
    } else if (event.key === "ArrowLeft" || event.key === "PageUp") {
      show(current - 1); event.preventDefault();
    } else if (event.key === "Home") { show(0); } else if (event.key === "End") {
      show(slides.length - 1); }
  });
  show(0);
})();
"""


def slides_html(root: Value, title: str | None = None, backend: str = "auto",
                max_nodes: int = DEFAULT_MAX_NODES) -> str:
    """The slideshow as one HTML string (runs the backward pass from `root`)."""
    run = backward_pass(root)               # on the side: the graph's grads stay as they are
    steps = run.steps
    title = title or f"Backpropagation through {steps[0].name(root)}"
    parts = []
    for step in steps:
        node = step.name(step.node)
        svg = inline_svg(step.draw(max_nodes=max_nodes).svg(backend=backend))
        if step.index == 0:
            heading = f"Step 1: seed d{node}/d{node} = 1, then pass it to {node}'s parents"
        else:
            heading = (f"Step {step.index + 1}: at {node} ({step.node.op}), "
                       f"upstream d{step.name(root)}/d{node} = {value_text(step.upstream)}")
        parts.append(
            f'<section class="slide" data-step="{step.index + 1}">'
            f"<h2>{html.escape(heading)}</h2>"
            f'<div class="graph">{svg}</div>'
            f'<pre class="explanation">{html.escape(str(step))}</pre>'
            "</section>")
    leaves = [n for n in run.order if not n.parents]
    grads = ", ".join(f"d{run.name(root)}/d{run.name(leaf)} = {value_text(run.grad(leaf))}"
                      for leaf in leaves)
    parts[-1] = parts[-1].replace(
        "</section>", f'<p class="grads">Done. {html.escape(grads)}</p></section>')
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1>"
        '<button id="previous" type="button" title="previous (left arrow)">&larr; previous'
        '</button><span id="counter"></span>'
        '<button id="next" type="button" title="next (right arrow)">next &rarr;</button>'
        "</header><main>" + "".join(parts) + f"</main><script>{_SCRIPT}</script></body></html>\n")


def slides(root: Value, path: str | os.PathLike, title: str | None = None,
           backend: str = "auto", max_nodes: int = DEFAULT_MAX_NODES) -> Path:
    """Write the backward pass from `root` as a self-contained HTML slideshow at `path`:
    one slide per step (the graph as it stands, the chain rule with its numbers), previous
    and next buttons, arrow keys, a slide counter. No network, no other files."""
    path = Path(path)
    document = slides_html(root, title=title, backend=backend, max_nodes=max_nodes)
    write_atomically(path, document.encode("utf-8"))
    return path
