"""Headless Chromium for the slide tests: installed from Debian packages when missing."""

import os
import shutil
import subprocess

import pytest

PACKAGES = ["chromium", "chromium-driver"]
REQUIRED = bool(os.environ.get("CHAINRULE_REQUIRE_BROWSER"))


def _find() -> tuple[str | None, str | None]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return browser, driver


def _install() -> str:
    """Try apt-get (as root); returns what went wrong, or '' on success."""
    if shutil.which("apt-get") is None:
        return "apt-get is not available here"
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return "installing them needs root (sudo apt-get install -y " + " ".join(PACKAGES) + ")"
    environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    command = ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES]
    done = subprocess.run(command, capture_output=True, env=environment, check=False)
    if done.returncode != 0:     # the package lists may be stale: refresh once and retry
        subprocess.run(["apt-get", "update"], capture_output=True, env=environment, check=False)
        done = subprocess.run(command, capture_output=True, env=environment, check=False)
    if done.returncode != 0:
        return "apt-get install failed: " + done.stderr.decode("utf-8", "replace")[-300:]
    return ""


def chromium_driver():
    """A Selenium WebDriver on headless Chromium. Skips (or, with CHAINRULE_REQUIRE_BROWSER,
    fails) only where Chromium cannot be installed."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is missing: it is in the test extra (pip install -e '.[test]')")
    browser, driver = _find()
    if not (browser and driver):
        problem = _install()
        browser, driver = _find()
        if not (browser and driver):
            reason = ("headless Chromium is not installed and could not be installed "
                      f"({problem or 'unknown reason'}); install the Debian packages "
                      + " ".join(PACKAGES))
            if REQUIRED:
                pytest.fail(reason)
            pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-quic",
                 "--disable-component-update", "--disable-sync", "--window-size=1400,900"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)
