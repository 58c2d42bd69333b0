"""The picture's description: a graphviz.Digraph. Snapshots, escaping (read back from rendered
SVG), determinism, limits, the layout budget for hard shapes, saving, the graphviz API."""

import importlib
import os
import re
import shutil
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import graphviz
import pytest
from graph_shapes import power_chain, reuse_sum

from autograd import GraphTooLargeError, Value, draw, topological_order
from autograd import render as render_module

draw_module = importlib.import_module("autograd.draw")   # the module (autograd.draw is draw())
SNAPSHOTS = Path(__file__).parent / "snapshots"
SVG = "{http://www.w3.org/2000/svg}"
HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(
    not HAVE_DOT and not os.environ.get("CHAINRULE_REQUIRE_DOT"),
    reason="system Graphviz is not installed (apt-get install graphviz); "
           "CI installs it and sets CHAINRULE_REQUIRE_DOT=1")
BACKENDS = [pytest.param("wasm"), pytest.param("dot", marks=needs_dot)]


def neuron():
    x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(6.881373587019543, "b")
    xw = x * w
    xw.label = "xw"
    n = xw + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


def texts(svg: str) -> list[str]:
    """Every text the SVG shows, parsed as XML (so the SVG must be valid XML); Graphviz writes
    runs of spaces with no-break spaces, which look the same: read them as spaces."""
    root = ElementTree.fromstring(svg.encode("utf-8"))
    return [(t.text or "").replace("\u00a0", " ") for t in root.iter(f"{SVG}text")]


# -- the description --------------------------------------------------------------------------

def test_the_neuron_matches_its_snapshot():
    o = neuron()
    o.backward()
    expected = (SNAPSHOTS / "neuron.dot").read_text(encoding="utf-8")
    assert draw(o).source == expected


def test_the_90_term_reuse_sum_matches_its_snapshot():
    # the layout budget is part of the text: a change to it shows here
    total = reuse_sum(90)
    total.backward()
    expected = (SNAPSHOTS / "reuse_sum_90.dot").read_text(encoding="utf-8")
    assert draw(total).source == expected


def test_the_same_graph_always_gives_the_same_text():
    first, second = neuron(), neuron()
    assert draw(first).source == draw(second).source == draw(first).source
    assert draw(first, rankdir="TB").source != draw(first).source
    assert draw(power_chain(300)).source == draw(power_chain(300)).source   # copies too


def test_value_nodes_show_label_data_grad_and_op_nodes_sit_between():
    o = neuron()
    o.backward()
    lines = draw(o).source.splitlines()
    assert '\tn5 [label="{o | data 0.707107 | grad 1.0}" fillcolor=white shape=record ' \
           'style=filled]' in lines
    assert '\tn5_op [label=tanh fillcolor="#eeeeee" margin=0.02 shape=ellipse ' \
           'style=filled]' in lines
    assert "\tn5_op -> n5" in lines and "\tn4 -> n5_op" in lines
    assert "grad" not in draw(o, show_grad=False).source.split("edge [")[1]


def test_a_parent_used_twice_gets_two_edges():
    a = Value(3.0, "a")
    assert draw(a + a).source.splitlines().count("\tn0 -> n1_op") == 2


def test_powers_show_their_exponent_and_edge_labels_their_local_derivative():
    x = Value(3.0, "x")
    y = x ** 2
    assert 'label="** 2"' in draw(y).source                  # as written, as the steps say
    assert 'label="** 0.5"' in draw(x ** 0.5).source and 'label="** -1"' in draw(x ** -1).source
    assert '\tn0 -> n1_op [label=6.0]' in draw(y, edge_labels=True).source.splitlines()


def test_highlight_fills_the_node_and_its_op():
    o = neuron()
    n = o.parents[0]
    assert draw(o, highlight=n).source.count('fillcolor="#ffe08a"') == 2
    assert draw(o, highlight=[n, o]).source.count('fillcolor="#ffe08a"') == 4


def test_a_graph_too_large_says_how_large_and_how_to_raise_the_limit():
    x = Value(1.0)
    y = x
    for _ in range(400):
        y = y + 1
    with pytest.raises(GraphTooLargeError, match=r"801 nodes.*max_nodes=300.*max_nodes=801"):
        draw(y)
    assert "digraph" in draw(y, max_nodes=801).source


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="rankdir"):
        draw(Value(1.0), rankdir="XY")
    with pytest.raises(TypeError, match="Value"):
        draw(1.0)


# -- labels are shown exactly as written ------------------------------------------------------

