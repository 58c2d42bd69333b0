"""compile(): generated straight-line Python against the interpreted engine (numbers and errors),
the readability of its source, and graphs too large for one Python function."""

import ast
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from random_graphs import programs, run

import autograd
import autograd.codegen as codegen
from autograd import (
    BUILTIN_OPS,
    CompileError,
    GraphChangedError,
    UndefinedMathError,
    Value,
    define_op,
    no_grad,
    sigmoid,
    tanh,
)
from autograd import compile as compile_graph
from autograd.engine import local_of


def engine_result(f, inputs, labels=None, wrt=None):
    """(value, grads) from the interpreted engine, computed here independently of codegen."""
    leaves = [Value(x, label) for x, label in zip(inputs, labels or [""] * len(inputs))]
    root = f(*leaves)
    root.backward()
    grads = tuple(leaf.grad for i, leaf in enumerate(leaves) if wrt is None or i in wrt)
    return root.data, grads


def assert_same(ours, theirs, rel=1e-12):
    (value, grads), (their_value, their_grads) = ours, theirs
    assert len(grads) == len(their_grads)
    for a, b in zip((value,) + tuple(grads), (their_value,) + tuple(their_grads)):
        assert type(a) is float
        assert math.isclose(a, b, rel_tol=rel, abs_tol=1e-300), (ours, theirs)


def outcome(call, *args):
    """('ok', result) or ('error', type, message): what a call does (compared as text, so
    nan equals nan; the sign of a zero grad is not compared)."""
    try:
        value, grads = call(*args)
        return ("ok", repr((value + 0.0, tuple(g + 0.0 for g in grads))))
    except (UndefinedMathError, TypeError, ValueError) as error:
        return ("error", type(error), str(error))


# ---------------------------------------------------------------------------------------------
# What the generated code looks like


def test_neuron_source_reads_one_line_per_node_and_per_contribution():
    neuron = compile_graph(lambda x, w, b: tanh(x * w + b), 2.0, -3.0, 6.88)
    source = neuron.source
    ast.parse(source)
    lines = [line.strip() for line in source.splitlines()]
    assert "def fn(x, w, b):" in lines
    forward = ["v1 = x * w", "v2 = v1 + b", "L = tanh(v2)"]
    assert all(line in lines for line in forward)
    code = [line.split("#")[0].strip() for line in lines]
    backward = ["dL = 1.0", "dv2 = (1.0 - L) * (1.0 + L) * dL", "dv1 = dv2", "db = dv2",
                "dx = w * dv1", "dw = x * dv1"]
    positions = [code.index(line) for line in backward]
    assert positions == sorted(positions)                      # in backward order
    assert "# d tanh(x)/dx = (1 - out) * (1 + out)" in source  # the engine's own local
    assert "# d(a * b)/da = b" in source
    assert code[-1] == "return L, _grads" and "_grads = (dx, dw, db)" in code
    assert neuron.labels == ("x", "w", "b") and neuron.arguments == ("x", "w", "b")
    assert_same(neuron(2.0, -3.0, 6.88),
                engine_result(lambda x, w, b: tanh(x * w + b), [2.0, -3.0, 6.88]))


def test_generated_lines_come_from_the_engines_local_derivatives(monkeypatch):
    # change tanh's local derivative in the engine: the generated line changes with it
    monkeypatch.setattr(Value, "_tanh_local", local_of("tanh")(lambda x, out: (1.0 - out * out,)))
    source = compile_graph(lambda x: x.tanh(), 0.5).source
    assert "dx = (1.0 - L * L) * dL" in source


def test_data_dependent_derivatives_become_conditional_expressions():
    f = lambda x, y: (x * y).relu() + abs(x - y)
    fn = compile_graph(f, 1.0, 2.0)
    assert "if v1 > 0.0 else 0.0" in fn.source
    assert "(1.0 if v3 > 0.0 else -1.0 if v3 < 0.0 else 0.0) * dv4" in fn.source
    # one compiled function, right on both sides of each kink and at the kinks themselves
    for x, y in [(1.0, 2.0), (-1.0, 2.0), (2.0, 1.0), (0.0, 2.0), (2.0, 2.0), (0.0, 0.0),
                 (-1e-300, 3.0), (1e-300, 3.0), (3.0, -2.0)]:
        assert_same(fn(x, y), engine_result(f, [x, y]))


