"""The engine against micrograd and PyTorch scalars: one training step of one MLP, side by side.

Workload (the same graph in each engine): an MLP 2-16-16-1 (relu hidden, linear out) over 32
two-moons points, hinge loss plus L2 on the weights, forward + backward + one SGD update.
Also: a 1,000,000-link chain backpropagates, and its time against a 100,000-link chain.

    .venv/bin/python benchmarks/engine.py               (make bench)
    .venv/bin/python benchmarks/engine.py --repeat 5    every engine 5 times, interleaved

micrograd (PyPI `micrograd`) and PyTorch are optional; a missing one is reported and skipped.
With --repeat N the engines take turns, each run in a fresh process (chainrule, micrograd,
PyTorch, then again in the next order), and the speed-ups reported are the medians of each
round's ratio: run to run noise on a shared machine is large, and a round's ratio compares
runs made close together.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from autograd import Value, topological_order  # noqa: E402

POINTS, SIZES, ALPHA, LR = 32, (2, 16, 16, 1), 1e-4, 0.05


def two_moons(n: int, noise: float = 0.1, seed: int = 0) -> tuple[list[list[float]], list[float]]:
    """n points on two interleaving half circles, labels -1/+1 (as sklearn's make_moons)."""
    rng = random.Random(seed)
    X, y = [], []
    for i in range(n):
        t = math.pi * rng.random()
        if i % 2 == 0:
            X.append([math.cos(t) + rng.gauss(0, noise), math.sin(t) + rng.gauss(0, noise)])
            y.append(-1.0)
        else:
            X.append([1 - math.cos(t) + rng.gauss(0, noise),
                      0.5 - math.sin(t) + rng.gauss(0, noise)])
            y.append(1.0)
    return X, y


def initial_weights(seed: int = 1) -> list[list[list[float]]]:
    """weights[layer][neuron] = [w_1, ..., w_nin, b], uniform(-1, 1) as micrograd."""
    rng = random.Random(seed)
    return [[[rng.uniform(-1, 1) for _ in range(nin)] + [0.0] for _ in range(nout)]
            for nin, nout in zip(SIZES, SIZES[1:])]


class Engine:
    """How one library spells the few things the workload needs."""
    name = ""

    def leaf(self, x: float, requires_grad: bool):
        raise NotImplementedError

    def relu(self, v):
        return v.relu()

    def backward(self, loss) -> None:
        loss.backward()

    def update(self, params, lr: float) -> None:
        for p in params:
            p.data -= lr * p.grad
            p.grad = 0.0


class Chainrule(Engine):
    name = "chainrule"

    def leaf(self, x, requires_grad):
        return Value(x)


class Micrograd(Engine):
    name = "micrograd"

    def __init__(self):
        from micrograd.engine import Value as MicrogradValue
        self.Value = MicrogradValue

    def leaf(self, x, requires_grad):
        return self.Value(x)


class TorchScalars(Engine):
    name = "pytorch"

    def __init__(self):
        import torch
        torch.set_num_threads(1)
        self.torch = torch

    def leaf(self, x, requires_grad):
        return self.torch.tensor(x, dtype=self.torch.float64, requires_grad=requires_grad)

    def update(self, params, lr):
        with self.torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None


def training_step(engine: Engine, params, X, y):
    """Forward (MLP, hinge loss + L2) and backward; returns the loss node. The same graph in
    every engine: each neuron is b + w1*x1 + w2*x2 + ..., summed left to right."""
    layers = [[neuron for neuron in layer] for layer in params]
    scores = []
    for row in X:
        activations = [engine.leaf(v, False) for v in row]
        for depth, layer in enumerate(layers):
            outputs = []
            for neuron in layer:
                total = neuron[-1]
                for w, a in zip(neuron[:-1], activations):
                    total = total + w * a
                outputs.append(engine.relu(total) if depth < len(layers) - 1 else total)
            activations = outputs
        scores.append(activations[0])
    losses = [engine.relu(1 + -yi * score) for yi, score in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    flat = [p for layer in params for neuron in layer for p in neuron]
    reg_loss = ALPHA * sum(p * p for p in flat)
    loss = data_loss + reg_loss
    engine.backward(loss)
    return loss, flat


def make_params(engine: Engine):
    return [[[engine.leaf(w, True) for w in neuron] for neuron in layer]
            for layer in initial_weights()]


def time_steps(engine: Engine, X, y, steps: int) -> list[float]:
    """Seconds for each of `steps` training steps (forward + backward + SGD update)."""
    params = make_params(engine)
    for _ in range(2):                                   # warm up
        loss, flat = training_step(engine, params, X, y)
        engine.update(flat, LR)
        del loss
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        loss, flat = training_step(engine, params, X, y)
        engine.update(flat, LR)
        del loss                                         # freeing the graph is part of a step
        times.append(time.perf_counter() - start)
    return times


def peak_bytes(engine: Engine, X, y) -> int:
    """Peak Python-heap bytes (tracemalloc) of one forward + backward, above the model itself."""
    params = make_params(engine)
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    loss, _ = training_step(engine, params, X, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del loss
    return peak - base


def graph_nodes(X, y) -> int:
    engine = Chainrule()
    loss, _ = training_step(engine, make_params(engine), X, y)
    return len(topological_order(loss))


def chain_seconds(links: int) -> float:
    """Seconds for backward() through a chain y = y + x, `links` nodes deep."""
    x = Value(0.5, "x")
    y = x
    for _ in range(links):
        y = y + x
    start = time.perf_counter()
    y.backward()
    seconds = time.perf_counter() - start
    assert x.grad == links + 1
    return seconds


ENGINES = {"chainrule": (Chainrule, ""), "micrograd": (Micrograd, "pip install micrograd"),
           "pytorch": (TorchScalars, "pip install torch==2.13.0")}
STEPS = {"chainrule": 60, "micrograd": 20, "pytorch": 20}


def measure(name: str) -> dict:
    """One engine, measured in this (fresh) process."""
    make, _ = ENGINES[name]
    engine = make()
    X, y = two_moons(POINTS)
    times = time_steps(engine, X, y, STEPS[name])
    memory = None if name == "pytorch" else peak_bytes(engine, X, y)
    return {"mean": statistics.mean(times), "median": statistics.median(times),
            "steps": len(times), "peak_bytes": memory}


def in_fresh_process(name: str) -> dict | None:
    """Measure an engine in its own interpreter, so that no engine inherits another's heap
    (the cyclic garbage collector's work depends on everything alive in the process)."""
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--engine", name],
                          capture_output=True, text=True, check=False)
    if done.returncode == 3:
        return None                                       # not installed
    if done.returncode != 0:
        raise RuntimeError(f"measuring {name} failed:\n{done.stderr}")
    return json.loads(done.stdout)


TARGETS = {"micrograd": 11, "pytorch": 6}      # this round's budget: chainrule's speed-ups


def run_rounds(repeat: int) -> dict[str, list[dict]]:
    """Each engine `repeat` times in fresh processes, taking turns (the order rotates each
    round). A missing engine is left out."""
    runs: dict[str, list[dict]] = {name: [] for name in ENGINES}
    names = list(ENGINES)
    for round_ in range(repeat):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            if round_ and not runs[name]:
                continue                                  # not installed
            result = in_fresh_process(name)
            if result is not None:
                runs[name].append(result)
    return {name: results for name, results in runs.items() if results}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--engine":
        try:
            result = measure(sys.argv[2])
        except ImportError:
            sys.exit(3)
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run each engine N times, interleaved; report medians (default 1)")
    repeat = max(1, parser.parse_args().repeat)

    X, y = two_moons(POINTS)
    nodes = graph_nodes(X, y)
    print(f"MLP {'-'.join(map(str, SIZES))}, {POINTS} two-moons points, hinge + L2, "
          f"forward + backward + SGD: {nodes:,} graph nodes per step.\n"
          "Each engine runs in its own fresh process, on one core; time per step is the "
          "mean over the steps (the median beside it)"
          + (f"; {repeat} runs each, interleaved: medians over the runs" if repeat > 1 else "")
          + ".\n")
    runs = run_rounds(repeat)
    print(f"  {'engine':<10} {'ms/step':>9} {'median':>9} {'ns/node':>9} {'bytes/node':>11}")
    for name, (_, install) in ENGINES.items():
        if name not in runs:
            print(f"  {name:<10} not installed ({install}): skipped")
            continue
        mean = statistics.median(run["mean"] for run in runs[name])
        median = statistics.median(run["median"] for run in runs[name])
        peak = runs[name][0]["peak_bytes"]
        memory = "n/a (C++)" if peak is None else f"{peak / nodes:.0f}"
        print(f"  {name:<10} {mean * 1e3:9.2f} {median * 1e3:9.2f} "
              f"{mean / nodes * 1e9:9.0f} {memory:>11}")
    print()
    ours = runs["chainrule"]
    bytes_per_node = ours[0]["peak_bytes"] / nodes
    print(f"  chainrule peak memory: {bytes_per_node:.0f} bytes per node "
          f"(target <= 300: {'meets' if bytes_per_node <= 300 else 'MISSES'})")
    for other, target in TARGETS.items():
        if other in runs:
            ratios = [theirs["mean"] / mine["mean"] for theirs, mine in zip(runs[other], ours)]
            ratio = statistics.median(ratios)
            verdict = "meets" if ratio >= target else "MISSES"
            spread = (f" (runs: {', '.join(f'{r:.1f}' for r in sorted(ratios))})"
                      if len(ratios) > 1 else "")
            print(f"  chainrule is {ratio:5.1f}x faster than {other:<9} "
                  f"(target {target}x: {verdict}){spread}")

    print()
    short, long = chain_seconds(100_000), chain_seconds(1_000_000)
    verdict = "meets" if long / short <= 12 else "MISSES"
    print(f"  chain backward: 100,000 links {short * 1e3:.0f} ms, 1,000,000 links "
          f"{long * 1e3:.0f} ms: {long / short:.1f}x (target <= 12x: {verdict})")


if __name__ == "__main__":
    main()
