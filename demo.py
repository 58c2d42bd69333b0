"""`make demo`: a neuron's backward pass worked through, drawn and made into slides; then
micrograd's two-moons MLP trained, its decision boundary and loss curve drawn (all into out/)."""

import os
from pathlib import Path

from autograd import Value, draw, gradcheck, slides, topological_order

OUT = Path("out")


def neuron() -> Value:
    """o = tanh(x*w + b), with the numbers from micrograd's lecture."""
    x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(6.881373587019543, "b")
    xw = x * w
    xw.label = "xw"
    n = xw + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


def explain_neuron(out: Path) -> None:
    o = neuron()
    print("Forward: o = tanh(x*w + b)")
    for node in topological_order(o):
        names = [parent.label for parent in node.parents]
        made = (f" = {names[0]} {node.op} {names[1]}" if len(names) == 2 else
                f" = {node.op}({names[0]})" if names else "")
        print(f"  {node.label:>2}{made:<13} = {node.data: .6f}")

    print("\nBackward, one node at a time: each parent gets  local derivative x upstream")
    for step in o.backward_steps():
        print("  " + str(step).replace("\n", "\n  "))
    leaves = {node.label: node for node in topological_order(o) if not node.parents}
    x, w, b = leaves["x"], leaves["w"], leaves["b"]
    print("\nGradients:", ", ".join(f"do/d{v.label} = {v.grad:.4f}" for v in (x, w, b)))
    ok = gradcheck(lambda x, w, b: (x * w + b).tanh(), [x, w, b])
    print("gradcheck against central differences:", "passed" if ok else "failed")

    graph = draw(o)
    for name in ("neuron.svg", "neuron.png"):
        print(f"wrote {graph.save(out / name)}")
    print(f"wrote {slides(neuron(), out / 'backprop.html')}  (open it in a browser; arrow keys)")


# ---------------------------------------------------------------------------------------------
# nn: micrograd's two-moons demo, trained with a progress bar, pictures written to out/


def train_moons(out_dir: str) -> None:
    """Train an MLP 2-16-16-1 on 100 two-moons points as micrograd's demo does (hinge loss,
    L2 1e-4, SGD with a decaying rate, 100 full-batch steps); write the decision boundary
    and the loss curve as PNG into out_dir."""
    import nn

    X, y = nn.data.moons(100, noise=0.1, seed=MOONS_SEED)
    y = [2 * t - 1 for t in y]                        # micrograd's -1/+1 labels
    model = nn.MLP(2, [16, 16, 1], seed=1337)   # the weights micrograd gets after random.seed(1337)
    print(f"\nnn: {model!r}".replace("\n  ", "\n      "))
    print("training on 100 two-moons points: hinge loss + 1e-4 L2, SGD lr 1.0 -> 0.1, 100 steps")
    history = nn.fit(model, X, y, loss="hinge", optimizer=nn.SGD(model.parameters(), lr=1.0),
                     epochs=100, l2=1e-4, schedule=lambda k: 1.0 - 0.9 * k / 100)
    print(f"  {history!r}; training accuracy now {nn.accuracy(model, X, y):.0%}")
    os.makedirs(out_dir, exist_ok=True)
    for name, figure in (("decision_boundary", nn.plot.decision_boundary(model, X, y)),
                         ("loss_curve", nn.plot.loss_curve(history, title="moons, hinge + L2"))):
        path = os.path.join(out_dir, f"{name}.png")
        figure.savefig(path, dpi=120)
        print(f"  wrote {path}")


MOONS_SEED = 1   # the data seed; with it (and others, see benchmarks/nn_targets.py) 100% is reached


def main() -> None:
    OUT.mkdir(exist_ok=True)
    explain_neuron(OUT)
    train_moons(str(OUT))


if __name__ == "__main__":
    main()
