"""How the harness's own tests run the feature suite in a child pytest (the self-tests, the
real-target tests, the mutation score, the benchmarks), all alike. Not shipped in the wheel."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from lucs_harness.wrapper import pytest_command, pytest_env

ROOT = Path(__file__).resolve().parents[2]
FEATURES = ROOT / "features"
# the configuration folder of child runs: a run against a target without credentials makes its
# journal key file there (`journal_key.key_file`), never in the user's own
CONFIG_HOME = tempfile.mkdtemp(prefix="lucs-test-config-")


def suite_command(*args: str, tests: str = "tests/acceptance") -> list[str]:
    """`python -m pytest <tests> <args>` without the plugins the suite does not need, and without
    the cache: parallel child runs would write one `.pytest_cache` at once."""
    return pytest_command(tests, "-p", "no:cacheprovider", *args)


def child_env(**extra: str) -> dict[str, str]:
    """This environment for a child run of the harness's own tests: without our LUCS_* settings and
    pytest's own (xdist worker ids), plus `extra`."""
    keep = {k: v for k, v in pytest_env().items() if not k.startswith(("LUCS_", "PYTEST_"))}
    return keep | {"XDG_CONFIG_HOME": CONFIG_HOME} | extra


def run_wrapper(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`lucs-acceptance ARGS` as a user runs it, to its end, its output captured; `env` adds settings."""
    command = [sys.executable, "-m", "lucs_harness.cli", *args]
    return subprocess.run(
        command, cwd=cwd, env=child_env(**(env or {})), capture_output=True, text=True, timeout=timeout, check=False
    )


def scenario_tags() -> list[set[str]]:
    """The tags of every test the feature files give (one per Examples row), as pytest-bdd binds
    them: a test counts what the suite holds today, not a number written down when it was made."""
    from pytest_bdd.parser import FeatureParser

    found = []
    for path in sorted(FEATURES.rglob("*.feature")):
        feature = FeatureParser(str(FEATURES), str(path.relative_to(FEATURES))).parse()
        for template in feature.scenarios.values():
            tags = set(feature.tags) | set(template.tags)
            found += [tags] * (sum(len(examples.examples) for examples in template.examples) or 1)
    return found
