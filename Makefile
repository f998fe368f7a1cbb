# The README's commands. Everything runs from a fresh Debian machine with Python 3.11:
#   make book   set up and build the site into _build/html
#   make test   set up and run every test (unit tests, strict nbval twice, the site in Chromium)
#   make lab    open the notebooks in JupyterLab
# The environment is requirements-lock.txt (exact versions, `make lock` renews it); readers'
# installs use the lower bounds of requirements.txt / pyproject.toml, which `make compat` checks.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cnnbook-installed
# Strict nbval: every stored output of every notebook is compared (see tests/nbval_sanitize.cfg).
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
# The second nbval pass runs where the first differs most: PyTorch's portable (non-vectorised)
# CPU kernels on one thread, against the machine's widest vector kernels on every core. Stored
# outputs must hold on any reader's CPU, so both passes compare them.
PORTABLE := ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1

.PHONY: setup system assets book test test-portable test-gpu compat lock lab lint clean notebooks

setup: $(STAMP)

$(STAMP): requirements-lock.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-lock.txt
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
	$(MAKE) test-portable

# Strict nbval of every notebook again, on the portable kernels and one thread.
test-portable: setup system
	$(PORTABLE) $(BIN)/python -m pytest -n 2 --dist loadfile $(NBVAL) notebooks

# On a CUDA machine (Colab, a lent GPU): every notebook under strict nbval with "auto" meaning
# the GPU (CNNBOOK_DEVICE), and the GPU tests. Uses the python on PATH when there is no venv.
GPU_PYTHON := $(if $(wildcard $(BIN)/python),$(BIN)/python,python3)
test-gpu:
	CNNBOOK_DEVICE=cuda $(GPU_PYTHON) -m pytest $(NBVAL) notebooks tests/test_gpu.py

# The declared version range: unit tests and every notebook executed (not compared) under
# Colab's versions and under the lowest versions pyproject.toml admits (see compat/README.md).
compat:
	./scripts/compat_run.sh all

# Renew requirements-lock.txt from requirements.txt (then: make notebooks, make test).
lock:
	./scripts/lock_requirements.sh

lab: setup
	$(BIN)/jupyter lab notebooks/

lint: setup
	$(BIN)/ruff check cnnbook tests benchmarks scripts

# Re-execute every notebook top to bottom (full runs, not quick mode) and store the outputs.
notebooks: setup
	$(BIN)/python scripts/execute_notebooks.py notebooks/*.ipynb

clean:
	rm -rf _build build site-screenshots
