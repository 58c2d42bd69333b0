"""pickle and copy.deepcopy of graphs: any op, any depth (iteratively), identity kept."""

import copy
import math
import pickle

import pytest

import autograd
from autograd import Value, topological_order


def every_op_graph():
    x, w, e = Value(0.5, "x"), Value(-1.5, "w"), Value(1.5, "e")
    h = x * w + 2.0
    h.label = "h"
    parts = [h.tanh(), h.sigmoid(), h.relu(), abs(h), h.exp(), (h * h + 1).log(),
             (h * h + 1).sqrt(), h.sin(), h.cos(), h ** 3, h ** 0.5 if h.data > 0 else h ** 2,
             e ** h, h / e, 1 / e, -h, 2 - h, h - 2, x + x]
    root = parts[0]
    for part in parts[1:]:
        root = root + part
    return root, (x, w, e)


def shape(root):
    """The graph as plain data: per node (op, label, data, grad, parent positions)."""
    order = topological_order(root)
    position = {id(node): i for i, node in enumerate(order)}
    return [(node.op, node.label, node.data, node.grad, getattr(node.local, "exponent", None),
             tuple(position[id(p)] for p in node.parents)) for node in order]


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_graph_of_every_op_pickles_and_still_backpropagates(protocol):
    root, leaves = every_op_graph()
    root.backward()
    loaded = pickle.loads(pickle.dumps(root, protocol=protocol))
    assert shape(loaded) == shape(root)
    original = [leaf.grad for leaf in leaves]
    loaded_leaves = [n for n in topological_order(loaded) if n.label in ("x", "w", "e")]
    for leaf in loaded_leaves:
        leaf.grad = 0.0
    loaded.backward()                           # the locals came back: same derivatives
    assert [leaf.grad for leaf in loaded_leaves] == original


def test_x_squared_pickles_and_deepcopies():
    x = Value(3.0, "x")
    y = x ** 2
    for twin in (pickle.loads(pickle.dumps(y)), copy.deepcopy(y)):
        assert (twin.op, twin.data, twin.parents[0].label) == ("**", 9.0, "x")
        assert twin.local.exponent == 2.0
        twin.backward()
        assert twin.parents[0].grad == 6.0
    assert x.grad == 0.0                        # the copies are separate graphs


def test_a_deep_chain_pickles_and_deepcopies_without_recursion():
    links = 20_000                              # Python's recursion limit is 1,000
    x = Value(0.5, "x")
    y = x
    for _ in range(links):
        y = y + x
    for twin in (pickle.loads(pickle.dumps(y)), copy.deepcopy(y)):
        order = topological_order(twin)
        assert len(order) == links + 1         # the leaf x and every link
        twin.backward()
        assert order[0].label == "x" and order[0].grad == links + 1


def test_a_node_used_twice_stays_one_node():
    a = Value(2.0, "a")
    b = a + a
    for twin in (pickle.loads(pickle.dumps(b)), copy.deepcopy(b)):
        assert twin.parents[0] is twin.parents[1]
        twin.backward()
        assert twin.parents[0].grad == 2.0


def test_leaves_pickled_beside_a_loss_are_the_loss_leaves():
    params = [Value(0.5, "w"), Value(-0.25, "b")]
    loss = (params[0] * 3.0 + params[1]) ** 2
    for dump in (pickle.dumps, lambda x: x):              # pickle, then deepcopy
        load = pickle.loads if dump is pickle.dumps else copy.deepcopy
        first = load(dump({"params": params, "loss": loss}))      # the leaves first
        later = load(dump({"loss": loss, "params": params}))      # the loss first
        for both in (first, later):
            w, b = both["params"]
            leaves = [node for node in topological_order(both["loss"]) if node.label]
            assert leaves == [w, b] and leaves[0] is w and w is not params[0]


def test_every_node_of_a_graph_pickled_in_a_list_keeps_its_identity_and_a_linear_size():
    x = Value(0.5, "x")
    y = x
    for _ in range(3000):
        y = (y * 0.999).tanh()
    nodes = topological_order(y)
    one = len(pickle.dumps(y))
    every = pickle.dumps(nodes)
    assert len(every) < 2 * one                 # not one whole graph per node
    loaded = pickle.loads(every)
    assert topological_order(loaded[-1]) == loaded      # the very same objects
    copied = copy.deepcopy(nodes)
    assert topological_order(copied[-1]) == copied


def test_user_attributes_and_labels_come_along():
    p = Value(1.0, "p")
    p.m, p.v = 0.5, Value(2.0, "state")         # as EurekaLabs' AdamW keeps its moments
    out = p * 2
    out._vis_color = "red"
    for twin in (pickle.loads(pickle.dumps(out)), copy.deepcopy(out)):
        leaf = twin.parents[0]
        assert (twin._vis_color, leaf.label, leaf.m, leaf.v.data, leaf.v.label) == \
            ("red", "p", 0.5, 2.0, "state")
    shallow = copy.copy(out)
    assert shallow is not out and shallow.parents == out.parents and shallow._vis_color == "red"


def test_a_user_attribute_pointing_back_into_the_graph_is_fine():
    p = Value(1.0, "p")
    out = p.tanh()
    p.last = out                                # a cycle through user code: still copied
    twin = copy.deepcopy(out)
    assert twin.parents[0].last is twin
    loaded = pickle.loads(pickle.dumps(out))
    assert loaded.parents[0].last is loaded


def module_level_local(x, out):
    return 2.0,


double = autograd.define_op("double", local=module_level_local)(lambda x: 2.0 * x)


def test_a_user_op_pickles_when_its_local_can_be():
    y = double(Value(1.5, "x"))
    loaded = pickle.loads(pickle.dumps(y))
    assert (loaded.op, loaded.local, loaded.data) == ("double", module_level_local, 3.0)
    loaded.backward()
    assert loaded.parents[0].grad == 2.0


def test_a_user_op_with_a_lambda_local_gives_a_clear_error():
    op = autograd.define_op("halve", local=lambda x, out: (0.5,))(lambda x: x / 2)
    y = op(Value(1.0, "x")) * 3
    with pytest.raises(pickle.PicklingError, match=r"the node made by 'halve'.*define the local "
                                                   r"derivative with def at the top level"):
        pickle.dumps(y)
    assert pickle.loads(pickle.dumps(Value(2.0) * 3)).data == 6.0   # nothing stuck after it
    assert copy.deepcopy(y).parents[0].op == "halve"    # deepcopy shares the local: fine


def test_a_copied_graph_is_its_own():
    root, (x, w, e) = every_op_graph()
    twin = copy.deepcopy(root)
    twin_x = next(n for n in topological_order(twin) if n.label == "x")
    twin_x.data = 9.0
    twin.zero_grad()
    assert x.data == 0.5 and math.isfinite(root.data)
    assert not set(map(id, topological_order(twin))) & set(map(id, topological_order(root)))
