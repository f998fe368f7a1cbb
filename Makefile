# The README's commands. Everything runs from a fresh Debian machine with Python 3.11:
#   make book   set up and build the site into _build/html
#   make test   set up and run every test (unit tests, strict nbval, the site in Chromium)
#   make lab    open the notebooks in JupyterLab
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cnnbook-installed
# Strict nbval: every stored output of every notebook is compared (see tests/nbval_sanitize.cfg).
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: setup system assets book test lab lint clean notebooks

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# Debian packages: the Fashion-MNIST data set, Chromium for the site test, npm for the assets.
system:
	./scripts/system_deps.sh

assets:
	./scripts/vendor_assets.sh

book: setup assets
	$(BIN)/python scripts/make_figures.py
	$(BIN)/jupyter-book build . -W -n --keep-going

test: setup system assets
	$(BIN)/python -m pytest -n 2 --dist loadfile $(NBVAL)

lab: setup
	$(BIN)/jupyter lab notebooks/

lint: setup
	$(BIN)/ruff check cnnbook tests benchmarks scripts

# Re-execute every notebook top to bottom (full runs, not quick mode) and store the outputs.
notebooks: setup
	$(BIN)/python scripts/execute_notebooks.py notebooks/*.ipynb

clean:
	rm -rf _build build site-screenshots
