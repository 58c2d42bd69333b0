"""Stepping through backward, one node at a time, and the ledger of a pass."""

import math

import pytest
from hypothesis import given
from random_graphs import programs, run

from autograd import UndefinedMathError, Value, backward_steps, ledger, topological_order
from autograd.steps import node_names


def lecture_graph():
    x, w = Value(2.0, "x"), Value(-3.0, "w")
    n = x * w
    n.label = "n"
    L = n * 0.5
    L.label = "L"
    return x, w, n, L


def test_a_step_explains_itself_with_the_numbers():
    x, w, n, L = lecture_graph()
    steps = list(L.backward_steps())
    at_n = next(step for step in steps if step.node is n)
    assert at_n.upstream == 0.5
    assert str(at_n).splitlines() == [
        "step 2/2 at n (*)",
        "  dL/dx += ∂n/∂x * dL/dn = w * 0.5 = -3.0 * 0.5 = -1.5",
        "  dL/dw += ∂n/∂w * dL/dn = x * 0.5 = 2.0 * 0.5 = 1.0",
    ]
    assert (r"\frac{d L}{d x} &\mathrel{+}= \frac{\partial n}{\partial x} \cdot "
            r"\frac{d L}{d n}") in at_n.latex
    assert r"w \cdot 0.5 = -3.0 \cdot 0.5 = -1.5" in at_n.latex


def test_the_first_step_seeds_the_root():
    x, w, n, L = lecture_graph()
    first = next(L.backward_steps())
    assert first.index == 0 and first.node is L and first.upstream == 1.0 and L.grad == 1.0
    assert str(first).splitlines()[:2] == ["step 1/2 at L (*)", "  dL/dL = 1.0 (the seed)"]
    assert n.grad == 0.5 and x.grad == 0.0          # one node at a time: x not reached yet


def test_each_step_records_every_edge():
    a = Value(3.0, "a")
    b = Value(2.0, "b")
    y = a * a + b
    steps = list(y.backward_steps())
    square = next(step for step in steps if step.node.op == "*")
    assert [edge.parent for edge in square.edges] == [a, a]      # a parent used twice: 2 edges
    first, second = square.edges
    assert (first.local, first.contribution, first.grad_before, first.grad_after) == \
        (3.0, 3.0, 0.0, 3.0)
    assert (second.grad_before, second.grad_after) == (3.0, 6.0)
    assert str(first.formula) == "a"


def test_steps_follow_the_backward_order_of_nodes_with_parents():
    x, w, n, L = lecture_graph()
    steps = list(L.backward_steps())
    assert [step.node for step in steps] == [v for v in reversed(topological_order(L))
                                             if v.parents]
    assert [step.index for step in steps] == [0, 1] and steps[0].total == 2


@given(programs())
def test_consuming_every_step_leaves_the_grads_of_backward(program):
    inputs, _ = program
    leaves = [Value(x) for x in inputs]
    nodes, root = run(program, leaves)
    for leaf in leaves:
        leaf.grad = 0.25                     # leaves accumulate in both
    root.backward()
    expected = [node.grad for node in nodes]
    for leaf in leaves:
        leaf.grad = 0.25
    for node in nodes[len(leaves):]:
        node.grad = 123.0                    # interior grads are recomputed from zero
    for _ in root.backward_steps():
        pass
    assert [node.grad for node in nodes] == expected


def test_a_lone_leaf_has_one_step():
    x = Value(2.0, "x")
    steps = list(backward_steps(x))
    assert len(steps) == 1 and steps[0].edges == () and x.grad == 1.0
    assert "leaf" in str(steps[0])


def test_names_are_labels_or_stable_generated_ones():
    def build():
        a = Value(1.0, "a")
        v = Value(2.0)
        return (a * v + a).tanh()
    first, second = build(), build()
    assert list(node_names(first).values()) == list(node_names(second).values())
    names = sorted(node_names(first).values())
    assert names == ["L", "a", "v1", "v2", "v3"]
    taken = Value(1.0, "v1") * Value(2.0)          # a generated name never hides a label
    assert sorted(node_names(taken).values()) == ["L", "v1", "v2"]


def test_drawing_a_step_shows_what_is_known_at_that_moment():
    x, w, n, L = lecture_graph()
    steps = list(L.backward_steps())
    source = steps[0].draw().source
    assert source.count("grad ?") == 2                # x and w are not reached yet
    assert 'label="{x | data 2.0 | grad ?}"' in source
    assert 'fillcolor="#ffe08a"' in source            # the current node is highlighted
    assert 'label="0.5 × 1.0 = 0.5"' in source        # local x upstream = contribution
    assert 'label="-6.0 × 1.0 = -6.0"' in source      # ... for the constant 0.5 too
    last = steps[1].draw().source
    assert "grad ?" not in last and 'label="{x | data 2.0 | grad -1.5}"' in last
    assert 'label="-3.0 × 0.5 = -1.5"' in last and 'label="2.0 × 0.5 = 1.0"' in last


