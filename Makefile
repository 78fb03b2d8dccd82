# Everything installs itself: a fresh machine needs only Python 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AIRFLOW_HOME := $(CURDIR)/.airflow

.PHONY: install test lint format demo soak sandbox clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

demo: install
	$(BIN)/python scripts/demo.py

soak: install
	$(BIN)/python benchmarks/soak.py

sandbox: install
	$(BIN)/payjobs-sandbox --port 8023

clean:
	rm -rf $(VENV) .airflow *.egg-info .pytest_cache .ruff_cache
