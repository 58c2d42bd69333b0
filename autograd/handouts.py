"""Handouts of the slides: a PNG per slide at projector resolution, an animated GIF, and a PDF
to print. Each slide is drawn as one picture (its title, the graph as deck() shows it, its
text), laid out the same way on every slide of a deck so that nothing moves between them."""

from __future__ import annotations

import io
import numbers
import re
import struct
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass
from pathlib import Path

from . import _browser
from ._files import write_atomically, write_files_atomically
from .render import FONT_FAMILY, FONT_FILE
from .slides import SVG, Slide

__all__ = ["SIZE", "frame_svgs", "frames_png", "write_frames", "write_gif", "write_pdf",
           "pdf_document"]

SIZE = (1920, 1080)              # a projector's full HD, in pixels
SMALLEST = (320, 180)
PDF_SCALE = 2                    # PDF pages drawn at twice the size: 288 dpi on a 13.3 in page
PDF_MAX_PIXELS = 4 * 3840 * 2160  # a page's picture at most (and within Pillow's limit): big
                                 # sizes are drawn at less than PDF_SCALE, never refused
PT_PER_PX = 0.5                  # 1920x1080 px is a 960x540 pt page (13.33 x 7.5 in, 16:9)
PAUSE_MS = 2500                  # GIF: each slide this long; the forward pass and the last
LONG_PAUSE_MS = 5000             # slide (every grad) longer

INK, BAR, BAR_INK, BAND, BAND_EDGE, FRAME_EDGE = (
    "#222222", "#2d3e50", "#ffffff", "#fff8e1", "#ffc107", "#dddddd")
HANDOUTS_HELP = "pip install 'chainrule[handouts]'"


def check_pillow() -> None:
    """Raise the ImportError that names what to install, where Pillow or the SVG rasteriser
    (resvg-py: installed with chainrule everywhere but in the browser) is missing."""
    _pillow()
    try:
        import resvg_py  # noqa: F401
    except ImportError as error:
        if _browser.here():
            raise ImportError("slides as pictures (a folder of PNG frames, .gif, .pdf) cannot "
                              "be drawn in the browser: their SVG rasteriser, resvg-py, has no "
                              "build for it; show slides(root) (the stepper) or write an .html "
                              "slideshow") from error
        raise ImportError("slides as pictures (a folder of PNG frames, .gif, .pdf) need the "
                          "SVG rasteriser that chainrule installs: pip install resvg-py") \
            from error


def _pillow():
    try:
        from PIL import Image, ImageFont
    except ImportError as error:
        raise ImportError("slides as pictures (a folder of PNG frames, .gif, .pdf) need "
                          f"Pillow: {HANDOUTS_HELP}") from error
    return Image, ImageFont


def check_size(size) -> tuple[int, int]:
    """(width, height) in pixels, whole and at least SMALLEST."""
    try:
        width, height = size
    except (TypeError, ValueError):
        raise ValueError(f"slides: size must be (width, height) in pixels, such as "
                         f"(1920, 1080), got {size!r}") from None
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
               for v in (width, height)):
        raise ValueError(f"slides: size must be whole pixels, such as (1920, 1080), "
                         f"got {size!r}")
    width, height = int(width), int(height)            # a NumPy integer too
    if width < SMALLEST[0] or height < SMALLEST[1] or width > 8192 or height > 8192:
        raise ValueError(f"slides: size {width}x{height} is outside what a picture of a slide "
                         f"can be ({SMALLEST[0]}x{SMALLEST[1]} to 8192x8192 pixels)")
    return width, height


# -- laying a slide out -----------------------------------------------------------------------

_UNSHOWABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _showable(text: str) -> str:
    """Text that XML can carry: control characters and lone surrogates as visible escapes."""
    return _UNSHOWABLE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100
                           else f"\\u{ord(m[0]):04x}", text)


