"""nn.plot: figures that show what the model predicts and what fit() measured; matplotlib is
imported only when used, with the Agg backend when there is no display."""

import os
import subprocess
import sys

import pytest

import nn
from autograd import Value

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def close_figures():
    yield
    import matplotlib.pyplot as plt
    plt.close("all")


def vertical_split(x):
    """A hand-made classifier: the score is x1 - 0.5, so the boundary is the line x1 = 0.5."""
    return Value(x[0]) - 0.5


def test_decision_boundary_shades_what_the_model_predicts(tmp_path):
    from matplotlib.figure import Figure
    X = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.2, 0.6]]
    y = [-1, 1, -1, 1, 1]                                # the last point is on the wrong side
    figure = nn.plot.decision_boundary(vertical_split, X, y, resolution=21, margin=0.5)
    assert isinstance(figure, Figure)
    ax = figure.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$x_1$", "$x_2$")
    assert "80%" in ax.get_title()                       # 4 of the 5 points right
    assert ax.get_xlim() == (-0.5, 1.5) and ax.get_ylim() == (-0.5, 1.5)
    # the black boundary line drawn is x1 = 0.5
    from matplotlib.contour import ContourSet
    (boundary,) = [c for c in ax.collections if isinstance(c, ContourSet) and not c.filled]
    vertices = [v for path in boundary.get_paths() for v in path.vertices.tolist()]
    assert len(vertices) >= 2 and all(abs(x1 - 0.5) < 1e-9 for x1, _ in vertices)
    assert min(x2 for _, x2 in vertices) == -0.5 and max(x2 for _, x2 in vertices) == 1.5
    # every point is drawn, by class
    from matplotlib.collections import PathCollection
    drawn = sorted(tuple(p) for c in ax.collections
                   if isinstance(c, PathCollection) and not isinstance(c, ContourSet)
                   for p in c.get_offsets().tolist())
    assert drawn == sorted(map(tuple, X))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class -1", "class 1"]
    path = tmp_path / "boundary.png"
    figure.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_decision_boundary_of_a_trained_multiclass_model():
    X, y = nn.data.spirals(30, classes=3, seed=0)
    model = nn.MLP(2, [8, 3], seed=0)
    figure = nn.plot.decision_boundary(model, X, y, resolution=10)
    assert "training accuracy" in figure.axes[0].get_title()
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert legend == ["class 0", "class 1", "class 2"]


def test_decision_boundary_needs_2d_inputs():
    with pytest.raises(ValueError, match="2-D inputs only"):
        nn.plot.decision_boundary(nn.MLP(3, [1], seed=0), [[1.0, 2.0, 3.0]], [1])


def test_loss_curve_draws_the_history():
    X, y = nn.data.xor()
    model = nn.MLP(2, [4, 1], activation="tanh", seed=0)
    history = nn.fit(model, X, y, loss="mse", epochs=30, progress=False, classify=True)
    figure = nn.plot.loss_curve(history)
    loss_ax, accuracy_ax = figure.axes
    (line,) = loss_ax.get_lines()
    assert list(line.get_xdata()) == list(range(1, 31))
    assert list(line.get_ydata()) == history.loss
    assert list(accuracy_ax.get_lines()[0].get_ydata()) == [100 * a for a in history.accuracy]
    assert loss_ax.get_xlabel() == "epoch" and "30 epochs" in loss_ax.get_title()
    only_losses = nn.plot.loss_curve([1.0, 0.5, 0.25])
    assert len(only_losses.axes) == 1
    with pytest.raises(ValueError, match="no epochs"):
        nn.plot.loss_curve([])


def test_without_matplotlib_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install matplotlib .*chainrule\[plot\]"):
        nn.plot.loss_curve([1.0, 0.5])


def test_importing_nn_does_not_import_matplotlib_and_no_display_means_agg():
    code = ("import sys, nn; assert 'matplotlib' not in sys.modules and 'tqdm' not in sys.modules"
            " and 'sklearn' not in sys.modules; nn.plot.loss_curve([1.0, 0.5]); "
            "import matplotlib; print(matplotlib.get_backend())")
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip().lower() == "agg"


def test_plot_uses_only_public_names_of_the_other_nn_modules():
    # plot reads classes and thresholds through nn.metrics' public functions, never through
    # train.py's private helpers
    import ast
    tree = ast.parse(open(os.path.join(ROOT, "nn", "plot.py")).read())
    imported = [(node.module, alias.name) for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.level == 1
                for alias in node.names]
    assert imported and all(module != "train" for module, _ in imported)
    assert all(not name.startswith("_") for _, name in imported)
