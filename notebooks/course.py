"""Helpers for the notebooks: exercises that check themselves, showing a step, and the
test suite's quick run."""

from __future__ import annotations

import math
import os

__all__ = ["QUICK", "check", "show_step"]

# True only while the test suite runs the notebooks (CHAINRULE_FAST=1, set by notebooks/run.py
# for the tests): the training cells then use fewer epochs or pictures, so every cell still runs
# in seconds. The outputs stored in the notebooks always come from the full run.
QUICK = os.environ.get("CHAINRULE_FAST") == "1"


def check(answer, expected: float, *, tolerance: float = 1e-6, hint: str = "") -> bool | None:
    """Say whether an exercise's answer is right. `...` means "not answered yet".

    Never raises, so a notebook runs top to bottom before every exercise is done."""
    if answer is ...:
        print("Not answered yet: replace ... with your answer and run the cell again.")
        return None
    try:
        value = float(getattr(answer, "data", answer))
    except (TypeError, ValueError):
        print(f"Your answer should be a number, got {answer!r}.")
        return False
    if math.isclose(value, expected, rel_tol=tolerance, abs_tol=tolerance):
        print(f"Correct: {value:.6g}.")
        return True
    print(f"Not quite: you have {value:.6g}." + (f" Hint: {hint}" if hint else ""))
    return False


def show_step(step) -> None:
    """A step as text (its header first), as a formula, and as the graph at that moment."""
    from IPython.display import Math, display
    print(step)
    display(Math(step.latex))
    display(step.draw(rankdir="TB"))      # top to bottom: narrow, so its text reads at full size