def test_constants_are_exact_literals():
    f = lambda x: x * 0.1 + x ** (1 / 3) + Value(2.0).sqrt() * x - 1e-17
    fn = compile_graph(f, 2.0)
    assert "x * 0.1" in fn.source
    assert f"** {1 / 3!r}" in fn.source
    assert repr(math.sqrt(2.0)) in fn.source                   # a constant subgraph, folded
    assert "1e-17" in fn.source
    for x in (2.0, 0.7, 13.25):
        assert fn(x) == engine_result(f, [x])                  # bit for bit


def test_labelled_constants_keep_their_names():
    c = Value(1.5, "c")
    fn = compile_graph(lambda x: x * c, 2.0)
    assert "c = 1.5" in fn.source and "v1 = x * c" not in fn.source
    assert fn(4.0) == (6.0, (1.5,))


def test_labels_become_safe_distinct_identifiers():
    labels = ["x", "x", "class", "2w", "a b\nimport os", "_private", "dx", "exp", "α", "ﬁ",
              "fi", "", "L", "d x", "__", "print(1)"]
    inputs = [Value(0.1 * (k + 1), label) for k, label in enumerate(labels)]
    f = lambda *xs: sum((x * (k + 1) for k, x in enumerate(xs)), Value(0.0)).tanh().exp()
    fn = compile_graph(f, *inputs)
    tree = ast.parse(fn.source)
    assert all(name.isidentifier() for name in fn.arguments)
    assert len(set(fn.arguments)) == len(fn.arguments)
    assigned = [node.targets[0].id for node in ast.walk(tree)
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)]
    assert len(assigned) == len(set(assigned))                  # every variable made once
    assert not set(assigned) & set(fn.arguments)
    assert "import os" not in fn.source and "print(1)" not in fn.source
    assert {"exp", "tanh"} & set(assigned) == set()             # functions are not shadowed
    assert {"x", "class_", "v2w", "dx", "α", "fi"} <= set(fn.arguments)
    values = [x.data for x in inputs]
    assert_same(fn(*values), engine_result(f, values))


def test_op_names_reach_comments_only_without_line_breaks():
    @define_op("evil\nimport os; os.system('x')\r# op", local=lambda x, out: (2 * x,))
    def square(x):
        return x * x

    fn = compile_graph(lambda x: square(x) + 1, 3.0)
    for line in fn.source.splitlines():
        assert "import os" not in line or line.lstrip().startswith("#") or "  # " in line
    ast.parse(fn.source)
    assert fn(3.0) == (10.0, (6.0,))


# ---------------------------------------------------------------------------------------------
# Every op, and random graphs: the same numbers as the engine


@pytest.mark.parametrize("name", sorted(BUILTIN_OPS))
def test_every_builtin_op_compiles_and_matches_the_engine(name):
    f, points = BUILTIN_OPS[name]
    fn = compile_graph(f, *points[0])
    for point in points:
        assert fn(*point) == engine_result(f, list(point))      # bit for bit
    assert_same(fn(*points[-1]), engine_result(f, list(points[-1])))


def other_inputs(inputs, seed):
    rng = random.Random(seed)
    return [[rng.uniform(-2, 2) for _ in inputs] for _ in range(5)]


@settings(max_examples=80, deadline=None)
@given(programs(), st.integers(0, 2**32 - 1))
def test_random_graphs_match_the_engine_at_many_inputs(program, seed):
    inputs, _ = program
    f = lambda *xs: run(program, xs)[1]
    fn = compile_graph(f, *inputs)
    for point in [inputs] + other_inputs(inputs, seed):
        assert outcome(fn, *point) == outcome(engine_result, f, point)


@settings(max_examples=40, deadline=None)
@given(programs(), st.integers(0, 2**32 - 1), st.integers(2, 9), st.booleans())
def test_random_graphs_split_into_tiny_parts_still_match(program, seed, chunk, reuse):
    # tiny parts, and (reuse) variables renamed to a few reused ones as in long programs
    inputs, _ = program
    f = lambda *xs: run(program, xs)[1]
    before = codegen.CHUNK_LINES, codegen.READABLE_LINES
    codegen.CHUNK_LINES = chunk
    codegen.READABLE_LINES = 0 if reuse else before[1]
    try:
        fn = compile_graph(f, *inputs)
    finally:
        codegen.CHUNK_LINES, codegen.READABLE_LINES = before
    for point in [inputs] + other_inputs(inputs, seed):
        assert outcome(fn, *point) == outcome(engine_result, f, point)


