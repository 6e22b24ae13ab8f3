"""How the harness runs its own feature suite in a child pytest: for `make acceptance`, the
mutation score, the self-tests and the benchmarks, all alike."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# dev-only pytest plugins the feature suite never uses; schemathesis alone costs half a second of start-up
UNUSED_PLUGINS = ("schemathesis", "anyio", "hypothesispytest")


def suite_command(*args: str, tests: str = "tests/acceptance") -> list[str]:
    """`python -m pytest <tests> <args>` without the plugins the suite does not need."""
    blocked = [option for name in UNUSED_PLUGINS for option in ("-p", f"no:{name}")]
    return [sys.executable, "-m", "pytest", tests, *blocked, *args]


def child_env(**extra: str) -> dict[str, str]:
    """This environment without our LUCS_* settings and pytest's own (xdist worker ids), plus `extra`.

    PYTHONDONTWRITEBYTECODE goes too: pytest must cache its rewritten bytecode, or start-up doubles.
    """
    keep = {
        k: v for k, v in os.environ.items() if not k.startswith(("LUCS_", "PYTEST_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    return keep | extra
