"""The slideshow: one self-contained HTML file, driven in a real headless browser."""

import re

import pytest
from browser import chromium_driver

from autograd import Value
from autograd.slides import slides, slides_html


def neuron():
    x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(6.8813735870195432, "b")
    n = x * w + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


def test_one_slide_per_step_and_nothing_from_outside(tmp_path):
    path = slides(neuron(), tmp_path / "class" / "backprop.html", backend="wasm")
    page = path.read_text(encoding="utf-8")
    assert page.count('<section class="slide"') == 3
    assert page.count("<svg") == 3
    for pattern in (r"\bsrc\s*=", r"<link\b", r"@import", r"url\(\s*['\"]?https?:",
                    r"href\s*=\s*['\"]https?:"):
        assert not re.search(pattern, page), pattern        # no network, no other files
    assert "do/dn += ∂o/∂n * do/do" in page and "∂v1/∂x" in page
    assert "Done. do/dx = -1.5" in page


def test_a_failed_render_writes_no_file(tmp_path, monkeypatch):
    from autograd import render
    target = tmp_path / "backprop.html"

    def broken(source, backend="auto"):
        raise render.RenderError("renderer crashed")
    monkeypatch.setattr(render, "dot_to_svg", broken)
    with pytest.raises(render.RenderError):
        slides(neuron(), target)
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_the_title_is_escaped():
    page = slides_html(neuron(), title="<b>class & co</b>", backend="wasm")
    assert "<title>&lt;b&gt;class &amp; co&lt;/b&gt;</title>" in page


@pytest.fixture(scope="module")
def browser():
    driver = chromium_driver()
    yield driver
    driver.quit()


def test_the_slides_work_in_a_real_browser(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    path = slides(neuron(), tmp_path / "backprop.html", backend="wasm")
    browser.get(path.resolve().as_uri())

    def counter():
        return browser.find_element(By.ID, "counter").text

    def visible_text():
        shown = [s for s in browser.find_elements(By.CSS_SELECTOR, ".slide") if s.is_displayed()]
        assert len(shown) == 1
        return shown[0].text

    assert counter() == "1 / 3"
    assert "do/do = 1.0" in visible_text()
    assert not browser.find_element(By.ID, "previous").is_enabled()

    browser.find_element(By.ID, "next").click()
    assert counter() == "2 / 3"
    assert "do/dv1 += ∂n/∂v1 * do/dn = 1.0 * 0.5 = 0.5" in visible_text()

    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ARROW_RIGHT)
    assert counter() == "3 / 3"
    assert "do/dx += ∂v1/∂x * do/dv1 = w * 0.5 = -3.0 * 0.5 = -1.5" in visible_text()
    assert not browser.find_element(By.ID, "next").is_enabled()
    body.send_keys(Keys.ARROW_RIGHT)                     # past the end: stays
    assert counter() == "3 / 3"
    body.send_keys(Keys.ARROW_LEFT)
    assert counter() == "2 / 3"
    browser.find_element(By.ID, "previous").click()
    assert counter() == "1 / 3"
    graph = browser.find_element(By.CSS_SELECTOR, ".slide:not([hidden]) svg")
    assert graph.size["width"] > 200                     # the inline SVG is laid out
