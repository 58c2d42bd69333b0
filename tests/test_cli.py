"""The chainrule command: every command, and every refused input (exit 2, one line, nothing
evaluated)."""

import html
import os
import random
import re
import signal
import stat
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
                                        ("html", '<table class="chainrule-ledger ')])
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
    ("x ^ 2", "use ** for powers: x**2"),
    ("x % 2", "% (Mod)"),
    ("math.exp(x)", "write exp(...) without math."),
    ("Tanh(x)", "did you mean tanh()?"),
    ("ln(x)", "log(x) is the natural logarithm"),
    ("x(x + 1)", "for a product write x*(...)"),
    ("2(x + 1)", "write 2*(...) for a product"),
    ("2x", "write 2*x for a product"),
    ("", "the expression is empty"),
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
    (["steps", "x", "x=-1e-400"], "too small for a float"),
    (["steps", "x", "_x=1"], "cannot be a variable name"),
    (["steps", "x", "exp=1"], "cannot be a variable name"),
    (["steps", "log(x)", "x=-1"], "log(x) is undefined at x = -1.0: log needs a number > 0"),
    (["steps", "1/x", "x=0"], "division by zero"),
    (["steps", "sqrt(x)", "x=0"], "backward through sqrt(x): its local derivative with "
                                  "respect to x is infinite at x = 0.0"),
    (["steps", "x +", "x=1"], "not a valid expression"),
    (["draw", "x", "x=1", "-o", "out.jpg"], "end the name in .svg, .png or .dot"),
    (["draw", "x*x*x*x", "x=1", "-o", "big.svg", "--max-nodes", "3"], "--max-nodes 3"),
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


