"""The slideshow: one self-contained HTML file (forward pass, a slide per step, a summary) on one
layout of the graph, driven and measured in a real headless browser."""

import html
import re
import xml.etree.ElementTree as ET

import pytest
from browser import chromium_driver
from graphs import neuron, neuron_with_loss, squared_errors

from autograd import GraphTooLargeError, Value, backward_pass
from autograd.slides import DIGITS, Picture, deck, slides, slides_html
from autograd.text import value_text

SVG = "{http://www.w3.org/2000/svg}"





def mlp_loss():
    """A 2-2-1 MLP's squared error, as nn labels it: 28 nodes, 10 levels deep."""
    from nn import MLP
    model = MLP(2, [2, 1], seed=0)
    return (model([Value(0.5, "x0"), Value(-1.0, "x1")]) - 1.0) ** 2


def reuse():
    a = Value(3.0, "a")
    return a * a + a


def test_forward_pass_first_then_a_slide_per_step_then_the_summary(tmp_path):
    path = slides(neuron(), tmp_path / "class" / "backprop.html", backend="wasm")
    page = path.read_text(encoding="utf-8")
    kinds = re.findall(r'<section class="slide (\w+)"', page)
    assert kinds == ["forward", "step", "step", "step", "summary"]
    assert page.count("<svg") == 1                       # one picture, changed per slide
    for pattern in (r"\bsrc\s*=", r"<link\b", r"@import", r"url\(\s*['\"]?https?:",
                    r"href\s*=\s*['\"]https?:"):
        assert not re.search(pattern, page), pattern        # no network, no other files
    text = html.unescape(page)
    assert "n = v1 + b = (-6.0) + 6.88137 = 0.881374" in text          # values flow forward
    assert "do/dn += ∂o/∂n * do/do" in text and "∂v1/∂x" in text
    assert "do/dx = -1.5,  do/dw = 1.0,  do/db = 0.5" in text           # the summary


def test_a_lone_leaf_and_labels_with_record_characters_make_slides():
    x = Value(2.0, "x")
    assert [slide.kind for slide in deck(x, backend="dot")] == ["forward", "step", "summary"]
    odd = Value(1.0, "a|{b}<c>") * Value(2.0, 'q"\\')
    for rankdir in ("LR", "TB"):
        last = deck(odd, backend="dot", rankdir=rankdir)[-1]
        shown = html.unescape(last.svg)
        assert "a|{b}<c>" in shown and 'q"\\' in shown


def test_a_failed_render_writes_no_file(tmp_path, monkeypatch):
    from autograd import render
    target = tmp_path / "backprop.html"

    def broken(source, backend="auto"):
        raise render.RenderError("renderer crashed")
    monkeypatch.setattr(render, "dot_to_svg", broken)
    with pytest.raises(render.RenderError):
        slides(neuron(), target)
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_a_title_that_is_not_text_is_a_clear_error():
    for title in (3, b"bytes", ["a"]):
        for make in (slides_html, slides):
            with pytest.raises(TypeError, match="title must be text"):
                make(neuron(), title=title, backend="wasm")


def test_max_nodes_and_the_root_are_checked_and_a_big_graph_is_refused_before_its_pass(
        monkeypatch):
    import importlib

    from autograd import draw, ledger, stepper
    for bad in (0, -1, 1.5, "10", None, True):
        for view in (slides, draw):
            with pytest.raises(ValueError, match="max_nodes must be a whole number >= 1"):
                view(neuron(), max_nodes=bad)
    for view in (slides, slides_html, stepper, ledger):
        with pytest.raises(TypeError, match="takes the Value"):
            view(3.0)
    def no_pass(*args):
        raise AssertionError("the whole backward pass ran before max_nodes was checked")
    monkeypatch.setattr(importlib.import_module("autograd.slides"), "backward_pass", no_pass)
    with pytest.raises(GraphTooLargeError, match="more than max_nodes=3"):
        slides(neuron(), max_nodes=3)


def test_the_title_is_escaped():
    page = slides_html(neuron(), title="<b>class & co</b>", backend="wasm")
    assert "<title>&lt;b&gt;class &amp; co&lt;/b&gt;</title>" in page


def test_each_contribution_is_laid_out_on_its_own_edge_at_its_widest():
    root = reuse()                                      # a * a: two edges between one pair
    run = backward_pass(root)
    picture = Picture(run, backend="dot")
    frames = picture.frames()
    svg = ET.fromstring(picture.svg(frames, len(frames) - 1))
    groups = {g.get("id"): g for g in svg.iter(f"{SVG}g") if g.get("id")}
    for step in run.steps:
        for position, edge in enumerate(step.edges):
            group = groups[picture.edges[(step.node, position)]]
            assert group.get("class") == "edge"
            labels = [t.text for t in group.iter(f"{SVG}text")]
            assert labels == [value_text(edge.contribution, DIGITS)]
    a = run.order[0]
    grad = [t.text for t in groups[picture.keys[a]].iter(f"{SVG}text")][-1]
    assert grad == "grad 7.0"                          # the summary: the final total


