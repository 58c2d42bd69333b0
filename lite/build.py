"""Build the zero-install classroom: a JupyterLite site whose Python (Pyodide) runs in the browser.

    lite/.venv/bin/python lite/build.py --output lite/site          (what `make lite` runs)

Run by a Python 3.12+ with lite/requirements.txt installed, after `npm ci` in lite/. Everything
the notebooks need is put into the site, so it works with no network once served: the Pyodide
runtime (npm `pyodide`), the kernel's pure-Python packages and chainrule's wheel (locked with
pyodide-lock and uv from the package index, never from a CDN), Graphviz for the browser (npm
`@viz-js/viz`), the notebooks and notebooks/course.py. Packages with compiled code that Pyodide
builds itself (numpy, matplotlib, scikit-learn, ...) stay in the lock file with their CDN
address: they load when the browser is online, and only then.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NODE = HERE / "node_modules"
RUNTIME = ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip"]
VIZ = NODE / "@viz-js" / "viz" / "dist" / "viz.js"
VIZ_IN_SITE = Path("static") / "viz-js" / "viz.js"    # autograd/_browser.py looks for it here

# What the kernel needs beyond Pyodide's core, and what chainrule's notebooks use (tqdm: the
# progress bar of nn.fit). They and everything they depend on are taken from the package index
# at the versions Pyodide's own lock file names, so the site needs no CDN.
KERNEL_NEEDS = ["ipython", "micropip", "jedi", "six", "decorator", "tqdm"]
EXTRA_SPECS = ["comm"]               # pyodide-kernel needs it; Pyodide's lock does not list it

# Notebooks that cannot run in the browser at all, left out of the site (and why).
LEFT_OUT = {"09": "PyTorch has no build for Pyodide"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def trimmed_lock(lock: dict) -> tuple[dict, list[str]]:
    """Pyodide's lock without the kernel's pure-Python packages (and their dependencies), which
    uv then takes from the package index, pinned to the versions the lock had."""
    packages = {canonical(name): name for name in lock["packages"]}
    wanted, todo = set(), list(KERNEL_NEEDS)
    while todo:
        name = canonical(todo.pop())
        if name in wanted:
            continue
        wanted.add(name)
        todo += lock["packages"][packages[name]]["depends"]
    pins = []
    for name in sorted(wanted):
        spec = lock["packages"].pop(packages[name])
        if not spec["file_name"].endswith("-none-any.whl"):
            sys.exit(f"lite: {name} is not pure Python in Pyodide's lock; it cannot come from "
                     "the package index")
        pins.append(f"{name}=={spec['version']}")
    return lock, pins


def stage(work: Path, wheel_dir: Path) -> list[str]:
    """The folder `jupyter lite build` runs in: configuration, runtime, notebooks."""
    shutil.rmtree(work, ignore_errors=True)
    runtime = work / "static" / "pyodide"
    runtime.mkdir(parents=True)
    source = NODE / "pyodide"
    if not (source / "pyodide-lock.json").is_file() or not VIZ.is_file():
        sys.exit(f"lite: {NODE} is incomplete; run `npm ci` in {HERE} (make lite does)")
    for name in RUNTIME:
        shutil.copy2(source / name, runtime / name)
    lock, pins = trimmed_lock(json.loads((source / "pyodide-lock.json").read_text("utf-8")))
    (runtime / "pyodide-lock.json").write_text(json.dumps(lock), "utf-8")

    contents = work / "contents"
    contents.mkdir()
    left_out = []
    for notebook in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        if notebook.name[:2] in LEFT_OUT:
            left_out.append(f"{notebook.name} ({LEFT_OUT[notebook.name[:2]]})")
            continue
        shutil.copy2(notebook, contents / notebook.name)
    for name in ("course.py", "README.md"):
        shutil.copy2(ROOT / "notebooks" / name, contents / name)

    config = {
        "LiteBuildConfig": {"contents": ["contents"], "no_sourcemaps": True},
        "PyodideLockAddon": {
            "enabled": True,
            "wheels": [str(wheel_dir)],
            "specs": ["chainrule", *EXTRA_SPECS, *pins],
            "prefetch_extra": ["chainrule"],        # `from autograd import Value` at once
        },
    }
    (work / "jupyter_lite_config.json").write_text(json.dumps(config, indent=2), "utf-8")
    # The running app as window.jupyterapp: scripts and the site's test drive it through it.
    (work / "jupyter-lite.json").write_text(json.dumps(
        {"jupyter-lite-schema-version": 0,
         "jupyter-config-data": {"appName": "chainrule", "exposeAppInBrowser": True}},
        indent=2), "utf-8")
    return left_out


def build_wheel(wheel_dir: Path) -> Path:
    shutil.rmtree(wheel_dir, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--disable-pip-version-check", "-w", str(wheel_dir), str(ROOT)], check=True)
    (wheel,) = wheel_dir.glob("chainrule-*.whl")
    return wheel


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=HERE / "site", help="the site's folder")
    parser.add_argument("--work", type=Path, default=HERE / "build", help="a scratch folder")
    arguments = parser.parse_args()
    output, work = arguments.output.resolve(), arguments.work.resolve()
    start = time.perf_counter()

    wheel = build_wheel(work.parent / (work.name + "-wheels"))
    left_out = stage(work, wheel.parent)
    fresh = output.with_name(output.name + ".new")
    shutil.rmtree(fresh, ignore_errors=True)
    environment = dict(os.environ, UV_PYTHON_DOWNLOADS="never")
    done = subprocess.run([sys.executable, "-m", "jupyterlite_core", "build",
                           "--output-dir", str(fresh)], cwd=work, env=environment,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-6000:] + done.stderr[-6000:])
        sys.exit(f"lite: jupyter lite build failed (exit {done.returncode}); its output is above")
    (fresh / VIZ_IN_SITE).parent.mkdir(parents=True)
    shutil.copy2(VIZ, fresh / VIZ_IN_SITE)

    # Check what the site promises: chainrule and the kernel's packages are in it, not remote.
    lock = json.loads((fresh / "static" / "pyodide-lock" / "pyodide-lock.json").read_text())
    local = {name for name, spec in lock["packages"].items()
             if not spec["file_name"].startswith(("http:", "https:"))}
    for name in ["chainrule", "pyodide-kernel", "ipython", "micropip", "comm", "tqdm"]:
        if name not in local:
            sys.exit(f"lite: {name} did not end up in the site")
    shutil.rmtree(output, ignore_errors=True)
    fresh.rename(output)
    print(f"lite: built {output} in {time.perf_counter() - start:.0f} s: "
          f"{size(output) / 1e6:.1f} MB, {len(local)} packages inside "
          f"({', '.join(sorted(local))}); "
          f"{len(lock['packages']) - len(local)} more load from Pyodide's CDN when online")
    for line in left_out:
        print(f"lite: left out {line}")
    print("lite: serve it with `make lite-serve` (or any static web server over HTTPS)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
