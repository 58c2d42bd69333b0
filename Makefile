# Two commands on a fresh machine (Python 3.10+ and make):
#   make demo   set up .venv and run the worked example
#   make test   set up .venv with the test tools and run the whole suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check --quiet

.PHONY: demo test test-heavy bench bench-compile bench-nn bench-render lint clean notebooks \
        notebooks-run lite lite-serve

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

# Compiled against interpreted: fit on the digits, and one epoch of the textbook 784-200-10
# network (several minutes).
bench-compile: $(VENV)/.installed-bench-nn
	$(PY) benchmarks/compiled.py --digits --mnist

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

# Pictures: every hard graph shape (tests/graph_shapes.py) through each renderer, goal 5 s.
bench-render: $(VENV)/.installed
	$(PY) benchmarks/render.py

# The zero-install classroom: a JupyterLite site (Python in the browser) in lite/site.
# Building needs Python 3.12+ (found on PATH or through pyenv; the site itself runs Pyodide's
# Python) and npm; serving needs nothing but a static web server.
LITE_SITE   ?= lite/site
LITE_WORK   ?= lite/build
LITE_PORT   ?= 8000
LITE_PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 \
                 $$(pyenv root 2>/dev/null)/versions/3.1[2-9]*/bin/python3; do \
                 "$$p" -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null \
                 && { command -v "$$p"; break; }; done)

lite/.venv/.installed: lite/requirements.txt
	@test -n "$(LITE_PYTHON)" || { echo "make lite: building the site needs Python 3.12 or newer" \
	  "(pyodide-lock requires it), found none on PATH or in pyenv. Install one" \
	  "(pyenv install 3.12, or apt-get install python3.12), or name it:" \
	  "make lite LITE_PYTHON=/path/to/python3.12"; exit 1; }
	@"$(LITE_PYTHON)" -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null || { \
	  echo "make lite: LITE_PYTHON=$(LITE_PYTHON) is not a Python 3.12 or newer (pyodide-lock" \
	  "requires it); name one: make lite LITE_PYTHON=/path/to/python3.12"; exit 1; }
	rm -rf lite/.venv
	$(LITE_PYTHON) -m venv lite/.venv
	lite/.venv/bin/python -m pip --disable-pip-version-check --quiet install -r lite/requirements.txt
	touch $@

lite/node_modules/.installed: lite/package.json lite/package-lock.json
	@command -v npm >/dev/null || { echo "make lite: needs npm (Node.js) for the Pyodide" \
	  "runtime and Graphviz for the browser: apt-get install npm"; exit 1; }
	cd lite && npm ci --no-audit --no-fund --loglevel=error
	touch $@

lite: lite/.venv/.installed lite/node_modules/.installed
	lite/.venv/bin/python lite/build.py --output $(LITE_SITE) --work $(LITE_WORK)

# Serve the site on this machine only (module scripts and the service worker need localhost or
# HTTPS; file:// does not work). Any static host serves the same folder to a class.
lite-serve:
	@test -f $(LITE_SITE)/index.html || { echo "make lite-serve: no site in $(LITE_SITE); run make lite first"; exit 1; }
	@echo "Open http://127.0.0.1:$(LITE_PORT)/lab/index.html  (Ctrl-C stops it)"
	$(PYTHON) -m http.server $(LITE_PORT) --bind 127.0.0.1 --directory $(LITE_SITE)

lint: $(VENV)/.installed-test
	$(PIP) install ruff
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis lite/.venv lite/node_modules lite/site lite/build lite/build-wheels
