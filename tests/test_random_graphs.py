"""Random graphs (hypothesis: reuse, fan-out, every op) against PyTorch and central differences."""

import math

import pytest
from hypothesis import assume, given
from random_graphs import programs, run

from autograd import Value, gradcheck, local_derivatives, topological_order


@pytest.mark.torch
@given(programs())
def test_random_graphs_match_pytorch(torch, program):
    inputs, _ = program
    leaves = [Value(x) for x in inputs]
    nodes, root = run(program, leaves)
    assume(all(abs(node.data) < 1e6 for node in nodes))
    root.backward()

    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    theirs, their_root = run(program, tensors, torch)
    their_root.backward()

    for node, tensor in zip(nodes, theirs):
        assert math.isclose(node.data, tensor.item(), rel_tol=1e-9, abs_tol=1e-12)
    their_grads = [0.0 if t.grad is None else t.grad.item() for t in tensors]  # None: unused
    scale = 1.0 + max(abs(g) for g in their_grads)
    for leaf, grad in zip(leaves, their_grads):
        assert math.isclose(leaf.grad, grad, rel_tol=1e-9, abs_tol=1e-12 * scale), (leaf.grad, grad)


@given(programs())
def test_random_graphs_match_central_differences(program):
    inputs, _ = program
    nodes, root = run(program, [Value(x) for x in inputs])
    assume(all(abs(node.data) < 1e4 for node in nodes))
    # central differences straddle a kink if an input of relu or abs is within eps of 0
    assume(all(abs(node.parents[0].data) > 1e-3
               for node in topological_order(root) if node.op in ("relu", "abs")))
    assert gradcheck(lambda *xs: run(program, xs)[1], inputs, eps=1e-6, atol=1e-5, rtol=1e-4)


@given(programs())
def test_backward_sets_every_grad_to_the_sum_over_consumers(program):
    # d root/d node = sum over the node's consumers c of (d c/d node) * (d root/d c), exactly
    # in backward order: recompute it independently, node by node, from the final grads.
    inputs, _ = program
    _, root = run(program, [Value(x) for x in inputs])
    root.backward()
    order = topological_order(root)
    expected = {id(node): 0.0 for node in order}
    expected[id(root)] = 1.0
    for node in reversed(order):
        assert node.grad == expected[id(node)]
        for parent, local in zip(node.parents, local_derivatives(node)):
            expected[id(parent)] += local * node.grad
