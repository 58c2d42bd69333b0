"""Graph: a graphviz.Digraph whose pictures come from chainrule's renderers (render.py), so that
what micrograd's draw_dot users know works (.source, .attr(), .node(), .edge(), .format, .pipe(),
.render(), the Jupyter display) without system Graphviz, within a time limit, with RenderError.
"""

from __future__ import annotations

import os
from pathlib import Path

import graphviz

from ._files import write_atomically

__all__ = ["Graph"]

OUR_FORMATS = ("svg", "png")   # drawn by render.py; other formats need system Graphviz
PICTURE_SUFFIXES = {".svg": "svg", ".png": "png"}
SOURCE_SUFFIXES = (".dot", ".gv")


class Graph(graphviz.Digraph):
    """A drawn graph: a graphviz.Digraph whose pictures come from chainrule's renderers
    (system Graphviz if on PATH, else WebAssembly Graphviz; a time limit; RenderError with
    the reason and a fix; a RenderWarning when one renderer stood in for another).

    .svg(), .png(), .save(path) as before; .pipe(), .render() and the Jupyter display as in
    graphviz, through the same renderers for SVG and PNG (other formats, such as PDF, go to
    system Graphviz as graphviz does). backend ("auto", "dot" or "wasm") and timeout (seconds,
    None for render.TIME_LIMIT) apply to every picture of this graph.
    """

    def __init__(self, *args, backend: str = "auto", timeout: float | None = None,
                 **kwargs) -> None:
        kwargs.setdefault("format", "svg")
        super().__init__(*args, **kwargs)
        self.backend, self.timeout = backend, timeout

    def _copy_kwargs(self, **kwargs):
        return super()._copy_kwargs(backend=self.backend, timeout=self.timeout, **kwargs)

    def __repr__(self) -> str:
        edges = sum(" -> " in line for line in self.body)
        return f"<Graph: {edges} edges; .svg(), .png(), .save(path)>"

    # -- pictures, through render.py ------------------------------------------------------------

    def _options(self, backend: str | None, timeout: float | None) -> dict:
        """The renderer's options for this graph: its backend, and its time limit and layout
        engine when they are not the defaults."""
        options = {"backend": backend or self.backend}
        if timeout is not None or self.timeout is not None:
            options["timeout"] = self.timeout if timeout is None else timeout
        if self.engine != "dot":
            options["engine"] = self.engine
        return options

    def svg(self, backend: str | None = None, timeout: float | None = None) -> str:
        """SVG text (system Graphviz if on PATH, else the bundled WebAssembly Graphviz).
        backend: "auto", "dot" or "wasm"; timeout: seconds (render.TIME_LIMIT by default)."""
        from .render import dot_to_svg
        return dot_to_svg(self.source, **self._options(backend, timeout))

    def png(self, backend: str | None = None, scale: float = 2.0,
            timeout: float | None = None) -> bytes:
        """PNG bytes, `scale` times the natural size (less for a huge graph, with a
        RenderWarning)."""
        from .render import dot_to_png
        return dot_to_png(self.source, scale=scale, **self._options(backend, timeout))

    def _picture(self, format: str, backend: str | None = None,
                 timeout: float | None = None) -> bytes:
        if format == "svg":
            return self.svg(backend=backend, timeout=timeout).encode("utf-8")
        return self.png(backend=backend, timeout=timeout)

    def save(self, filename: str | os.PathLike | None = None,
             directory: str | os.PathLike | None = None, backend: str | None = None,
             timeout: float | None = None, *, skip_existing: bool | None = False) -> Path:
        """Write the graph; the format comes from the suffix: .svg or .png for the picture,
        .dot or .gv (or no name: graphviz's default, name + '.gv') for the DOT text. The file
        is replaced in one step: a failed render leaves any old file as it was."""
        if filename is not None:
            suffix = Path(filename).suffix.lower()
            if suffix in PICTURE_SUFFIXES:
                path = Path(directory or "", filename)
                write_atomically(path, self._picture(PICTURE_SUFFIXES[suffix], backend,
                                                     timeout))
                return path
            if suffix not in SOURCE_SUFFIXES:
                raise ValueError(
                    f"save: cannot tell the format from {os.fspath(filename)!r}; end the name "
                    "in .svg, .png or .dot (other formats: render(format=...), which needs "
                    "system Graphviz)")
            self.filename = os.fspath(filename)
        if directory is not None:
            self.directory = os.fspath(directory)
        path = Path(self.filepath)
        if not (skip_existing and path.exists()):
            write_atomically(path, self.source.encode(self.encoding))
        return path

    def pipe(self, format: str | None = None, renderer: str | None = None,
             formatter: str | None = None, neato_no_op=None, quiet: bool = False, *,
             engine: str | None = None, encoding: str | None = None):
        """The picture as bytes (str with encoding=...), as graphviz's pipe(); SVG and PNG
        come from chainrule's renderers, other formats from system Graphviz."""
        format = format or self.format
        if format in OUR_FORMATS and renderer is formatter is neato_no_op is None:
            graph = self if engine in (None, self.engine) else self._with_engine(engine)
            data = graph._picture(format)
            return data if encoding is None else data.decode(encoding)
        return _system_graphviz(format, lambda: super(Graph, self).pipe(
            format, renderer=renderer, formatter=formatter, neato_no_op=neato_no_op,
            quiet=quiet, engine=engine, encoding=encoding))

    def render(self, filename: str | os.PathLike | None = None,
               directory: str | os.PathLike | None = None, view: bool = False,
               cleanup: bool = False, format: str | None = None, renderer: str | None = None,
               formatter: str | None = None, neato_no_op=None, quiet: bool = False,
               quiet_view: bool = False, *, outfile: str | os.PathLike | None = None,
               engine: str | None = None, raise_if_result_exists: bool = False,
               overwrite_source: bool = False) -> str:
        """Save the DOT text, write the picture beside it (filename + '.svg'), return the
        picture's path: graphviz's render(); SVG and PNG come from chainrule's renderers
        (written in one step), other formats from system Graphviz."""
        given = outfile                          # graphviz's own render() joins directory
        if outfile is not None:
            outfile = Path(outfile)
            if format is None:
                format = outfile.suffix[1:].lower()
                if not format:
                    raise ValueError(f"render: cannot tell the format of {os.fspath(outfile)!r}"
                                     "; give it a suffix (.svg, .png) or format=...")
            if directory is None:
                outfile = Path(self.directory, outfile)
        format = format or self.format
        if format not in OUR_FORMATS or not renderer is formatter is neato_no_op is None:
            return _system_graphviz(format, lambda: super(Graph, self).render(
                filename, directory=directory, view=view, cleanup=cleanup, format=format,
                renderer=renderer, formatter=formatter, neato_no_op=neato_no_op, quiet=quiet,
                quiet_view=quiet_view, outfile=given, engine=engine,
                raise_if_result_exists=raise_if_result_exists,
                overwrite_source=overwrite_source))
        if outfile is not None and filename is None:
            filename = outfile.with_suffix(".gv")
        source = super().save(filename, directory=directory)      # graphviz writes the DOT
        target = outfile if outfile is not None else Path(f"{source}.{format}")
        if raise_if_result_exists and target.exists():
            raise graphviz.FileExistsError(f"output file exists: {os.fspath(target)!r}")
        if Path(target).resolve() == Path(source).resolve() and not overwrite_source:
            raise ValueError(f"render: outfile {os.fspath(target)!r} is the DOT file itself "
                             "(overwrite_source=True allows it)")
        graph = self if engine in (None, self.engine) else self._with_engine(engine)
        write_atomically(target, graph._picture(format))
        if cleanup:
            os.remove(source)
        if view or quiet_view:
            self._view(os.fspath(target), format=format, quiet=quiet_view)
        return os.fspath(target)

    def _with_engine(self, engine: str) -> Graph:
        graph = self.copy()
        graph.engine = engine
        return graph

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        """Jupyter's display: the SVG (through .pipe(), so through chainrule's renderers), or,
        when no picture can be made, the reason as text."""
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except Exception as error:          # show why, instead of nothing
            return {"text/plain": f"{self!r}\n(could not render: {error})"}


def _system_graphviz(format: str, call):
    """Run one of graphviz's own calls (formats chainrule does not draw); a missing `dot`
    becomes RenderError with what to install."""
    from .render import RenderError
    try:
        return call()
    except graphviz.ExecutableNotFound as error:
        raise RenderError(
            f"render: the format {format!r} needs system Graphviz, and `dot` is not on PATH "
            "(apt-get install graphviz, brew install graphviz or winget install graphviz); "
            "svg and png work without it") from error
    except graphviz.CalledProcessError as error:
        message = (error.stderr or b"").decode("utf-8", "replace").strip() \
            if isinstance(error.stderr, bytes) else str(error.stderr or error)
        raise RenderError(f"render: system Graphviz could not make {format!r}: "
                          f"{message[:500]}") from error
