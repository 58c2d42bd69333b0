"""micrograd and its lecture, run on chainrule: micrograd's own test_engine.py and the lecture's
draw_dot / trace / topological sort / manual `_backward()` cells (tests/third_party/, copied
verbatim but for the import line), against the lecture's own Value class; and the micrograd
spellings chainrule keeps (_prev, _op, _backward, user attributes, comparisons)."""

import importlib.util
import math
import random
import re
from pathlib import Path

import pytest

import autograd
from autograd import Value

THIRD_PARTY = Path(__file__).parent / "third_party"
IMPORT = "from autograd import Value"


def run_cells(name: str, reference: bool) -> dict:
    """Execute a file of lecture cells top to bottom; with reference=True the lecture's own
    Value class stands where chainrule's import line is. Returns the cells' variables."""
    source = (THIRD_PARTY / name).read_text()
    assert source.count(IMPORT) == 1
    namespace: dict = {"__name__": "lecture"}
    if reference:
        exec(compile((THIRD_PARTY / "lecture_value.py").read_text(), "lecture_value.py", "exec"),
             namespace)
        source = source.replace(IMPORT, "pass  # the lecture's own Value, defined above")
    random.seed(1)                              # the MLP cells draw weights from `random`
    exec(compile(source, name, "exec"), namespace)
    return namespace


def canonical(dot_source: str) -> list[str]:
    """DOT text with node ids (Python ids, different on every run) replaced by each node's own
    record label, lines sorted (draw_dot walks a set)."""
    records = dict(re.findall(r"^\t(\d+) \[label=\"(\{[^\"]*\})\"", dot_source, re.M))
    text = re.sub(r"\b(\d{6,})", lambda m: records.get(m[1], m[1]), dot_source)
    return sorted(line.strip() for line in text.splitlines())


@pytest.fixture(scope="module")
def first_half():
    pytest.importorskip("graphviz", reason="the lecture's draw_dot builds a graphviz.Digraph: "
                                           "pip install graphviz")
    return run_cells("lecture_first_half.py", False), run_cells("lecture_first_half.py", True)


NAMES = ["a", "b", "c", "d", "e", "f", "L", "x1", "x2", "w1", "w2", "x1w1", "x2w2",
         "x1w1x2w2", "n", "o"]


def test_the_lecture_first_half_runs_on_chainrule_as_on_its_own_value(first_half):
    ours, theirs = first_half
    for name in NAMES:
        mine, reference = ours[name], theirs[name]
        assert isinstance(mine, Value) and mine.label == reference.label
        assert mine.data == pytest.approx(reference.data, rel=1e-12, abs=1e-15), name
        assert mine.grad == pytest.approx(reference.grad, rel=1e-12, abs=1e-15), name
    # the manual cells o._backward(), n._backward(), ... and the hand-set grads: as written
    assert [ours[name].grad for name in ("o", "n", "x1", "w1")] == \
        pytest.approx([1.0, 0.5, -6.0, 4.0], rel=1e-14)


def test_the_lectures_draw_dot_gives_the_lectures_drawing(first_half):
    ours, theirs = first_half
    for root in ("o", "f"):                     # the neuron, and the last graph (a*b)*(a+b)
        mine = ours["draw_dot"](ours[root])
        reference = theirs["draw_dot"](theirs[root])
        assert type(mine).__name__ == "Digraph"
        assert canonical(mine.source) == canonical(reference.source)
    assert "{ o | data 0.7071 | grad 1.0000 }" in ours["draw_dot"](ours["o"]).source


def test_the_lectures_trace_and_topological_sort(first_half):
    ours, theirs = first_half
    nodes, edges = ours["trace"](ours["o"])
    assert len(nodes) == len(theirs["trace"](theirs["o"])[0]) == 10 and len(edges) == 9
    topo = ours["topo"]                         # cell [16]'s build_topo, on chainrule's _prev
    assert [v.label for v in topo][-2:] == ["n", "o"] and len(topo) == 10
    assert all(parent in topo[:topo.index(v)] for v in topo for parent in v._prev)


