"""`make demo`: a neuron's forward and backward pass, worked through, drawn and made into slides."""

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
        print(f"  step {step.index + 1}/{step.total}, at {step.node.label}:")
        print("    " + str(step).replace("\n", "\n    "))
    leaves = {node.label: node for node in topological_order(o) if not node.parents}
    x, w, b = leaves["x"], leaves["w"], leaves["b"]
    print("\nGradients:", ", ".join(f"do/d{v.label} = {v.grad:.4f}" for v in (x, w, b)))
    ok = gradcheck(lambda x, w, b: (x * w + b).tanh(), [x, w, b])
    print("gradcheck against central differences:", "passed" if ok else "failed")

    graph = draw(o)
    for name in ("neuron.svg", "neuron.png"):
        print(f"wrote {graph.save(out / name)}")
    print(f"wrote {slides(neuron(), out / 'backprop.html')}  (open it in a browser; arrow keys)")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    explain_neuron(OUT)


if __name__ == "__main__":
    main()
