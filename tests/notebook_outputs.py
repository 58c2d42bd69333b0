"""What a notebook shows, as text to compare: a cell's printed text and its rich outputs, with
every number compared to 1e-12 relative and the volatile parts (times, file sizes, a stepper's
random ids) left out. Used by test_notebooks (a fresh run against the stored outputs) and
test_lite (the browser's run against them)."""

import html
import math
import re

NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
# Not numbers of the math: times, and file sizes (the browser's Graphviz is another build, so
# its SVG text, and a slides file made of it, differ in length).
VOLATILE = [(re.compile(r"\bin [\d.]+ s\b"), "in # s"),       # 'History(300 epochs in 0.04 s'
            (re.compile(r"\([\d,]+ bytes\)"), "(# bytes)")]   # 'wrote out/x.html (26,521 bytes)'
SVG_TEXT = re.compile(r"<text\b[^>]*>(.*?)</text>", re.S)


def text_of(output: dict, mime: str) -> str:
    value = output.get("data", {}).get(mime, "")
    return "".join(value) if isinstance(value, list) else value


def shown(outputs: list[dict]) -> tuple[str, list[tuple[str, str]]]:
    """A cell's printed text (stdout), and its rich outputs as (kind, text) in order (pictures
    from matplotlib left out: the site draws them only when it is online)."""
    printed = "".join("".join(o["text"]) if isinstance(o["text"], list) else o["text"]
                      for o in outputs if o["output_type"] == "stream" and o["name"] == "stdout")
    rich = []
    for output in outputs:
        if output["output_type"] in ("execute_result", "display_data"):
            if "image/png" in output["data"]:
                continue
            if "image/svg+xml" in output["data"]:
                labels = SVG_TEXT.findall(text_of(output, "image/svg+xml"))
                rich.append(("svg", "\n".join(sorted(html.unescape(t) for t in labels))))
            for mime in ("text/latex", "text/html", "text/plain"):
                if mime in output["data"]:
                    text = text_of(output, mime)
                    if mime == "text/html" and "chainrule-stepper" in text:
                        text = stepper_text(text)
                    rich.append((mime, text))
                    break
    return printed, rich


def stepper_text(page: str) -> str:
    """A stepper's slides as text (its ids are random, and its picture is the browser's
    Graphviz's, which may even choose another of the layouts whose sizes are close)."""
    sections = re.findall(r'<section class="cr-slide".*?</section>', page, flags=re.S)
    return "\n".join(html.unescape(re.sub(r"<[^>]+>", "\n", s)).strip() for s in sections)


def assert_same(expected: str, got: str, where: str) -> None:
    """The same text around the numbers, and every number within 1e-12 relative."""
    for pattern, stand_in in VOLATILE:
        expected, got = pattern.sub(stand_in, expected), pattern.sub(stand_in, got)
    assert NUMBER.sub("#", got) == NUMBER.sub("#", expected), f"{where}: text differs"
    for want, have in zip(NUMBER.findall(expected), NUMBER.findall(got)):
        assert math.isclose(float(have), float(want), rel_tol=1e-12, abs_tol=1e-15), \
            f"{where}: {have} in this run, {want} stored"
