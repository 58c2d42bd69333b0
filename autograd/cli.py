"""The `chainrule` command: draw, step through, tabulate or present the backward pass of an
expression typed on the command line.

Every failure is one line on stderr and a non-zero exit (2 for a refused input, 1 for a bug:
CHAINRULE_DEBUG=1 shows its traceback); nothing typed is ever run as Python."""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import re
import sys
import warnings
from pathlib import Path

from .draw import DEFAULT_MAX_NODES, GraphTooLargeError, draw
from .engine import UndefinedMathError
from .expr import FUNCTIONS, ExpressionError, build, parse_assignments
from .render import TIME_LIMIT, RenderError
from .steps import backward_pass, ledger
from .text import made_text, value_text

__all__ = ["main"]

EXAMPLE = 'chainrule draw "tanh(x*w + b)" x=2 w=-3 b=6.88 -o neuron.svg'
DRAW_FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot"}


class CommandLineError(ValueError):
    """A refused command line (a missing folder, a format the name contradicts, ...)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (no usage block) and exit status 2."""

    def error(self, message: str):
        raise CommandLineError(f"{message} (see {self.prog} --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="chainrule",
        description="See backpropagation through an expression, one scalar at a time.",
        epilog=f"Example: {EXAMPLE}\nExpressions may use numbers, variables, + - * / **, "
               f"unary minus, parentheses and {', '.join(FUNCTIONS)}.\n"
               "Errors are one line; CHAINRULE_DEBUG=1 shows the traceback of a crash.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("expression", help='the expression, quoted: "tanh(x*w + b)"')
        sub.add_argument("values", nargs="*", metavar="NAME=VALUE",
                         help="a value for each variable: x=2 w=-3")
        return sub

    sub = command("draw", "draw the graph after backward: .svg, .png or .dot")
    sub.add_argument("-o", "--output", required=True,
                     help="the file to write (.svg .png .dot), or - for standard output")
    sub.add_argument("--format", choices=["svg", "png", "dot"],
                     help="the format (default: from the file name; svg for -o -)")
    sub.add_argument("--rankdir", default="LR", choices=["LR", "TB"], help="layout direction")
    sub.add_argument("--edge-labels", action="store_true", help="write local derivatives on edges")
    _rendering(sub)
    command("steps", "print each step of the chain rule and the final grads")
    sub = command("ledger", "print the backward pass as a table")
    sub.add_argument("--format", default="text", choices=["text", "md", "latex", "html"],
                     help="text (default), md (Markdown), latex or html")
    command("code", "print the backward pass compiled to Python, and its result")
    sub = command("slides", "write the backward pass as slides: an HTML slideshow, a PDF "
                            "handout, an animated GIF or a folder of PNG frames")
    sub.add_argument("-o", "--output", default="backprop.html",
                     help="what to write: backprop.html (a slideshow), backprop.pdf (a page per "
                          "slide), backprop.gif (an animation), frames/ (ending in /: "
                          "step-01.png, step-02.png, ...), or - (the HTML on standard output)")
    sub.add_argument("--size", default="1920x1080", type=_size, metavar="WIDTHxHEIGHT",
                     help="pixels of each picture for .gif and frames/ (default 1920x1080; "
                          "a PDF page is 16:9 of this shape)")
    _rendering(sub)
    return parser


def _size(text: str) -> tuple[int, int]:
    """1920x1080 -> (1920, 1080)."""
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT in pixels, such as "
                                         "1920x1080")
    return int(parts[0]), int(parts[1])


def _rendering(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--backend", default="auto", choices=["auto", "dot", "wasm"],
                     help="renderer: system Graphviz (dot), WebAssembly Graphviz (wasm), or "
                          "the first that works (auto)")
    sub.add_argument("--max-nodes", type=int, default=DEFAULT_MAX_NODES,
                     help=f"refuse larger graphs (default {DEFAULT_MAX_NODES})")
    sub.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS",
                     help=f"the time limit of each render (default {TIME_LIMIT:g})")


