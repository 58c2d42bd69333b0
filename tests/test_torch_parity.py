"""Every op against PyTorch float64: values and grads to 1e-9 relative (in fact to a few ulps)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from op_cases import CASES, IDS

from autograd import Value

pytestmark = pytest.mark.torch


def close(ours: float, theirs: float, scale: float = 0.0) -> bool:
    return math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-300 + 1e-12 * scale)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_op_matches_pytorch(case, torch):
    @given(st.tuples(*case.domain))
    def check(point):
        ours = [Value(x) for x in point]
        out = case.ours(*ours)
        out.backward()
        theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
        expected = case.theirs(*theirs)
        expected.backward()
        assert close(out.data, expected.item()), (point, out.data, expected.item())
        # A slope read from the output (tanh' = 1 - t*t, sigmoid' = s*(1 - s)) near
        # saturation inherits the output's last-bit rounding: 1 ulp of t ~ 1 is 1e-9 of
        # 1 - t*t at x = 8.4. Grads agree to 1e-9 relative or to 1e-15 of the output.
        for mine, reference in zip(ours, theirs):
            assert close(mine.grad, reference.grad.item(), scale=1e-3 * abs(out.data)), \
                (point, mine.grad, reference.grad)
    check()


def test_a_saturated_slope_is_compared_within_the_rounding_of_its_output(torch):
    x, t = Value(8.4168), torch.tensor(8.4168, dtype=torch.float64, requires_grad=True)
    x.tanh().backward()
    torch.tanh(t).backward()
    assert close(x.grad, t.grad.item(), scale=1e-3)       # agree to the output's rounding
    assert not close(x.grad, 2 * t.grad.item(), scale=1e-3)   # a wrong slope still fails


@pytest.mark.parametrize("name, point", [("relu", 0.0), ("abs", 0.0), ("sqrt", 1e-300),
                                         ("tanh", 1e6), ("sigmoid", -1e6), ("sigmoid", 800.0),
                                         ("exp", -800.0), ("** 2", 0.0), ("** 0.5", 1e-300),
                                         ("** 2.7", 0.0)])
def test_edges_match_pytorch(name, point, torch):
    case = next(case for case in CASES if case.name == name)
    x = Value(point)
    out = case.ours(x)
    out.backward()
    t = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    expected = case.theirs(t)
    expected.backward()
    assert close(out.data, expected.item()) and close(x.grad, t.grad.item())


def test_x_to_the_zero_matches_pytorch(torch):
    for point in (0.0, -2.0, 3.0):
        x = Value(point)
        (x ** 0).backward()
        t = torch.tensor(point, dtype=torch.float64, requires_grad=True)
        (t ** 0).backward()
        assert x.grad == t.grad.item() == 0.0
