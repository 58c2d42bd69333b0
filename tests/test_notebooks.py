"""The curriculum: every notebook runs top to bottom without an error, and is stored with the
outputs of such a run. `make test` runs them quickly (course.QUICK: fewer epochs and pictures,
every cell still runs); the full runs are `heavy` (make test-heavy, CI) and make notebooks-run."""

import ast
import os
import sys
from pathlib import Path

import nbformat
import pytest
from notebook_outputs import assert_same, shown

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
sys.path.insert(0, str(NOTEBOOKS))

import run as runner  # noqa: E402  (notebooks/run.py)

PATHS = runner.notebooks()


def only_definitions(source: str) -> bool:
    """Imports and definitions have nothing to show; every other cell should show a result."""
    body = ast.parse(source).body
    return all(isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))
               for node in body)


def test_the_curriculum_is_there():
    names = [p.name for p in PATHS]
    assert names[0].startswith("01_") and len(names) >= 3
    index = (NOTEBOOKS / "README.md").read_text(encoding="utf-8")
    for name in names:
        assert name in index, f"{name} is missing from notebooks/README.md"


def needs(path: Path) -> list[str]:
    """What a notebook needs beyond the notebooks extra: its metadata's chainrule.requires."""
    return nbformat.read(path, as_version=4).metadata.get("chainrule", {}).get("requires", [])


def uses_quick(path: Path) -> bool:
    notebook = nbformat.read(path, as_version=4)
    return any("QUICK" in cell.source for cell in notebook.cells if cell.cell_type == "code")


def assert_ran_without_error(executed) -> None:
    for cell in executed.cells:
        if cell.cell_type == "code":
            assert not any(o.output_type == "error" for o in cell.outputs)


def skip_unless_it_can_run(path: Path, request) -> None:
    if "torch" in needs(path):
        request.getfixturevalue("torch")      # skips with the reason where PyTorch is missing


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_a_notebook_runs_top_to_bottom(path, request):
    skip_unless_it_can_run(path, request)
    executed = runner.execute(path, quick=True)                  # raises at a failing cell
    assert_ran_without_error(executed)
    if not uses_quick(path):            # the same run as the stored one: the same outputs
        assert_shows_what_is_stored(path, executed)


def assert_shows_what_is_stored(path: Path, executed) -> None:
    """Every code cell prints and displays what the stored notebook holds (numbers to 1e-12,
    times and random ids aside): stored outputs are never left from older code."""
    stored = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    fresh = [c for c in executed.cells if c.cell_type == "code"]
    for index, (want, got) in enumerate(zip(stored, fresh)):
        where = f"{path.name}, code cell {index + 1} (re-run with make notebooks-run)"
        (want_printed, want_rich), (got_printed, got_rich) = shown(want.outputs), shown(got.outputs)
        assert_same(want_printed, got_printed, where)
        assert [kind for kind, _ in got_rich] == [kind for kind, _ in want_rich], where
        for (kind, want_text), (_, got_text) in zip(want_rich, got_rich):
            assert_same(want_text, got_text, f"{where} ({kind})")


FULL = [p for p in PATHS if uses_quick(p)]


@pytest.mark.heavy
@pytest.mark.parametrize("path", FULL, ids=[p.stem for p in FULL])
def test_a_notebook_with_a_quick_path_also_runs_in_full(path, request):
    skip_unless_it_can_run(path, request)
    assert_ran_without_error(runner.execute(path))


def test_the_full_run_never_sees_the_quick_flag(tmp_path, monkeypatch):
    """Stored outputs come from the full run: run.py hides CHAINRULE_FAST from the kernel even
    when the caller has it set; quick=True sets it, and course.QUICK reads it."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        f"import sys; sys.path.insert(0, {str(NOTEBOOKS)!r})\n"
        "import os, course; print(os.environ.get('CHAINRULE_FAST'), course.QUICK)")])
    path = tmp_path / "probe.ipynb"
    nbformat.write(notebook, path)
    monkeypatch.setenv("CHAINRULE_FAST", "1")
    printed = runner.execute(path).cells[0].outputs[0]["text"]
    assert printed.strip() == "None False"
    assert os.environ["CHAINRULE_FAST"] == "1"          # restored afterwards


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_a_notebook_is_stored_with_its_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell in code:
        if not only_definitions(cell.source):
            assert cell.outputs, f"this cell shows no result:\n{cell.source}"
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), \
        "stored from one top-to-bottom run (make notebooks-run)"
    for cell in code:
        assert not any(o.output_type == "error" for o in cell.outputs)
        for output in cell.outputs:
            text = output.get("text", "") + str(output.get("data", {}).get("text/plain", ""))
            assert "Traceback" not in text and " at 0x" not in text   # no addresses: stable


def test_the_exercise_checker_answers_every_case(capsys):
    from course import check
    assert check(..., 2.0) is None and "Not answered" in capsys.readouterr().out
    assert check(2.0, 2.0) is True and "Correct" in capsys.readouterr().out
    assert check(3.0, 2.0, hint="try again") is False and "try again" in capsys.readouterr().out
    assert check("two", 2.0) is False
