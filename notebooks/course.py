"""Helpers for the notebooks: exercises that check themselves, showing a step, and the
test suite's quick run."""

from __future__ import annotations

import importlib.machinery
import math
import os
import sys
import types

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


# -- in the browser site (make lite) without a network: pictures are skipped, not errors ---------

NO_PICTURE = ("(No picture here: matplotlib is not available. The browser site loads it from "
              "Pyodide's CDN, which needs a network connection; every number is still computed.)")


class _NoPicture:
    """Stands in for matplotlib where it cannot load: draws nothing and says so, once a cell."""

    said_in_cell = None

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._show if name == "show" else self

    def _show(self, *args, **kwargs):       # plt.show() returns None, as matplotlib's does
        self()

    def __call__(self, *args, **kwargs):
        cell = getattr(getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)(),
                       "execution_count", None)
        if cell is None or cell != _NoPicture.said_in_cell:
            _NoPicture.said_in_cell = cell
            print(NO_PICTURE)
        return self

    def __iter__(self):                     # figure, ax = plt.subplots()
        return iter((self, self))

    def __getitem__(self, key):
        return self

    def _same(self, *args):
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = _same
    __enter__ = _same

    def __exit__(self, *args):
        return False

    def __repr__(self):
        return "(no picture)"


def _no_picture_attribute(name: str):
    return getattr(_NoPicture(), name)


class _PictureFinder:
    """Last on sys.meta_path: reached only when the real matplotlib could not be imported."""

    def find_spec(self, name, path=None, target=None):
        if name == "matplotlib" or name.startswith("matplotlib."):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__path__ = []
        module.__getattr__ = _no_picture_attribute
        return module

    def exec_module(self, module):
        pass


if sys.platform == "emscripten" and not any(isinstance(f, _PictureFinder) for f in sys.meta_path):
    sys.meta_path.append(_PictureFinder())
