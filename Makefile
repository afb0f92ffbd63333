# Everything installs itself: a fresh clone needs only python3 (>= 3.10) and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DIST_VENV  := .venv-dist
DIST_BIN   := $(DIST_VENV)/bin
DIST_STAMP := $(DIST_VENV)/.installed

.PHONY: demo test test-2031 lint format bench screenshots reference clean lock dist ci-recipes

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Pin what is installed now (after a dependency change in pyproject.toml) as the tested set:
# the development venv's packages and the packaging tools of `make dist`.
lock: $(STAMP) $(DIST_STAMP)
	{ sed -n '1,2p' constraints.txt; \
	  { $(BIN)/python -m pip freeze --exclude-editable; $(DIST_BIN)/python -m pip freeze; } \
	  | sort -f -u; } > constraints.new
	mv constraints.new constraints.txt

demo: $(STAMP)
	$(BIN)/cart-cli place sample_orders/one-item.yaml --sandbox --sandbox-latency 0.3

# Coverage includes the cart-cli subprocesses the tests start; below 95 % the run fails. The
# tests run on every core (pytest-xdist); each test has its own folders, sandbox and port.
test: $(STAMP) lint
	$(BIN)/python -m pytest -q -n auto --cov --cov-report=term --cov-fail-under=95

# The tests that write or read a date (marked `clock` by tests/conftest.py), again with the
# clock at 2031 (CART_CLI_NOW is read by the Environment, the sandbox and the tests): nothing
# in them may depend on today's date.
test-2031: $(STAMP)
	CART_CLI_NOW=2031-09-01 $(BIN)/python -m pytest -q -n auto -m clock

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# httpie is the reference for the --help row: installed for the benchmark only.
$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python bench/bench.py

screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

# docs/reference.md, every command and option, generated from the command tree: run after
# adding or changing a command or an option (tests/test_reference.py fails until you do).
reference: $(STAMP)
	$(BIN)/python scripts/gen_reference.py

# The packaging tools (build, twine, pipx, uv) live in a venv of their own, pinned like the rest.
$(DIST_STAMP): constraints.txt
	$(PYTHON) -m venv $(DIST_VENV)
	$(DIST_BIN)/python -m pip install --quiet -c constraints.txt build twine pipx uv
	touch $@

# sdist and wheel in dist/, checked: twine check, then the wheel installed with pip into an
# empty venv, with pipx and with uv tool, each run from an empty folder (place --sandbox, init).
dist: $(DIST_STAMP)
	rm -rf dist
	$(DIST_BIN)/python -m build --outdir dist .
	$(DIST_BIN)/twine check --strict dist/*
	$(DIST_BIN)/python scripts/check_dist.py dist

# docs/ci/: what `cart-cli init --ci github|gitlab` writes (tests/test_init.py: current).
ci-recipes: $(STAMP)
	$(BIN)/python scripts/ci_recipes.py

clean:
	rm -rf $(VENV) $(DIST_VENV) build dist *.egg-info .pytest_cache .ruff_cache