def test_the_lecture_second_half_trains_as_with_its_own_value():
    pytest.importorskip("graphviz", reason="the lecture's draw_dot: pip install graphviz")
    ours = run_cells("lecture_second_half.py", False)
    theirs = run_cells("lecture_second_half.py", True)
    # tanh written with exp, - and /: chainrule's - and / are one node each where the
    # lecture's class makes + and * chains (see README, Coming from micrograd): same grads
    for name in ("x1", "x2", "w1", "w2", "b", "o"):
        assert ours[name].grad == pytest.approx(theirs[name].grad, rel=1e-12, abs=1e-15), name
    ops = {v._op for v in ours["trace"](ours["o"])[0]}
    assert {"-", "/", "exp"} <= ops and not {"**-1"} & ops
    # the MLP cells: 20 steps of gradient descent from the same random weights
    assert ours["loss"].data == pytest.approx(theirs["loss"].data, rel=1e-9)
    assert [y.data for y in ours["ypred"]] == pytest.approx([y.data for y in theirs["ypred"]],
                                                            rel=1e-9)


def test_micrograds_own_test_engine_passes(torch):
    spec = importlib.util.spec_from_file_location("micrograd_test_engine",
                                                  THIRD_PARTY / "micrograd_test_engine.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.Value is Value
    module.test_sanity_check()
    module.test_more_ops()


# ---------------------------------------------------------------------------------------------
# micrograd's spellings


def test_prev_op_and_backward_one_node_at_a_time():
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    c = a * b
    d = c + a
    assert (d._prev, d._op, c._op, a._prev, a._op) == ({c, a}, "+", "*", set(), "")
    assert (a + a)._prev == {a}                 # a set, as micrograd's (parents keeps both)
    d.grad = 1.0
    d._backward()                               # parent.grad += local * d.grad
    assert (c.grad, a.grad) == (1.0, 1.0)
    c._backward()
    assert (a.grad, b.grad) == (1.0 + b.data, a.data)
    a._backward()                               # a leaf: nothing to pass back
    assert a.grad == 1.0 + b.data


def test_backward_by_hand_refuses_what_backward_refuses_and_changes_nothing():
    x = Value(0.0, "x")
    y = x.sqrt()
    y.grad = 1.0
    with pytest.raises(autograd.UndefinedMathError, match="sqrt.*'x'"):
        y._backward()
    assert x.grad == 0.0


def test_user_code_can_keep_its_own_attributes_on_a_value():
    p = Value(0.5, "p")
    p.m, p.v = 0.0, 0.0                         # EurekaLabs' AdamW keeps its moments here
    p.m = 0.9 * p.m + 0.1 * 2.0
    out = p * 2
    out._vis_color = "red"                      # ... and its visualisation, colours
    assert (p.m, p.v, out._vis_color, vars(p)) == (0.2, 0.0, "red",
                                                   {"label": "p", "m": 0.2, "v": 0.0})
    with pytest.raises(AttributeError):
        _ = Value(1.0).no_such_thing


def test_comparisons_and_conversions_use_data():
    a, b = Value(1.5), Value(2.5)
    assert (a < b, a <= b, a > b, a >= b) == (True, True, False, False)
    assert (a < 2, 2 < b, a > 1, 1.5 <= a, a >= 1.5) == (True, True, True, True, True)
    assert max([a, b]) is b and sorted([b, a]) == [a, b]
    assert (float(a), int(b), round(b), round(Value(2.345), 2)) == (1.5, 2, 2, 2.35)
    assert type(int(b)) is int and type(round(b)) is int
    assert (bool(Value(0.0)), bool(Value(-0.5))) == (False, True)
    assert math.isclose(math.exp(Value(1.0)), math.e)     # float() lets math take a Value
    with pytest.raises(TypeError):
        _ = a < "2"
    with pytest.raises(TypeError):
        _ = a < True                            # a bool is not a number here, as in Value()
    from fractions import Fraction

    # any real number: the result is always a bool (never NumPy's)
    assert (a < Fraction(3, 2), a <= Fraction(3, 2)) == (False, True)
    np = pytest.importorskip("numpy")
    for number in (np.float64(2.0), np.float32(2.0), np.int64(2), Fraction(2)):
        results = (a < number, a > number, number > a, a <= number, number <= b)
        assert results == (True, False, True, True, True)
        assert all(type(r) is bool for r in results[:2] + results[3:4]), number


def test_equality_and_hash_stay_by_identity():
    a, b = Value(1.0), Value(1.0)
    assert a == a and a != b and not (a == 1.0)
    assert len({a, b}) == 2 and hash(a) != hash(b)   # nodes in sets, as in _prev and `seen`
    c = a + b
    assert c._prev == {a, b}
