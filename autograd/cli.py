"""The `chainrule` command: draw, step through, tabulate or present the backward pass of an
expression typed on the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .draw import DEFAULT_MAX_NODES, GraphTooLargeError, draw
from .engine import UndefinedMathError
from .expr import FUNCTIONS, ExpressionError, build, parse_assignments
from .render import RenderError
from .steps import backward_pass, ledger
from .text import made_text, value_text

__all__ = ["main"]

EXAMPLE = 'chainrule draw "tanh(x*w + b)" x=2 w=-3 b=6.88 -o neuron.svg'


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="See backpropagation through an expression, one scalar at a time.",
        epilog=f"Example: {EXAMPLE}\nExpressions may use numbers, variables, + - * / **, "
               f"unary minus, parentheses and {', '.join(FUNCTIONS)}.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("expression", help='the expression, quoted: "tanh(x*w + b)"')
        sub.add_argument("values", nargs="*", metavar="NAME=VALUE",
                         help="a value for each variable: x=2 w=-3")
        return sub

    sub = command("draw", "draw the graph after backward: .svg, .png or .dot")
    sub.add_argument("-o", "--output", required=True, help="the file to write (.svg .png .dot)")
    sub.add_argument("--rankdir", default="LR", choices=["LR", "TB"], help="layout direction")
    sub.add_argument("--edge-labels", action="store_true", help="write local derivatives on edges")
    _rendering(sub)
    command("steps", "print each step of the chain rule and the final grads")
    sub = command("ledger", "print the backward pass as a table")
    sub.add_argument("--format", default="text", choices=["text", "md", "latex", "html"],
                     help="text (default), md (Markdown), latex or html")
    command("code", "print the backward pass compiled to Python, and its result")
    sub = command("slides", "write the backward pass as an HTML slideshow")
    sub.add_argument("-o", "--output", default="backprop.html", help="the .html file to write")
    _rendering(sub)
    return parser


def _rendering(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--backend", default="auto", choices=["auto", "dot", "wasm"],
                     help="renderer: system Graphviz (dot), WebAssembly Graphviz (wasm), or "
                          "the first that works (auto)")
    sub.add_argument("--max-nodes", type=int, default=DEFAULT_MAX_NODES,
                     help=f"refuse larger graphs (default {DEFAULT_MAX_NODES})")


def run(arguments: argparse.Namespace) -> None:
    values = parse_assignments(arguments.values)
    root, leaves = build(arguments.expression, values)
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
        suffix = Path(arguments.output).suffix.lower()
        if suffix not in (".svg", ".png", ".dot", ".gv"):
            raise ExpressionError(f"cannot tell the format of {arguments.output!r}: "
                                  "end the name in .svg, .png or .dot")
        root.backward()
        graph = draw(root, rankdir=arguments.rankdir, edge_labels=arguments.edge_labels,
                     max_nodes=arguments.max_nodes)
        path = graph.save(arguments.output, backend=arguments.backend)
        print(f"wrote {path}")
    elif arguments.command == "code":
        _print_code(arguments.expression, leaves)
    elif arguments.command == "slides":
        from .slides import slides
        path = slides(root, arguments.output, title=f"Backpropagation through "
                      f"{arguments.expression}", backend=arguments.backend,
                      max_nodes=arguments.max_nodes)
        print(f"wrote {path}")


def _print_code(expression: str, leaves: dict) -> None:
    """`chainrule code`: the generated function, then (as comments) its result."""
    from .codegen import compile as compile_graph
    from .expr import _build, parse

    tree, names = parse(expression), list(leaves)

    def fn(*xs):
        return _build(tree, dict(zip(names, xs)))
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


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, or 2 for a refused input)."""
    arguments = _parser().parse_args(argv)
    try:
        run(arguments)
    except (ExpressionError, UndefinedMathError, GraphTooLargeError, RenderError,
            OSError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"chainrule: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
