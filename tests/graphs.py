"""The small graphs the view tests share: Karpathy's neuron, a neuron and its loss, a sum of
squared errors (as nn and the lecture build them, labelled)."""

from autograd import Value


def neuron():
    """o = tanh(x*w + b), the micrograd lecture's neuron: d o/d x = -1.5."""
    x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(6.8813735870195432, "b")
    n = x * w + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


def neuron_with_loss():
    """A two-input neuron and its squared error: 13 nodes, 8 levels deep."""
    x1, x2, w1, w2, b, y = (Value(v, name) for v, name in zip(
        (2.0, 0.0, -3.0, 1.0, 6.88, 1.0), ("x1", "x2", "w1", "w2", "b", "y")))
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.label = "o"
    return (o - y) ** 2


def squared_errors(n=5):
    """Five squared errors summed pairwise: 24 nodes."""
    terms = [(Value(0.3 * i, f"p{i}") - Value(1.0 - 0.2 * i, f"t{i}")) ** 2 for i in range(n)]
    while len(terms) > 1:
        terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i]
                 for i in range(0, len(terms), 2)]
    return terms[0]
