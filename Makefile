# Two commands on a fresh clone: `make demo` (install, then replay the S3 outage of 2017 with its report) and
# `make test` (install, then run the fast test suite). Everything installs into ./.venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install only when the dependencies change.
STAMP := $(VENV)/.installed-stamp

.PHONY: venv demo test fidelity lint bench clean-kernels

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: venv
	$(BIN)/outagesim replay s3-2017 --variant all --replicas 4 --out out/s3-2017 --report

test: venv
	$(BIN)/pytest -n 2 -q --durations=15

fidelity: venv
	$(BIN)/pytest -n 2 -m slow -q

lint: venv
	$(BIN)/ruff check src tests

bench: venv
	$(BIN)/python bench/engine_speed.py
	$(BIN)/python bench/blast_radius.py
	$(BIN)/python bench/replays.py

# numba's on-disk cache checks only the file a compiled function is in: after editing a kernel that
# another file's kernel calls (finite_source.py, erlang_table.py: called by cell_kernel.py), its
# callers would keep running the old code until this is run.
clean-kernels:
	find src -name '*.nbi' -delete -o -name '*.nbc' -delete
