"""The chainrule command: every command, and every refused input (exit 2, one line, nothing
evaluated)."""

import html
import subprocess
import sys
from pathlib import Path

import png
import pytest

from autograd import Value
from autograd.cli import main
from autograd.expr import ExpressionError, build, parse

NEURON = ["tanh(x*w + b)", "x=2", "w=-3", "b=6.88"]


def run_cli(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def expected_neuron_grads():
    x, w, b = Value(2.0), Value(-3.0), Value(6.88)
    (x * w + b).tanh().backward()
    return x.grad, w.grad, b.grad


@pytest.mark.parametrize("suffix", [".svg", ".png", ".dot"])
def test_draw_writes_each_format(capsys, tmp_path, suffix):
    target = tmp_path / f"neuron{suffix}"
    status, out, err = run_cli(capsys, "draw", *NEURON, "-o", str(target), "--backend", "wasm")
    assert status == 0 and out.strip() == f"wrote {target}" and err == ""
    data = target.read_bytes()
    if suffix == ".png":
        width, height, _ = png.decode(data)
        assert width > 300 and height > 50
    else:
        text = data.decode("utf-8")
        assert ("<svg" in text) if suffix == ".svg" else text.startswith("digraph")
        assert "grad -1.50292" in html.unescape(text)   # drawn after backward


def test_steps_prints_every_step_and_the_grads_of_backward(capsys):
    status, out, err = run_cli(capsys, "steps", *NEURON)
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "forward:" and "  v1 = x * w = -6.0" in lines
    assert "  step 1/3 at L (tanh)" in lines and "  step 3/3 at v1 (*)" in lines
    assert "    dL/dx += ∂v1/∂x * dL/dv1 = w * 0.500972 = -3.0 * 0.500972 = -1.50292" in lines
    dx, dw, db = expected_neuron_grads()
    assert lines[-1] == (f"grads: dL/dx = {dx:.6g}, dL/dw = {dw:.6g}, dL/db = {db:.6g}")


@pytest.mark.parametrize("fmt, start", [("text", "node  op"), ("md", "| node | op |"),
                                        ("latex", r"\begin{tabular}"),
                                        ("html", '<table class="chainrule-ledger">')])
def test_ledger_in_each_format(capsys, fmt, start):
    status, out, _ = run_cli(capsys, "ledger", "x**2 + log(x)", "x=3", "--format", fmt)
    assert status == 0 and out.startswith(start)
    assert "6.33333" in out                  # d/dx (x**2 + log x) at 3 = 6 + 1/3


def test_slides_writes_the_slideshow(capsys, tmp_path):
    target = tmp_path / "backprop.html"
    status, out, _ = run_cli(capsys, "slides", *NEURON, "-o", str(target), "--backend", "wasm")
    assert status == 0 and target.read_text(encoding="utf-8").count('<section class="slide') == 5


def test_unused_values_are_noted_not_refused(capsys):
    status, _, err = run_cli(capsys, "steps", "x*2", "x=1", "y=2")
    assert status == 0 and "y not used" in err


REFUSED = [
    ("__import__('os').system('touch {marker}')", "attribute access"),
    ("__import__('os')", "'__import__'"),
    ("x.__class__", "attribute access"),
    ("(lambda: 1)()", "lambdas"),
    ("[x for x in (1, 2)]", "comprehensions"),
    ("{{x: 1 for x in (1,)}}", "comprehensions"),
    ("x[0]", "subscripts"),
    ("'touch {marker}'", "strings"),
    ("open('{marker}', 'w')", "open()"),
    ("x if x else 1", "if-else"),
    ("x < 1", "comparisons"),
    ("x and 1", "and/or"),
    ("(y := 2)", "assignments"),
    ("x % 2", "Mod"),
    ("x // 2", "FloorDiv"),
    ("~x", "Invert"),
    ("x @ x", "MatMult"),
    ("True * x", "True"),
    ("1j * x", "1j"),
    ("exp(x, 2)", "exactly one argument"),
    ("exp(x=1)", "exactly one argument"),
    ("exp", "exp is a function"),
    ("f'{{x}}'", "f-strings"),
    ("[x]", "lists"),
    ("(x, 1)", "tuples"),
    ("9" * 400 + " * x", "too large"),
    ("(" * 300 + "x" + ")" * 300, "too many nested parentheses"),
    ("1 + " + "-" * 5000 + "x", "nested too deeply"),
]


@pytest.mark.parametrize("expression, named", REFUSED)
def test_refused_expressions_exit_2_with_one_line_naming_what(capsys, tmp_path, expression,
                                                               named):
    marker = tmp_path / "was-evaluated"
    status, out, err = run_cli(capsys, "steps", expression.format(marker=marker), "x=1")
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("chainrule: error: ")
    assert named in err
    assert not marker.exists()


@pytest.mark.parametrize("argv, named", [
    (["steps", "x + y", "x=1"], "no value for y"),
    (["steps", "x", "x=abc"], "must be a number"),
    (["steps", "x", "x"], "expected name=value"),
    (["steps", "x", "=2"], "expected name=value"),
    (["steps", "x", "x=1", "x=2"], "given twice"),
    (["steps", "x", "x=nan"], "finite"),
    (["steps", "x", "_x=1"], "cannot be a variable name"),
    (["steps", "x", "exp=1"], "cannot be a variable name"),
    (["steps", "log(x)", "x=-1"], "log: undefined for x <= 0"),
    (["steps", "1/x", "x=0"], "division by zero"),
    (["steps", "sqrt(x)", "x=0"], "backward through sqrt"),
    (["steps", "x +", "x=1"], "not a valid expression"),
    (["draw", "x", "x=1", "-o", "out.jpg"], "end the name in .svg, .png or .dot"),
    (["draw", "x*x*x*x", "x=1", "-o", "big.svg", "--max-nodes", "3"], "max_nodes"),
])
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, monkeypatch, argv, named):
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli(capsys, *argv)
    assert status == 2 and len(err.strip().splitlines()) == 1 and named in err
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []


def test_python_dash_m_and_the_console_script_run(tmp_path):
    done = subprocess.run([sys.executable, "-m", "autograd", "steps", "x*x", "x=3"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.splitlines()[-1] == "grads: dL/dx = 6.0"
    refused = subprocess.run([sys.executable, "-m", "autograd", "steps", "x.real", "x=3"],
                             capture_output=True, text=True, check=False)
    assert refused.returncode == 2 and "attribute access" in refused.stderr
    assert "Traceback" not in refused.stderr
    script = Path(sys.executable).parent / "chainrule"
    if script.exists():                      # installed with pip: the console script too
        done = subprocess.run([str(script), "--help"], capture_output=True, text=True,
                              check=False)
        assert done.returncode == 0 and "steps" in done.stdout


def test_argparse_errors_also_exit_2(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate", "x"])
    assert caught.value.code == 2


def test_the_parser_builds_the_same_graph_as_python():
    root, leaves = build("tanh(x*w + b) ** 2 - -x / 2", {"x": 2, "w": -3, "b": 6.88})
    root.backward()
    x, w, b = Value(2.0), Value(-3.0), Value(6.88)
    expected = (x * w + b).tanh() ** 2 - -x / 2
    expected.backward()
    assert root.data == expected.data
    assert [leaves[n].grad for n in "xwb"] == [x.grad, w.grad, b.grad]
    assert root.parents[0].op == "**" and len(root.parents[0].parents) == 1   # number exponent


def test_parse_refuses_non_text_and_huge_input():
    with pytest.raises(ExpressionError):
        parse(3)
    with pytest.raises(ExpressionError, match="limit"):
        parse("x+" * 6000 + "x")
