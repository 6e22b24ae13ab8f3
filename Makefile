# Two commands on a fresh machine: `make acceptance` (the feature suite against the embedded mock,
# reports under reports/) and `make test` (lint, types, every test). Each creates .venv and installs
# what pyproject.toml declares. Extra pytest arguments: make acceptance ARGS="-m smoke".
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
ARGS ?=

# pytest's assertion rewriting must be able to cache its bytecode, or start-up doubles
unexport PYTHONDONTWRITEBYTECODE

.PHONY: acceptance test lint install mutation benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

NODE_STAMP := node_modules/.package-lock.json

# Allure 3 for the HTML report; Prism (an optional dependency) only for the benchmark that compares with it
$(NODE_STAMP): package.json package-lock.json
	npm ci --omit=optional --no-audit --no-fund --loglevel=error

PRISM := node_modules/.bin/prism

$(PRISM): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

install: $(STAMP) $(NODE_STAMP)

acceptance: $(STAMP) $(NODE_STAMP)
	$(PY) -m lucs_harness.cli $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# the harness's own tests, without its plugin (they start the suite in child processes where they need it)
test: lint $(NODE_STAMP)
	$(PY) -m pytest -n auto --dist loadgroup -p no:lucs tests --ignore=tests/acceptance $(ARGS)

mutation: $(STAMP)
	$(PY) scripts/mutation_score.py

benchmark: $(STAMP) $(NODE_STAMP) $(PRISM)
	$(PY) benchmarks/suite_speed.py
	$(PY) benchmarks/parallel_speedup.py
	$(PY) benchmarks/mock_vs_prism.py
	$(PY) benchmarks/schemathesis_campaign.py
	$(PY) benchmarks/mock_at_scale.py

clean:
	rm -rf $(VENV) reports/* .mypy_cache .ruff_cache
