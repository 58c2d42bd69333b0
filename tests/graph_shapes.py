"""Graphs whose shape makes Graphviz's layout slow, all within draw()'s default max_nodes (300
values): long edges from reuse (a value used all along a chain), wide fan-in, an MLP, a long
chain. Used by tests/test_render.py and benchmarks/render.py."""

from __future__ import annotations

import random

from autograd import Value


def reuse_sum(terms: int) -> Value:
    """x + x + ... + x: one leaf feeding every op of a chain (terms values, 2*terms-1 drawn)."""
    x = Value(1.5, "x")
    total = x
    for _ in range(terms - 1):
        total = total + x
    return total


def horner(degree: int) -> Value:
    """((c0*x + c1)*x + c2)*x ...: x used at every level, coefficients as leaves."""
    x = Value(0.9, "x")
    total = Value(1.0, "c0")
    for k in range(1, degree + 1):
        total = total * x + Value(0.1 * k, f"c{k}")
    return total


def power_chain(length: int) -> Value:
    """h * h * ... * h for h = tanh(x): an interior value reused all along the chain."""
    h = Value(0.3, "x").tanh()
    total = h
    for _ in range(length - 2):
        total = total * h
    return total


def alternating_reuse(length: int, reused: int = 2) -> Value:
    """x0 + x1 + x0 + x1 ...: several values used all along one chain, their long edges
    crossing each other (before draw() bounded the layout: over a minute in either renderer)."""
    xs = [Value(0.1 * i + 1, f"x{i}") for i in range(reused)]
    total = xs[0]
    for k in range(1, length - reused + 1):
        total = total + xs[k % reused]
    return total


def fan_in(leaves: int) -> Value:
    """x0 + x1 + ... : many leaves flowing into one long sum."""
    xs = [Value(float(i), f"x{i}") for i in range(leaves)]
    total = xs[0]
    for x in xs[1:]:
        total = total + x
    return total


def pairwise_sum(leaves: int) -> Value:
    """A balanced tree of sums over many leaves: wide, shallow fan-in."""
    layer = [Value(float(i), f"x{i}") for i in range(leaves)]
    while len(layer) > 1:
        layer = [layer[i] + layer[i + 1] if i + 1 < len(layer) else layer[i]
                 for i in range(0, len(layer), 2)]
    return layer[0]


def chain(length: int) -> Value:
    """tanh(tanh(...tanh(x))): the longest path a graph of this size can have."""
    total = Value(0.5, "x")
    for _ in range(length - 1):
        total = total.tanh()
    return total


def mlp_slice() -> Value:
    """The output of an MLP 4-7-7-1 on one input (285 values): dense crossings."""
    import nn
    model = nn.MLP(4, [7, 7, 1], seed=1)
    return model([Value(0.1 * i, f"in{i}") for i in range(4)])


def random_sum(steps: int, seed: int = 0) -> Value:
    """Random ops over earlier values, then a sum of everything made (as the property tests'
    random graphs): long edges and crossings together."""
    rng = random.Random(seed)
    pool = [Value(rng.uniform(-1, 1), f"x{i}") for i in range(4)]
    for _ in range(steps):
        a, b = rng.choice(pool), rng.choice(pool)
        pool.append(rng.choice([a + b, a * b, a.tanh()]))
    made = pool[4:]
    total = made[0]
    for value in made[1:]:
        total = total + value
    return total


# name -> builder; every one of them has at most 300 values (draw's default max_nodes)
SHAPES = {
    "reuse sum, 45 terms (89 drawn nodes)": lambda: reuse_sum(45),
    "reuse sum, 60 terms (119 drawn nodes)": lambda: reuse_sum(60),
    "reuse sum, 90 terms (179 drawn nodes)": lambda: reuse_sum(90),
    "reuse sum, 150 terms (299 drawn nodes)": lambda: reuse_sum(150),
    "reuse sum, 300 terms (599 drawn nodes)": lambda: reuse_sum(300),
    "Horner, degree 99": lambda: horner(99),
    "two values reused along a 300-value chain": lambda: alternating_reuse(300),
    "five values reused along a 300-value chain": lambda: alternating_reuse(300, 5),
    "interior reuse, 300 values": lambda: power_chain(300),
    "fan-in into a sum, 150 leaves": lambda: fan_in(150),
    "pairwise sum, 150 leaves": lambda: pairwise_sum(150),
    "MLP 4-7-7-1 slice, 285 values": mlp_slice,
    "chain, 300 values": lambda: chain(300),
    "random ops + sum, 299 values": lambda: random_sum(148),
}