def mlp_sample(sizes):
    """A per-sample MLP loss (tanh hidden, relu hinge), as a function of (weights..., x...)."""
    shapes = [(nout, nin + 1) for nin, nout in zip(sizes, sizes[1:])]
    count = sum(a * b for a, b in shapes)

    def loss(*args):
        params, activations = list(args[:count]), list(args[count:-1])
        target = args[-1]
        for depth, (nout, width) in enumerate(shapes):
            outputs = []
            for _ in range(nout):
                neuron, params = params[:width], params[width:]
                total = neuron[-1]
                for w, a in zip(neuron, activations):
                    total = total + w * a
                outputs.append(total.tanh() if depth < len(shapes) - 1 else total)
            activations = outputs
        return (1 - target * activations[0]).relu() + 0.01 * activations[0] ** 2
    return loss, count


def test_mlp_matches_the_engine_for_many_samples():
    loss, count = mlp_sample((3, 8, 8, 1))
    rng = random.Random(0)
    weights = [rng.uniform(-1, 1) for _ in range(count)]
    fn = compile_graph(loss, *weights, 0.5, -0.2, 0.1, 1.0, wrt=range(count))
    for _ in range(40):
        weights = [w + rng.gauss(0, 0.3) for w in weights]
        point = weights + [rng.uniform(-2, 2) for _ in range(3)] + [rng.choice([-1.0, 1.0])]
        assert_same(fn(*point), engine_result(loss, point, wrt=range(count)))


def test_define_op_with_a_symbolic_local_is_written_out():
    @define_op("softplus_", local=lambda x, out: (sigmoid(x),))
    def softplus(x):
        return math.log1p(math.exp(-abs(x))) + max(x, 0.0)

    f = lambda x, w: softplus(x * w)
    fn = compile_graph(f, 1.5, -2.0)
    assert "sigmoid(v1) * dL" in fn.source
    assert "softplus(v1)" in fn.source and "d softplus_(x)/dx = sigmoid(x)" in fn.source
    for x in (1.5, -3.0, 0.0, 40.0):
        assert fn(x, -2.0) == engine_result(f, [x, -2.0])


def test_define_op_whose_local_takes_no_symbols_is_called():
    @define_op("hypot", local=lambda a, b, out: (a / out, b / out))
    def hypot(a, b):
        return math.hypot(a, b)

    @define_op("clip", local=lambda x, out: (1.0 if -1.0 < x < 1.0 else 0.0,))   # an `if`
    def clip(x):
        return min(max(x, -1.0), 1.0)

    f = lambda x, y: clip(hypot(x, y) - 2.0) * x
    fn = compile_graph(f, 1.0, 2.0)
    assert "clip_local(" in fn.source and "(it does not take symbols)" in fn.source
    assert "hypot(x, y)" in fn.source
    for x, y in [(1.0, 2.0), (3.0, 4.0), (0.5, 0.5), (-1.0, 2.5)]:
        assert_same(fn(x, y), engine_result(f, [x, y]))


@pytest.mark.parametrize("slopes", [(1.0, 2.0), ()], ids=["two-for-one", "none"])
def test_a_called_local_giving_the_wrong_count_is_refused_as_backward_refuses_it(slopes):
    @define_op("miscounted", local=lambda x, out: slopes if x > 0.0 else slopes)   # an `if`
    def miscounted(x):
        return 2.0 * x

    f = lambda x: miscounted(x) * x
    with pytest.raises(TypeError, match="numbers for 1 operands"):
        engine_result(f, [1.0])
    with pytest.raises(CompileError, match="miscounted gave .* numbers for 1 operand"):
        compile_graph(f, 1.0)


def test_an_op_with_an_unknown_forward_is_refused():
    local = lambda x, out: (1.0,)
    first = define_op("twin", local=local)(lambda x: x + 1.0)
    define_op("twin", local=local)(lambda x: x + 2.0)          # same name, same local
    with pytest.raises(CompileError, match="twin"):
        compile_graph(lambda x: first(x), 1.0)


# ---------------------------------------------------------------------------------------------
# Errors: the engine's own


def same_error(f, inputs, point):
    fn = compile_graph(f, *inputs)
    with pytest.raises(UndefinedMathError) as ours:
        fn(*point)
    with pytest.raises(UndefinedMathError) as theirs:
        engine_result(f, point, labels=fn.labels)
    assert str(ours.value) == str(theirs.value)
    return str(ours.value)


def test_undefined_math_raises_the_engines_error_naming_op_and_label():
    message = same_error(lambda x, y: (x * y).log(), [1.0, 2.0], [1.0, -2.0])
    assert message.startswith("log:")
    message = same_error(lambda x: (x - 1.0).sqrt() * 2, [2.0], [1.0])   # backward: 0.5/0
    assert "sqrt" in message
    same_error(lambda a, b: a / (b - 1.0), [1.0, 2.0], [1.0, 1.0])
    same_error(lambda x: (x * 1000.0).exp(), [0.1], [1.0])
    message = same_error(lambda x: x.log() + x, [1.0], [0.0])
    assert "'x'" in message                                      # the input's label


