"""Views never lie: ledger, slides, the command line and the Jupyter displays show this pass's
numbers (d root / d node from zero, computed on the side), whatever the grads held before, and
leave every grad and data as they found them; draw(show_grad=True) shows the stored grads."""

import html
import math
import re

import pytest
from graphs import neuron
from hypothesis import given
from random_graphs import programs, run

from autograd import (
    StaleGraphError,
    Value,
    backward_pass,
    draw,
    ledger,
    stepper,
    topological_order,
)
from autograd.cli import main
from autograd.slides import slides_html
from autograd.text import value_text


def shared():
    """A graph that reuses a leaf: f = a*b + a + (a*a).tanh()."""
    a, b = Value(0.7, "a"), Value(-1.3, "b")
    return a * b + a + (a * a).tanh()


def state(root):
    return [(node.grad, node.data) for node in topological_order(root)]


def fresh_grads(build):
    """The reference: a fresh graph's backward(), grads in topological order."""
    root = build()
    root.backward()
    return [node.grad for node in topological_order(root)]


def used(build):
    """A graph whose grads hold anything but this pass: backward() twice (leaves doubled), a
    forgotten zero_grad with junk in every grad, and an earlier ledger."""
    root = build()
    root.backward()
    root.backward()
    for k, node in enumerate(topological_order(root)):
        node.grad += 10.0 * k + 0.25
    ledger(root)
    return root


@pytest.mark.parametrize("build", [neuron, shared])
def test_the_ledger_shows_a_fresh_pass_and_changes_nothing(build):
    root = used(build)
    before = state(root)
    table = ledger(root)
    assert state(root) == before
    names = backward_pass(root).names
    expected = dict(zip((names[id(n)] for n in topological_order(root)), fresh_grads(build)))
    assert {row.name: row.grad for row in table.rows} == expected
    text = str(table)
    for name, grad in expected.items():
        assert any(line.split()[0] == name and line.split()[-1] == value_text(grad)
                   for line in text.splitlines()[2:])
    assert state(root) == before


@pytest.mark.parametrize("build", [neuron, shared])
def test_the_slides_show_a_fresh_pass_and_change_nothing(build):
    root = used(build)
    before = state(root)
    page = html.unescape(slides_html(root, backend="dot"))
    assert state(root) == before
    reference = build()
    texts = [str(step) for step in reference.backward_steps()]
    shown = re.findall(r'<section class="slide step" data-kind="step"[^>]*><h2>(.*?)</h2><pre>'
                       r"(.*?)</pre>", page, flags=re.S)
    assert [heading.split(":")[0] + "\n" + "\n".join("  " + line for line in text.split("\n"))
            for heading, text in shown] == texts
    run_ = backward_pass(reference)
    for leaf in (n for n in run_.order if not n.parents):
        assert f"d{run_.name(reference)}/d{run_.name(leaf)} = {value_text(leaf.grad)}" in page


@pytest.mark.parametrize("view, name", [
    (ledger, "ledger"), (lambda root: slides_html(root, backend="dot"), "slides"),
    (lambda root: stepper(root, backend="dot").html(), "slides"),
    (backward_pass, "backward_pass")])
def test_a_view_of_a_graph_whose_data_changed_refuses_to_mix_numbers(view, name):
    """A leaf written after the graph was built (an optimizer step): the interior nodes hold
    the old numbers, so a view would show x's new data next to products of its old one. It
    raises StaleGraphError naming itself, as backward() does, and changes nothing."""
    for build, leaf in ((neuron, "x"), (shared, "a")):
        root = used(build)
        (written,) = [n for n in topological_order(root) if n.label == leaf]
        written.data += 0.25
        before = state(root)
        with pytest.raises(StaleGraphError, match=rf"^{name}: the data of node '{leaf}' was "
                                                  rf"changed .*then call {name} again"):
            view(root)
        assert state(root) == before
        rebuilt = build()                     # the forward pass again: shown as usual
        assert view(rebuilt) is not None


def test_draw_shows_the_stored_grads_and_changes_nothing():
    root = used(neuron)
    before = state(root)
    source = draw(root).source
    assert state(root) == before
    for node in topological_order(root):
        assert f"grad {value_text(node.grad)}" in source     # a snapshot of what is stored