LABELS = [
    'say "hi"', '\\"quoted\\"', "a<b>c", "<<html>>", "<b>bold</b>", "x|y", "{set}", "{a|b}<c>",
    "back\\slash", "trailing\\", "two trailing\\\\", "\\N", "\\G \\E \\T \\H \\L", "\\l \\r",
    "\\n not newline", "&lt; stays", "&amp; &#60; &", "∂L/∂w ünïcödé", "  spaced   out  ",
]
# characters that cannot be shown as themselves are written as escapes
HIDDEN = {"tab\there": "tab\\x09here", "bell\x07": "bell\\x07", "nul\x00": "nul\\x00",
          "del\x7f c1\x85": "del\\x7f c1\\x85", "lone \ud800 surrogate": "lone \\ud800 surrogate",
          "non\ufffechar": "non\\ufffechar", "cr\r": "cr\\x0d"}
SHOWN = [(label, label) for label in LABELS] + list(HIDDEN.items())


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_label_is_shown_as_written(backend):
    """One graph, every awkward text as a value's label, an op's name and an edge's label;
    rendered, parsed as XML, read back."""
    from autograd import define_op
    nodes, edge_text = [], {}
    for label, _ in SHOWN:
        op = define_op(label, local=lambda x, out: (2.0,))(lambda x: 2 * x)
        node = op(Value(1.0, label))
        edge_text[(id(node), 0)] = label
        nodes.append(node)
    total = nodes[0]
    for node in nodes[1:]:
        total = total + node
    shown = texts(draw(total, edge_text=edge_text).svg(backend=backend))
    for label, expected in SHOWN:      # a value's label, an op's name, an edge's label
        assert shown.count(expected) == 3, (label, expected, shown)


def test_label_escaping_uses_graphviz_escape_and_record_escapes():
    assert draw_module.label_text("\\l<b>") == graphviz.escape("\\l<b>")
    assert isinstance(draw_module.label_text("<b>"), graphviz.quoting.NoHtml)
    assert draw_module.label_text("a &lt; b") == "a &amp;lt; b"
    assert draw_module.record_field("{a|b}<c>") == "\\{a\\|b\\}\\<c\\>"
    assert draw_module.record_field("trailing\\") == "trailing\\\\"
    assert draw_module.record_field("line\nbreak") == "line\\nbreak"
    assert draw_module.record_field("a\ud800") == "a\\\\ud800"        # shown as \ud800


def test_a_newline_in_a_label_breaks_the_line():
    shown = texts(draw(Value(1.0, "first\nsecond") * 2).svg(backend="wasm"))
    assert "first" in shown and "second" in shown


# -- the layout budget ------------------------------------------------------------------------

def test_ordinary_graphs_are_laid_out_without_limits():
    import nn
    model = nn.MLP(3, [4, 4, 1], seed=1)
    for root in (neuron(), model([Value(0.5), Value(-1.0), Value(2.0)])):
        source = draw(root).source
        assert "nslimit" not in source and "mclimit" not in source and "dashed" not in source


@pytest.mark.parametrize("terms", [3, 10, 45, 90])
def test_the_layout_size_of_a_reuse_sum_is_known_exactly(terms):
    # x + x + ... + x: op k sits at rank 2k - 1, x at rank 0, so the edge from x to op k
    # crosses 2k - 2 ranks (op 1 takes x twice, both adjacent): hidden = (n-2)(n-1)
    drawn, size = draw_module.layout_size(topological_order(reuse_sum(terms)))
    assert drawn == 2 * terms - 1
    assert size == drawn + (terms - 2) * (terms - 1)


def test_large_layouts_get_a_budget_of_rounds_then_none():
    def limits(terms):
        source = draw(reuse_sum(terms)).source
        found = dict(re.findall(r"(nslimit|mclimit)=([0-9.e-]+)", source))
        return {k: float(v) for k, v in found.items()}
    assert limits(20) == {}                                  # 381 layout nodes: no limits
    size = 89 + 43 * 44                                      # 45 terms: 1,981
    assert limits(45)["nslimit"] == pytest.approx(
        draw_module.ROUNDS_BUDGET / size ** 2 / 89, rel=1e-2)
    assert limits(45)["mclimit"] == 1.0
    assert limits(90)["nslimit"] == 0                        # 8,011: no rounds at all
    assert limits(90)["mclimit"] == pytest.approx(draw_module.ORDERING_BUDGET / 8011, rel=0.02)