def test_an_undefined_slope_while_stepping_loses_nothing():
    z, q = Value(0.0, "z"), Value(1.0, "q")
    q.grad = 7.0
    y = z.sqrt() + q
    with pytest.raises(UndefinedMathError, match="sqrt"):
        for _ in y.backward_steps():
            pass
    assert (q.grad, z.grad) == (7.0, 0.0)


def test_a_user_op_without_a_symbolic_derivative_still_steps():
    from autograd import define_op

    @define_op("softplus", local=lambda x, out: (1 / (1 + math.exp(-x)),))   # floats only
    def softplus(x):
        return math.log1p(math.exp(x))

    x = Value(0.0, "x")
    step = list(softplus(x).backward_steps())[0]
    assert step.edges[0].formula is None
    # at the root the local derivative (∂) and the total (d) are told apart
    assert str(step).splitlines()[2] == "  dL/dx += ∂L/∂x * dL/dL = 0.5 * 1.0 = 0.5"
    assert r"\frac{\partial L}{\partial x} \cdot \frac{d L}{d L}" in step.latex


def test_a_second_contribution_shows_the_running_total():
    a, b = Value(3.0, "a"), Value(-2.0, "b")
    ab = a * b
    ab.label = "ab"
    f = ab + a
    f.label = "f"
    first, second = f.backward_steps()
    assert "  df/da += ∂f/∂a * df/df = 1.0 * 1.0 = 1.0" in str(first).splitlines()
    assert str(second).splitlines()[1:3] == [
        "  df/da += ∂ab/∂a * df/dab = b * 1.0 = -2.0 * 1.0 = -2.0",
        "    df/da = 1.0 + (-2.0) = -1.0"]
    assert r"\frac{d f}{d a} &= 1.0 + (-2.0) = -1.0" in second.latex
    edge = second.edges[0]
    assert (edge.first, edge.grad_before, edge.grad_after) == (False, 1.0, -1.0)
    assert a.grad == -1.0 == b.data + 1


def test_the_ledger_has_a_row_per_node_in_backward_order():
    x, w, n, L = lecture_graph()
    table = ledger(L)
    order = list(reversed(topological_order(L)))
    assert [row.name for row in table.rows] == [node_names(L)[id(v)] for v in order]
    by_name = {row.name: row for row in table.rows}
    assert by_name["n"].locals == (("x", -3.0), ("w", 2.0))
    assert (by_name["n"].grad, by_name["x"].grad, by_name["w"].grad) == (0.5, -1.5, 1.0)
    assert by_name["L"].contributions == () and by_name["n"].contributions == (0.5,)
    assert by_name["x"].op == "" and by_name["L"].op == "*"
    markdown = table.to_markdown()
    assert markdown.splitlines()[0] == \
        "| node | op | data | local derivatives | contributions | grad |"
    assert "| n | \\* | -6.0 | ∂n/∂x = -3.0, ∂n/∂w = 2.0 | 0.5 | 0.5 |" in markdown
    assert "| L | \\* | -3.0 | ∂L/∂n = 0.5, ∂L/∂v1 = -6.0 | 1.0 (seed) | 1.0 |" in markdown
    latex = table.to_latex()
    assert latex.startswith(r"\begin{tabular}") and r"$\partial n/\partial x = -3.0$" in latex
    assert table._repr_html_().startswith('<table class="chainrule-ledger ')
    assert "<td>∂n/∂x = -3.0, ∂n/∂w = 2.0</td>" in table.to_html()
    assert str(table).splitlines()[0].split() == ["node", "op", "data", "local",
                                                  "derivatives", "contributions", "grad"]


def test_a_reused_node_lists_every_contribution_in_the_ledger():
    a = Value(3.0, "a")
    b = a * a + a
    row = next(row for row in ledger(b).rows if row.name == "a")
    assert row.contributions == (1.0, 3.0, 3.0) and row.grad == 7.0
    assert "1.0 + 3.0 + 3.0" in str(ledger(b))


def test_ledger_exports_escape_what_users_type():
    a = Value(1.0, "a|<b>&_c*")
    table = ledger(a * 2)
    assert "a\\|\\<b\\>\\&\\_c\\*" in table.to_markdown()
    assert "a|&lt;b&gt;&amp;_c*" in table.to_html()
    assert r"\mathrm{a|<b>\&\_c*}" in table.to_latex()


def test_a_step_displays_in_jupyter_as_header_formula_and_graph():
    x, w, n, L = lecture_graph()
    step = next(L.backward_steps())
    shown = step._repr_html_()
    assert "<b>step 1/2 at L (*)</b>" in shown and "$$\\begin{aligned}" in shown
    assert "<svg" in shown and "<?xml" not in shown