def test_steps_shown_by_a_view_are_those_of_a_fresh_backward_steps():
    root = used(shared)
    before = state(root)
    shown = [str(step) for step in backward_pass(root).steps]
    assert state(root) == before
    assert shown == [str(step) for step in shared().backward_steps()]


def test_backward_steps_still_writes_grads_as_backward_does():
    stepped, called = used(shared), used(shared)
    shown = [str(step) for step in stepped.backward_steps()]
    called.backward()
    assert state(stepped) == state(called)                    # leaves accumulated, as backward()
    assert shown == [str(step) for step in shared().backward_steps()]   # text: this pass


@given(programs())
def test_the_side_pass_equals_a_fresh_backward_on_any_graph(program):
    inputs, _ = program
    leaves = [Value(x) for x in inputs]
    nodes, root = run(program, leaves)
    for k, node in enumerate(nodes):
        node.grad = 3.0 * k - 7.5                     # whatever was there before
    before = [(node.grad, node.data) for node in nodes]
    side = backward_pass(root)
    table = {row.name: row.grad for row in ledger(root).rows}
    assert [(node.grad, node.data) for node in nodes] == before
    fresh_leaves = [Value(x) for x in inputs]
    fresh_nodes, fresh_root = run(program, fresh_leaves)
    fresh_root.backward()
    assert [side.grad(node) for node in nodes] == [node.grad for node in fresh_nodes]
    in_graph = set(side.order)                        # an input the program never used is not
    assert [table[side.name(node)] for node in nodes if node in in_graph] == \
        [fresh.grad for node, fresh in zip(nodes, fresh_nodes) if node in in_graph]


def central_difference(expression, values, name, h=1e-6):
    from autograd.expr import build

    def at(x):
        root, _ = build(expression, dict(values, **{name: x}))
        return root.data
    return (at(values[name] + h) - at(values[name] - h)) / (2 * h)


@pytest.mark.parametrize("expression", ["tanh(x*w + b)", "x*x*y + sin(x) / (y*y + 1)",
                                        "exp(x) * log(y) - x ** 3"])
def test_the_command_line_numbers_match_central_differences(capsys, expression):
    values = {"x": 0.8, "y": 1.7, "w": -3.0, "b": 6.88}
    used_names = [name for name in values if re.search(rf"\b{name}\b", expression)]
    arguments = [f"{name}={values[name]}" for name in used_names]
    assert main(["steps", expression, *arguments]) == 0
    grads = capsys.readouterr().out.splitlines()[-1]
    assert main(["ledger", expression, *arguments]) == 0
    rows = {line.split()[0]: line.split()[-1] for line in capsys.readouterr().out.splitlines()[2:]}
    for name in used_names:
        slope = central_difference(expression, {k: values[k] for k in used_names}, name)
        printed = float(re.search(rf"d\w+/d{name} = (\S+?)(,|$)", grads)[1])
        assert math.isclose(printed, slope, rel_tol=1e-5, abs_tol=1e-7), (name, printed, slope)
        assert math.isclose(float(rows[name]), slope, rel_tol=1e-5, abs_tol=1e-7)


# ---------------------------------------------------------------------------------------------
# Jupyter displays and slides show any label as written and never run it (headless Chromium).

HOSTILE = ['<img src=x onerror="window.pwned=1">', "<script>window.pwned=2</script>",
           '"><svg onload="window.pwned=3">', "}\\href{javascript:window.pwned=4}{x"]


def hostile_graph():
    a, b, c, d = (Value(v, label) for v, label in zip((0.5, -1.5, 2.0, 0.25), HOSTILE))
    return ((a * b + c) * d).tanh()


@pytest.fixture(scope="module")
def browser():
    from browser import chromium_driver
    driver = chromium_driver()
    yield driver
    driver.quit()


CONTROL = '<img src="nowhere:" onerror="window.control=1">'   # proves handlers do run here


def shown_in_jupyter(browser, markup):
    """Insert markup as a notebook inserts an output (innerHTML), let error handlers fire, and
    return what the page shows as text."""
    browser.get("about:blank")
    browser.execute_script("document.body.innerHTML = arguments[0];", CONTROL + markup)
    browser.execute_script("return new Promise(r => setTimeout(r, 300));")
    assert browser.execute_script("return window.control") == 1
    assert browser.execute_script("return window.pwned") is None
    return browser.execute_script("return document.body.textContent")


