"""DOT text for graphs: snapshots, escaping, determinism, limits, saving."""

import html
import re
from pathlib import Path

import pytest

from autograd import GraphTooLargeError, Value, draw
from autograd import render as render_module

SNAPSHOTS = Path(__file__).parent / "snapshots"


def neuron():
    x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(6.881373587019543, "b")
    xw = x * w
    xw.label = "xw"
    n = xw + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


def test_the_neuron_matches_its_snapshot():
    o = neuron()
    o.backward()
    expected = (SNAPSHOTS / "neuron.dot").read_text(encoding="utf-8")
    assert draw(o).source == expected


def test_the_same_graph_always_gives_the_same_text():
    first, second = neuron(), neuron()
    assert draw(first).source == draw(second).source == draw(first).source
    assert draw(first, rankdir="TB").source != draw(first).source


def test_value_nodes_show_label_data_grad_and_op_nodes_sit_between():
    o = neuron()
    o.backward()
    source = draw(o).source
    assert 'label="{o | data 0.707107 | grad 1.0}"' in source
    assert 'n5_op [shape=ellipse' in source and "n5_op -> n5;" in source and "n4 -> n5_op;" \
        in source
    assert "grad" not in draw(o, show_grad=False).source.split("edge [")[1]


def test_a_parent_used_twice_gets_two_edges():
    a = Value(3.0, "a")
    source = draw(a + a).source
    assert source.count("n0 -> n1_op;") == 2


def test_powers_show_their_exponent_and_edge_labels_their_local_derivative():
    x = Value(3.0, "x")
    y = x ** 2
    assert 'label="** 2.0"' in draw(y).source
    assert 'n0 -> n1_op [label="6.0"];' in draw(y, edge_labels=True).source


def test_highlight_fills_the_node_and_its_op():
    o = neuron()
    n = o.parents[0]
    source = draw(o, highlight=n).source
    assert source.count('fillcolor="#ffe08a"') == 2


LABELS = ['say "hi"', "a<b>c", "x|y", "{set}", "back\\slash", "∂L/∂w ünïcödé", "\\n not newline",
          "tab\there", "<<html>>", "{a|b}<c>"]


@pytest.mark.parametrize("label", LABELS)
def test_any_label_text_is_shown_as_written(label):
    node = Value(1.0, label) * 2
    source = draw(node).source
    svg = render_module.dot_to_svg(source, backend="wasm")
    shown = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    expected = label.replace("\t", "\\x09")
    assert expected in shown, shown


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


def test_save_picks_the_format_from_the_suffix(tmp_path):
    graph = draw(neuron())
    assert graph.save(tmp_path / "g.dot").read_text(encoding="utf-8") == graph.source
    assert graph.save(tmp_path / "g.svg", backend="wasm").read_text(encoding="utf-8") \
        .lstrip().startswith(("<?xml", "<svg", "<!--"))
    assert graph.save(tmp_path / "sub" / "g.png", backend="wasm").read_bytes()[:8] == \
        b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match=r"\.svg, \.png or \.dot"):
        graph.save(tmp_path / "g.jpg")


def test_a_failed_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    graph = draw(neuron())
    target = tmp_path / "g.svg"
    target.write_text("old picture", encoding="utf-8")

    def broken(source, backend="auto"):
        raise render_module.RenderError("renderer crashed")
    monkeypatch.setattr(render_module, "dot_to_svg", broken)
    with pytest.raises(render_module.RenderError):
        graph.save(target)
    assert target.read_text(encoding="utf-8") == "old picture"
    assert [p.name for p in tmp_path.iterdir()] == ["g.svg"]     # no temporary left behind


def test_jupyter_gets_an_svg_or_the_reason_there_is_none(monkeypatch):
    graph = draw(neuron())
    assert "<svg" in graph._repr_mimebundle_()["image/svg+xml"]

    def broken(source, backend="auto"):
        raise render_module.RenderError("no renderer here")
    monkeypatch.setattr(render_module, "dot_to_svg", broken)
    assert "no renderer here" in graph._repr_mimebundle_()["text/plain"]
