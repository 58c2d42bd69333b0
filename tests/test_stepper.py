"""The stepper: the backward pass in a notebook's output, driven in headless Chromium inside a
notebook exported to HTML by nbconvert, and read in the same export with every script removed
(as a code host's preview shows it)."""

import html
import re
import xml.etree.ElementTree as ET

import nbformat
import pytest
from browser import chromium_driver
from graphs import neuron
from IPython.core.formatters import DisplayFormatter

from autograd import Stepper, Value, slides, stepper, topological_order
from autograd.draw import HIGHLIGHT
from autograd.slides import deck

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<img src=x onerror="window.ran = 1">'



def reuse():
    a = Value(3.0, "a")
    return a * a + a


def hostile():
    """Labels that are markup, and a title that is too."""
    x = Value(2.0, HOSTILE)
    y = Value(-1.0, "</script><script>window.ran = 2</script>")
    return x * y + x


def exported(tmp_path, shown, strip=()):
    """A notebook with a markdown cell, then one cell per object in `shown` whose output is what
    the kernel stores (IPython's display formatter), exported by nbconvert to HTML; `strip`
    removes those elements (script, style) from the page. Returns the page's file URI."""
    from nbconvert import HTMLExporter

    formatter = DisplayFormatter()
    cells = [nbformat.v4.new_markdown_cell("# Steppers\n\n<pre>a pre of the page</pre>")]
    for number, thing in enumerate(shown, start=1):
        data, metadata = formatter.format(thing)
        cells.append(nbformat.v4.new_code_cell(
            f"shown[{number}]", execution_count=number, outputs=[nbformat.v4.new_output(
                "execute_result", data=data, metadata=metadata, execution_count=number)]))
    page, _ = HTMLExporter().from_notebook_node(nbformat.v4.new_notebook(cells=cells))
    for tag in strip:
        page = re.sub(rf"<{tag}\b[^>]*>.*?</{tag}>", "", page, flags=re.S | re.I)
    path = tmp_path / "notebook.html"
    path.write_text(page, encoding="utf-8")
    return path.as_uri()


@pytest.fixture(scope="module")
def browser():
    driver = chromium_driver("--host-resolver-rules=MAP * ~NOTFOUND")   # no network
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 1100, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    yield driver
    driver.quit()


STATE = """
    const deck = document.querySelectorAll('.chainrule-stepper')[arguments[0]];
    const prefix = deck.id + '-';
    const shown = [...deck.querySelectorAll('[data-part=slide]')].filter(s => !s.hidden);
    const nodes = {};
    deck.querySelectorAll('g.node').forEach(g => {
      const t = g.querySelectorAll('text');
      const grad = t[t.length - 1], shape = g.querySelector('path, polygon');
      nodes[g.id.slice(prefix.length)] = [grad.textContent, grad.getAttribute('fill'),
                                          shape.getAttribute('fill')];
    });
    return {counter: deck.querySelector('[data-part=counter]').textContent,
            text: shown.map(s => s.innerText), nodes: nodes};"""


def state(browser, which):
    return browser.execute_script(STATE, which)


def expected(slide):
    """What a slide of deck() shows on each node: grad text, its colour, the box's fill."""
    svg = ET.fromstring(slide.svg)
    nodes = {}
    for group in svg.iter(f"{SVG}g"):
        if group.get("class") == "node":
            grad = list(group.iter(f"{SVG}text"))[-1]
            shape = next(e for e in group if e.tag in (f"{SVG}path", f"{SVG}polygon"))
            nodes[group.get("id")] = [grad.text, grad.get("fill"), shape.get("fill")]
    return nodes


def press(browser, key, target=None):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    if target is not None:
        browser.execute_script("arguments[0].focus()", target)
    ActionChains(browser).send_keys(getattr(Keys, key)).perform()


def test_two_steppers_in_an_exported_notebook_step_apart(tmp_path, browser):
    from selenium.webdriver.common.by import By

    first, second = neuron(), reuse()
    browser.get(exported(tmp_path, [stepper(first, backend="dot"),
                                    slides(second, backend="dot")]))
    decks = browser.find_elements(By.CSS_SELECTOR, ".chainrule-stepper")
    assert len(decks) == 2
    ids = browser.execute_script(
        "return [...document.querySelectorAll('[id]')].map(e => e.id)")
    assert len(ids) == len(set(ids))                         # unique ids in the page
    one, two = deck(first, backend="dot"), deck(second, backend="dot")
    assert len(one) == 5 and len(two) == 4
    assert state(browser, 0)["counter"] == "1 / 5" and state(browser, 1)["counter"] == "1 / 4"

    # every slide of the first, by its Next button: the picture and text of deck()'s slide
    for k, slide in enumerate(one):
        now = state(browser, 0)
        assert now["counter"] == f"{k + 1} / 5"
        assert now["text"] == [f"{slide.title}\n{slide.text}"]
        assert now["nodes"] == expected(slide)
        if slide.step is not None:                          # the step's node, highlighted
            highlighted = [key for key, (*_, fill) in now["nodes"].items() if fill == HIGHLIGHT]
            assert len(highlighted) == 1
        decks[0].find_element(By.CSS_SELECTOR, "[data-part=next]").click()
    assert state(browser, 1)["counter"] == "1 / 4"            # the other did not move

    # keys go to the stepper that has focus, and only to it
    press(browser, "ARROW_RIGHT", decks[1])
    press(browser, "ARROW_RIGHT")
    assert state(browser, 1)["counter"] == "3 / 4" and state(browser, 0)["counter"] == "5 / 5"
    assert state(browser, 1)["nodes"] == expected(two[2])
    press(browser, "ARROW_LEFT", decks[0])
    assert state(browser, 0)["counter"] == "4 / 5" and state(browser, 1)["counter"] == "3 / 4"
    press(browser, "HOME")
    assert state(browser, 0)["counter"] == "1 / 5"
    browser.execute_script("document.activeElement.blur(); document.body.focus()")
    press(browser, "ARROW_RIGHT")                             # focus on the page: no stepper
    assert state(browser, 0)["counter"] == "1 / 5" and state(browser, 1)["counter"] == "3 / 4"


