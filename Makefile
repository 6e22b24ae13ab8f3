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

install: $(STAMP)

acceptance: $(STAMP)
	$(PY) -m pytest tests/acceptance $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

test: lint
	$(PY) -m pytest -n auto $(ARGS)

mutation: $(STAMP)
	$(PY) scripts/mutation_score.py

benchmark: $(STAMP)
	$(PY) benchmarks/suite_speed.py

clean:
	rm -rf $(VENV) reports/* .mypy_cache .ruff_cache