def test_edge_labels_double_the_ranks_and_large_labelled_layouts_put_them_beside():
    # with any edge label dot doubles every rank: an edge crossing k ranks crosses 2k - 1
    order = topological_order(reuse_sum(10))
    (drawn, size), (_, labelled) = (draw_module.layout_size(order),
                                    draw_module.layout_size(order, labelled=True))
    edges = sum(len(node.parents) for node in order)
    assert labelled == 2 * size - drawn + edges
    assert "[label=1.0]" in draw(reuse_sum(10), edge_labels=True).source    # small: on the edge
    big = draw(reuse_sum(60), edge_labels=True).source      # 7,081 labelled, 3,541 without
    assert "xlabel=" in big and not re.search(r"-> \S+ \[label=", big)
    assert "nslimit" in big                                  # the unlabelled layout's budget
    from autograd import backward_pass
    step = backward_pass(reuse_sum(60)).steps[30]
    assert len(re.findall(r"xlabel=", step.draw().source)) == 2


def test_values_used_very_far_away_are_drawn_again_next_to_their_use():
    root = power_chain(300)                      # h used by every one of 298 products
    order = topological_order(root)
    source = draw(root).source
    copies = re.findall(r'\t(n\d+_again\d) \[label="([^"]*)"[^\]]*style="filled,dashed"',
                        source)
    assert copies                                # drawn again, dashed ...
    h = next(node for node in order if node.op == "tanh")
    h_label = re.search(rf'\tn{order.index(h)} \[label="([^"]*)"', source)[1]
    assert {label for _, label in copies} == {h_label}     # ... with the same text as h
    for key, _ in copies:                        # each copy feeds exactly one op
        assert len(re.findall(rf"\t{key} -> n\d+_op$", source, re.M)) == 1
    # every operand still has its one edge, from the value or from its copy
    edges_into_ops = re.findall(r"\t\S+ -> n\d+_op", source)
    assert len(edges_into_ops) == sum(len(node.parents) for node in order)
    _, size = draw_module.layout_size(order)
    assert size <= draw_module.MAX_LAYOUT


# -- a graphviz.Digraph -----------------------------------------------------------------------

def test_the_picture_is_a_graphviz_digraph():
    graph = draw(neuron())
    assert isinstance(graph, graphviz.Digraph)
    assert graph.format == "svg" and graph.engine == "dot"
    graph.attr(label="a neuron")                 # graphviz's own API works on it
    graph.node("note", "added by hand")
    graph.edge("note", "n5")
    assert "label=\"a neuron\"" in graph.source and "note -> n5" in graph.source
    copy = graph.copy()
    assert type(copy) is draw_module.Graph and copy.source == graph.source
    assert repr(graph) == "<Graph: 9 edges; .svg(), .png(), .save(path)>"


def test_save_picks_the_format_from_the_suffix(tmp_path):
    graph = draw(neuron())
    assert graph.save(tmp_path / "g.dot").read_text(encoding="utf-8") == graph.source
    assert graph.save(tmp_path / "g.gv").read_text(encoding="utf-8") == graph.source
    svg = graph.save(tmp_path / "g.svg", backend="wasm").read_text(encoding="utf-8")
    assert "<svg" in svg and texts(svg)
    assert graph.save(tmp_path / "sub" / "g.png", backend="wasm").read_bytes()[:8] == \
        b"\x89PNG\r\n\x1a\n"
    fresh = draw(neuron())
    assert fresh.save(directory=tmp_path) == tmp_path / "backprop.gv"   # graphviz's default
    assert (tmp_path / "backprop.gv").read_text(encoding="utf-8") == fresh.source
    for name in ("g.jpg", "g.pdf", "g"):
        with pytest.raises(ValueError, match=r"\.svg, \.png or \.dot"):
            graph.save(tmp_path / name)


def test_a_failed_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    graph = draw(neuron())
    target = tmp_path / "g.svg"
    target.write_text("old picture", encoding="utf-8")

    def broken(source, backend="auto", timeout=None, engine="dot"):
        raise render_module.RenderError("renderer crashed")
    monkeypatch.setattr(render_module, "dot_to_svg", broken)
    with pytest.raises(render_module.RenderError):
        graph.save(target)
    with pytest.raises(render_module.RenderError):
        graph.render(outfile=target)
    assert target.read_text(encoding="utf-8") == "old picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.gv", "g.svg"]   # no temporaries


def test_jupyter_gets_an_svg_or_the_reason_there_is_none(monkeypatch):
    graph = draw(neuron())
    assert "<svg" in graph._repr_mimebundle_()["image/svg+xml"]
    png = graph._repr_mimebundle_(include=["image/png"])["image/png"]
    assert png[:8] == b"\x89PNG\r\n\x1a\n"

    def broken(source, backend="auto", timeout=None, engine="dot"):
        raise render_module.RenderError("no renderer here")
    monkeypatch.setattr(render_module, "dot_to_svg", broken)
    assert "no renderer here" in graph._repr_mimebundle_()["text/plain"]
