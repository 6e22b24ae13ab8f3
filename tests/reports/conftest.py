"""One published run with a deliberate failure, shared by the report tests and the browser test
(both in xdist group "reports", so one worker makes it once)."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import pytest
from pytest_bdd.parser import FeatureParser

from tests.support.suite import ROOT, run_wrapper

FEATURES = ROOT / "features"

FAULT = "block-wrong-reason"


def publish(reports: Path, *pytest_args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`make acceptance` in a child process: the suite, then every report, into `reports`."""
    history = [] if any(arg.startswith("--history") for arg in pytest_args) else ["--no-history"]
    return run_wrapper("--reports-dir", str(reports), *history, "--", *pytest_args, env=env)


@pytest.fixture(scope="session")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One run under two xdist workers, with the mock's block reason broken on purpose."""
    reports = tmp_path_factory.mktemp("reports")
    return reports, publish(reports, "-n", "2", f"--lucs-mock-fault={FAULT}")


def scenario_names() -> Counter[str]:
    """How many tests each scenario name gives, as pytest-bdd binds them (one per Examples row)."""
    names: Counter[str] = Counter()
    for path in sorted(FEATURES.rglob("*.feature")):
        feature = FeatureParser(str(FEATURES), str(path.relative_to(FEATURES))).parse()
        for name, template in feature.scenarios.items():
            names[name] += sum(len(examples.examples) for examples in template.examples) or 1
    return names
