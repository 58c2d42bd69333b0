"""The import name `autograd` is also HIPS autograd's: importing ours next to it warns once with
the fix, and nn refuses another package's `autograd` with a clear error. Each case runs a fresh
interpreter, with a fake installation made of files (metadata or a package folder) on its path."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from autograd._clash import FIX, other_autograds

OURS = Path(__file__).resolve().parent.parent / "autograd"


def run(code: str, cwd: Path, pythonpath: list[Path]) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(map(str, pythonpath)))
    environment.pop("PYTHONWARNINGS", None)
    return subprocess.run([sys.executable, "-W", "always", "-c", textwrap.dedent(code)],
                          cwd=cwd, env=environment, capture_output=True, text=True, timeout=60)


def fake_hips_metadata(folder: Path, version: str = "1.9.1") -> Path:
    """What `pip install autograd` leaves beside the package: its .dist-info folder."""
    info = folder / f"autograd-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: autograd\nVersion: {version}\n")
    return folder


def fake_hips_package(folder: Path) -> Path:
    package = folder / "autograd"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("def grad(fun):\n    return fun\n")
    return folder


def test_alone_it_is_silent(tmp_path):
    done = run("import autograd, nn; print(autograd.Value(2.0) * 3)", tmp_path, [])
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "Value(data=6" in done.stdout
    assert other_autograds() == []


def test_hips_installed_beside_it_warns_once_naming_the_clash_and_the_fix(tmp_path):
    site = fake_hips_metadata(tmp_path / "site")
    done = run("""
        import autograd, nn                     # nn imports autograd again: still one warning
        import autograd
        x = autograd.Value(3.0, "x"); (x * x).backward(); print(x.grad)
    """, tmp_path, [site])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "6.0"                      # and chainrule still works
    assert done.stderr.count("AutogradNameClashWarning") == 1, done.stderr
    assert "autograd 1.9.1" in done.stderr and "HIPS autograd" in done.stderr
    assert FIX in done.stderr and "separate virtual environments" in FIX
    assert "uninstalling either breaks both" in done.stderr
    assert "<string>:2" in done.stderr        # points at the user's import line, not at ours


def test_an_egg_info_counts_too(tmp_path):
    info = tmp_path / "autograd-1.3.egg-info"
    info.mkdir()
    assert other_autograds([str(tmp_path)]) == [
        f"the distribution autograd 1.3 in {tmp_path} (HIPS autograd, pip install autograd)"]


def test_another_autograd_folder_later_on_the_path_is_named(tmp_path):
    other = fake_hips_package(tmp_path / "other")
    found = other_autograds([str(OURS.parent), str(other), str(tmp_path / "missing")])
    assert found == [f"another autograd package at {os.path.realpath(other / 'autograd')}"]
    # our own folder, however it is reached, is not a clash
    assert other_autograds([str(OURS.parent), str(OURS.parent / "tests" / "..")]) == []


def test_nn_refuses_an_autograd_that_is_not_ours(tmp_path):
    shadow = fake_hips_package(tmp_path / "shadow")
    done = run("import nn", tmp_path, [shadow])
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: nn: `import autograd` found ")
    assert str(shadow / "autograd") in last and "HIPS autograd" in last
    assert "separate virtual environment" in last


def test_a_broken_check_never_stops_the_import(tmp_path):
    done = run("""
        import os
        os.listdir = None                       # anything going wrong inside the check
        import autograd
        print(autograd.Value(1.5).data)
    """, tmp_path, [])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1.5"
