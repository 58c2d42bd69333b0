"""Pictures of training, as matplotlib figures: a 2-D decision boundary, loss curves, and the
gradients layer by layer (gradient flow)."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Sequence

from autograd import Value, no_grad

from ._examples import real_number

__all__ = ["decision_boundary", "loss_curve", "loss_curves", "gradient_flow", "grad_norms"]


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
    on top (marker and colour by label). Inputs must be 2-D. The model runs in eval mode (no
    dropout), as accuracy() does. Returns the matplotlib Figure."""
    from .metrics import accuracy, default_threshold, predicted_class
    from .module import in_mode

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
    with no_grad(), in_mode(model, False):
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


def _integer_ticks(ax) -> None:
    """Epochs are whole numbers: no tick at 2.5."""
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _label(key) -> str:
    """A run's name in a legend: a learning rate (a number) as 'lr 0.1', a name as it is."""
    if isinstance(key, (int, float)) and not isinstance(key, bool):
        return f"lr {key:g}"
    return str(key)


def _losses(name: str, losses) -> list[float]:
    """A run's losses as floats; a clear error for what is not a list of numbers."""
    if hasattr(losses, "tolist") and not isinstance(losses, (list, tuple)):
        losses = losses.tolist()                # a NumPy array
    if isinstance(losses, (str, bytes)) or not isinstance(losses, Sequence):
        raise TypeError(f"loss_curves: {name} must be a History or a list of losses, got "
                        f"{type(losses).__name__}")
    numbers = [real_number(v) for v in losses]
    if None in numbers:
        bad = losses[numbers.index(None)]
        raise TypeError(f"loss_curves: {name} holds {bad!r}, not a number; give a History or "
                        "a list of losses")
    return numbers


def loss_curves(histories, ax=None, title: str = "Loss curves", validation: bool = False):
    """Several runs' losses on one figure (log scale when they span more than a factor of 20):
    `histories` is a dict {name or learning rate: History} (as lr_sweep returns), a list of
    Histories (or of lists of losses), or one History. A run that diverged ends in a cross and
    says so in the legend; a loss that climbs past 1000 times the largest starting loss leaves
    the chart at the top (the cross is drawn on the edge). validation=True draws the held-out loss
    (history.val_loss) too, dashed, in the same colour."""
    if hasattr(histories, "loss"):              # one History: one curve
        histories = [histories]
    if isinstance(histories, dict):
        runs = [(_label(key), history) for key, history in histories.items()]
    elif isinstance(histories, (list, tuple)):
        runs = [(f"run {k + 1}", history) for k, history in enumerate(histories)]
    else:
        raise TypeError(f"loss_curves: histories must be a dict {{name: History}} (as lr_sweep "
                        f"returns) or a list of Histories, got {type(histories).__name__}")
    if not runs:
        raise ValueError("loss_curves: no histories to draw")
    curves = [(name, _losses(name, getattr(h, "loss", h)), getattr(h, "diverged", None),
               _losses(name, getattr(h, "val_loss", [])) if validation else [])
              for name, h in runs]
    starts = [losses[0] for _, losses, _, _ in curves if losses]
    top = 1000 * max(starts) if starts and max(starts) > 0 else math.inf
    figure, ax = _new_axes(ax, (6.5, 4.0))
    shown = []
    for k, (name, losses, diverged, held_out) in enumerate(curves):
        color = f"C{k % 10}"
        epochs = list(range(1, len(losses) + 1))
        label = name + (f" (diverged in epoch {len(losses) + 1})" if diverged else "")
        ax.plot(epochs, losses, color=color, label=label)
        if diverged and losses:
            ax.plot(epochs[-1:], [min(losses[-1], top)], marker="x", markersize=10, mew=2.5,
                    color=color, clip_on=False)
        if held_out:
            ax.plot(range(1, len(held_out) + 1), held_out, color=color, linestyle="--",
                    label=f"{name}, held-out")
        shown += [v for v in losses + held_out if v <= top]
    positive = [v for v in shown if v > 0]
    log = bool(positive) and len(positive) == len(shown) and max(positive) > 20 * min(positive)
    if shown and any(v > top for _, losses, _, _ in curves for v in losses):
        ax.set_ylim(min(positive) / 2 if log else min(0.0, min(shown)), top)   # fixed first:
    if log:                                          # no autoscaling over the huge numbers
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    _integer_ticks(ax)
    ax.set_ylabel("loss" + (" (log scale)" if ax.get_yscale() == "log" else ""))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(title)
    return figure