@pytest.mark.parametrize("argv, named", [
    (["frobnicate", "x"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required: COMMAND"),
    (["steps"], "the following arguments are required: expression"),
    (["draw", "x", "x=1"], "the following arguments are required: -o/--output"),
    (["ledger", "x", "x=1", "--format", "pdf"], "invalid choice: 'pdf'"),
    (["draw", "x", "x=1", "-o", "a.svg", "--max-nodes", "many"], "invalid int value"),
    (["steps", "x", "x=1", "--frobnicate"], "unrecognized arguments: --frobnicate"),
])
def test_argparse_errors_are_one_line_and_exit_2(capsys, argv, named):
    status, out, err = run_cli(capsys, *argv)
    assert status == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("chainrule: error: ") and named in err and "--help" in err


def test_help_exits_0(capsys):
    status, out, _ = run_cli(capsys, "--help")
    assert status == 0 and "steps" in out and "CHAINRULE_DEBUG" in out
    status, out, _ = run_cli(capsys, "draw", "--help")
    assert status == 0 and "- for standard output" in " ".join(out.split())


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


# -- every class of failure the adversarial pass found (issue 9), each kept closed ------------

def refused(capsys, *argv):
    """Run the command; it must be refused: exit 2, nothing on stdout, one line on stderr."""
    status, out, err = run_cli(capsys, *argv)
    assert status == 2, (status, out, err)
    assert out == "" and err.count("\n") == 1 and err.startswith("chainrule: error: "), err
    return err


def test_deep_nesting_builds_iteratively_up_to_the_limit(capsys):
    status, out, err = run_cli(capsys, "steps", "x" + "**1" * 500, "x=2")   # no RecursionError
    assert status == 0 and out.splitlines()[-1] == "grads: dL/dx = 1.0" and err == ""
    status, out, _ = run_cli(capsys, "ledger", "x" + " + x" * 900, "x=1")
    assert status == 0 and "901.0" in out                                  # d/dx of 901 x


@pytest.mark.parametrize("expression", [
    "x" + "**1" * 1500,                       # parses, but deeper than the limit
    "1 + " + "-" * 5000 + "x",                # Python's parser gives up on some versions
    "x" + "+x" * 4000,                        # a long chain is deep too
    "(" * 300 + "x" + ")" * 300,              # Python's 200-parentheses limit
])
def test_too_deep_names_the_limit_and_what_to_do(capsys, expression):
    err = refused(capsys, "steps", expression, "x=1")
    assert "nested too deeply" in err and "with less nesting" in err
    assert "1,000" in err or "200" in err


@pytest.mark.parametrize("expression, named", [
    ("x**(1e308*10)", "1e308*10 is inf: beyond the largest float"),   # folded constants
    ("sin(x*1e308*10)", "x*1e308*10 is inf at x = 1.0"),              # not 'math domain error'
    ("x*1e308*10", "x*1e308*10 is inf at x = 1.0"),
    ("1/(x*1e-320)", "1/(x*1e-320) is inf at x = 1.0"),
    ("exp(x*800)", "exp(x*800) overflows at x = 1.0"),
    ("(x*1e200)**2", "(x*1e200)**2 is inf at x = 1.0"),
    ("x - 1e308 - 1e308", "x - 1e308 - 1e308 is -inf"),
    ("x * 1e-400", "the number 1e-400 is too small for a float"),      # underflow: not 0.0
])
def test_overflow_anywhere_is_refused_naming_the_part(capsys, expression, named):
    err = refused(capsys, "steps", expression, "x=1")
    assert named in err and "Traceback" not in err


@pytest.mark.parametrize("argv, named", [
    (["log(x)", "x=5e-324"], "backward through log(x): its local derivative with respect to x"),
    (["1e300 * log(x)", "x=1e-10"], "backward: the grad of x is beyond the largest float"),
    (["sqrt(x) * y", "x=0", "y=2"], "backward through sqrt(x)"),
])
def test_a_grad_that_would_be_inf_or_nan_is_refused_before_anything_is_printed(capsys, argv,
                                                                              named):
    for command in ("steps", "ledger"):
        err = refused(capsys, command, *argv)
        assert named in err


@pytest.mark.parametrize("argv, named", [
    (["b/x", "b=0", "x=0"], "division by zero in b/x at b = 0.0, x = 0.0: the divisor x is 0.0"),
    (["w/(x - 1)", "w=3", "x=1"], "the divisor x - 1 is 0.0"),
    (["x**-1", "x=0"], "the base x = 0.0 is zero and the power -1 is negative"),
    (["x**0.5", "x=-4"], "the base x = -4.0 is negative and the power 0.5 is not a whole"),
    (["(-2)**x", "x=1"], "(-2)**x needs a positive base at x = 1.0, but the base is -2"),
    (["log(w - 3)", "w=1"], "log(w - 3) is undefined at w = 1.0: log needs a number > 0, "
                            "but w - 3 = -2.0"),
    (["sqrt(0 - x)", "x=1"], "sqrt(0 - x) is undefined at x = 1.0"),
])
def test_math_errors_use_the_students_own_names(capsys, argv, named):
    err = refused(capsys, "steps", *argv)
    assert named in err
    assert "divisor b" not in err and " a / b" not in err


@pytest.mark.parametrize("argv, named", [
    (["W*x", "w=1", "x=2"], "no value for W: give W=... after the expression; did you mean w?"),
    (["wieght * x", "weight=1", "x=2"], "did you mean weight?"),
    (["e**x", "x=1"], "for Euler's number write exp(x) instead of e**x"),
    (["sin(pi*x)", "x=1"], "give pi=3.141592653589793"),
    (["x=1", "x*2"], 'the expression comes first, then the values: chainrule steps "x*2" x=1'),
    (["e^x", "x=1"], "for e to the power x write exp(x)"),
    (["E^(2*x)", "x=1"], "write exp(2*x)"),
    (["x^(y+1)", "x=1", "y=2"], "use ** for powers: x**(y+1)"),     # the grouping kept
    (["x.exp()", "x=1"], "write exp(x)"),
    (["(x+1).tanh()", "x=1"], "write tanh(x+1)"),
    (["exp x", "x=1"], "call a function with parentheses: exp(x)"),
    (["x²", "x=1"], "write **2 for ²"),
    (["x×y", "x=1", "y=2"], "write * for ×"),
    (["x−y", "x=1", "y=2"], "write - for −"),
    (["√x", "x=1"], "write sqrt(x) for √"),
])
def test_common_slips_get_a_teaching_message(capsys, argv, named):
    assert named in refused(capsys, "steps", *argv)


@pytest.mark.parametrize("argv, grads", [
    (["steps", "-x", "x=2"], "grads: dL/dx = -1.0"),
    (["steps", "-x*w + 1", "x=2", "w=3"], "grads: dL/dx = -3.0, dL/dw = -2.0"),
    (["steps", "--x", "x=2"], "grads: dL/dx = 1.0"),                # -(-x)
    (["steps", "-2*x", "x=2"], "grads: dL/dx = -2.0"),
    (["draw", "-o", "-", "--format", "dot", "-x", "x=2"], "grad -1.0"),  # after options
    (["draw", "--format=dot", "-o-", "-x", "x=2"], "grad -1.0"),
])
def test_an_expression_starting_with_minus_is_not_an_option(capsys, argv, grads):
    status, out, err = run_cli(capsys, *argv)
    assert status == 0 and err == "", err
    assert grads in (out.splitlines()[-1] if argv[0] == "steps" else out)


def test_bytes_that_are_not_utf8_never_crash(capsys, tmp_path):
    # On POSIX, Python hands undecodable argv bytes over as lone surrogates.
    err = refused(capsys, "steps", "x\udcff + 1", "x=1")
    assert "not UTF-8" in err and "\\xff" in err
    err = refused(capsys, "steps", "x", "x\udcff=1")
    assert "not UTF-8" in err
    target = str(tmp_path) + "/neuron\udcff.dot"          # a legal (if odd) file name
    status, out, err = run_cli(capsys, "draw", "x*2", "x=1", "-o", target)
    assert status == 0 and err == "" and "neuron\\udcff.dot" in out
    assert (tmp_path / "neuron\udcff.dot").read_bytes().startswith(b"digraph")


def test_bytes_that_are_not_utf8_from_a_real_shell(tmp_path):
    """The same through a real process: argv bytes, a non-UTF-8 file name, no traceback."""
    command = [sys.executable, "-m", "autograd"]
    done = subprocess.run([*command, "steps", b"x\xff", "x=1"], capture_output=True,
                          check=False)
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.count(b"\n") == 1 and b"not UTF-8" in done.stderr
    target = os.fsencode(tmp_path) + b"/graph\xff.dot"
    done = subprocess.run([*command, "draw", "x*2", "x=1", "-o", target], capture_output=True,
                          check=False)
    assert done.returncode == 0 and done.stderr == b"" and os.path.exists(target)


def test_garbage_from_dot_is_one_line(capsys, tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "dot"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\ncat > /dev/null\nprintf '\\377\\376<svg>garbage'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    err = refused(capsys, "draw", "x*2", "x=1", "-o", str(tmp_path / "g.svg"), "--backend",
                  "dot")
    assert "not valid UTF-8" in err
    assert not (tmp_path / "g.svg").exists()


def test_an_unexpected_exception_is_still_one_line(capsys, monkeypatch):
    def broken(arguments):
        raise RuntimeError("something inside went wrong\nsecond line")
    monkeypatch.setattr("autograd.cli.run", broken)
    monkeypatch.delenv("CHAINRULE_DEBUG", raising=False)
    status, out, err = run_cli(capsys, "steps", "x", "x=1")
    assert status == 1 and out == "" and err.count("\n") == 1
    assert err.startswith("chainrule: internal error: RuntimeError: something inside went "
                          "wrong (a bug") and "CHAINRULE_DEBUG=1" in err
    monkeypatch.setenv("CHAINRULE_DEBUG", "1")            # the traceback, on request
    with pytest.raises(RuntimeError, match="something inside"):
        main(["steps", "x", "x=1"])


@pytest.mark.parametrize("exception, status, said", [
    (KeyboardInterrupt(), 130, "chainrule: interrupted\n"),
    (RecursionError("maximum recursion depth exceeded"), 2, "too deeply nested"),
    (MemoryError(), 2, "too large"),
])
def test_interrupts_and_resource_errors_are_one_line(capsys, monkeypatch, exception, status,
                                                     said):
    def raising(arguments):
        raise exception
    monkeypatch.setattr("autograd.cli.run", raising)
    monkeypatch.delenv("CHAINRULE_DEBUG", raising=False)
    code, out, err = run_cli(capsys, "steps", "x", "x=1")
    assert code == status and out == "" and err.count("\n") == 1 and said in err


def test_a_closed_pipe_is_quiet(tmp_path):
    """chainrule steps ... | head: the reader goes away; no traceback, no 'Exception ignored'."""
    process = subprocess.Popen([sys.executable, "-m", "autograd", "steps",
                                "x" + " + x*x" * 500, "x=1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.read(100)
    process.stdout.close()
    err = process.stderr.read()
    process.wait(timeout=60)
    assert err == b"" and process.returncode == 1


# -- -o: standard output, missing folders, non-regular files -----------------------------------

@pytest.mark.parametrize("fmt, start", [("svg", b"<?xml"), ("dot", b"digraph"),
                                        ("png", b"\x89PNG")])
def test_draw_to_standard_output(capfdbinary, fmt, start):
    status = main(["draw", *NEURON, "-o", "-", "--format", fmt, "--backend", "wasm"])
    out, err = capfdbinary.readouterr()
    assert status == 0 and err == b"" and out.lstrip().startswith(start)


def test_draw_to_standard_output_defaults_to_svg_and_slides_too(capfdbinary, tmp_path):
    assert main(["draw", "x*2", "x=1", "-o", "-", "--backend", "wasm"]) == 0
    assert b"<svg" in capfdbinary.readouterr().out
    assert main(["slides", "x*2", "x=1", "-o", "-", "--backend", "wasm"]) == 0
    shown = capfdbinary.readouterr().out
    assert main(["slides", "x*2", "x=1", "-o", str(tmp_path / "s.html"), "--backend",
                 "wasm"]) == 0
    assert shown.startswith(b"<!DOCTYPE html>") and shown == (tmp_path / "s.html").read_bytes()


def test_standard_output_closed_or_a_terminal(tmp_path):
    command = f"{sys.executable} -m autograd"
    done = subprocess.run(f"{command} steps 'x*2' x=1 >&-", shell=True, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and done.stderr == ""          # nothing to show it on: fine
    done = subprocess.run(f"{command} draw 'x*2' x=1 -o - >&-", shell=True,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2 and done.stderr == (
        "chainrule: error: standard output is closed: give -o the name of a file\n")
    done = subprocess.run(f"{command} draw 'x*2' x=1 -o {tmp_path / 'g.dot'} >&-", shell=True,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and (tmp_path / "g.dot").exists()   # a file needs no stdout


def test_a_png_is_not_written_to_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    err = refused(capsys, "draw", "x*2", "x=1", "-o", "-", "--format", "png", "--backend",
                  "wasm")
    assert "refusing to write a PNG to the terminal" in err


def test_format_and_file_name_must_agree(capsys, tmp_path):
    err = refused(capsys, "draw", "x", "x=1", "-o", str(tmp_path / "a.svg"), "--format", "png")
    assert "--format png but the file name" in err and "says svg" in err
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_is_refused_not_created(capsys, tmp_path):
    for command, name in (("draw", "graph.svg"), ("slides", "show.html")):
        target = tmp_path / "no" / "such" / name
        err = refused(capsys, command, "x*2", "x=1", "-o", str(target))
        assert f"the folder {tmp_path / 'no' / 'such'} does not exist" in err
        assert "mkdir -p" in err
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("")
    err = refused(capsys, "draw", "x", "x=1", "-o", str(tmp_path / "file" / "g.svg"))
    assert "is not a folder" in err


def test_a_fifo_or_a_link_to_the_terminal_is_refused(capsys, tmp_path):
    fifo = tmp_path / "graph.svg"
    os.mkfifo(fifo)
    err = refused(capsys, "draw", "x", "x=1", "-o", str(fifo), "--backend", "wasm")
    assert "FIFO" in err and "not a regular file" in err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)                 # left as it was
    assert [p.name for p in tmp_path.iterdir()] == ["graph.svg"]  # no temporary file left


def test_a_symlink_to_standard_output_is_not_replaced(tmp_path):
    link = tmp_path / "out.dot"
    link.symlink_to("/proc/self/fd/1")
    done = subprocess.run([sys.executable, "-m", "autograd", "draw", "x", "x=1", "-o",
                           str(link)], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "not a regular file" in done.stderr
    assert done.stderr.count("\n") == 1
    assert link.is_symlink() and os.readlink(link) == "/proc/self/fd/1"


def test_a_read_only_file_is_respected(capsys, tmp_path):
    target = tmp_path / "keep.dot"
    target.write_text("precious")
    target.chmod(0o444)
    err = refused(capsys, "draw", "x", "x=1", "-o", str(target))
    assert "read-only" in err
    assert target.read_text() == "precious" and [p.name for p in tmp_path.iterdir()] == \
        ["keep.dot"]


# -- a seeded run of generated expressions: a result or one line, never a crash ------------------

def random_expression(rng, depth=0):
    """Mostly well-formed expressions over x, y, w (some with extreme numbers), and now and
    then a slip or a hostile fragment."""
    numbers = ["0", "1", "2", "0.5", "3.7", "1e308", "1e-320", "5e-324", "710", "1e16",
               "-1", "1e200", "0.0", "10", "1e-10", "1e-400"]
    if depth > 4 or rng.random() < 0.25:
        return rng.choice(["x", "y", "w", "x", "y", *numbers])
    kind = rng.random()
    if kind < 0.45:
        op = rng.choice(["+", "-", "*", "/", "**", "**", "*"])
        return f"({random_expression(rng, depth + 1)} {op} {random_expression(rng, depth + 1)})"
    if kind < 0.8:
        function = rng.choice(["exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt",
                               "abs"])
        return f"{function}({random_expression(rng, depth + 1)})"
    if kind < 0.92:
        return f"-{random_expression(rng, depth + 1)}"
    return rng.choice(["x ^ 2", "e**x", "W*x", "x % 2", "x(y)", "2x", "math.exp(x)",
                       "__import__('os')", "x.real", "'x'", "(x", "x)", "x if y else w",
                       "lambda: x", "x\udcff", "exp(x, y)", "Tanh(x)", "1e999 * x", "[x]",
                       "x @ y", "x // y", "~x", "not x", "x < y", "x == 1", "sinh(x)",
                       "x" + "**1" * 1100, "(" * 210 + "x" + ")" * 210, "pi*x", "ln(x)"])


def run_generated(capsys, count, seed):
    rng = random.Random(seed)
    outcomes = {0: 0, 2: 0}
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("an expression hung"))
    try:
        for _ in range(count):
            expression = random_expression(rng)
            values = [f"x={rng.choice(['1', '0', '-2', '0.5', '1e-320', '1e308', '700'])}",
                      f"y={rng.choice(['2', '0', '-1', '3e-5', '1e200'])}",
                      f"w={rng.choice(['-3', '0', '1', '0.25', '1e-300'])}"]
            command = rng.choice(["steps", "steps", "ledger", "code"])
            signal.alarm(10)
            status, out, err = run_cli(capsys, command, expression, *values)
            signal.alarm(0)
            case = f"{command} {expression!r} {' '.join(values)}: exit {status}\n{err}"
            assert status in outcomes, case
            assert "Traceback" not in out + err, case
            if status == 0:
                shown = out if command != "code" else "\n".join(   # code: the result lines
                    line for line in out.splitlines() if line.startswith("#   "))
                assert shown and not re.search(r"\b(nan|inf)\b", shown), case
                assert all(line.startswith("chainrule: note: ") for line in
                           err.splitlines()), case
            else:
                assert out == "" and err.count("\n") == 1, case
                assert err.startswith("chainrule: error: "), case
            outcomes[status] += 1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
    return outcomes


def test_thousands_of_generated_expressions_end_in_a_result_or_one_line(capsys):
    outcomes = run_generated(capsys, 2000, seed=20240609)
    assert outcomes[0] > 400 and outcomes[2] > 400        # both kinds are well exercised


@pytest.mark.heavy
def test_many_more_generated_expressions(capsys):
    for seed in range(2):
        run_generated(capsys, 10_000, seed=seed)


def test_a_render_warning_is_one_chainrule_line(capsys, tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "dot"                   # a dot that fails: wasm stands in
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\ncat > /dev/null\necho 'Error: broken' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    status, out, err = run_cli(capsys, "draw", *NEURON, "-o", str(tmp_path / "g.svg"))
    assert status == 0 and out.startswith("wrote") and (tmp_path / "g.svg").exists()
    assert err.count("\n") == 1 and err.startswith("chainrule: warning: render: system Graphviz")
    assert ".py" not in err and "RenderWarning" not in err


def test_timeout_bounds_each_render_and_fixes_are_named_as_options(capsys, tmp_path):
    from autograd import render
    many = "+".join(f"tanh(x*{k})" for k in range(1, 60))
    err = refused(capsys, "draw", many, "x=1", "-o", str(tmp_path / "g.svg"), "--backend",
                  "wasm", "--timeout", "0.001")
    assert "took longer than 0.001 s" in err and "(--timeout SECONDS)" in err
    assert render.TIME_LIMIT == 30.0                  # the limit is the command's own
    for bad in ("0", "-1", "nan", "inf", "soon"):
        assert "positive number of seconds" in refused(
            capsys, "slides", "x*2", "x=1", "-o", str(tmp_path / "s.html"), "--timeout", bad)
    status, out, _ = run_cli(capsys, "slides", "x*2", "x=1", "-o", str(tmp_path / "s.html"),
                             "--timeout", "60")
    assert status == 0 and (tmp_path / "s.html").exists()
    err = refused(capsys, "draw", many, "x=1", "-o", str(tmp_path / "g.svg"), "--max-nodes", "9")
    assert "more than --max-nodes 9" in err and "--max-nodes 236" in err and "max_nodes=" not in err


def test_a_link_to_standard_output_or_its_file_is_refused_not_replaced(tmp_path):
    """With standard output redirected to a file, /dev/stdout (a link to that file) or the
    file itself given to -o would be replaced by a rename, cutting short what was printed."""
    log = tmp_path / "log.txt"
    link = tmp_path / "out.svg"
    link.symlink_to("/dev/stdout")
    for target in (str(link), str(tmp_path / "log.svg")):
        if target.endswith("log.svg"):
            log = tmp_path / "log.svg"
        with open(log, "wb") as out:
            out.write(b"kept\n")
            out.flush()
            done = subprocess.run([sys.executable, "-m", "autograd", "draw", "x*2", "x=1", "-o",
                                   target], stdout=out, stderr=subprocess.PIPE, check=False)
        assert done.returncode == 2 and b"standard output" in done.stderr, done.stderr
        assert done.stderr.count(b"\n") == 1 and log.read_bytes() == b"kept\n"


def test_a_link_into_a_missing_folder_is_refused_not_created(capsys, tmp_path):
    link = tmp_path / "g.svg"
    link.symlink_to(tmp_path / "missing" / "g.svg")
    err = refused(capsys, "draw", "x*2", "x=1", "-o", str(link))
    assert "missing" in err and "does not exist" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.svg"]


@pytest.mark.parametrize("command, suffix", [("draw", ".svg"), ("slides", ".html")])
def test_the_longest_file_name_is_written(capsys, tmp_path, command, suffix):
    name = "n" * (255 - len(suffix)) + suffix                  # the most a file system allows
    status, out, err = run_cli(capsys, command, "x*2", "x=1", "-o", str(tmp_path / name))
    assert status == 0 and err == "", err
    assert [p.name for p in tmp_path.iterdir()] == [name]
