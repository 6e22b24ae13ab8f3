"""Many runs of the feature suite in one process: `python -m tests.support.fault_batch JOBS OUT`.

Each job (a fault, or none, and pytest arguments) is one `pytest.main` against the embedded mock,
as `lucs-acceptance` would run it; the Cucumber JSON and the exit code of each go to OUT. One
interpreter for all jobs: starting Python and importing pytest, the plugin and the mock once, not
once per fault, is what makes the self-test cheap (a run in-process takes a tenth of a child's)."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path

import pytest

from lucs_harness.wrapper import UNUSED_PLUGINS


def run_job(fault: str | None, args: list[str]) -> dict[str, object]:
    """One run: its exit code, its Cucumber JSON and what it printed."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "cucumber.json"
        blocked = [option for name in (*UNUSED_PLUGINS, "cacheprovider", "xdist") for option in ("-p", f"no:{name}")]
        fault_args = [f"--lucs-mock-fault={fault}"] if fault else []
        output = io.StringIO()
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            code = pytest.main(["tests/acceptance", *blocked, "-q", f"--cucumberjson={report}", *fault_args, *args])
        cucumber = json.loads(report.read_text()) if report.is_file() else []
    return {"fault": fault, "returncode": int(code), "cucumber": cucumber, "output": output.getvalue()[-20000:]}


def main(jobs_file: str, out_file: str) -> int:
    jobs = json.loads(Path(jobs_file).read_text())
    results = [run_job(job["fault"], job["args"]) for job in jobs]
    Path(out_file).write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
