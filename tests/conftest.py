"""Shared fixtures: PyTorch float64 for parity tests, required in CI."""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "chainrule", max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.register_profile("thorough", parent=settings.get_profile("chainrule"), max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "chainrule"))


@pytest.fixture(scope="session")
def torch():
    """PyTorch in float64. Skipped when torch is missing, unless CHAINRULE_REQUIRE_TORCH=1."""
    try:
        import torch
    except ImportError:
        if os.environ.get("CHAINRULE_REQUIRE_TORCH"):
            pytest.fail("CHAINRULE_REQUIRE_TORCH is set but torch is not importable: "
                        "pip install torch==2.13.0")
        pytest.skip("PyTorch is not installed (pip install torch==2.13.0); "
                    "set CHAINRULE_REQUIRE_TORCH=1 to make this a failure")
    torch.set_default_dtype(torch.float64)
    return torch
