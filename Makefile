# Two commands on a fresh machine (Python 3.10+ and make):
#   make demo   set up .venv and run the worked example
#   make test   set up .venv with the test tools and run the whole suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check --quiet

.PHONY: demo test test-heavy bench bench-compile bench-nn lint clean notebooks notebooks-run

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall when pyproject.toml changes; the stamp files remember what is installed.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PIP) install -e '.[test]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(PY)
	$(PIP) install -e '.[bench]'
	touch $@

$(VENV)/.installed-demo: pyproject.toml | $(PY)
	$(PIP) install -e '.[demo]'
	touch $@

$(VENV)/.installed-bench-nn: pyproject.toml | $(PY)
	$(PIP) install -e '.[bench,digits]'
	touch $@

demo: $(VENV)/.installed-demo
	$(PY) demo.py

test: $(VENV)/.installed-test
	$(PY) -m pytest

# The slow tests kept out of `make test` (CI runs both).
test-heavy: $(VENV)/.installed-test
	$(PY) -m pytest -m heavy || test $$? -eq 5    # 5: no heavy tests collected

# Side-by-side speed: chainrule, micrograd and (if installed) PyTorch scalars.
bench: $(VENV)/.installed-bench
	$(PY) benchmarks/engine.py
	$(PY) benchmarks/compiled.py

# Compiled against interpreted on the textbook 784-200-10 network, one epoch (a few minutes).
bench-compile: $(VENV)/.installed
	$(PY) benchmarks/compiled.py --mnist

$(VENV)/.installed-notebooks: pyproject.toml | $(PY)
	$(PIP) install -e '.[notebooks]'
	touch $@

# Open the curriculum in JupyterLab.
notebooks: $(VENV)/.installed-notebooks
	$(VENV)/bin/jupyter lab notebooks/

# Notebook 09 puts a network into PyTorch: exactly this version (its CPU build), never a range.
$(VENV)/.installed-torch: | $(PY)
	$(PIP) install torch==2.13.0
	touch $@

# Re-run every notebook top to bottom and store its outputs (after changing code or a notebook).
notebooks-run: $(VENV)/.installed-notebooks $(VENV)/.installed-torch
	$(PY) notebooks/run.py --write

# nn targets: micrograd's moons demo (against micrograd), XOR, digits; MEETS/MISSES lines.
bench-nn: $(VENV)/.installed-bench-nn
	$(PY) benchmarks/nn_targets.py

lint: $(VENV)/.installed-test
	$(PIP) install ruff
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
