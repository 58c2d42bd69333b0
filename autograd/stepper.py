"""The backward pass as a stepper in a notebook's output: one self-contained piece of HTML and
JavaScript (no widgets library, no kernel), the same slides as slides() makes."""

from __future__ import annotations

import html
import secrets

from .draw import DEFAULT_MAX_NODES
from .engine import Value
from .slides import PLAYER, Parts, frames_json, parts, text_lines

__all__ = ["stepper", "Stepper"]

# Every rule starts with the stepper's own id (#@ below): nothing leaks into the page.
# Without scripts (a code host's preview) it is a list: the graph at the end of the pass, then
# every slide's heading and text. The script turns it into the stepper (class cr-live).
_STYLE = """
#@ { box-sizing: border-box; max-width: 100%; margin: 0.3em 0; padding: 0.4em 0.6em;
     border: 1px solid #d0d7de; border-radius: 6px; background: #fafafa; color: #222;
     font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; font-size: 15px; }
#@:focus-within { outline: 2px solid #4a90d9; outline-offset: 1px; }
#@ .cr-title { margin: 0 0 0.3em; font-weight: bold; }
#@ .cr-graph { box-sizing: border-box; width: 100%; max-height: 75vh; background: white;
     border: 1px solid #ddd; }
#@ .cr-graph svg { display: block; width: 100%; height: 100%; }
#@ .cr-slide h4 { margin: 0.6em 0 0.2em; font-size: 1em; }
#@ .cr-slide pre { margin: 0; padding: 0.3em 0.7em; background: #fff8e1; color: #222;
     border-left: 4px solid #ffc107; white-space: pre-wrap; overflow-wrap: anywhere;
     font: 0.95em/1.3 "DejaVu Sans Mono", Consolas, Menlo, monospace; }
#@ .cr-nav button { font: inherit; padding: 0.1em 0.7em; cursor: pointer; }
#@ .cr-counter { display: inline-block; min-width: 4.5em; text-align: center;
     font-variant-numeric: tabular-nums; }
#@.cr-live { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: 0.3em 0.6em; }
#@.cr-live .cr-title { display: none; }
#@.cr-live .cr-slide { display: contents; }
#@.cr-live .cr-slide[hidden] { display: none; }
#@.cr-live .cr-slide h4 { grid-row: 1; grid-column: 1; margin: 0; align-self: center; }
#@.cr-live .cr-nav { grid-row: 1; grid-column: 2; white-space: nowrap; align-self: center; }
#@.cr-live .cr-graph { grid-row: 2; grid-column: 1 / 3; }
#@.cr-live .cr-slide pre { grid-row: 3; grid-column: 1 / 3; box-sizing: content-box;
     height: calc(var(--lines) * 1.3em); overflow: auto; }
"""

_START = """(function () {
  var deck = document.getElementById("%s");
  if (!deck) { return; }
  deck.classList.add("cr-live");
  deck.querySelector(".cr-nav").hidden = false;
  (%s)(deck, deck);
})();"""


class Stepper:
    """The backward pass as a stepper: shown in a notebook (Jupyter, VS Code, an HTML export)
    it has Previous/Next buttons and arrow keys (once clicked: keys go to the stepper that has
    focus), the graph with the step's node highlighted, and the step's formula; where a page
    strips scripts it is a list of every step. str() is the same as plain text."""

    def __init__(self, made: Parts) -> None:
        self._parts = made
        self.title = made.title

    def __len__(self) -> int:
        """How many slides: the forward pass, one per step, the summary."""
        return len(self._parts.texts)

    def __repr__(self) -> str:
        return (f"<Stepper: {self.title}, {len(self)} slides; shows in Jupyter, "
                ".html() for the HTML, str() for the text>")

    def __str__(self) -> str:
        return "\n\n".join(f"{heading}\n{text}" for _, heading, text, _ in self._parts.texts)

    def html(self) -> str:
        """The stepper as a piece of HTML, with ids of its own (unique in any page)."""
        made = self._parts
        # random, not counted: a cell re-run after a kernel restart must not take the id of an
        # output another cell still shows
        key = f"chainrule-stepper-{secrets.token_hex(8)}"
        prefix = key + "-"
        sections = "".join(
            f'<section class="cr-slide" data-part="slide" data-kind="{kind}">'
            f"<h4>{html.escape(heading)}</h4><pre>{html.escape(text)}</pre></section>"
            for kind, heading, text, _ in made.texts)
        return (
            f'<div class="chainrule-stepper mathjax_ignore tex2jax_ignore" id="{key}" '
            'tabindex="0" '
            f'data-lm-suppress-shortcuts="true" style="--lines: {text_lines(made.texts)}" '
            f'aria-label="{html.escape(self.title)}: click, then the arrow keys step">'
            f"<style>{_STYLE.replace('#@', '#' + key)}</style>"
            f'<p class="cr-title">{html.escape(self.title)}</p>'
            '<div class="cr-nav" hidden><button type="button" data-part="previous" '
            'title="previous (left arrow)">&larr; previous</button><span class="cr-counter" '
            'data-part="counter"></span><button type="button" data-part="next" '
            'title="next (right arrow)">next &rarr;</button></div>'
            f'<div class="cr-graph" data-part="graph" style="{_box(made)}">'
            f"{made.final_svg(prefix)}</div>"
            f"{sections}"
            f'<script type="application/json" data-part="frames">'
            f"{frames_json(made.frames, prefix)}</script>"
            f"<script>{_START % (key, PLAYER)}</script></div>")

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.html(), "text/plain": str(self)}


# The box a notebook gives the graph (CSS px: an output area on a 1280-px screen, 600 px
# high), and the text beside it: the layout whose node text comes out largest there is kept.
NOTEBOOK = ((900.0, 600.0, 15.0),)
LARGEST = 1.5            # a small graph is shown at most 1.5 times its natural size


def _box(made: Parts) -> str:
    """The graph's box: as wide as the output and as high as the graph needs at that width,
    but no higher than 5:4 (a tall graph is shown smaller), no lower than 4:1, never higher
    than three quarters of the window, nor larger than LARGEST times the graph."""
    width, height = made.picture.size
    return (f"aspect-ratio: {min(4.0, max(1.25, width / height)):.3f}; "
            f"max-height: min(75vh, {LARGEST * height:.0f}px)")


def stepper(root: Value, title: str | None = None, backend: str = "auto",
            max_nodes: int = DEFAULT_MAX_NODES, rankdir: str = "auto") -> Stepper:
    """The backward pass from `root` as a stepper to show in a notebook: the forward pass, a
    slide per step, the summary, on one layout of the graph (as slides() makes them). The
    numbers are this pass's, computed on the side: no grad is changed."""
    return Stepper(parts(root, title, backend, max_nodes, rankdir, screens=NOTEBOOK))
