"""Every picture stored in the notebooks is readable where it is shown: its smallest text is at
least 10 px high at the width a notebook gives its outputs."""

import base64
import re
import struct
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob(
    "[0-9][0-9]_*.ipynb"))
DISPLAY = 900          # CSS px: a notebook's output area on a code host, or JupyterLab on a
                       # 1280-px screen; a wider picture is shrunk to it (max-width: 100%)
SMALLEST = 10.0        # px
MATPLOTLIB_SMALLEST_PT = 8.33   # 'small' (legends in nn.plot): the smallest size our plots use


def svg_text_px(svg: str) -> float:
    """The smallest font as shown: font-size in user units, times px per unit at the SVG's
    natural size (width in pt or px over the viewBox), times the shrink to DISPLAY."""
    opening = re.search(r"<svg\b[^>]*>", svg)[0]
    width = re.search(r'\bwidth="([\d.]+)(pt|px)?"', opening)
    view = [float(v) for v in re.search(r'viewBox="([-\d. ,]+)"', opening)[1].replace(",", " ")
            .split()]
    natural = float(width[1]) * (4 / 3 if width[2] == "pt" else 1)
    sizes = [float(s) for s in re.findall(r'font-size="([\d.]+)', svg)]
    return min(sizes) * natural / view[2] * min(1.0, DISPLAY / natural)


def stepper_text_px(box: str, svg: str) -> float:
    """The smallest font in a stepper's graph: its SVG (a viewBox only) fills a box DISPLAY
    wide, as high as the box's aspect-ratio says, at most max-height (75vh of a 1080-px screen
    less the browser's bars, 800 px, taken as 600 px), scaled to fit (meet)."""
    ratio = float(re.search(r"aspect-ratio: ([\d.]+)", box)[1])
    highest = min(600.0, float(re.search(r"max-height: min\(75vh, ([\d.]+)px\)", box)[1]))
    view = [float(v) for v in re.search(r'viewBox="([-\d. ,]+)"', svg)[1].replace(",", " ")
            .split()]
    sizes = [float(s) for s in re.findall(r'font-size="([\d.]+)', svg)]
    return min(sizes) * min(DISPLAY / view[2], min(DISPLAY / ratio, highest) / view[3])


def png_text_px(data: bytes) -> float:
    """The smallest matplotlib text as shown: its size in pt at the PNG's dpi (pHYs), times
    the shrink to DISPLAY."""
    width = struct.unpack(">I", data[16:20])[0]
    dpi, position = 72.0, 8
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        if kind == b"pHYs":
            per_metre, _, unit = struct.unpack(">IIB", data[position + 8:position + 17])
            dpi = per_metre * 0.0254 if unit == 1 else dpi
        position += 12 + length
    return MATPLOTLIB_SMALLEST_PT * dpi / 72 * min(1.0, DISPLAY / width)


def pictures(path: Path):
    notebook = nbformat.read(path, as_version=4)
    for number, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/svg+xml" in data:
                yield number, "svg", svg_text_px(data["image/svg+xml"])
            page = data.get("text/html", "")
            for box, svg in re.findall(r'(<div class="cr-graph"[^>]*>)?(<svg\b.*?</svg>)', page,
                                       flags=re.S):
                if box:
                    yield number, "stepper", stepper_text_px(box, svg)
                else:
                    yield number, "svg in html", svg_text_px(svg)
            if "image/png" in data:
                yield number, "png", png_text_px(base64.b64decode(data["image/png"]))


def test_the_measure_is_right_on_known_pictures():
    graphviz = ('<svg width="1897pt" height="100pt" viewBox="0.00 0.00 1897.00 100.00">'
                '<text font-size="11.00">x</text></svg>')
    assert svg_text_px(graphviz) == pytest.approx(11 * 4 / 3 * 900 / (1897 * 4 / 3))   # 5.2
    small = '<svg width="300pt" height="80pt" viewBox="0 0 300 80"><text font-size="9"/></svg>'
    assert svg_text_px(small) == pytest.approx(12.0)
    box = '<div class="cr-graph" style="aspect-ratio: 2.000; max-height: min(75vh, 900px)">'
    wide = '<svg viewBox="0.00 0.00 1800.00 300.00"><text font-size="16.00">x</text></svg>'
    assert stepper_text_px(box, wide) == pytest.approx(16 * 900 / 1800)     # width-bound
    tall = '<svg viewBox="0 0 300 1200"><text font-size="16.00">x</text></svg>'
    assert stepper_text_px(box, tall) == pytest.approx(16 * 450 / 1200)     # height-bound
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I4sII", 13, b"IHDR", 1800, 600) + bytes(9)
    phys = struct.pack(">I4sIIB", 9, b"pHYs", 3937, 3937, 1) + bytes(4)
    assert png_text_px(header + phys) == pytest.approx(8.33 * 100 / 72 * 0.5, rel=1e-3)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_stored_picture_has_readable_text(path):
    small = [(cell, kind, round(px, 1)) for cell, kind, px in pictures(path) if px < SMALLEST]
    assert not small, f"{path.name}: text under {SMALLEST} px as shown (cell, kind, px): {small}"
