"""What the benchmarks share with the scenarios they run in child processes: the names of the
environment variables that pass files between them (not LUCS_*: the child runs' environment drops
those), and the scenario outline at any size."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.suite import ROOT, child_env

OUTLINE_ENV = "BENCH_OUTLINE_FEATURE"  # the outline `parallel/test_outline.py` binds, else its 40 examples
CLIENT_COST_ENV = "BENCH_CLIENT_COST_OUT"  # where `client_cost/test_client_cost.py` writes its figures
TEMPLATE = Path(__file__).resolve().parent / "parallel" / "outline.feature"


@contextmanager
def outline(examples: int) -> Iterator[Path]:
    """The outline with `examples` examples in a scratch folder beside the template, removed on the
    way out: Allure names a feature by its path under the project's root, so it must be inside."""
    with tempfile.TemporaryDirectory(prefix=".outline-", dir=TEMPLATE.parent) as scratch:
        yield write_outline(Path(scratch), examples)


def write_outline(folder: Path, examples: int) -> Path:
    """The Control Users round trip of `parallel/outline.feature` with runs 1..`examples` in its
    Examples table, written into `folder`."""
    head, marker, _ = TEMPLATE.read_text(encoding="utf-8").partition("    Examples:\n")
    if not marker:
        raise ValueError(f"{TEMPLATE} has no Examples table")
    rows = "".join(f"      | {run:5d} |\n" for run in range(1, examples + 1))
    feature = folder / f"outline_{examples}.feature"
    feature.write_text(f"{head}{marker}      |   run |\n{rows}", encoding="utf-8")
    return feature


def timed(command: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> float:
    """Wall time of one child process, which must succeed."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env or child_env(), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return elapsed