def test_every_jupyter_display_shows_labels_as_written_and_runs_nothing(browser):
    root = hostile_graph()
    steps = backward_pass(root).steps
    views = {"ledger": ledger(root)._repr_html_(),
             "graph": draw(root)._repr_mimebundle_()["image/svg+xml"],
             "steps": "".join(step._repr_html_() for step in steps)}
    for view, markup in views.items():
        text = shown_in_jupyter(browser, markup)
        for label in HOSTILE:
            assert label in text, (view, label)
    assert not any(r"\href" in step.latex for step in steps)
    assert r"\href" not in ledger(root).to_latex()


def test_slides_with_hostile_labels_run_nothing(browser, tmp_path):
    path = tmp_path / "slides.html"
    path.write_text(slides_html(hostile_graph(), backend="dot"), encoding="utf-8")
    browser.get(path.as_uri())
    browser.execute_script("return new Promise(r => setTimeout(r, 300));")
    assert browser.execute_script("return window.pwned") is None
    text = browser.execute_script("return document.body.textContent")
    assert all(label in text for label in HOSTILE)


def test_jupyter_keeps_labels_out_of_its_math_typesetting(browser):
    # JupyterLab typesets $...$ and \(...\) in every HTML output with MathJax: a label that
    # holds them must still show as written (two labels '$a' and 'b$' would make math of all
    # between). Every text a view shows with labels sits in a MathJax-ignored element; only a
    # Step's own formula block is typeset.
    from autograd.stepper import stepper
    a, b = Value(2.0, "$w_1$"), Value(3.0, r"\(x\)")
    root = (a * b).tanh()
    views = {"ledger": ledger(root)._repr_html_(), "stepper": stepper(root).html(),
             "steps": "".join(step._repr_html_() for step in backward_pass(root).steps)}
    for view, markup in views.items():
        shown_in_jupyter(browser, markup)
        outside = browser.execute_script("""
            const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            const found = [];
            while (walk.nextNode()) {
                const node = walk.currentNode, text = node.textContent;
                if ((text.includes('$w_1$') || text.includes('\\\\(x\\\\)'))
                        && !node.parentElement.closest('.mathjax_ignore.tex2jax_ignore')
                        && !node.parentElement.closest('script, style, pre, code')
                        && !text.startsWith('$$')) { found.push(text); }
            }
            return found;""")
        assert outside == [], (view, outside)
    assert all(r"\$w\_1\$" in step.latex or "w" not in step.latex
               for step in backward_pass(root).steps)


UNPRINTABLE = ["lone \ud800 surrogate", "esc \x1b[2J", "bell \x07", "bidi \u202eevil",
               "two\nlines", "nel \x85"]


def test_every_view_shows_unprintable_labels_and_op_names_as_escapes(tmp_path):
    # A lone surrogate crashed every text view (and writing slides: UnicodeEncodeError); a
    # terminal escape or a bidi override went out raw, a newline broke the ledger's table
    import autograd
    from autograd.slides import slides
    from autograd.stepper import stepper

    def local(x, out):
        return (2.0,)
    double = autograd.define_op("op \x1b[31m \ud800", local)(lambda x: 2.0 * x)
    leaves = [Value(float(i + 1), label) for i, label in enumerate(UNPRINTABLE)]
    total = double(leaves[0])
    for leaf in leaves[1:]:
        total = total * leaf
    root = total.tanh()
    table = ledger(root)
    texts = {"ledger": str(table), "markdown": table.to_markdown(), "latex": table.to_latex(),
             "html": table.to_html(), "stepper": stepper(root).html(),
             "stepper text": str(stepper(root)),
             "steps": "".join(str(s) + s.latex + s._repr_html_()
                              for s in backward_pass(root).steps),
             "slides": slides(root, tmp_path / "s.html", title="T \ud800").read_text("utf-8")}
    for view, text in texts.items():
        text.encode("utf-8")                                   # no lone surrogate left
        assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e\ud800-\udfff]", text), view
        shown = text.replace(r"\backslash{}", "\\")               # LaTeX's backslash
        assert "\\ud800" in shown and "\\x1b" in shown and "\\u202e" in shown, view
    assert len(str(table).splitlines()) == len(table) + 2      # one line per row
    assert len(table.to_markdown().splitlines()) == len(table) + 2
    assert "two\\\\nlines" in table.to_markdown() and "two\\nlines" in str(table)
