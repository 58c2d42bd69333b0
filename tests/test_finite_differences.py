"""Every op, and random graphs, against central differences (hypothesis over each op's domain)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from op_cases import CASES, IDS

from autograd import gradcheck


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_op_matches_central_differences(case):
    @given(st.tuples(*case.domain))
    def check(point):
        assert gradcheck(case.ours, list(point), eps=1e-6, atol=1e-6, rtol=1e-5)
    check()
