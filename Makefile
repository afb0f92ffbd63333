# Everything installs itself: a fresh clone needs only python3 (>= 3.10) and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-2031 lint format bench screenshots reference clean lock

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Pin what is installed now (after a dependency change in pyproject.toml) as the tested set.
lock: $(STAMP)
	{ sed -n '1,2p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable; } > constraints.new
	mv constraints.new constraints.txt

demo: $(STAMP)
	$(BIN)/cart-cli place sample_orders/one-item.yaml --sandbox --sandbox-latency 0.3

# Coverage includes the cart-cli subprocesses the tests start; below 95 % the run fails.
test: $(STAMP) lint
	$(BIN)/python -m pytest -q --cov --cov-report=term --cov-fail-under=95

# The whole suite with the clock set to 2031 (CART_CLI_NOW is read by the Environment and the
# tests): nothing in it may depend on today's date.
test-2031: $(STAMP)
	CART_CLI_NOW=2031-09-01 $(BIN)/python -m pytest -q

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

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