class _Measure:
    """Widths of text in the font the pictures use (DejaVu Sans, shipped in autograd/fonts)."""

    def __init__(self) -> None:
        _, self._image_font = _pillow()
        self._fonts: dict[float, object] = {}

    def width(self, text: str, size: float) -> float:
        font = self._fonts.get(size)
        if font is None:
            font = self._fonts[size] = self._image_font.truetype(str(FONT_FILE), size=size)
        return font.getlength(text)

    def wrap(self, text: str, size: float, width: float) -> list[str]:
        """The text's lines, each broken at spaces (inside a word only if it must) to fit
        `width`; a broken line goes on indented."""
        lines = []
        for line in text.split("\n"):
            indent = line[:len(line) - len(line.lstrip(" "))] + "    "
            current = ""
            for word in re.findall(r"\S+\s*", line) or [""]:
                if self.width((current + word).rstrip(), size) <= width or not current.strip():
                    current += word
                    while self.width(current.rstrip(), size) > width and len(current) > 1:
                        cut = self._fit(current, size, width)   # one word wider than a line
                        lines.append(current[:cut])
                        current = indent + current[cut:]
                    continue
                lines.append(current.rstrip())
                current = indent + word
            lines.append(current.rstrip())
        return lines

    def _fit(self, text: str, size: float, width: float) -> int:
        """The longest cut (1 to len - 1) whose text[:cut] fits `width` (1 if none does):
        found by halving, so that a label thousands of characters long is measured a few
        dozen times, not once per character."""
        low, high = 1, len(text) - 1
        while low < high:
            middle = (low + high + 1) // 2
            if self.width(text[:middle], size) <= width:
                low = middle
            else:
                high = middle - 1
        return low

    def fit_line(self, text: str, size: float, width: float) -> str:
        """`text` on one line: itself if it fits, else cut and ended with an ellipsis."""
        if self.width(text, size) <= width:
            return text
        return text[:self._fit(text + "…", size, width)].rstrip() + "…"


@dataclass(frozen=True)
class Sheet:
    """Where everything sits on every picture of one deck (CSS px at `size`)."""
    width: int
    height: int
    margin: float
    bar: float
    title_size: float
    body_size: float
    band_lines: int
    band: tuple[float, float, float, float]        # x, y, width, height
    graph: tuple[float, float, float, float]

    @property
    def line_height(self) -> float:
        return 1.3 * self.body_size

    @property
    def text_width(self) -> float:
        return self.band[2] - 2.4 * self.margin


def sheet(slides: list[Slide], size: tuple[int, int], measure: _Measure) -> Sheet:
    """One layout for all the slides: the title bar, the graph, and a band for the text as
    high as the longest step's text needs (3 to 6 lines)."""
    width, height = size
    unit = min(height / 1080, width / 1920 * 1.25)
    margin, bar = 20 * unit, 68 * unit
    title_size, body_size = 32 * unit, 28 * unit
    text_width = width - 2 * margin - 2.4 * margin
    steps = [len(measure.wrap(s.text, body_size, text_width)) for s in slides if s.kind == "step"]
    band_lines = min(6, max(3, *steps, 0))
    band_height = band_lines * 1.3 * body_size + 1.2 * margin
    band = (margin, height - margin - band_height, width - 2 * margin, band_height)
    top = bar + margin
    graph = (margin, top, width - 2 * margin, band[1] - margin * 0.6 - top)
    return Sheet(width, height, margin, bar, title_size, body_size, band_lines, band, graph)


def graph_box(size: tuple[int, int] = SIZE) -> tuple[float, float]:
    """Roughly the box a picture of `size` gives the graph (for choosing its layout)."""
    width, height = size
    unit = min(height / 1080, width / 1920 * 1.25)
    return width - 40 * unit, height - 68 * unit - 32 * unit - (4.5 * 36.4 + 24) * unit


def _text(parent: ET.Element, x: float, y: float, text: str, size: float, fill: str,
          bold: bool = False, anchor: str = "start") -> None:
    element = ET.SubElement(parent, f"{{{SVG}}}text", {
        "x": f"{x:.1f}", "y": f"{y:.1f}", "font-family": FONT_FAMILY, "font-size": f"{size:.2f}",
        "fill": fill, "text-anchor": anchor, "{http://www.w3.org/XML/1998/namespace}space":
        "preserve"})
    if bold:
        element.set("font-weight", "bold")
    element.text = _showable(text)