def gradient_flow(model, ax=None, title: str | None = None,
                  ylim: tuple[float, float] | None = None):
    """The mean and the largest |grad| of each layer's weights, layers in order from the input,
    on a log scale: the usual picture of vanishing or exploding gradients. Draw it after a
    backward pass (it reads the grads as they are and changes nothing); see nn.layer_grads for
    the numbers and for what a layer is. A layer whose grads are all 0 is marked "all 0".
    ylim=(low, high) fixes the axis, to compare several models on the same scale (the bars
    start at `low`)."""
    from .gradients import layer_grads

    stats = layer_grads(model)
    if all(s.max == 0.0 for s in stats):
        raise ValueError("gradient_flow: every weight's grad is 0; draw it after a backward "
                         "pass (loss.backward())")
    figure, ax = _new_axes(ax, (6.0, 3.8))
    positions = list(range(len(stats)))
    nonzero = [s for s in stats if s.max > 0]
    floor = min(s.mean if s.mean > 0 else s.max for s in nonzero) / 4
    if ylim is not None:
        low, high = ylim
        if not 0 < low < high:
            raise ValueError(f"gradient_flow: ylim must be (low, high) with 0 < low < high on a "
                             f"log scale, got {ylim!r}")
        floor = low
    # on a log scale a bar cannot start at 0: each starts at `floor` and ends at its value
    ax.bar(positions, [max(s.max - floor, 0.0) for s in stats], width=0.7, bottom=floor,
           color="#9ecae1", label="max |grad|")
    ax.bar(positions, [max(s.mean - floor, 0.0) for s in stats], width=0.4, bottom=floor,
           color="#2171b5", label="mean |grad|")
    for x, s in zip(positions, stats):
        if s.max == 0.0:
            ax.text(x, floor * 1.5, "all 0", ha="center", fontsize="small")
    ax.set_yscale("log")
    ax.set_ylim(floor, ylim[1] if ylim is not None else None)
    ax.set_xticks(positions, [s.name for s in stats])
    ax.set_xlabel("layer (input side on the left)")
    ax.set_ylabel("|grad| of the weights")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(title if title is not None else "Gradient flow")
    return figure


def grad_norms(history, ax=None, title: str = "Gradient norm per layer"):
    """Each layer's weight-gradient norm per epoch, as recorded by fit(..., track_grads=True),
    on a log scale; the layer nearest the input darkest. An epoch where a layer's gradient is
    exactly 0 (saturated or dead units pass nothing back) leaves a gap in its line."""
    norms = getattr(history, "grad_norms", None)
    if not norms:
        raise ValueError("grad_norms: the history has no gradient norms; train with "
                         "fit(..., track_grads=True)")
    plt = _pyplot()
    figure, ax = _new_axes(ax, (6.5, 4.0))
    colors = plt.get_cmap("viridis")
    names = list(norms)
    for k, name in enumerate(names):
        values = norms[name]
        ax.plot(range(1, len(values) + 1), values, label=name,
                color=colors(k / max(1, len(names) - 1) * 0.9))
    if any(v > 0 for values in norms.values() for v in values):
        ax.set_yscale("log", nonpositive="mask")     # a norm of exactly 0 leaves a gap
    ax.set_xlabel("epoch")
    _integer_ticks(ax)
    ax.set_ylabel("norm of the layer's weight grads")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", ncols=2 if len(names) > 5 else 1)
    ax.set_title(title)
    return figure
