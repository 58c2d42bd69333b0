"""Shared fixtures: PyTorch float64 for parity tests, required in CI; and a guard that no test
installs system packages."""

import os
import re
import subprocess

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


# The tests never install system packages: a test that tries (apt-get install, ...) fails at
# once instead of changing the machine. .ci/run installs what they need.
_INSTALLING = re.compile(r"\b(apt-get|apt|aptitude|dpkg|yum|dnf|zypper|apk|brew|snap|port)\b"
                         r"[^;&|]*\binstall\b")


class InstallAttempted(RuntimeError):
    """A test tried to install system packages; it should skip with the reason instead (or
    fail, under CHAINRULE_REQUIRE_*)."""


def refuse_installing(command) -> None:
    words = [command] if isinstance(command, (str, bytes, os.PathLike)) else list(command)
    text = " ".join(os.fsdecode(w) if isinstance(w, (bytes, os.PathLike)) else str(w)
                    for w in words)
    if _INSTALLING.search(text):
        raise InstallAttempted(f"a test tried to install system packages ({text[:120]!r}): "
                               "tests skip with the reason instead; .ci/run installs them")


@pytest.fixture(autouse=True, scope="session")
def _no_installing():
    popen, system = subprocess.Popen.__init__, os.system

    def guarded_popen(self, args, *rest, **options):
        refuse_installing(args)
        popen(self, args, *rest, **options)

    def guarded_system(command):
        refuse_installing(command)
        return system(command)
    subprocess.Popen.__init__, os.system = guarded_popen, guarded_system
    try:
        yield
    finally:
        subprocess.Popen.__init__, os.system = popen, system