def test_each_total_is_laid_out_at_its_widest():
    a = Value(2.0, "a")
    root = a * -6.17 + a * 7.17                         # a's total: 7.17, then 1.0
    picture = Picture(backward_pass(root), backend="dot")
    assert "grad 7.17" in picture.source                # the box is as wide as it must be
    frames = picture.frames()
    assert "grad 1.0<" in picture.svg(frames, len(frames) - 1)


def test_the_slides_pictures_agree_with_the_html_and_nodes_never_move(tmp_path, browser):
    root = reuse()
    path = slides(root, tmp_path / "reuse.html", backend="dot")
    shown = deck(root, backend="dot")
    browser.get(path.as_uri())
    places = None
    for k, slide in enumerate(shown):
        browser.execute_script(f"document.dispatchEvent(new KeyboardEvent('keydown', "
                               f"{{key: {'Home' if k == 0 else 'ArrowRight'!r}}}));")
        live = browser.execute_script("""
            const svg = document.querySelector('.graph svg');
            const nodes = [...svg.querySelectorAll('g.node')].map(g => {
              const t = g.querySelectorAll('text'); const r = g.getBoundingClientRect();
              return [g.id, t[t.length - 1].textContent, t[t.length - 1].getAttribute('fill'),
                      [r.x, r.y, r.width, r.height].map(Math.round).join()]; });
            const edges = [...svg.querySelectorAll('g.edge')].map(g => {
              const t = g.querySelector('text');
              return [g.id, t.getAttribute('visibility'), t.getAttribute('fill')]; });
            return [nodes, edges];""")
        svg = ET.fromstring(slide.svg)
        groups = {g.get("id"): g for g in svg.iter(f"{SVG}g") if g.get("id")}
        for key, text, fill, _ in live[0]:
            grad = list(groups[key].iter(f"{SVG}text"))[-1]
            assert (text, fill) == (grad.text, grad.get("fill")), (k, key)
        for key, visibility, fill in live[1]:
            label = groups[key].find(f"{SVG}text")
            assert (visibility, fill) == (label.get("visibility"), label.get("fill")), (k, key)
        where = [place for *_, place in live[0]]
        assert places is None or where == places          # one layout: nothing moves
        places = where
    assert [grad for _, grad, *_ in live[0]] == ["grad 7.0", "grad 1.0", "grad 1.0"]


@pytest.fixture(scope="module")
def browser():
    driver = chromium_driver()
    yield driver
    driver.quit()


def viewport(browser, width, height):
    """Make the page area exactly width x height CSS pixels (as a projector at that size)."""
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    assert browser.execute_script("return [innerWidth, innerHeight]") == [width, height]


SIZES = """
    const svg = document.querySelector('.graph svg'), scale = svg.getScreenCTM().a;
    const node = Math.min(...[...svg.querySelectorAll('g.node text')].map(
        t => parseFloat(t.getAttribute('font-size')) * scale));
    const high = Math.min(...[...svg.querySelectorAll('g.node text')].map(
        t => t.getBoundingClientRect().height));
    const pre = document.querySelector('.slide:not([hidden]) pre');
    const box = document.querySelector('.graph').getBoundingClientRect();
    const drawn = svg.querySelector('g').getBoundingClientRect();
    return {node: node, high: high, body: parseFloat(getComputedStyle(pre).fontSize),
            inside: drawn.left >= box.left - 1 && drawn.right <= box.right + 1 &&
                    drawn.top >= box.top - 1 && drawn.bottom <= box.bottom + 1};"""


@pytest.mark.parametrize("build", [neuron, neuron_with_loss, squared_errors])
def test_node_text_is_at_least_body_text_on_a_projector(tmp_path, browser, build):
    path = slides(build(), tmp_path / "deck.html", backend="dot")
    for width, height in ((1024, 768), (1920, 1080)):
        viewport(browser, width, height)
        browser.get(path.as_uri())
        browser.execute_script("document.dispatchEvent(new KeyboardEvent('keydown', "
                               "{key: 'ArrowRight'}));")
        sizes = browser.execute_script(SIZES)
        assert sizes["node"] >= sizes["body"] >= 16, (width, sizes)
        assert sizes["high"] >= sizes["body"], (width, sizes)     # as drawn, not only as set
        assert sizes["inside"]


def test_a_deep_28_node_graph_reads_nearly_as_large_as_body_text(tmp_path, browser):
    """Ten levels of an MLP loss do not fit at body-text size on a 1024x768 slide; the layout
    that stacks each node on two lines (how it was made; = data | grad) comes closest: 0.74
    and 0.85 of body text (one line per node gave 0.49 and 0.66)."""
    root = mlp_loss()
    assert len(backward_pass(root).order) == 28
    path = slides(root, tmp_path / "mlp.html", backend="dot")
    for (width, height), share in (((1024, 768), 0.7), ((1920, 1080), 0.8)):
        viewport(browser, width, height)
        browser.get(path.as_uri())
        sizes = browser.execute_script(SIZES)
        assert sizes["node"] >= share * sizes["body"], (width, sizes)
        assert sizes["inside"]


