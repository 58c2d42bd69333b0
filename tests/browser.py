"""Headless Chromium for the slide tests. The tests never install it: they skip, saying what to
install (or fail, with CHAINRULE_REQUIRE_BROWSER=1, as .ci/run sets after installing it)."""

import os
import shutil

import pytest

PACKAGES = ["chromium", "chromium-driver"]
REQUIRED = bool(os.environ.get("CHAINRULE_REQUIRE_BROWSER"))


def find() -> tuple[str | None, str | None]:
    """The Chromium and chromedriver programs on PATH (None where missing)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return browser, driver


def missing_reason(browser: str | None, driver: str | None) -> str:
    """Why the browser tests cannot run here, and what to install; '' when they can."""
    missing = [name for name, found in (("chromium", browser), ("chromedriver", driver))
               if not found]
    if not missing:
        return ""
    return (f"{' and '.join(missing)} not found on PATH: install headless Chromium "
            f"(on Debian/Ubuntu: sudo apt-get install {' '.join(PACKAGES)})")


def chromium_driver(*flags: str):
    """A Selenium WebDriver on headless Chromium, with extra command-line `flags`. Skips where
    Chromium is not installed (fails instead with CHAINRULE_REQUIRE_BROWSER=1)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is missing: it is in the test extra (pip install -e '.[test]')")
    browser, driver = find()
    reason = missing_reason(browser, driver)
    if reason:
        if REQUIRED:
            pytest.fail("CHAINRULE_REQUIRE_BROWSER is set but " + reason)
        pytest.skip(reason + "; set CHAINRULE_REQUIRE_BROWSER=1 to make this a failure")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-quic",
                 "--disable-component-update", "--disable-sync", "--window-size=1400,900",
                 *flags):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)
