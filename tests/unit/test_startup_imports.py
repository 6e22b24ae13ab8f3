"""Start-up is paid by every run, and `make test` starts some 150: a run that starts no scenario
loads neither the HTTP client, nor the schema validator, nor the coordination store."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.suite import ROOT, child_env

pytestmark = pytest.mark.slow  # a child process: make test, not make check

NOT_AT_START = (
    "requests",
    "urllib3",
    "jsonschema_rs",
    "lucs_harness.client",
    "lucs_harness.coordination.files",
    "filelock",
)


def test_a_run_that_starts_no_scenario_loads_no_client_validator_or_store() -> None:
    run = "['-p', 'lucs_harness.plugin', '-p', 'no:cacheprovider', 'tests/acceptance', '-q', '-k', 'nothing_matches']"
    code = f"import sys, pytest; pytest.main({run}); print(sorted(m for m in {NOT_AT_START!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "deselected" in done.stdout, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