def frame_svg(slide: Slide, number: int, count: int, layout: Sheet, measure: _Measure) -> str:
    """One slide as an SVG picture of layout.width x layout.height pixels."""
    width, height = layout.width, layout.height
    root = ET.Element(f"{{{SVG}}}svg", {
        "width": str(width), "height": str(height), "viewBox": f"0 0 {width} {height}"})
    ET.SubElement(root, f"{{{SVG}}}rect", {"width": "100%", "height": "100%",
                                           "fill": "#fafafa"})
    # the title bar: the slide's title, and where it is in the deck
    ET.SubElement(root, f"{{{SVG}}}rect", {"width": str(width), "height": f"{layout.bar:.1f}",
                                           "fill": BAR})
    counter = f"{number} / {count}"
    baseline = layout.bar / 2 + 0.36 * layout.title_size
    _text(root, width - layout.margin, baseline, counter, layout.title_size * 0.85, BAR_INK,
          anchor="end")
    room = (width - 3 * layout.margin
            - measure.width(counter + "  ", layout.title_size * 0.85))
    size = layout.title_size
    while measure.width(slide.title, size) > room and size > 0.75 * layout.title_size:
        size *= 0.95
    _text(root, layout.margin, baseline, measure.fit_line(slide.title, size, room), size,
          BAR_INK, bold=True)
    # the graph, as the slide shows it, scaled to fit its box
    x, y, w, h = layout.graph
    box = {"x": f"{x:.1f}", "y": f"{y:.1f}", "width": f"{w:.1f}", "height": f"{h:.1f}"}
    ET.SubElement(root, f"{{{SVG}}}rect", {**box, "fill": "white"})
    graph = ET.fromstring(slide.svg)
    graph.attrib.update(box)
    graph.set("preserveAspectRatio", "xMidYMid meet")
    root.append(graph)
    ET.SubElement(root, f"{{{SVG}}}rect", {**box, "fill": "none", "stroke": FRAME_EDGE})
    # the text: in the band, smaller if it must be to fit, cut short if even that is not enough
    x, y, w, h = layout.band
    ET.SubElement(root, f"{{{SVG}}}rect", {"x": f"{x:.1f}", "y": f"{y:.1f}", "width": f"{w:.1f}",
                                           "height": f"{h:.1f}", "fill": BAND})
    ET.SubElement(root, f"{{{SVG}}}rect", {"x": f"{x:.1f}", "y": f"{y:.1f}",
                                           "width": f"{0.25 * layout.margin:.1f}",
                                           "height": f"{h:.1f}", "fill": BAND_EDGE})
    size, smallest = layout.body_size, 0.6 * layout.body_size
    room = layout.band_lines * layout.line_height
    while True:
        lines = measure.wrap(slide.text, size, layout.text_width)
        if len(lines) * 1.3 * size <= room + 0.01 or size == smallest:
            break
        size = max(smallest, size * 0.93)
    fits = int((room + 0.01) // (1.3 * size))
    if len(lines) > fits:
        lines = lines[:fits]
        lines[-1] = measure.fit_line(lines[-1] + " …", size, layout.text_width)
    top = y + 0.6 * layout.margin + 0.95 * size
    for k, line in enumerate(lines):
        _text(root, x + 1.2 * layout.margin, top + k * 1.3 * size, line, size, INK)
    return ET.tostring(root, encoding="unicode")


def frame_svgs(slides: list[Slide], size: tuple[int, int] = SIZE) -> list[str]:
    """Every slide as an SVG picture of `size` pixels, all laid out alike."""
    measure = _Measure()
    layout = sheet(slides, check_size(size), measure)
    return [frame_svg(slide, k, len(slides), layout, measure)
            for k, slide in enumerate(slides, start=1)]


# -- pictures ---------------------------------------------------------------------------------

def _png(svg: str, scale: float = 1.0) -> bytes:
    from .render import RenderError, _Failed, _rasterise
    try:
        return _rasterise(svg.encode("utf-8"), scale)
    except _Failed as error:                  # the renderer's own reason, as a public error
        raise RenderError(f"slides: {error.reason}") from None


def frames_png(slides: list[Slide], size: tuple[int, int] = SIZE,
               scale: float = 1.0) -> list[bytes]:
    """Every slide as PNG bytes of `size` pixels (times `scale`), RGB."""
    image, _ = _pillow()
    pictures = []
    for svg in frame_svgs(slides, size):
        picture = image.open(io.BytesIO(_png(svg, scale))).convert("RGB")
        out = io.BytesIO()
        picture.save(out, format="PNG", optimize=False, compress_level=6)
        pictures.append(out.getvalue())
    return pictures


def frame_names(count: int) -> list[str]:
    """step-01.png, step-02.png, ... (wider numbers past 99 slides, so they sort)."""
    digits = max(2, len(str(count)))
    return [f"step-{k:0{digits}d}.png" for k in range(1, count + 1)]


def write_frames(folder: Path, slides: list[Slide], size: tuple[int, int] = SIZE) -> Path:
    """The slides as step-01.png, step-02.png, ... in `folder`, all or none: written aside,
    then moved in; earlier step-*.png frames there that this deck does not have are removed."""
    pictures = frames_png(slides, size)
    write_files_atomically(folder, dict(zip(frame_names(len(pictures)), pictures)),
                           stale=re.compile(r"step-\d+\.png"))
    return folder


def write_gif(path: Path, slides: list[Slide], size: tuple[int, int] = SIZE) -> Path:
    """The slides as an animated GIF that loops: a frame per slide, a pause on each."""
    image, _ = _pillow()
    frames = [image.open(io.BytesIO(data)).quantize(colors=255, dither=image.Dither.NONE)
              for data in frames_png(slides, size)]
    pauses = [PAUSE_MS] * len(frames)
    pauses[0] = pauses[-1] = LONG_PAUSE_MS
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:],
                   duration=pauses, loop=0, optimize=False, disposal=1)
    write_atomically(path, out.getvalue())
    return path


