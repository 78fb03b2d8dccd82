# Everything installs itself: a fresh machine needs only Python 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AIRFLOW_HOME := $(CURDIR)/.airflow

.PHONY: install test test-matrix lint format demo soak sandbox e2e e2e-ui readme docs clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

test: install
	$(BIN)/python -m pytest

# The whole suite on each Airflow line we support, each in its own venv (.venv-<version>): 3.0.6
# (what Amazon MWAA runs, under its constraints file), the newest 3.1 and the newest 3.3. A venv
# is reinstalled into only when setup.cfg, pyproject.toml or its constraints file changed.
MATRIX := 3.0.6 3.1.8 3.3.2
.SECONDEXPANSION:
.venv-%/.installed: setup.cfg pyproject.toml $$(wildcard constraints/airflow-$$*.txt)
	test -x .venv-$*/bin/python || $(PYTHON) -m venv .venv-$*
	.venv-$*/bin/python -m pip install -q --upgrade pip
	.venv-$*/bin/python -m pip install -q -e ".[test]" "apache-airflow==$*" \
		$(addprefix -c ,$(wildcard constraints/airflow-$*.txt))
	touch $@

test-matrix: $(foreach version,$(MATRIX),.venv-$(version)/.installed)
	$(PYTHON) scripts/test_matrix.py $(MATRIX)

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	PYRIGHT_PYTHON_IGNORE_WARNINGS=1 $(BIN)/pyright
	$(BIN)/python -m pytest -q tests/test_layers.py  # imports run one way (docs/architecture.md)

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

demo: install
	$(BIN)/python scripts/demo.py

soak: install
	$(BIN)/python benchmarks/soak.py

sandbox: install
	$(BIN)/payjobs-sandbox --port 8023

# A real deployment: PostgreSQL 15 (initdb/pg_ctl), the sandbox, and Airflow's api-server,
# scheduler, dag-processor and triggerer as separate processes. Airflow needs both drivers.
E2E_STAMP := $(VENV)/.e2e-installed
$(E2E_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q "asyncpg>=0.30" "psycopg2-binary>=2.9"
	touch $@

e2e: $(E2E_STAMP)
	$(BIN)/python -m e2e.run

# The browser check: Debian's chromium, headless, driven by Playwright (never `playwright install`).
E2E_UI_STAMP := $(VENV)/.e2e-ui-installed
$(E2E_UI_STAMP): $(E2E_STAMP)
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	$(BIN)/python -m pip install -q "playwright>=1.50"
	touch $@

e2e-ui: $(E2E_UI_STAMP)
	$(BIN)/python -m e2e.run --ui

# The README followed line by line, as a newcomer would, on a fresh clone of HEAD with a temporary
# HOME (e2e/readme_walk.py): its console blocks in one bash session, ending with the reader's own
# DAG paid in the sandbox and the connection form open in chromium (hence the e2e-ui install).
readme: $(E2E_UI_STAMP)
	$(BIN)/python -m e2e.readme_walk

# The documentation site: Sphinx (MyST, Furo, autodoc), offline, into build/docs. Any warning fails
# the build; -E rereads every page so a second run shows every warning again.
DOCS_STAMP := $(VENV)/.docs-installed
DOCS_OUTPUT ?= build/docs
$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e ".[docs]"
	touch $@

docs: $(DOCS_STAMP)
	@$(BIN)/sphinx-build -E -W --keep-going -n -q -b html docs $(DOCS_OUTPUT) || { \
	  echo "make docs failed: each warning above starts with the file and line to fix;" \
	    "docs/contributing.md says what each kind means." >&2; exit 1; }
	@echo "Documentation built: $(DOCS_OUTPUT)/index.html"

# The release files: python -m build makes the sdist, then the wheel from that sdist (which shows
# the sdist builds), each in its own isolated environment, into an emptied dist/. Then twine's and
# check-wheel-contents' checks, where any warning fails.
DIST_STAMP := $(VENV)/.dist-installed
$(DIST_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q "build>=1.2" "twine>=6" "check-wheel-contents>=0.6"
	touch $@

.PHONY: dist
dist: $(DIST_STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*
	$(BIN)/check-wheel-contents dist/*.whl

clean:
	rm -rf $(VENV) .venv-* .airflow .e2e *.egg-info .pytest_cache .ruff_cache build dist
