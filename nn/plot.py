"""Pictures of training: a 2-D decision boundary and a loss curve, as matplotlib figures."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

from autograd import Value, no_grad

__all__ = ["decision_boundary", "loss_curve"]


def _has_display() -> bool:
    if "ipykernel" in sys.modules or os.environ.get("MPLBACKEND"):
        return True               # a notebook (inline figures) or a backend the user chose
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _pyplot():
    """matplotlib.pyplot, imported on first use; the Agg backend (files only) when there is
    no display to draw on."""
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError("nn.plot needs matplotlib: pip install matplotlib  "
                          "(or pip install 'chainrule[plot]')") from error
    if "matplotlib.pyplot" not in sys.modules and not _has_display():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _new_axes(ax, figsize):
    if ax is not None:
        return ax.figure, ax
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=figsize, layout="constrained")
    return figure, ax


def decision_boundary(model: Callable, X: Sequence[Sequence[float]], y: Sequence,
                      resolution: int = 80, margin: float = 0.5, threshold: float | None = None,
                      ax=None, title: str | None = None):
    """The plane coloured by the class `model` predicts at each point of a grid, with the data
    on top (marker and colour by label). Inputs must be 2-D. Returns the matplotlib Figure."""
    from .metrics import accuracy, default_threshold, predicted_class

    if hasattr(X, "tolist"):
        X = X.tolist()
    if hasattr(y, "tolist"):
        y = y.tolist()
    if len(X) != len(y) or len(X) == 0:
        raise ValueError(f"decision_boundary: {len(X)} inputs but {len(y)} labels")
    if any(len(x) != 2 for x in X):
        raise ValueError("decision_boundary draws 2-D inputs only (points [x1, x2])")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an int >= 2, got {resolution!r}")
    figure, ax = _new_axes(ax, (5.5, 4.5))
    limit = default_threshold(model, threshold)
    x1s, x2s = [x[0] for x in X], [x[1] for x in X]
    low1, high1 = min(x1s) - margin, max(x1s) + margin
    low2, high2 = min(x2s) - margin, max(x2s) + margin
    g1 = [low1 + (high1 - low1) * i / (resolution - 1) for i in range(resolution)]
    g2 = [low2 + (high2 - low2) * j / (resolution - 1) for j in range(resolution)]
    with no_grad():
        outputs = [[model([a, b]) for a in g1] for b in g2]
    multiclass = isinstance(outputs[0][0], (list, tuple))
    classes = sorted(set(y))
    if multiclass:
        regions = [[predicted_class(o, limit) for o in row] for row in outputs]
        levels = [c - 0.5 for c in range(len(outputs[0][0]) + 1)]
    else:
        # the score itself, so the boundary is the level set score == threshold
        regions = [[(o.data if isinstance(o, Value) else o) for o in row] for row in outputs]
        spread = max(abs(v - limit) for row in regions for v in row) or 1.0
        levels = [limit - spread - 1e-9, limit, limit + spread + 1e-9]
    cmap = "coolwarm" if not multiclass else "tab10"
    ax.contourf(g1, g2, regions, levels=levels, cmap=cmap, alpha=0.35)
    ax.contour(g1, g2, regions, levels=levels[1:-1], colors="k", linewidths=1.0)
    markers = "os^Dv<>p*h"
    palette = (["#3b4cc0", "#b40426"] if not multiclass and len(classes) <= 2
               else [f"C{i}" for i in range(10)])
    for k, label in enumerate(classes):
        points = [x for x, t in zip(X, y) if t == label]
        ax.scatter([p[0] for p in points], [p[1] for p in points], s=28,
                   marker=markers[k % len(markers)], c=palette[k % len(palette)],
                   edgecolors="k", linewidths=0.5, label=f"class {label}")
    ax.set_xlim(low1, high1)
    ax.set_ylim(low2, high2)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title is None:
        title = f"Decision boundary (training accuracy {accuracy(model, X, y, limit):.0%})"
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small", framealpha=0.8)
    return figure


def loss_curve(history, ax=None, title: str = "Training"):
    """Loss per epoch (log scale when it spans more than a factor of 20), and the accuracy on
    a second axis when the history has one. Takes a History, or a list of losses."""
    losses = list(getattr(history, "loss", history))
    accuracies = [a for a in getattr(history, "accuracy", []) if a is not None]
    if not losses:
        raise ValueError("loss_curve: the history has no epochs")
    figure, ax = _new_axes(ax, (6.0, 4.0))
    epochs = list(range(1, len(losses) + 1))
    line = ax.plot(epochs, losses, color="C0", label="loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss", color="C0")
    positive = [v for v in losses if v > 0]
    if positive and len(positive) == len(losses) and max(positive) > 20 * min(positive):
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    if accuracies and len(accuracies) == len(losses):
        right = ax.twinx()
        line += right.plot(epochs, [100 * a for a in accuracies], color="C1", label="accuracy")
        right.set_ylabel("accuracy (%)", color="C1")
        right.set_ylim(0, 102)
    ax.legend(line, [item.get_label() for item in line], loc="center right")
    seconds = getattr(history, "seconds", None)
    ax.set_title(title + (f" ({len(losses)} epochs, {seconds:.1f} s)" if seconds else ""))
    return figure