def test_a_large_graph_scales_down_to_fit(tmp_path, browser):
    x = Value(0.5, "x")
    y = x
    for k in range(40):                                   # 101 nodes, a leaf on every link
        y = (y * Value(0.9, f"w{k}")).tanh() if k % 2 else y + Value(0.1, f"b{k}")
    assert len(backward_pass(y).order) == 101
    path = slides(y, tmp_path / "large.html", backend="dot")
    viewport(browser, 1024, 768)
    browser.get(path.as_uri())
    sizes = browser.execute_script(SIZES)
    assert sizes["inside"] and sizes["node"] < sizes["body"]


def test_a_value_reused_far_away_is_laid_out_in_bounded_time_or_refused():
    from autograd import GraphTooLargeError
    x = Value(0.5, "x")
    y = x
    for _ in range(149):
        y = y + x                                # x used on every rank: 22,500 layout nodes
    with pytest.raises(GraphTooLargeError, match="22,500 nodes.*slides of a part"):
        slides_html(y, backend="dot")


def test_values_reused_across_each_other_make_slides_in_bounded_time():
    # x0 + x1 + x0 + ... (95 values): routing edges around their labels took 15 s in system
    # dot and over 30 s in WebAssembly; large layouts get the contributions as xlabels
    xs = [Value(1.0, "x0"), Value(2.0, "x1")]
    y = xs[0]
    for k in range(1, 94):
        y = y + xs[k % 2]
    picture = Picture(backward_pass(y), backend="wasm")
    assert "xlabel=" in picture.source and " label=" not in picture.source.split("->")[-1]
    svg = deck(y, backend="wasm")[40].svg
    assert svg.count('class="edge"') == 186 and "#c0392b" in svg


@pytest.mark.heavy
def test_a_90_term_reuse_sum_makes_slides():
    x = Value(0.5, "x")
    y = x
    for _ in range(89):
        y = y + x                                # 8,100 layout nodes: a budget of rounds
    picture = Picture(backward_pass(y), backend="dot")
    assert picture.rankdir == "LR" and "nslimit=" in picture.source


def test_the_slides_work_in_a_real_browser(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    viewport(browser, 1024, 768)
    path = slides(neuron(), tmp_path / "backprop.html", backend="wasm")
    browser.get(path.resolve().as_uri())

    def counter():
        return browser.find_element(By.CLASS_NAME, "counter").text

    def visible_text():
        shown = [s for s in browser.find_elements(By.CSS_SELECTOR, ".slide") if s.is_displayed()]
        assert len(shown) == 1
        return shown[0].text

    assert counter() == "1 / 5"
    assert "the forward pass" in visible_text()
    assert not browser.find_element(By.CLASS_NAME, "previous").is_enabled()
    browser.find_element(By.CLASS_NAME, "next").click()
    assert counter() == "2 / 5"
    assert "do/do = 1.0 (the seed)" in visible_text()
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ARROW_RIGHT)
    assert "do/dv1 += ∂n/∂v1 * do/dn = 1.0 * 0.5 = 0.5" in visible_text()
    body.send_keys(Keys.ARROW_RIGHT)
    assert "do/dx += ∂v1/∂x * do/dv1 = w * 0.5 = -3.0 * 0.5 = -1.5" in visible_text()
    body.send_keys(Keys.ARROW_RIGHT)
    assert counter() == "5 / 5" and "Done" in visible_text()
    assert not browser.find_element(By.CLASS_NAME, "next").is_enabled()
    body.send_keys(Keys.ARROW_RIGHT)                     # past the end: stays
    assert counter() == "5 / 5"
    body.send_keys(Keys.ARROW_LEFT)
    assert counter() == "4 / 5"
    browser.find_element(By.CLASS_NAME, "previous").click()
    assert counter() == "3 / 5"
    body.send_keys(Keys.HOME)
    assert counter() == "1 / 5"
    browser.find_element(By.CLASS_NAME, "next").send_keys(Keys.SPACE)   # one step, not two
    assert counter() == "2 / 5"


def test_without_scripts_every_slide_is_readable(tmp_path, browser):
    page = re.sub(r"<script>.*?</script>", "", slides_html(neuron(), backend="dot"),
                  flags=re.S)
    path = tmp_path / "static.html"
    path.write_text(page, encoding="utf-8")
    browser.get(path.as_uri())
    from selenium.webdriver.common.by import By
    sections = browser.find_elements(By.CSS_SELECTOR, ".slide")
    assert len(sections) == 5 and all(s.is_displayed() for s in sections)
    assert "grad -1.5" in browser.find_element(By.CSS_SELECTOR, ".graph").text