def _seconds(text: str) -> float:
    """--timeout 60 -> 60.0: a positive, finite number of seconds."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (seconds > 0 and math.isfinite(seconds)):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return seconds


@contextlib.contextmanager
def _time_limit(seconds: float | None):
    """Every render in the block gets `seconds` (None: the default), as render(timeout=)."""
    from . import render
    before = render.TIME_LIMIT
    if seconds is not None:
        render.TIME_LIMIT = seconds
    try:
        yield
    finally:
        render.TIME_LIMIT = before


def _expression_not_an_option(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """`chainrule steps "-x" x=1`: an expression that starts with - is not an option. Finds the
    expression's place (the first argument after the command that is no option) and, if it
    starts with -, gives it a leading space, which argparse does not read as an option and the
    expression parser ignores."""
    argv = list(argv)
    commands = next((action.choices for action in parser._actions
                     if isinstance(action, argparse._SubParsersAction)), {})
    position = next((i for i, token in enumerate(argv) if token in commands), None)
    if position is None:
        return argv
    options = commands[argv[position]]._option_string_actions
    i = position + 1
    while i < len(argv):
        token = argv[i]
        if token == "--":
            return argv
        name = token.split("=", 1)[0]
        matches = [option for option in options if option == name or
                   (name.startswith("--") and len(name) > 2 and option.startswith(name))]
        if token.startswith("-") and matches:
            takes_value = options[matches[0]].nargs != 0 and "=" not in token
            i += 2 if takes_value else 1
            continue
        if token[:2] in options and not token.startswith("--") and \
                options[token[:2]].nargs != 0:           # -ofile.svg: an option and its value
            i += 1
            continue
        if token.startswith("-") and len(token) > 1:
            argv[i] = " " + token
        return argv
    return argv


def run(arguments: argparse.Namespace) -> None:
    if "=" in arguments.expression and arguments.values and "=" not in arguments.values[0]:
        raise CommandLineError(f"the expression comes first, then the values: chainrule "
                               f"{arguments.command} \"{arguments.values[0]}\" "
                               f"{arguments.expression.strip()}")
    values = parse_assignments(arguments.values)
    output = _output(arguments)
    root, leaves = build(arguments.expression, values, check_backward=True)
    unused = sorted(set(values) - set(leaves))
    if unused:
        print(f"chainrule: note: {', '.join(unused)} not used in the expression",
              file=sys.stderr)
    if arguments.command == "steps":
        run = backward_pass(root)                # on the side: the graph's grads untouched
        names = run.names
        print("forward:")
        for node in run.order:
            if node.parents:
                print(f"  {names[id(node)]} = {made_text(node, names)} = {value_text(node.data)}")
        print("backward:")
        for step in run.steps:
            _print("  " + str(step).replace("\n", "\n  "))
        print("grads: " + ", ".join(f"d{names[id(root)]}/d{name} = {value_text(run.grad(leaf))}"
                                    for name, leaf in leaves.items()))
    elif arguments.command == "ledger":
        table = ledger(root)
        text = {"text": str, "md": lambda t: t.to_markdown(), "latex": lambda t: t.to_latex(),
                "html": lambda t: t.to_html()}[arguments.format](table)
        _print(text.rstrip("\n"))
    elif arguments.command == "draw":
        root.backward()
        graph = draw(root, rankdir=arguments.rankdir, edge_labels=arguments.edge_labels,
                     max_nodes=arguments.max_nodes)
        if output is None:
            _write_stdout({"svg": lambda: graph.svg(backend=arguments.backend).encode("utf-8"),
                           "png": lambda: graph.png(backend=arguments.backend),
                           "dot": lambda: graph.source.encode("utf-8")}[arguments.format]())
        else:
            print(f"wrote {graph.save(output, backend=arguments.backend)}")
    elif arguments.command == "code":
        _print_code(arguments.expression, leaves)
    elif arguments.command == "slides":
        from .slides import slides, slides_html
        title = f"Backpropagation through {arguments.expression.strip()}"
        if output is None:
            _write_stdout(slides_html(root, title=title, backend=arguments.backend,
                                      max_nodes=arguments.max_nodes).encode("utf-8"))
        else:
            path = slides(root, output, title=title, backend=arguments.backend,
                          max_nodes=arguments.max_nodes, size=arguments.size)
            if path.is_dir():
                count = len(list(path.glob("step-*.png")))
                print(f"wrote {count} frames in {path}{os.sep}")
            else:
                print(f"wrote {path}")


SLIDES_FORMATS = (".html", ".htm", ".pdf", ".gif")


def _output(arguments: argparse.Namespace) -> Path | str | None:
    """Where -o writes: None for standard output (-o -), else a path whose folder exists (a
    missing folder is refused, not created). For draw, settles arguments.format. For slides,
    a name ending in / is a folder of frames (its parent must exist): returned as the text,
    which keeps the /."""
    name = getattr(arguments, "output", None)
    if name is None:
        return None
    if name == "-":
        if arguments.command == "draw":
            arguments.format = arguments.format or "svg"
        return None
    if arguments.command == "slides" and name and (name.endswith(("/", os.sep))
                                                   or Path(name).is_dir()):
        parent = Path(name).parent
        if not parent.is_dir():
            what = "is not a folder" if parent.exists() else "does not exist"
            raise CommandLineError(f"cannot write frames in {name}: the folder {parent} {what} "
                                   f"(create it first: mkdir -p {parent})")
        if Path(name).exists() and not Path(name).is_dir():
            raise CommandLineError(f"cannot write frames in {name}: it is a file, not a folder")
        return name
    if arguments.command == "slides" and Path(name).suffix.lower() not in SLIDES_FORMATS:
        raise CommandLineError(f"cannot tell what to write from {name!r}: end the name in .html "
                               "(a slideshow), .pdf (a handout), .gif (an animation), or in / for "
                               "a folder of PNG frames")
    if not name or name.endswith(("/", os.sep)):
        raise CommandLineError(f"-o {name!r} is not a file name: give one, such as "
                               f"{'neuron.svg' if arguments.command == 'draw' else 'backprop.html'}"
                               ", or - for standard output")
    path = Path(name)
    if arguments.command == "draw":
        from_name = DRAW_FORMATS.get(path.suffix.lower())
        if from_name is None:
            raise CommandLineError(f"cannot tell the format of {name!r}: end the name in .svg, "
                                   ".png or .dot")
        if arguments.format and arguments.format != from_name:
            raise CommandLineError(f"--format {arguments.format} but the file name {name!r} "
                                   f"says {from_name}: make them agree")
        arguments.format = from_name
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise CommandLineError(f"cannot write {name}: the folder {folder} {what} "
                               f"(create it first: mkdir -p {folder})")
    return path


def _print_code(expression: str, leaves: dict) -> None:
    """`chainrule code`: the generated function, then (as comments) its result."""
    from .codegen import compile as compile_graph

    names = list(leaves)

    def fn(*xs):
        return build(expression, dict(zip(names, xs)))[0]
    fn.__qualname__ = expression                       # named in the generated code's header
    compiled = compile_graph(fn, *leaves.values())
    values = [leaf.data for leaf in leaves.values()]
    value, grads = compiled(*values)
    _print(compiled.source.rstrip("\n"))
    given = ", ".join(f"{name}={value_text(x)}" for name, x in zip(compiled.arguments, values))
    print(f"\n# {compiled.name}({given}) returns")
    print(f"#   value: {value_text(value)}")
    for name, grad in zip(compiled.arguments, grads):
        print(f"#   d/d{name}: {value_text(grad)}")


def _print(text: str) -> None:
    """Print, writing characters the terminal's encoding lacks (∂ on a legacy Windows code
    page) as escapes instead of failing."""
    try:
        print(text)
    except UnicodeEncodeError:
        encoding = sys.stdout.encoding or "ascii"
        print(text.encode(encoding, "backslashreplace").decode(encoding))


def _write_stdout(data: bytes) -> None:
    if sys.stdout is None:                      # started with stdout closed (>&-)
        raise CommandLineError("standard output is closed: give -o the name of a file")
    if data.startswith(b"\x89PNG") and sys.stdout.isatty():
        raise CommandLineError("refusing to write a PNG to the terminal: redirect it "
                               "(> graph.png) or give -o the name of a file")
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:                          # a text-only stream (e.g. in a notebook)
        sys.stdout.write(data.decode("utf-8", "backslashreplace"))
    else:
        buffer.write(data)
        buffer.flush()


# Refused inputs: the message says what and why (exit 2).
REFUSED = (ExpressionError, CommandLineError, UndefinedMathError, GraphTooLargeError,
           RenderError, ValueError, OSError, ImportError)   # ImportError: says what to install


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status: 0, 2 for a refused input, 1 for a bug
    (one line each; CHAINRULE_DEBUG=1 shows the traceback), 130 when interrupted."""
    with _printable_streams():
        try:
            parser = _parser()
            argv = sys.argv[1:] if argv is None else argv
            try:
                arguments = parser.parse_args(_expression_not_an_option(parser, argv))
            except SystemExit as done:          # --help and friends
                return done.code if isinstance(done.code, int) else 0
            with warnings.catch_warnings(), _time_limit(getattr(arguments, "timeout", None)):
                warnings.showwarning = _show_warning    # one line, as the errors
                run(arguments)
            if sys.stdout is not None:          # None when started with stdout closed (>&-)
                sys.stdout.flush()
        except BrokenPipeError:                 # chainrule steps ... | head: not an error
            _silence_stdout()
            return 1
        except KeyboardInterrupt:
            _say("chainrule: interrupted")
            return 130
        except REFUSED as error:
            if _debug():
                raise
            message = _in_options(_one_line(error))
            if isinstance(error, UnicodeError):
                message = f"text that is not valid UTF-8 ({message})"
            _say(f"chainrule: error: {message}")
            return 2
        except (RecursionError, MemoryError) as error:
            if _debug():
                raise
            what = "too deeply nested" if isinstance(error, RecursionError) else "too large"
            _say(f"chainrule: error: the expression is {what} to work through here; "
                 "make it smaller")
            return 2
        except Exception as error:              # a bug: still one line, never a traceback
            if _debug():
                raise
            _say(f"chainrule: internal error: {type(error).__name__}: {_one_line(error)} "
                 "(a bug in chainrule: please report it with the command; "
                 "CHAINRULE_DEBUG=1 shows the traceback)")
            return 1
    return 0


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning (a RenderWarning: one renderer stood in for another) as one line."""
    _say(f"chainrule: warning: {_one_line(message)}")


def _in_options(message: str) -> str:
    """A fix written in Python (max_nodes=..., timeout=...) as the option that does it."""
    message = re.sub(r"draw\(root, max_nodes=(\d+)\)|max_nodes=(\d+)",
                     lambda m: f"--max-nodes {m[1] or m[2]}", message)
    return message.replace("(timeout=...)", "(--timeout SECONDS)")


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else "") or type(error).__name__


def _debug() -> bool:
    return os.environ.get("CHAINRULE_DEBUG", "") not in ("", "0")


def _say(line: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr)
        sys.stderr.flush()


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null, so that Python's final flush does not
    print a second error (the pattern the Python docs give for SIGPIPE)."""
    with contextlib.suppress(OSError, ValueError, AttributeError, io.UnsupportedOperation):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


@contextlib.contextmanager
def _printable_streams():
    """Print any text, even a file name with bytes that are not UTF-8, without a
    UnicodeEncodeError: unprintable characters come out as backslash escapes."""
    changed = []
    for stream in (sys.stdout, sys.stderr):
        errors = getattr(stream, "errors", None)
        if errors == "strict" and hasattr(stream, "reconfigure"):
            with contextlib.suppress(Exception):
                stream.reconfigure(errors="backslashreplace")
                changed.append((stream, errors))
    try:
        yield
    finally:
        for stream, errors in changed:
            with contextlib.suppress(Exception):
                stream.reconfigure(errors=errors)


if __name__ == "__main__":
    sys.exit(main())
