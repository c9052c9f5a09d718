# airflow-mlops: every target installs what it needs first.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed
export AIRFLOW_MLOPS_HOME ?= $(CURDIR)/.state
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install demo up down test lint unit e2e integration soak bench status clean wheel-check

$(STAMP): pyproject.toml requirements/constraints.txt
	@command -v $(PY) >/dev/null || { echo "error: $(PY) not found; install Python 3.11" >&2; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	# Bytecode compiled once here: with PYTHONDONTWRITEBYTECODE set (as on this machine) every
	# process would otherwise compile Airflow from source again (seconds per process).
	$(UV) pip install --python $(BIN)/python --quiet --compile-bytecode -r requirements/constraints.txt
	$(UV) pip install --python $(BIN)/python --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/python -m dev.demo

up: install
	$(BIN)/python -m dev.demo up

down: install
	$(BIN)/python -m dev.demo down

# No block of four or more lines copied between modules of the library or the DAG bundle (pylint's
# duplicate-code; imports, docstrings, comments and signatures are not counted: docs/decisions.md).
DUPLICATES := $(BIN)/pylint --disable=all --enable=duplicate-code --min-similarity-lines=4 \
	--ignore-imports=y --ignore-docstrings=y --ignore-comments=y --ignore-signatures=y \
	--score=n --reports=n

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(DUPLICATES) $$(find plugins dags -name '*.py' -not -path '*/__pycache__/*')

unit: install
	$(BIN)/pytest -m "unit" -q

e2e: install
	$(BIN)/pytest -m "e2e" -q

integration: install
	$(BIN)/pytest -m "integration" -q

# The browser tests drive Debian's Chromium (Playwright cannot download a browser here).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# Tests run in a random order (pytest-randomly). The seed is chosen here and printed in the
# command line (pytest -q hides its own header): `make test SEED=n` replays the order of seed n,
# `make test SEED=off` runs in file order.
ifeq ($(origin SEED),undefined)
SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif
RANDOM_ORDER = $(if $(filter off,$(SEED)),-p no:randomly,-p randomly --randomly-seed=$(SEED))

test: lint $(CHROMIUM)
	$(BIN)/python -m compileall -q plugins dags dev >/dev/null
	$(BIN)/pytest -q -ra -p no:cacheprovider $(RANDOM_ORDER) -m "not soak"

# Twenty retraining requests at once through the REST API on the production topology (~30 min).
soak: install
	$(BIN)/pytest -q -ra -s -p no:cacheprovider -m soak

bench: install
	$(UV) pip install --python $(BIN)/python --quiet --no-deps --compile-bytecode -r requirements/bench.txt
	$(BIN)/python -m compileall -q plugins dags >/dev/null
	$(BIN)/python -m benchmarks.run

status: install
	$(BIN)/airflow-mlops status

# The installation test: the wheel into fresh venvs with the lowest and highest Airflow declared
# (4 to 8 minutes here).
wheel-check: install
	UV=$(UV) PY=$(PY) dev/wheel_check.sh

clean:
	rm -rf .state build *.egg-info