def test_non_finite_intermediate_behaves_as_the_engine():
    # an overflow hidden behind tanh (tanh(inf) = 1): the compiled function checks tanh's input
    f = lambda x: (x * x * x).tanh() + x
    fn = compile_graph(f, 2.0)
    for x in (2.0, 1e120, -1e120, 1e300):
        assert outcome(fn, x) == outcome(engine_result, f, [x], fn.labels)


def test_bad_inputs_get_the_engines_errors():
    fn = compile_graph(lambda x, y: x * y, 1.0, 2.0)
    with pytest.raises(UndefinedMathError, match="NaN"):
        fn(math.nan, 1.0)
    with pytest.raises(TypeError, match="input 1"):
        fn("1", 2.0)
    with pytest.raises(TypeError, match="takes 2 inputs"):
        fn(1.0)
    assert fn(3, 2) == (6.0, (2.0, 3.0))                       # ints are numbers


@pytest.mark.parametrize("bad", [10 ** 400, -10 ** 400, math.inf, math.nan],
                         ids=["huge-int", "minus-huge-int", "inf", "nan"])
def test_a_number_no_float_holds_gets_the_engines_error_everywhere(bad):
    # an int beyond the float range: the engine's UndefinedMathError, never an OverflowError,
    # whether it comes as an input to the compiled function, an example or a check point
    f = lambda x, y: x * y
    with pytest.raises(UndefinedMathError) as theirs:
        engine_result(f, [bad, 2.0])
    fn = compile_graph(f, 1.0, 2.0)
    for attempt in (lambda: fn(bad, 2.0), lambda: fn(2, bad), lambda: fn.interpreted(bad, 2.0),
                    lambda: compile_graph(f, bad, 2.0),
                    lambda: compile_graph(f, 1.0, 2.0, check=(bad, 2.0))):
        with pytest.raises(UndefinedMathError) as ours:
            attempt()
        assert str(ours.value) == str(theirs.value)


def test_f_must_return_a_value():
    with pytest.raises(CompileError, match="must return a Value"):
        compile_graph(lambda x: [x, x], 1.0)
    with pytest.raises(TypeError, match="input 1"):
        compile_graph(lambda x: x, "one")


# ---------------------------------------------------------------------------------------------
# check=True: f's own control flow


def test_check_catches_control_flow_on_the_data():
    branchy = lambda x: x * 2.0 if x.data > 0 else x * 3.0
    with pytest.raises(GraphChangedError, match="control flow"):
        compile_graph(branchy, 1.0, check=True)
    with pytest.raises(GraphChangedError):
        compile_graph(branchy, 1.0, check=(-1.0,))
    compile_graph(branchy, 1.0, check=(2.0,))                   # same branch: same graph
    compile_graph(lambda x: (x * 3.0).relu(), 1.0, check=True)  # relu is no control flow


def test_check_catches_a_function_that_returns_no_value_at_the_second_input():
    def clipped(x):
        return max(x, 0.0) * 2.0        # Python's max: x itself at 1.0, the float 0.0 below 0
    assert compile_graph(clipped, 1.0)(3.0) == (6.0, (2.0,))     # unchecked: frozen branch
    with pytest.raises(GraphChangedError, match="but not at") as caught:
        compile_graph(clipped, 1.0, check=True)
    assert "must return a Value" in str(caught.value)


def test_check_moves_to_a_point_inside_the_domain():
    fn = compile_graph(lambda x: x.log(), 2.0, check=True)     # the sign flip leaves the domain
    assert_same(fn(5.0), engine_result(lambda x: x.log(), [5.0]))


# ---------------------------------------------------------------------------------------------
# Inputs, grads, and what compile leaves alone


def test_wrt_by_position_and_name():
    f = lambda x, w, b: tanh(x * w + b)
    fn = compile_graph(f, 2.0, -3.0, 6.88, wrt=["w", 2])
    value, grads = fn(2.0, -3.0, 6.88)
    _, (dx, dw, db) = engine_result(f, [2.0, -3.0, 6.88])
    assert grads == (dw, db)
    assert "    dx = " not in fn.source
    with pytest.raises(ValueError, match="not an input"):
        compile_graph(f, 2.0, -3.0, 6.88, wrt=["z"])


