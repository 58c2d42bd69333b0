"""How long pictures take: every hard shape in tests/graph_shapes.py (all within draw()'s
default max_nodes) through each renderer, against the goal of 5 s per picture.

    .venv/bin/python benchmarks/render.py               the layout as draw() writes it
    .venv/bin/python benchmarks/render.py --unbounded   without nslimit/mclimit (as before;
                                                        far-used values are still copied)
    .venv/bin/python benchmarks/render.py --repeat 3    best of 3 (a shared machine is noisy)

Each render has a time limit (--limit, default 60 s); one that hits it prints "over N s".
Wall time is what a user waits; CPU time (of the dot process, or of this process for the
WebAssembly renderer) is printed too: it is less disturbed by other load on the machine. The
WebAssembly renderer is compiled once per process, before the first timing.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from graph_shapes import SHAPES  # noqa: E402

from autograd import RenderError, available_backends, draw, topological_order  # noqa: E402
from autograd import render as render_module  # noqa: E402
from autograd.draw import layout_size  # noqa: E402

GOAL = 5.0


def cpu_time() -> float:
    """CPU seconds of this process (the WebAssembly renderer runs in it) and its children
    (system dot)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + usage.ru_utime + usage.ru_stime


def time_one(source: str, backend: str, limit: float) -> tuple[float | None, float]:
    """(wall seconds or None when over the limit, CPU seconds)."""
    cpu, start = cpu_time(), time.perf_counter()
    try:
        render_module.dot_to_svg(source, backend=backend, timeout=limit)
    except RenderError as error:
        if "longer than" not in str(error):
            raise
        return None, cpu_time() - cpu
    return time.perf_counter() - start, cpu_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unbounded", action="store_true",
                        help="drop draw()'s nslimit/mclimit (the layout as it was before)")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds per render")
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs")
    parser.add_argument("--backend", choices=["dot", "wasm"], action="append",
                        help="renderer(s) to time (default: every one installed)")
    parser.add_argument("--only", help="shapes whose name contains this text")
    arguments = parser.parse_args()
    backends = arguments.backend or available_backends()
    if "wasm" in backends:
        render_module.dot_to_svg("digraph { a -> b }", backend="wasm")    # compile once
    print(f"cores: {os.cpu_count()}, load average: "
          + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(f"{'shape':42} {'values':>6} {'layout':>7}  "
          + "  ".join(f"{b:>22}" for b in backends))
    worst = 0.0
    for name, build in SHAPES.items():
        if arguments.only and arguments.only not in name:
            continue
        root = build()
        root.backward()
        order = topological_order(root)
        source = draw(root).source
        if arguments.unbounded:
            source = re.sub(r" (nslimit|mclimit)=\S+?(?=[ \]])", "", source)
        cells = []
        for backend in backends:
            runs = [time_one(source, backend, arguments.limit) for _ in range(arguments.repeat)]
            done = [r for r in runs if r[0] is not None]
            if not done:
                cells.append(f"over {arguments.limit:g} s".rjust(22))
                worst = float("inf")
                continue
            wall, cpu = min(done)
            worst = max(worst, wall)
            cells.append(f"{wall:6.2f} s (cpu {cpu:5.2f} s)".rjust(22))
        print(f"{name:42} {len(order):6} {layout_size(order)[1]:7,}  " + "  ".join(cells),
              flush=True)
    verdict = "MEETS" if worst <= GOAL else "MISSES"
    print(f"{verdict}: slowest picture {worst:.2f} s (goal: {GOAL:g} s with either renderer)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
