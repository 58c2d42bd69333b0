"""Execute the notebooks top to bottom, as the tests do, and (with --write) store the outputs.

    .venv/bin/python notebooks/run.py --write            (make notebooks-run)

System Graphviz is hidden from PATH while they run, so every picture in the stored notebooks
comes from the project's own renderers and shows the same on a machine without Graphviz.
The tests run them with quick=True (CHAINRULE_FAST=1, read as course.QUICK: fewer epochs and
pictures); the stored outputs always come from the full run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def notebooks() -> list[Path]:
    return sorted(HERE.glob("[0-9][0-9]_*.ipynb"))


def path_without_graphviz() -> str:
    return os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep)
                           if d and not os.path.exists(os.path.join(d, "dot")))


def execute(path: Path, timeout: int = 900, quick: bool = False):
    """Run one notebook in a fresh kernel, in its own folder; returns the executed notebook.
    quick=True is the tests' short run (CHAINRULE_FAST=1 in the kernel); otherwise the kernel
    never sees CHAINRULE_FAST, whatever the caller's environment says.
    Raises nbclient's CellExecutionError at the first cell that fails."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)     # no timestamps: a re-run changes only outputs
    saved = {name: os.environ.get(name) for name in ("PATH", "CHAINRULE_FAST")}
    os.environ["PATH"] = path_without_graphviz()
    if quick:
        os.environ["CHAINRULE_FAST"] = "1"
    else:
        os.environ.pop("CHAINRULE_FAST", None)
    try:                                # the kernel inherits this environment when it starts
        NotebookClient(notebook, timeout=timeout, kernel_name="python3", record_timing=False,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return notebook


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebooks to run (default: all)")
    parser.add_argument("--write", action="store_true", help="store the outputs in the files")
    parser.add_argument("--quick", action="store_true",
                        help="the tests' short run (fewer epochs); never stored")
    arguments = parser.parse_args()
    if arguments.quick and arguments.write:
        parser.error("--quick runs are never stored: drop --quick to --write")
    import nbformat
    chosen = [p for p in notebooks() if not arguments.names
              or any(name in p.name for name in arguments.names)]
    for path in chosen:
        start = time.perf_counter()
        notebook = execute(path, quick=arguments.quick)
        if arguments.write:
            nbformat.write(notebook, path)
        print(f"{path.name}: ran in {time.perf_counter() - start:.1f} s"
              + (", outputs stored" if arguments.write else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
