"""Random expression graphs for hypothesis: programs over a pool of nodes, with reuse and fan-out.

A program is a list of (op, i, j): apply `op` to nodes i and j of the pool (i == j is allowed:
a + a, a * a), append the result. The same program runs on Values and on torch tensors.
Ops that need a domain are wrapped so any input is inside it (log(x*x + 0.5), ...).
"""

from hypothesis import strategies as st

UNARY = {
    "tanh": lambda x, t: x.tanh(),
    "sigmoid": lambda x, t: x.sigmoid(),
    "sin": lambda x, t: x.sin(),
    "cos": lambda x, t: x.cos(),
    "relu": lambda x, t: x.relu(),
    "abs": lambda x, t: abs(x),
    "neg": lambda x, t: -x,
    "exp": lambda x, t: (x.tanh() * 2).exp(),
    "log": lambda x, t: (x * x + 0.5).log(),
    "sqrt": lambda x, t: (x * x + 0.1).sqrt(),
    "square": lambda x, t: x ** 2,
    "cube": lambda x, t: x ** 3,
    "root": lambda x, t: (x * x + 0.2) ** 0.5,
    "reciprocal": lambda x, t: 1 / (x * x + 0.5),
}
BINARY = {
    "+": lambda a, b, t: a + b,
    "-": lambda a, b, t: a - b,
    "*": lambda a, b, t: a * b,
    "/": lambda a, b, t: a / (b * b + 0.5),
    "**": lambda a, b, t: (a.sigmoid() + 0.5) ** b.tanh(),
    "number": lambda a, b, t: 2.5 - a * 0.5 + 1.5 / (b * b + 1),
}
OPS = sorted(UNARY) + sorted(BINARY)


@st.composite
def programs(draw, max_inputs: int = 4, max_steps: int = 14):
    inputs = draw(st.lists(st.floats(-2, 2, allow_nan=False), min_size=1, max_size=max_inputs))
    steps = []
    for k in range(draw(st.integers(1, max_steps))):
        pool = len(inputs) + k
        steps.append((draw(st.sampled_from(OPS)), draw(st.integers(0, pool - 1)),
                      draw(st.integers(0, pool - 1))))
    return inputs, steps


def run(program, leaves, torch_module=None):
    """Run a program on leaves (Values or tensors); returns (every node, root).

    The root sums every node made, so every node fans out into it."""
    _, steps = program
    pool = list(leaves)
    for op, i, j in steps:
        if op in UNARY:
            pool.append(UNARY[op](pool[i], torch_module))
        else:
            pool.append(BINARY[op](pool[i], pool[j], torch_module))
    made = pool[len(leaves):]
    root = made[0]
    for node in made[1:]:
        root = root + node
    return pool, root
