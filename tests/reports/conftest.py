"""One published run with a deliberate failure, shared by the report tests and the browser test
(both in xdist group "reports", so one worker makes it once)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.suite import ROOT, child_env

FAULT = "block-wrong-reason"


def publish(reports: Path, *pytest_args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`make acceptance` in a child process: the suite, then every report, into `reports`."""
    command = [
        sys.executable,
        "-m",
        "lucs_harness.cli",
        "--reports-dir",
        str(reports),
        *([] if any(arg.startswith("--history") for arg in pytest_args) else ["--no-history"]),
        "--",
        *pytest_args,
    ]
    return subprocess.run(
        command, cwd=ROOT, env=child_env(**(env or {})), capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="session")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One run under two xdist workers, with the mock's block reason broken on purpose."""
    reports = tmp_path_factory.mktemp("reports")
    return reports, publish(reports, "-n", "2", f"--lucs-mock-fault={FAULT}")