def test_the_stepper_stored_in_notebook_02_works_in_its_html_export(tmp_path, browser):
    """The outputs a real kernel stored (notebooks/run.py --write), exported by nbconvert."""
    from pathlib import Path

    from nbconvert import HTMLExporter
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    notebook = Path(__file__).resolve().parent.parent / "notebooks" / \
        "02_stepping_through_backprop.ipynb"
    page, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    path = tmp_path / "02.html"
    path.write_text(page, encoding="utf-8")
    browser.get(path.as_uri())
    # on a busy machine the export could be found without its stepper yet (seen once in
    # land.sh while CI ran beside it): wait for it, up to a minute
    (shown,) = WebDriverWait(browser, 60).until(
        lambda driver: driver.find_elements(By.CSS_SELECTOR, ".chainrule-stepper"))
    assert state(browser, 0)["counter"] == "1 / 5"
    press(browser, "ARROW_RIGHT", shown)
    press(browser, "ARROW_RIGHT")
    now = state(browser, 0)
    assert now["counter"] == "3 / 5" and now["text"][0].startswith("step 2/3 at n (+)")


def test_a_stepper_styles_nothing_outside_itself(tmp_path, browser):
    browser.get(exported(tmp_path, [stepper(neuron(), backend="dot")]))
    rules = browser.execute_script("""
        const deck = document.querySelector('.chainrule-stepper');
        return [...document.styleSheets].filter(s => deck.contains(s.ownerNode))
            .flatMap(s => [...s.cssRules].map(r => r.selectorText));""")
    assert rules and all(part.strip().startswith("#chainrule-stepper-")
                         for rule in rules for part in rule.split(","))
    outside = browser.execute_script("""
        const pre = [...document.querySelectorAll('pre')]
            .find(p => !p.closest('.chainrule-stepper'));
        return [pre.textContent, getComputedStyle(pre).backgroundColor];""")
    assert outside[0] == "a pre of the page" and outside[1] != "rgb(255, 248, 225)"


def test_labels_and_titles_are_shown_as_written_and_never_run(tmp_path, browser):
    from selenium.webdriver.common.by import By

    root = hostile()
    shown = stepper(root, title="<b>Class</b> & </script>", backend="dot")
    for strip in ((), ("script",)):
        browser.get(exported(tmp_path, [shown], strip))
        assert browser.execute_script("return window.ran") is None
        deck_ = browser.find_element(By.CSS_SELECTOR, ".chainrule-stepper")
        made = browser.execute_script("return [arguments[0].querySelectorAll('img, b').length, "
                                      "arguments[0].querySelectorAll('script').length]", deck_)
        assert made == [0, 0 if strip else 2]        # no element from a label: our 2 scripts
        words = browser.execute_script("return arguments[0].textContent", deck_)
        assert HOSTILE in words and "</script><script>window.ran = 2</script>" in words
    assert "<b>Class</b> & </script>" in html.unescape(shown.html())


@pytest.mark.parametrize("strip", [("script",), ("script", "style")],
                         ids=["scripts removed", "scripts and styles removed"])
def test_without_scripts_every_step_is_listed(tmp_path, browser, strip):
    from selenium.webdriver.common.by import By

    root = neuron()
    browser.get(exported(tmp_path, [stepper(root, backend="dot")], strip))
    deck_ = browser.find_element(By.CSS_SELECTOR, ".chainrule-stepper")
    sections = deck_.find_elements(By.CSS_SELECTOR, "[data-part=slide]")
    slides_ = deck(root, backend="dot")
    assert len(sections) == len(slides_) == 5
    for section, slide in zip(sections, slides_):
        assert section.is_displayed()
        assert section.text == f"{slide.title}\n{slide.text}"
    for button in deck_.find_elements(By.TAG_NAME, "button"):
        assert not button.is_displayed()                      # nothing that does nothing
    graph = deck_.find_element(By.CSS_SELECTOR, "[data-part=graph]")
    assert graph.is_displayed() and "grad -1.5" in graph.text     # the graph at the end


def test_a_stepper_changes_no_grad_and_reads_as_text():
    root = neuron()
    root.backward()
    root.backward()                                           # leaf grads piled up
    before = [(node.data, node.grad) for node in topological_order(root)]
    shown = slides(root, backend="dot")
    assert isinstance(shown, Stepper) and len(shown) == 5
    assert [(node.data, node.grad) for node in topological_order(root)] == before
    text = str(shown)
    assert "do/dx = -1.5,  do/dw = 1.0,  do/db = 0.5" in text     # this pass, not the piled
    assert "5 slides" in repr(shown)
    bundle = shown._repr_mimebundle_()
    assert bundle["text/plain"] == text and bundle["text/html"].startswith("<div")
    assert shown.html() != shown.html()                       # each display: ids of its own


def test_an_unknown_suffix_is_refused_not_written_as_html(tmp_path):
    for name in ("backprop.txt", "backprop", "backprop.svg"):
        with pytest.raises(ValueError, match="cannot tell what to write"):
            slides(neuron(), tmp_path / name, backend="dot")
    assert list(tmp_path.iterdir()) == []
