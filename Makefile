# Two commands on a fresh clone: `make demo` (install, then run the shop retry-storm example) and
# `make test` (install, then run the fast test suite). Everything installs into ./.venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install only when the dependencies change.
STAMP := $(VENV)/.installed-stamp

.PHONY: venv demo test fidelity lint bench

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: venv
	$(BIN)/outagesim run examples/shop/model.yaml examples/shop/retry-storm.yaml --variant all --replicas 4 --out out/shop-retry-storm

test: venv
	$(BIN)/pytest -n 2 -q

fidelity: venv
	$(BIN)/pytest -n 2 -m slow -q

lint: venv
	$(BIN)/ruff check src tests

bench: venv
	$(BIN)/python bench/engine_speed.py
