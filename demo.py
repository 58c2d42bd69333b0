"""`make demo`: a neuron's forward and backward pass, worked through in the terminal."""

from autograd import Value, gradcheck, local_derivatives, topological_order


def main() -> None:
    # A neuron: o = tanh(x*w + b), with the numbers from micrograd's lecture.
    x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(6.881373587019543, "b")
    xw = x * w
    xw.label = "xw"
    n = xw + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"

    print("Forward: o = tanh(x*w + b)")
    for node in topological_order(o):
        names = [parent.label for parent in node.parents]
        made = (f" = {names[0]} {node.op} {names[1]}" if len(names) == 2 else
                f" = {node.op}({names[0]})" if names else "")
        print(f"  {node.label:>2}{made:<13} = {node.data: .6f}")

    o.backward()
    print("\nBackward: each node passes  local derivative x upstream  to its parents")
    for node in reversed(topological_order(o)):
        for parent, local in zip(node.parents, local_derivatives(node)):
            print(f"  do/d{parent.label:<2} += d{node.label}/d{parent.label} * do/d{node.label}"
                  f" = {local: .4f} * {node.grad: .4f} = {local * node.grad: .4f}")

    print("\nGradients:", ", ".join(f"d{o.label}/d{v.label} = {v.grad:.4f}" for v in (x, w, b)))
    ok = gradcheck(lambda x, w, b: (x * w + b).tanh(), [x, w, b])
    print("gradcheck against central differences:", "passed" if ok else "failed")


if __name__ == "__main__":
    main()
