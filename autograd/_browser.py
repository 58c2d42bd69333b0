"""Graphviz in the browser: under Pyodide (the JupyterLite site of `make lite`), DOT becomes SVG
through @viz-js/viz, Graphviz compiled to WebAssembly as one ES module that the site carries.

Loading it is asynchronous in JavaScript. `import autograd` starts it; a render waits for it
synchronously where Pyodide can (run_sync, in browsers with JavaScript promise integration),
otherwise it is ready by the next cell, or after one `await autograd.browser_ready()`.
"""

from __future__ import annotations

import asyncio
import sys

VIZ = "../viz-js/viz.js"     # where lite/build.py puts it, from the folder of the site's lock file

_viz = None                  # the Viz instance, once loaded
_loading = None              # the Future that loads it


def here() -> bool:
    """True in Pyodide, where this renderer is the one that can run."""
    return sys.platform == "emscripten"


def preload():
    """Start loading viz.js (once); returns the Future that finishes when it is ready."""
    global _loading
    if _loading is None:
        import js
        import pyodide_js
        from pyodide.code import run_js
        url = js.URL.new(VIZ, pyodide_js.lockfileBaseUrl or js.location.href).href
        load = run_js("url => import(url).then(module => module.instance())")
        _loading = asyncio.ensure_future(_keep(load(url)))
    return _loading


async def _keep(promise):
    global _viz
    _viz = await promise
    return _viz


async def ready() -> None:
    """Wait until the browser's Graphviz is loaded (needed only where run_sync is not)."""
    if here() and _viz is None:
        await preload()


def svg(source: str, engine: str = "dot") -> bytes:
    """SVG for DOT `source`. Raises LookupError while (or if) it cannot load, ValueError for a
    graph that Graphviz refuses."""
    from pyodide.ffi import JsException, can_run_sync, run_sync, to_js
    if _viz is None:
        loading = preload()
        if not loading.done():
            if not can_run_sync():
                raise LookupError("is still loading (this browser cannot wait for it inside "
                                  "a cell): run the cell again, or `await "
                                  "autograd.browser_ready()` once first")
            try:
                run_sync(loading)
            except Exception:
                pass
        if _viz is None:
            raise LookupError(f"could not be loaded ({loading.exception()}); the site puts "
                              f"it in static/viz-js/viz.js (make lite)")
    import js
    options = to_js({"format": "svg", "engine": engine}, dict_converter=js.Object.fromEntries)
    try:
        return _viz.renderString(source, options).encode("utf-8")
    except JsException as error:
        raise ValueError(str(error).removeprefix("Error: ")) from None
