"""The import name `autograd` is shared with HIPS autograd: notice the clash and say the fix.

chainrule installs the top-level packages `autograd` and `nn`. HIPS autograd (`pip install
autograd`) also installs `autograd`, and pip merges the two into one folder: whichever was
installed last owns `autograd/__init__.py`, and uninstalling either one deletes it. Checked on
every import, so it must be cheap: one folder listing per sys.path
entry (well under a millisecond), never a scan of every installed package's file list
(importlib.metadata.packages_distributions() takes ~0.2 s).
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["AutogradNameClashWarning", "other_autograds", "warn_if_clashing", "FIX"]

HIPS = "autograd"            # the distribution name of HIPS autograd on the package index
FIX = ("install chainrule and HIPS autograd in separate virtual environments "
       "(python -m venv), and in chainrule's environment: pip uninstall -y autograd chainrule "
       "&& pip install chainrule")


class AutogradNameClashWarning(UserWarning):
    """Another installed package also provides the top-level module `autograd`."""


def _here() -> str:
    return os.path.realpath(os.path.dirname(os.path.abspath(__file__)))


def other_autograds(path: list[str] | None = None) -> list[str]:
    """What else provides `autograd` here: the HIPS distribution (its metadata folder) and any
    other `autograd` package folder on sys.path besides this one. Empty when chainrule is alone.

    Reads folder listings, as importlib.metadata's finder does, without importing it (that
    import alone takes ~30 ms, half of `import autograd`)."""
    found = []
    here = _here()
    for entry in sys.path if path is None else path:
        entry = entry or os.curdir
        try:
            names = os.listdir(entry)
        except OSError:                  # missing folders, zip files: nothing to see there
            continue
        for name in names:
            stem, dot, kind = name.rpartition(".")
            distribution, _, version = stem.partition("-")
            if kind in ("dist-info", "egg-info") and distribution.lower() == HIPS:
                found.append(f"the distribution autograd {version} in {entry} "
                             "(HIPS autograd, pip install autograd)")
        folder = os.path.join(entry, "autograd")
        if "autograd" in names and os.path.isfile(os.path.join(folder, "__init__.py")) \
                and os.path.realpath(folder) != here:
            found.append(f"another autograd package at {os.path.realpath(folder)}")
    return found


def clash_message(found: list[str]) -> str:
    return ("chainrule's `autograd` shares its import name with " + "; and ".join(found)
            + ". pip merges packages of the same name into one folder, so one overwrites the "
            "other's files (whichever was installed last owns autograd/__init__.py) and "
            "uninstalling either breaks both. Fix: " + FIX + ".")


def warn_if_clashing() -> None:
    """Warn (once: modules are imported once) when another `autograd` is installed."""
    try:
        found = other_autograds()
    except Exception:       # a check must never stop the import it guards
        return
    if found:
        warnings.warn(clash_message(found), AutogradNameClashWarning, stacklevel=3)
