"""Handouts: the slides as a PDF to print, a folder of PNG frames, an animated GIF; read back
with independent readers (pypdf, Pillow) and measured for readable text."""

import io
import re
import sys
import xml.etree.ElementTree as ET

import pytest
from graphs import neuron, neuron_with_loss, squared_errors
from PIL import Image, ImageChops, ImageSequence

from autograd import Value, backward_pass, slides, topological_order
from autograd.cli import main
from autograd.handouts import frame_names, frame_svgs, frames_png, graph_box
from autograd.render import _rasterise
from autograd.slides import deck

SVG = "{http://www.w3.org/2000/svg}"
SMALL = (640, 360)                        # quick to draw: the tests of files and formats





def horner(n=9):
    """A polynomial of degree 8 by Horner's rule: 26 nodes, 17 levels, x used on each."""
    x, y = Value(0.7, "x"), Value(1.0, "c0")
    for i in range(1, n):
        y = y * x + Value(0.5 * i, f"c{i}")
    return y


def mlp_loss():
    from nn import MLP
    model = MLP(2, [2, 1], seed=0)
    return (model([Value(0.5, "x0"), Value(-1.0, "x1")]) - 1.0) ** 2


def pixels(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")


def same(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and ImageChops.difference(a, b).getbbox() is None


def frames_deck(root):
    """The slides as slides() lays them out for pictures of SMALL."""
    width, height = graph_box(SMALL)
    return deck(root, backend="dot", screens=((width, height, 16.0),))


# -- PDF ----------------------------------------------------------------------------------------

def test_a_pdf_has_a_page_per_slide_drawn_losslessly(tmp_path):
    pypdf = pytest.importorskip("pypdf", reason="pypdf is in the test extra")
    a = Value(3.0, "a")
    root = a * a + a
    path = slides(root, tmp_path / "backprop.pdf", backend="dot", size=SMALL)
    reader = pypdf.PdfReader(path, strict=True)
    assert len(reader.pages) == 4                          # forward, 2 steps, summary
    assert reader.metadata.title == "Backpropagation through L"
    expected = frames_png(frames_deck(root), SMALL, scale=2)
    for page, png in zip(reader.pages, expected):
        assert [float(v) for v in page.mediabox] == [0, 0, 320, 180]   # 0.5 pt a pixel
        (image,) = page.images
        assert image.image.size == (1280, 720)            # twice the pixels: crisp in print
        assert same(image.image.convert("RGB"), pixels(png))     # lossless, in slide order
    first = frame_svgs(frames_deck(root), SMALL)[0]
    assert "the forward pass" in first and "1 / 4" in first


@pytest.mark.heavy
def test_the_default_pdf_page_is_a_16_by_9_slide_at_288_dpi(tmp_path):
    pypdf = pytest.importorskip("pypdf", reason="pypdf is in the test extra")
    x = Value(2.0, "x")
    path = slides(x * x, tmp_path / "square.pdf", backend="dot")
    reader = pypdf.PdfReader(path, strict=True)
    page = reader.pages[0]
    assert [float(v) for v in page.mediabox] == [0, 0, 960, 540]       # 13.33 x 7.5 in
    assert page.images[0].image.size == (3840, 2160)                   # 288 dpi


# -- frames -----------------------------------------------------------------------------------

def test_a_pdf_of_a_huge_size_draws_its_pages_smaller_instead_of_failing(tmp_path, monkeypatch):
    """size=(8192, 8192) made pages of 16384 x 16384 pixels, over Pillow's guard against huge
    pictures (DecompressionBombError after half a minute); here the guard is lowered to SMALL's
    pixels so that a small deck stands in for the huge one."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", SMALL[0] * SMALL[1])
    path = slides(neuron(), tmp_path / "big.pdf", backend="dot", size=SMALL)
    pypdf = pytest.importorskip("pypdf", reason="pypdf is in the test extra")
    page = pypdf.PdfReader(path, strict=True).pages[0]
    width, height = page.images[0].image.size
    assert width * height <= SMALL[0] * SMALL[1] and width >= 0.99 * SMALL[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (320.0, 180.0)


def test_frames_are_written_in_a_new_folder_in_order(tmp_path):
    root = neuron()
    folder = slides(root, f"{tmp_path}/frames/", backend="dot", size=SMALL)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["step-01.png", "step-02.png", "step-03.png", "step-04.png", "step-05.png"]
    for name, png in zip(names, frames_png(frames_deck(root), SMALL)):
        shown = Image.open(folder / name)
        assert shown.size == SMALL and same(shown.convert("RGB"), pixels(png))
    assert [p.name for p in tmp_path.iterdir()] == ["frames"]       # nothing left aside
    assert frame_names(120)[:2] == ["step-001.png", "step-002.png"]   # sorts past 99


def test_frames_replace_an_earlier_set_and_leave_other_files(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for name in ("step-01.png", "step-09.png", "notes.txt"):
        (folder / name).write_bytes(b"old")
    slides(neuron(), folder, backend="dot", size=SMALL)       # a folder that exists: frames
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["notes.txt"] + [f"step-0{k}.png" for k in range(1, 6)]
    assert (folder / "notes.txt").read_bytes() == b"old"
    assert (folder / "step-01.png").read_bytes().startswith(b"\x89PNG")


def test_frames_are_all_or_nothing(tmp_path, monkeypatch):
    from autograd import render
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "step-01.png").write_bytes(b"old")
    drawn = []
    real = render._rasterise

    def fails_on_the_third(svg, scale):
        drawn.append(1)
        if len(drawn) == 3:
            raise render.RenderError("the rasteriser crashed")
        return real(svg, scale)
    monkeypatch.setattr(render, "_rasterise", fails_on_the_third)
    with pytest.raises(render.RenderError):
        slides(neuron(), f"{folder}/", backend="dot", size=SMALL)
    assert [p.name for p in folder.iterdir()] == ["step-01.png"]      # as it was
    assert (folder / "step-01.png").read_bytes() == b"old"
    drawn.clear()
    with pytest.raises(render.RenderError):
        slides(neuron(), f"{tmp_path}/new/", backend="dot", size=SMALL)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]   # no folder, no leftovers


def test_frames_need_a_parent_folder_and_a_place_that_is_not_a_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist.*mkdir -p"):
        slides(neuron(), f"{tmp_path}/no/such/", backend="dot", size=SMALL)
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(NotADirectoryError, match="not a folder"):
        slides(neuron(), f"{tmp_path}/taken/", backend="dot", size=SMALL)
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "step-02.png").mkdir()            # a folder where a frame goes
    with pytest.raises(OSError, match="step-02.png"):
        slides(neuron(), f"{tmp_path}/frames/", backend="dot", size=SMALL)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames", "taken"]
    assert [p.name for p in (tmp_path / "frames").iterdir()] == ["step-02.png"]


# -- GIF --------------------------------------------------------------------------------------

def test_a_gif_steps_through_the_pass_pausing_on_each_slide(tmp_path):
    root = neuron()
    path = slides(root, tmp_path / "backprop.gif", backend="dot", size=SMALL)
    shown = Image.open(path)
    assert shown.format == "GIF" and shown.size == SMALL and shown.info["loop"] == 0
    frames = [frame.convert("RGB") for frame in ImageSequence.Iterator(shown)]
    pauses = [frame.info["duration"] for frame in ImageSequence.Iterator(Image.open(path))]
    assert len(frames) == 5 and pauses == [5000, 2500, 2500, 2500, 5000]
    for frame, png in zip(frames, frames_png(frames_deck(root), SMALL)):
        difference = ImageChops.difference(frame, pixels(png)).convert("L")
        assert difference.getextrema()[1] < 40       # the same picture, in 255 colours


# -- what is refused ----------------------------------------------------------------------------

def test_an_unknown_suffix_or_size_is_refused_and_nothing_is_written(tmp_path):
    for name in ("backprop.png", "backprop.svg", "backprop.txt", "backprop"):
        with pytest.raises(ValueError, match=r"\.pdf.*\.gif.*in / for a folder"):
            slides(neuron(), tmp_path / name, backend="dot")
    for size in ((100, 50), (640.5, 360), "1920x1080", (0, 0, 0)):
        with pytest.raises(ValueError, match="size"):
            slides(neuron(), tmp_path / "x.gif", backend="dot", size=size)
    assert list(tmp_path.iterdir()) == []


def test_size_is_checked_for_every_output_and_takes_numpy_integers(tmp_path):
    import numpy as np
    for name in ("x.html", None):               # unused there, but a wrong size is still wrong
        with pytest.raises(ValueError, match="size"):
            slides(neuron(), name and tmp_path / name, backend="dot", size=(-1, 0))
    path = slides(neuron(), tmp_path / "x.gif", backend="dot", size=np.array([640, 360]))
    assert Image.open(path).size == SMALL


def test_an_empty_path_is_refused_and_a_bytes_path_is_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="path is empty"):
        slides(neuron(), "", backend="dot", size=SMALL)      # not frames in the current folder
    assert list(tmp_path.iterdir()) == []
    assert slides(neuron(), b"x.gif", backend="dot", size=SMALL).resolve() == tmp_path / "x.gif"
    assert Image.open(tmp_path / "x.gif").format == "GIF"


def test_without_pillow_the_error_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "PIL", None)            # as if Pillow were missing
    for name in ("x.pdf", "x.gif", "frames/"):
        with pytest.raises(ImportError, match=r"pip install 'chainrule\[handouts\]'"):
            slides(neuron(), f"{tmp_path}/{name}", backend="dot")
    assert main(["slides", "x*2", "x=1", "-o", str(tmp_path / "x.pdf")]) == 2
    assert "chainrule[handouts]" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_without_the_rasteriser_the_error_says_what_to_do_here_and_in_the_browser(
        tmp_path, monkeypatch):
    from autograd import _browser
    monkeypatch.setitem(sys.modules, "resvg_py", None)       # as where it has no build
    with pytest.raises(ImportError, match="pip install resvg-py"):
        slides(neuron(), tmp_path / "x.gif", backend="dot", size=SMALL)
    monkeypatch.setattr(_browser, "here", lambda: True)      # the JupyterLite site
    for name in ("x.pdf", "frames/"):
        with pytest.raises(ImportError, match=r"in the browser.*slides\(root\) \(the stepper"):
            slides(neuron(), f"{tmp_path}/{name}", backend="dot", size=SMALL)
    assert list(tmp_path.iterdir()) == []


# -- readable at projector resolution -------------------------------------------------------------

def node_text_px(frame: str) -> float:
    """The smallest node text in a frame's SVG, in pixels: its font-size times the scale of
    the graph's viewBox into its box (preserveAspectRatio meet)."""
    root = ET.fromstring(frame)
    graph = root.find(f"{SVG}svg")
    view = [float(v) for v in graph.get("viewBox").split()]
    scale = min(float(graph.get("width")) / view[2], float(graph.get("height")) / view[3])
    sizes = [float(text.get("font-size")) for group in graph.iter(f"{SVG}g")
             if group.get("class") == "node" for text in group.iter(f"{SVG}text")]
    return min(sizes) * scale


def ink_height(frame: str, node_key: str) -> int:
    """How many pixel rows the last text line of one node ('grad ...') inks at 1920x1080:
    the frame drawn with only that text shown, less the frame drawn with no text shown."""
    def drawn(keep: bool) -> Image.Image:
        root = ET.fromstring(frame)
        for group in root.iter(f"{SVG}g"):
            for text in group.iter(f"{SVG}text"):
                text.set("visibility", "hidden")
            if keep and group.get("id") == node_key:
                list(group.iter(f"{SVG}text"))[-1].set("visibility", "visible")
        for text in root.findall(f"{SVG}text"):              # the title and the slide's text
            text.set("visibility", "hidden")
        return pixels(_rasterise(ET.tostring(root), 1.0))
    box = ImageChops.difference(drawn(True), drawn(False)).getbbox()
    return box[3] - box[1]


@pytest.mark.parametrize("build, nodes", [(neuron_with_loss, 13), (squared_errors, 24),
                                          (horner, 26), (mlp_loss, 28)])
def test_node_text_is_at_least_14_px_at_1920x1080(build, nodes):
    root = build()
    assert len(backward_pass(root).order) == nodes
    width, height = graph_box()
    shown = deck(root, backend="dot", screens=((width, height, 16.0),))
    frames = frame_svgs(shown)
    assert min(node_text_px(frame) for frame in frames) >= 14
    if build is mlp_loss:                                    # and as drawn, in pixels:
        last = ET.fromstring(shown[-1].svg)
        key = next(g.get("id") for g in last.iter(f"{SVG}g") if g.get("class") == "node" and
                   list(g.iter(f"{SVG}text"))[-1].text == "grad 1.0")   # the root: 'grad 1.0'
        # 'g' to 'd' spans about 0.97 of the font size in DejaVu Sans
        assert ink_height(frames[-1], key) >= 0.9 * 14


def test_long_texts_shrink_then_stop_short_within_their_band():
    x = Value(0.5, "x")
    y = x
    for k in range(30):                  # a long forward pass: more text than the band holds
        y = y * Value(1.01, f"a_rather_long_weight_name_{k}")
    frames = frame_svgs(deck(y, backend="dot"), (1280, 720))
    first = ET.fromstring(frames[0])
    lines = [t for t in first.findall(f"{SVG}text")][2:]       # after counter and title
    assert lines and lines[-1].text.endswith("…")
    band = [r for r in first.findall(f"{SVG}rect") if r.get("fill") == "#fff8e1"][0]
    bottom = float(band.get("y")) + float(band.get("height"))
    assert float(lines[-1].get("y")) < bottom
    assert min(float(t.get("font-size")) for t in lines) >= 0.6 * 28 * 720 / 1080 - 0.01


def test_labels_that_are_markup_or_unprintable_are_drawn_as_written(tmp_path):
    x, y = Value(2.0, "<b>&amp;"), Value(3.0, "bell\x07\ud800")
    frames = frame_svgs(deck(x * y, backend="dot"), SMALL)
    for frame in frames:
        ET.fromstring(frame)                                  # well-formed XML
    text = "".join(ET.fromstring(frames[0]).itertext())
    assert "<b>&amp;" in text and "bell\\x07\\ud800" in text
    assert slides(x * y, tmp_path / "odd.gif", backend="dot", size=SMALL).exists()


def test_a_very_long_label_is_cut_with_few_measurements(monkeypatch):
    """Cutting a line to fit halves the length: a few dozen measurements per line, not one per
    character (a 3000-character label took minutes)."""
    from autograd import handouts
    calls = []
    width = handouts._Measure.width
    monkeypatch.setattr(handouts._Measure, "width",
                        lambda self, text, size: calls.append(len(text)) or width(self, text, size))
    x = Value(1.5, "L" * 3000)
    frames = frame_svgs(deck(x * x, backend="dot"), SMALL)
    text = "".join(ET.fromstring(frames[0]).itertext())
    assert "LLLL" in text
    assert len(calls) < 30_000          # one per character: hundreds of thousands


def test_pictures_change_no_grad(tmp_path):
    root = neuron()
    root.backward()
    before = [(n.data, n.grad) for n in topological_order(root)]
    slides(root, tmp_path / "x.gif", backend="dot", size=SMALL)
    assert [(n.data, n.grad) for n in topological_order(root)] == before


# -- the command line ---------------------------------------------------------------------------

NEURON = ["tanh(x*w + b)", "x=2", "w=-3", "b=6.88"]


def test_the_command_line_writes_each_kind(tmp_path, capsys):
    pypdf = pytest.importorskip("pypdf", reason="pypdf is in the test extra")
    for output in ("b.pdf", "b.gif", "frames/"):
        assert main(["slides", *NEURON, "-o", f"{tmp_path}/{output}", "--size", "640x360",
                     "--backend", "dot"]) == 0
    out = capsys.readouterr().out
    assert "wrote 5 frames in" in out and "b.pdf" in out
    assert len(pypdf.PdfReader(tmp_path / "b.pdf", strict=True).pages) == 5
    assert Image.open(tmp_path / "b.gif").n_frames == 5
    assert len(list((tmp_path / "frames").glob("step-*.png"))) == 5


@pytest.mark.parametrize("arguments, message", [
    (["-o", "{tmp}/b.png"], "end the name in .html"),
    (["-o", "{tmp}/no/frames/"], "does not exist"),
    (["-o", "{tmp}/b.gif", "--size", "1920"], "WIDTHxHEIGHT"),
    (["-o", "{tmp}/b.gif", "--size", "10x10"], "outside what a picture"),
])
def test_the_command_line_refuses_in_one_line(tmp_path, capsys, arguments, message):
    arguments = [a.replace("{tmp}", str(tmp_path)) for a in arguments]
    assert main(["slides", *NEURON, *arguments, "--backend", "dot"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and re.match("chainrule: error: ", err)
    assert list(tmp_path.iterdir()) == []