def write_pdf(path: Path, slides: list[Slide], size: tuple[int, int] = SIZE,
              title: str = "") -> Path:
    """The slides as a PDF, a page per slide (16:9 pages of 13.3 x 7.5 inches at the default
    size), each page the slide drawn at PDF_SCALE times its size (288 dpi): crisp in print."""
    width, height = check_size(size)
    pages = frames_png(slides, (width, height), scale=_page_scale(width, height))
    document = pdf_document(pages, (width * PT_PER_PX, height * PT_PER_PX), title=title)
    write_atomically(path, document)
    return path


def _page_scale(width: int, height: int) -> float:
    """PDF_SCALE, or less where a page would have more than PDF_MAX_PIXELS pixels or more
    than Pillow opens (its MAX_IMAGE_PIXELS guard against huge pictures)."""
    image, _ = _pillow()
    budget = min(PDF_MAX_PIXELS, image.MAX_IMAGE_PIXELS or PDF_MAX_PIXELS)
    return min(PDF_SCALE, (budget / (width * height)) ** 0.5 * 0.999)   # resvg rounds up


# -- a small PDF writer: a page per picture, each picture stored losslessly --------------------

def _png_rgb(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and the compressed image data (IDAT) of an 8-bit RGB PNG, which a PDF
    takes as it is (FlateDecode with the PNG predictors)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("pdf: a page is not a PNG")
    position, chunks, header = 8, [], None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    if header is None or header[2:] != (8, 2, 0, 0, 0):
        raise ValueError("pdf: a page must be an 8-bit RGB PNG, not interlaced")
    return header[0], header[1], b"".join(chunks)


def _pdf_text(text: str) -> bytes:
    """A PDF text string: UTF-16 with its byte-order mark, in hex (any character, no escapes)."""
    return b"<FEFF" + text.encode("utf-16-be", "surrogatepass").hex().upper().encode() + b">"


def pdf_document(pages: list[bytes], page_size: tuple[float, float], title: str = "") -> bytes:
    """A PDF with one page of `page_size` points per PNG in `pages`, each filling its page."""
    width, height = page_size
    objects: list[bytes] = []             # object k + 1 is objects[k]

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    def stream(dictionary: bytes, data: bytes) -> bytes:
        return (b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data
                + b"\nendstream")

    catalog = add(b"")                    # filled in once the pages are known
    tree = add(b"")
    kids = []
    for data in pages:
        columns, rows, idat = _png_rgb(data)
        image = add(stream(
            b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
            b"/BitsPerComponent 8 /Filter /FlateDecode /DecodeParms << /Predictor 15 "
            b"/Colors 3 /BitsPerComponent 8 /Columns %d >>" % (columns, rows, columns), idat))
        drawing = zlib.compress(b"q %.2f 0 0 %.2f 0 0 cm /Picture Do Q" % (width, height))
        content = add(stream(b"/Filter /FlateDecode", drawing))
        kids.append(add(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %.2f %.2f] /Resources << "
            b"/XObject << /Picture %d 0 R >> >> /Contents %d 0 R >>"
            % (tree, width, height, image, content)))
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % tree
    objects[tree - 1] = (b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids)
                         + b"] /Count %d >>" % len(kids))
    info = add(b"<< /Title " + _pdf_text(title) + b" /Producer (chainrule) >>")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += (b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objects) + 1, catalog, info, xref))
    return bytes(out)