def test_unused_inputs_and_a_leaf_root():
    assert compile_graph(lambda x, y: x * 2.0, 1.0, 5.0)(3.0, 4.0) == (6.0, (2.0, 0.0))
    assert compile_graph(lambda x: x, 1.0)(3.0) == (3.0, (1.0,))
    assert compile_graph(lambda x: Value(4.0) * 2, 1.0)(3.0) == (8.0, (0.0,))


def test_works_under_no_grad_and_leaves_outside_values_alone():
    weight = Value(0.5, "weight")
    weight.grad = 7.0
    f = lambda x: (x * weight).log()
    with no_grad():
        fn = compile_graph(f, 2.0)
        assert_same(fn(4.0), (math.log(2.0), (0.25,)))
        with pytest.raises(UndefinedMathError):
            fn(-4.0)                                            # re-run by the engine
    assert weight.grad == 7.0
    assert autograd.is_grad_enabled()


# ---------------------------------------------------------------------------------------------
# Large graphs: split into parts, nothing nested, no recursion


def statements_per_function(source):
    tree = ast.parse(source)
    return [len(node.body) for node in tree.body if isinstance(node, ast.FunctionDef)]


def test_deep_chain_compiles_in_parts(monkeypatch):
    monkeypatch.setattr(codegen, "CHUNK_LINES", 3000)
    links = 8_000

    def chain(x):
        y = x
        for _ in range(links):
            y = y + x
        return y * 0.5
    fn = compile_graph(chain, 0.25)
    sizes = statements_per_function(fn.source)
    assert len(sizes) > 3
    assert max(sizes) <= codegen.CHUNK_LINES + 2 * 12 + 40      # statements, loads and stores
    assert fn(0.25) == ((links + 1) * 0.25 * 0.5, ((links + 1) * 0.5,))


def test_wide_sum_over_thousands_of_inputs():
    n = 3000
    xs = [random.Random(1).uniform(-1, 1) for _ in range(n)]
    f = lambda *vs: sum(v * v for v in vs)
    fn = compile_graph(f, *xs)
    value, grads = fn(*xs)
    assert_same((value, grads), engine_result(f, xs))


@pytest.mark.heavy
def test_very_deep_chain_and_a_64_32_10_sample():
    links = 100_000

    def chain(x):
        y = x
        for _ in range(links):
            y = y + x
        return y * 0.5
    fn = compile_graph(chain, 0.25)
    assert_same(fn(0.75), engine_result(chain, [0.75]))
    loss, count = mlp_sample((64, 32, 10))
    rng = random.Random(0)
    point = [rng.uniform(-0.3, 0.3) for _ in range(count)] + [rng.random() for _ in range(64)]
    fn = compile_graph(loss, *point, 1.0, wrt=range(count))
    assert_same(fn(*point, -1.0), engine_result(loss, point + [-1.0], wrt=range(count)))


# ---------------------------------------------------------------------------------------------
# chainrule code


def test_cli_code_prints_the_function_and_its_result(capsys):
    from autograd.cli import main
    assert main(["code", "tanh(x*w + b)", "x=2", "w=-3", "b=6.88"]) == 0
    out = capsys.readouterr().out
    namespace = {}
    exec(compile(out, "<printed>", "exec"), dict(vars(math)), namespace)   # it is Python
    assert "def fn(x, w, b):" in out and "tanh(x*w + b)" in out.splitlines()[0]
    value, grads = engine_result(lambda x, w, b: tanh(x * w + b), [2.0, -3.0, 6.88])
    assert f"#   d/dw: {grads[1]:.6g}" in out and f"#   value: {value:.6g}" in out


def test_cli_code_refuses_undefined_math_without_a_traceback(capsys):
    from autograd.cli import main
    assert main(["code", "sqrt(x) + y", "x=0", "y=1"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("chainrule: error: backward through sqrt")


def test_expr_build_on_given_values_is_what_code_compiles():
    from autograd.expr import build
    x, w = Value(2.0, "x"), Value(-3.0, "w")
    root, leaves = build("tanh(x*w + 1)", {"x": x, "w": w, "unused": 5.0})
    assert leaves == {"x": x, "w": w} and leaves["x"] is x
    root.backward()
    assert math.isclose(x.grad, (1 - math.tanh(-5.0) ** 2) * -3.0, rel_tol=1e-12)
    fn = compile_graph(lambda x, w: build("tanh(x*w + 1)", {"x": x, "w": w})[0], 2.0, -3.0)
    assert_same(fn(0.5, 1.5), engine_result(lambda x, w: (x * w + 1).tanh(), [0.5, 1.5]))
