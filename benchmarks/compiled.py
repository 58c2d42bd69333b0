"""Compiled code against hand-written floats, the interpreted engine and micrograd: the engine
benchmark's training step, side by side. Also (--mnist) one epoch of a 784-200-10 network.

Workload (as benchmarks/engine.py): an MLP 2-16-16-1 (relu hidden, linear out) over 32
two-moons points, hinge loss plus L2 on the weights, forward + backward + one SGD update.

  floor      hand-written forward and backward on plain floats (below), the speed to match
  compiled   autograd.compile of the per-sample loss (weights, x1, x2, y), traced once and
             called for each of the 32 points; the mean, the L2 term and the update are the
             same few lines of glue as the floor's
  chainrule  the interpreted engine on the whole step's graph (benchmarks/engine.py)
  micrograd  micrograd 0.1.0 on the same graph (benchmarks/engine.py)

Each runs in its own fresh process; before timing, the script checks that the floor and the
compiled step give the interpreted engine's loss and updated weights (to 1e-12).

    .venv/bin/python benchmarks/compiled.py            (part of make bench)
    .venv/bin/python benchmarks/compiled.py --digits --mnist      (make bench-compile)

--digits [EPOCHS]: nn.fit(..., compile=True) against the interpreted fit on the 8x8 digits
(scikit-learn's, the `digits` extra), the setup of benchmarks/nn_targets.py; --runs N repeats
it (each run compiles anew) and reports the median ratio.

--mnist: an MLP 784-200-10, sigmoid hidden layer, softmax cross-entropy (the textbook network
that backprop tutorials build with NumPy), SGD in batches of 10, one epoch over 1,000 samples.
The inputs are synthetic 28x28 images (random strokes, seeded), not MNIST itself: the time of
an epoch does not depend on what the pixels show. Interpreted: timed on a few batches and
scaled to 1,000 samples (said so in the output).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from engine import (  # noqa: E402  (benchmarks/engine.py: the same workload)
    ALPHA,
    LR,
    POINTS,
    SIZES,
    Chainrule,
    Micrograd,
    initial_weights,
    training_step,
    two_moons,
)

import autograd  # noqa: E402
from autograd import Value  # noqa: E402

# ---------------------------------------------------------------------------------------------
# The floor: the step written by hand on plain floats (the same arithmetic as the graph, in
# the same order: b + w1*a1 + w2*a2 + ..., relu, hinge relu(1 + -y*score), mean, + ALPHA*sum p*p;
# no shortcut a graph could not take, such as skipping the backward of a sample whose hinge
# is inactive)


def floor_step(weights, X, y) -> float:
    """One step, updating `weights` (nested lists [layer][neuron][w..., b]) in place."""
    (layer1, layer2, (out,)) = weights
    grads1 = [[0.0] * len(n) for n in layer1]
    grads2 = [[0.0] * len(n) for n in layer2]
    grads3 = [0.0] * len(out)
    scale = 1.0 / len(X)
    total = 0.0
    for (x1, x2), t in zip(X, y):
        z1 = [n[2] + n[0] * x1 + n[1] * x2 for n in layer1]
        h1 = [z if z > 0.0 else 0.0 for z in z1]
        z2 = []
        for n in layer2:
            s = n[-1]
            for w, a in zip(n, h1):
                s = s + w * a
            z2.append(s)
        h2 = [z if z > 0.0 else 0.0 for z in z2]
        score = out[-1]
        for w, a in zip(out, h2):
            score = score + w * a
        margin = 1.0 + -t * score
        total += margin if margin > 0.0 else 0.0
        # backward: d loss / d score, then back through each layer
        dscore = -t * (scale if margin > 0.0 else 0.0)
        grads3[-1] += dscore
        dz2 = []
        for i, (a, z) in enumerate(zip(h2, z2)):
            grads3[i] += a * dscore
            dz2.append(out[i] * dscore if z > 0.0 else 0.0)
        dh1 = [0.0] * len(h1)
        for n, g, dz in zip(layer2, grads2, dz2):
            g[-1] += dz
            for i, a in enumerate(h1):
                g[i] += a * dz
                dh1[i] += n[i] * dz
        for g, dh, z in zip(grads1, dh1, z1):
            dz = dh if z > 0.0 else 0.0
            g[2] += dz
            g[0] += x1 * dz
            g[1] += x2 * dz
    reg = 0.0
    for layer, grads in ((layer1, grads1), (layer2, grads2), ((out,), (grads3,))):
        for n, g in zip(layer, grads):
            for i, p in enumerate(n):
                reg += p * p
                n[i] = p - LR * (g[i] + 2.0 * ALPHA * p)
    return total * scale + ALPHA * reg


# ---------------------------------------------------------------------------------------------
# Compiled: the per-sample loss, traced once


def sample_loss(*args):
    """relu(1 + -y * mlp(x)) as a function of (every weight..., x1, x2, y)."""
    params, (x1, x2, t) = args[:-3], args[-3:]
    position = 0
    activations = [x1, x2]
    for depth, (nin, nout) in enumerate(zip(SIZES, SIZES[1:])):
        outputs = []
        for _ in range(nout):
            neuron = params[position:position + nin + 1]
            position += nin + 1
            total = neuron[-1]
            for w, a in zip(neuron, activations):
                total = total + w * a
            outputs.append(total.relu() if depth < len(SIZES) - 2 else total)
        activations = outputs
    return (1 + -t * activations[0]).relu()


def compile_step(X, y):
    flat = [p for layer in initial_weights() for neuron in layer for p in neuron]
    start = time.perf_counter()
    compiled = autograd.compile(sample_loss, *flat, *X[0], y[0], wrt=range(len(flat)))
    seconds = time.perf_counter() - start
    sample = compiled.function           # the generated function itself: function(inputs)
    assert compiled.packed

    def step(params: list[float]) -> tuple[float, list[float]]:
        results = [sample((*params, x1, x2, t)) for (x1, x2), t in zip(X, y)]
        grads = map(sum, zip(*[sample_grads for _, sample_grads in results]))   # per weight
        scale = 1.0 / len(X)
        loss = sum(loss for loss, _ in results) * scale + ALPHA * sum(p * p for p in params)
        return loss, [p - LR * (g * scale + 2.0 * ALPHA * p) for p, g in zip(params, grads)]
    return step, flat, seconds, compiled


# ---------------------------------------------------------------------------------------------
# Measuring, each contender in a fresh process

STEPS = {"floor and compiled": 300, "chainrule": 40, "micrograd": 15}


def timed(step, steps: int) -> list[float]:
    for _ in range(2):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def summary(times: list[float]) -> dict:
    return {"mean": statistics.mean(times), "median": statistics.median(times),
            "best": min(times)}


def measure(name: str) -> dict:
    X, y = two_moons(POINTS)
    if name == "floor and compiled":
        # the two in one process, step by step in turn: a busy machine slows both alike
        weights = initial_weights()
        step, flat, seconds, compiled = compile_step(X, y)
        state = {"params": flat}

        def run():
            state["params"] = step(state["params"])[1]
        floor, ours = [], []
        for _ in range(STEPS[name]):
            floor += timed(lambda: floor_step(weights, X, y), 1)
            ours += timed(run, 1)
        ratios = [b / a for a, b in zip(floor, ours)]
        return {"floor": summary(floor), "compiled": summary(ours),
                "ratio": statistics.median(ratios), "compile_seconds": seconds,
                "lines": compiled.lines}
    engine = Chainrule() if name == "chainrule" else Micrograd()
    params = [[[engine.leaf(w, True) for w in n] for n in layer]
              for layer in initial_weights()]

    def run():
        loss, flat = training_step(engine, params, X, y)
        engine.update(flat, LR)
    return summary(timed(run, STEPS[name]))


def same_numbers() -> str:
    """The floor's and the compiled step's loss and new weights against the engine's."""
    X, y = two_moons(POINTS)
    engine = Chainrule()
    params = [[[Value(w) for w in n] for n in layer] for layer in initial_weights()]
    loss, flat = training_step(engine, params, X, y)
    engine.update(flat, LR)
    reference = [loss.data] + [p.data for p in flat]
    weights = initial_weights()
    floor = [floor_step(weights, X, y)] + [p for layer in weights for n in layer for p in n]
    step, start, _, _ = compile_step(X, y)
    compiled_loss, new = step(start)
    compiled = [compiled_loss] + new
    worst = {}
    for name, numbers in (("floor", floor), ("compiled", compiled)):
        worst[name] = max(abs(a - b) / max(abs(b), 1e-300) for a, b in zip(numbers, reference)
                          if a != b) if numbers != reference else 0.0
        if worst[name] > 1e-12:
            raise SystemExit(f"{name} differs from the engine by {worst[name]:.1e} (relative)")
    return ", ".join(f"{name} within {value:.0e}" for name, value in worst.items())


