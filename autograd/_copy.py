"""pickle and copy.deepcopy of graphs, parents first and one node at a time (no recursion)."""

from __future__ import annotations

import copy
import pickle
import threading
import weakref
from collections.abc import Callable

from .engine import Value, _at, _new_value

__all__ = ["reduce", "shallow_copy", "deep_copy"]

# pickle asks each object to reduce itself and recurses into what it returns; a node that
# returned its parents would recurse as deep as the graph. So the first node of a graph that
# pickle meets returns, before its own fields, the list of its graph's nodes not yet pickled,
# parents first: pickle then meets each of them after its parents, and each returns only its
# own fields. Marks (per thread) remember which nodes are listed (PENDING) or pickled (DONE);
# pickle reduces a node once per pickle, so a DONE node reduced again means a new pickle.

_PENDING, _DONE = 1, 2
_pickling = threading.local()


def reduce(node: Value):
    """What Value.__reduce_ex__ gives pickle: a shell to make, then its state (the nodes of
    its graph not pickled yet, parents first; then its own fields)."""
    marks = getattr(_pickling, "marks", None)
    if marks is None:
        marks = _pickling.marks = weakref.WeakKeyDictionary()
    mark = marks.get(node)
    if mark == _DONE:                  # pickled before: this is another pickle
        marks.clear()
        mark = None
    parents = node.parents
    if mark == _PENDING and all(marks.get(parent) == _DONE for parent in parents):
        earlier = []                   # listed by an earlier node: its parents are in already
    else:
        earlier = _order(node, lambda seen: marks.get(seen) == _DONE)[:-1]
        for other in earlier:
            marks[other] = _PENDING
    marks[node] = _DONE
    try:
        local = _portable_local(node)
    except pickle.PicklingError:
        marks.clear()
        raise
    return _shell, (type(node),), (earlier, node._data, node.grad, local,
                                   node._a, node._b, _attributes(node))


def _shell(cls: type) -> Value:
    return _new_value(cls)


_picklable: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _portable_local(node: Value):
    """The node's local derivative as pickle can save it: ('**', n) for x ** n."""
    local = node.local
    exponent = getattr(local, "exponent", None)
    if exponent is not None and local is Value._pow_local(exponent):
        return ("**", exponent)
    if local is None or getattr(Value, getattr(local, "__name__", ""), None) is local:
        return local                                  # one of ours: saved by its name
    try:
        known = local in _picklable
    except TypeError:                                 # not weakly referable: check each time
        known = False
    if not known:
        try:
            pickle.dumps(local)
        except Exception as error:
            raise pickle.PicklingError(
                f"cannot pickle the node made by {node.op!r}{_at(node)}: its local derivative "
                f"{local!r} cannot be pickled ({error}); pickle saves a function by its name, "
                "so define the local derivative with def at the top level of a module "
                "(not a lambda or a function inside another)") from None
        try:
            _picklable[local] = True
        except TypeError:
            pass
    return local


def _attributes(node: Value) -> dict | None:
    """What user code set on the node (p.m = 0.0), or None; leaves no empty dict behind."""
    attributes = node.__dict__
    if not attributes:
        try:
            del node.__dict__                  # asking for it made one
        except (AttributeError, TypeError):    # a Python that keeps it
            pass
        return None
    return attributes


def _twin(node: Value) -> Value:
    twin = _new_value(type(node))
    twin._data, twin.grad, twin.local, twin._tick = node._data, node.grad, node.local, node._tick
    twin._a = twin._b = None
    return twin


def _order(root: Value, stop: Callable[[Value], bool]) -> list[Value]:
    """topological_order(root), without the nodes for which stop(node) is true (nor what is
    only behind them)."""
    order: list[Value] = []
    seen = {root}
    stack = [root]
    while stack:
        node = stack[-1]
        for parent in node.parents:
            if parent not in seen:
                seen.add(parent)
                if not stop(parent):
                    stack.append(parent)
                    break
        else:
            stack.pop()
            order.append(node)
    return order


def shallow_copy(node: Value) -> Value:
    """copy.copy(node): a new node with the same data, grad, op, parents and attributes."""
    twin = _twin(node)
    twin._a, twin._b = node._a, node._b
    attributes = _attributes(node)
    if attributes:
        twin.__dict__.update(attributes)
    return twin


def deep_copy(root: Value, memo: dict) -> Value:
    """copy.deepcopy(root): every node of its graph copied, parents first (shared nodes stay
    shared, and so do nodes already copied in this deepcopy, through `memo`)."""
    keep = memo.setdefault(id(memo), [])
    graded = []                                # nodes whose grad is a Value (create_graph)
    for node in _order(root, lambda node: id(node) in memo):
        if id(node) in memo:                   # copied meanwhile, through a user attribute
            continue
        twin = _twin(node)
        if isinstance(node.grad, Value):
            graded.append((node, twin))
        memo[id(node)] = twin
        keep.append(node)                      # as copy.deepcopy does: ids stay unique
        twin._a = None if node._a is None else memo[id(node._a)]
        twin._b = None if node._b is None else memo[id(node._b)]
        attributes = _attributes(node)
        if attributes:
            twin.__dict__.update(copy.deepcopy(attributes, memo))
    for node, twin in graded:                  # a grad's graph, copied once its nodes are in
        twin.grad = copy.deepcopy(node.grad, memo)
    return memo[id(root)]
