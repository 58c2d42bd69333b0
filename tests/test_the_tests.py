"""The test suite's own rules: it never installs system packages; a missing browser is a skip
that says what to install, or a failure where CI requires it."""

import os
import subprocess
import sys

import browser
import pytest


@pytest.fixture
def no_browser(monkeypatch):
    """PATH without Chromium, and any attempt to run a program (apt-get...) an error."""
    monkeypatch.setenv("PATH", "")

    def refuse(*args, **kwargs):
        raise AssertionError(f"the tests tried to run a program: {args}")
    for name in ("run", "Popen", "call", "check_call", "check_output"):
        monkeypatch.setattr(subprocess, name, refuse)
    monkeypatch.setattr("os.system", refuse)


def test_a_missing_browser_is_a_skip_saying_what_to_install(no_browser, monkeypatch):
    monkeypatch.setattr(browser, "REQUIRED", False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        browser.chromium_driver()
    reason = str(skipped.value)
    assert "chromium and chromedriver not found" in reason
    assert "apt-get install chromium chromium-driver" in reason
    assert "CHAINRULE_REQUIRE_BROWSER=1" in reason


def test_a_missing_browser_fails_where_it_is_required(no_browser, monkeypatch):
    monkeypatch.setattr(browser, "REQUIRED", True)
    with pytest.raises(pytest.fail.Exception, match="CHAINRULE_REQUIRE_BROWSER is set but"):
        browser.chromium_driver()


def test_the_reason_names_only_what_is_missing():
    assert browser.missing_reason("/usr/bin/chromium", "/usr/bin/chromedriver") == ""
    assert browser.missing_reason("/usr/bin/chromium", None).startswith("chromedriver not found")


def test_a_test_that_tries_to_install_system_packages_fails_at_once():
    """conftest's guard: the command never runs (and --simulate would change nothing if it
    did)."""
    with pytest.raises(RuntimeError, match="tried to install system packages"):
        subprocess.run(["apt-get", "install", "--simulate", "chainrule-no-such-package"],
                       capture_output=True, check=False)
    with pytest.raises(RuntimeError, match="tried to install system packages"):
        os.system("sudo apt-get -y install --simulate chainrule-no-such-package")
    done = subprocess.run([sys.executable, "-c", "print('other programs run')"],
                          capture_output=True, text=True, check=True)
    assert done.stdout == "other programs run\n"