def in_fresh_process(name: str) -> dict | None:
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--only", name],
                          capture_output=True, text=True, check=False)
    if done.returncode == 3:
        return None
    if done.returncode != 0:
        raise RuntimeError(f"measuring {name} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def mlp_step_report() -> None:
    print(f"MLP {'-'.join(map(str, SIZES))}, {POINTS} two-moons points, hinge + L2, forward + "
          "backward + SGD, one step; each contender in its own fresh process.")
    print(f"Same numbers as the interpreted engine (loss and updated weights): "
          f"{same_numbers()} (relative).\n")
    results = {}
    for name in STEPS:
        result = in_fresh_process(name)
        if result is None:
            print(f"  {name:<10} not installed (pip install micrograd==0.1.0): skipped")
            continue
        results.update({"floor": result["floor"], "compiled": result["compiled"],
                        "pair": result} if name == "floor and compiled" else {name: result})
    print(f"  {'':<10} {'ms/step':>9} {'median':>9} {'best':>9}")
    for name in ("floor", "compiled", "chainrule", "micrograd"):
        if name in results:
            result = results[name]
            print(f"  {name:<10} {result['mean'] * 1e3:9.3f} {result['median'] * 1e3:9.3f} "
                  f"{result['best'] * 1e3:9.3f}")
    pair = results["pair"]
    print(f"\n  compiling the per-sample function: {pair['compile_seconds']:.2f} s "
          f"({pair['lines']:,} lines), once")
    ratio = pair["ratio"]
    print(f"  compiled takes {ratio:.2f}x the hand-written floor's time (the median of the "
          f"ratios of steps run in turn; target <= 2x: {'meets' if ratio <= 2 else 'MISSES'})")
    compiled = results["compiled"]["median"]
    print(f"  compiled is {results['chainrule']['median'] / compiled:.1f}x faster than the "
          "interpreted engine (medians)")
    if "micrograd" in results:
        ratio = results["micrograd"]["median"] / compiled
        print(f"  compiled is {ratio:.0f}x faster than micrograd (medians; target >= 100x: "
              f"{'meets' if ratio >= 100 else 'MISSES'})")


# ---------------------------------------------------------------------------------------------
# --mnist: one epoch of the textbook 784-200-10 network

MNIST_SIZES, MNIST_SAMPLES, MNIST_BATCH, MNIST_LR = (784, 200, 10), 1000, 10, 0.5


def synthetic_digits(n: int, seed: int = 0) -> tuple[list[list[float]], list[int]]:
    """n synthetic 28x28 grey images in [0, 1] (a few random strokes each) and labels 0-9."""
    rng = random.Random(seed)
    images, labels = [], []
    for _ in range(n):
        pixels = [0.0] * 784
        for _ in range(rng.randint(2, 4)):
            r, c = rng.uniform(4, 23), rng.uniform(4, 23)
            dr, dc = rng.uniform(-1, 1), rng.uniform(-1, 1)
            for k in range(12):
                i, j = int(r + k * dr), int(c + k * dc)
                if 0 <= i < 28 and 0 <= j < 28:
                    pixels[28 * i + j] = min(1.0, pixels[28 * i + j] + rng.uniform(0.5, 1.0))
        images.append(pixels)
        labels.append(rng.randrange(10))
    return images, labels


def mnist_weights(seed: int = 0) -> list[float]:
    rng = random.Random(seed)
    flat = []
    for nin, nout in zip(MNIST_SIZES, MNIST_SIZES[1:]):
        bound = 1.0 / math.sqrt(nin)
        for _ in range(nout):
            flat += [rng.uniform(-bound, bound) for _ in range(nin)] + [0.0]
    return flat


def mnist_loss(*args):
    """Softmax cross-entropy of the 784-200-10 network: (weights..., pixels..., one-hot...).
    The target comes in as ten 0/1 numbers, so one compiled function serves every label."""
    count = len(args) - 784 - 10
    params, pixels, target = args[:count], args[count:count + 784], args[count + 784:]
    position, activations = 0, list(pixels)
    for depth, (nin, nout) in enumerate(zip(MNIST_SIZES, MNIST_SIZES[1:])):
        outputs = []
        for _ in range(nout):
            neuron = params[position:position + nin + 1]
            position += nin + 1
            total = neuron[-1]
            for w, a in zip(neuron, activations):
                total = total + w * a
            outputs.append(total.sigmoid() if depth == 0 else total)
        activations = outputs
    top = max(activations, key=lambda v: v.data)        # log-sum-exp, shifted by a constant
    shift = top.data
    exps = [(z - shift).exp() for z in activations]
    total = exps[0]
    for e in exps[1:]:
        total = total + e
    log_total = total.log() + shift
    loss = target[0] * (log_total - activations[0])
    for t, z in zip(target[1:], activations[1:]):
        loss = loss + t * (log_total - z)
    return loss


def mnist_epoch(sample, params: list[float], images, labels) -> float:
    """SGD in batches of MNIST_BATCH over the samples; returns the mean loss."""
    total = 0.0
    for first in range(0, len(images), MNIST_BATCH):
        batch = range(first, min(first + MNIST_BATCH, len(images)))
        results = [sample((*params, *images[i], *[float(k == labels[i]) for k in range(10)]))
                   for i in batch]
        total += sum(loss for loss, _ in results)
        grads = map(sum, zip(*[sample_grads for _, sample_grads in results]))
        step = MNIST_LR / len(batch)
        params[:] = [p - step * g for p, g in zip(params, grads)]
    return total / len(images)


def interpreted_sample(args):
    leaves = [Value(x) for x in args]
    count = len(args) - 794
    loss = mnist_loss(*leaves)
    loss.backward()
    return loss.data, [leaf.grad for leaf in leaves[:count]]


def mnist_report(interpreted_samples: int) -> None:
    import gc
    gc.disable()                       # graphs are cycle-free; as nn.fit does
    images, labels = synthetic_digits(MNIST_SAMPLES)
    params = mnist_weights()
    print(f"MLP {'-'.join(map(str, MNIST_SIZES))}, sigmoid hidden, softmax cross-entropy, SGD "
          f"batches of {MNIST_BATCH}; synthetic 28x28 inputs (random strokes), "
          f"{MNIST_SAMPLES:,} samples per epoch.")
    start = time.perf_counter()
    compiled = autograd.compile(mnist_loss, *params, *images[0], *([1.0] + [0.0] * 9),
                                wrt=range(len(params)))
    compile_seconds = time.perf_counter() - start
    print(f"  compile: {compile_seconds:.1f} s ({compiled.nodes:,} nodes, "
          f"{compiled.lines:,} lines of Python)")
    compiled_params = list(params)
    start = time.perf_counter()
    loss = mnist_epoch(compiled.function, compiled_params, images, labels)
    epoch = time.perf_counter() - start
    print(f"  compiled epoch: {epoch:.1f} s ({epoch / MNIST_SAMPLES * 1e3:.1f} ms/sample), "
          f"mean loss {loss:.4f}; with the compile: {epoch + compile_seconds:.1f} s")

    interpreted_params = list(params)
    n = interpreted_samples
    start = time.perf_counter()
    interpreted_loss = mnist_epoch(interpreted_sample, interpreted_params, images[:n], labels[:n])
    seconds = time.perf_counter() - start
    scaled = seconds / n * MNIST_SAMPLES
    print(f"  interpreted: {seconds:.1f} s for {n} samples ({seconds / n * 1e3:.0f} ms/sample); "
          f"an epoch of {MNIST_SAMPLES:,} scaled: {scaled:.0f} s")
    check_params = list(params)
    check_loss = mnist_epoch(compiled.function, check_params, images[:n], labels[:n])
    worst = max(abs(a - b) for a, b in zip(check_params, interpreted_params))
    print(f"  same {n} samples compiled: loss {check_loss:.12f} vs interpreted "
          f"{interpreted_loss:.12f}, weights within {worst:.1e}")
    print(f"  compiled is {scaled / epoch:.0f}x faster per epoch "
          f"({scaled / (epoch + compile_seconds):.0f}x counting the compile)")


def digits_report(epochs: int, runs: int = 1) -> None:
    """nn.fit on the 8x8 digits as benchmarks/nn_targets.py trains them, interpreted and with
    compile=True, from the same start: time, history and held-out accuracy side by side.
    Each run trains two fresh models, one epoch of each in turn (a busy machine slows both
    alike); the compile happens in the first compiled epoch and is counted."""
    import nn
    try:
        X, y = nn.data.digits()
    except ImportError as error:
        print(f"digits: skipped ({error})")
        return
    X_train, X_test, y_train, y_test = nn.data.train_test_split(X, y, test_size=0.2, seed=0)
    print(f"digits: MLP 64-32-10 (relu, He init), softmax cross-entropy, Adam lr 0.01, batches "
          f"of 32, {epochs} epochs, {len(X_train)} training images (as benchmarks/nn_targets.py)"
          f"; {runs} run{'s' if runs > 1 else ''}, load average before: {_load()}")
    ratios = []
    for run in range(runs):
        import nn._compiled
        nn._compiled._cache.clear()                 # each run compiles anew
        models, optimizers, seconds, histories = {}, {}, {True: [], False: []}, {}
        for compiled in (True, False):
            models[compiled] = nn.MLP(64, [32, 10], activation="relu", init="he", seed=0)
            optimizers[compiled] = nn.Adam(models[compiled].parameters(), lr=0.01)
            histories[compiled] = []
        for epoch in range(epochs):
            for compiled in (True, False):
                start = time.perf_counter()
                history = nn.fit(models[compiled], X_train, y_train, loss="cross_entropy",
                                 optimizer=optimizers[compiled], epochs=1, batch_size=32,
                                 seed=epoch, progress=False, compile=compiled)
                seconds[compiled].append(time.perf_counter() - start)
                histories[compiled] += history.loss
        accuracy = {c: nn.accuracy(models[c], X_test, y_test) for c in (True, False)}
        fast, slow = sum(seconds[True]), sum(seconds[False])
        later = statistics.median(b / a for a, b in zip(seconds[True][1:], seconds[False][1:]))
        worst = max(abs(a - b) / abs(b) for a, b in zip(histories[True], histories[False]))
        same = accuracy[True] == accuracy[False]
        print(f"  run {run + 1}: compiled {fast:5.1f} s (first epoch, with the compile: "
              f"{seconds[True][0]:.2f} s), interpreted {slow:5.1f} s: {slow / fast:.1f}x "
              f"(epochs after the first: {later:.1f}x); losses within {worst:.0e}; held-out "
              f"accuracy {accuracy[True]:.1%} and {accuracy[False]:.1%}"
              f"{'' if same else ' (DIFFERENT)'}; load average after: {_load()}")
        ratios.append(slow / fast)
    ratio = statistics.median(ratios)
    print(f"  compile=True is {ratio:.1f}x faster{' (median of the runs)' if runs > 1 else ''}"
          f", the compile counted (target >= 10x: {'meets' if ratio >= 10 else 'MISSES'})")


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=list(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--mnist", action="store_true", help="the 784-200-10 epoch instead")
    parser.add_argument("--digits", type=int, metavar="EPOCHS", nargs="?", const=8,
                        help="nn.fit on the digits, interpreted and compile=True (default 8)")
    parser.add_argument("--runs", type=int, default=1,
                        help="--digits: independent runs (default 1)")
    parser.add_argument("--interpreted-samples", type=int, default=20,
                        help="samples timed on the interpreted engine for --mnist (scaled)")
    arguments = parser.parse_args()
    if arguments.only:
        try:
            print(json.dumps(measure(arguments.only)))
        except ImportError:
            sys.exit(3)
    elif arguments.mnist or arguments.digits:
        if arguments.digits:
            digits_report(arguments.digits, max(1, arguments.runs))
        if arguments.mnist:
            mnist_report(arguments.interpreted_samples)
    else:
        mlp_step_report()


if __name__ == "__main__":
    main()
