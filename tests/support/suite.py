"""How the harness's own tests run the feature suite in a child pytest (the self-tests, the
real-target tests, the mutation score, the benchmarks), all alike. Not shipped in the wheel."""

from __future__ import annotations

from pathlib import Path

from lucs_harness.reporting.publish import pytest_command, pytest_env

ROOT = Path(__file__).resolve().parents[2]


def suite_command(*args: str, tests: str = "tests/acceptance") -> list[str]:
    """`python -m pytest <tests> <args>` without the plugins the suite does not need, and without
    the cache: parallel child runs would write one `.pytest_cache` at once."""
    return pytest_command(tests, "-p", "no:cacheprovider", *args)


def child_env(**extra: str) -> dict[str, str]:
    """This environment for a child run of the harness's own tests: without our LUCS_* settings and
    pytest's own (xdist worker ids), plus `extra`."""
    keep = {k: v for k, v in pytest_env().items() if not k.startswith(("LUCS_", "PYTEST_"))}
    return keep | extra
