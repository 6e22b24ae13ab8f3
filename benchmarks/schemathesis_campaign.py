"""Campaign: Schemathesis run as a user runs it against `lucs-mock serve`, every check and every phase.

Each of the mock's two documents, the LUCS API (`/openapi.json`) and the control endpoints
(`/_mock/openapi.json`), is fuzzed in turn by the `schemathesis run` CLI against a fresh
`lucs-mock serve` process (fuzzing the control document switches faults on, which would break the
LUCS API on purpose). The campaign is unseeded, so every run tries new inputs; it prints, per
document, the test cases generated, the failures and errors by Schemathesis code, the phases, the
seed and the time, and exits 1 when any run found something (the seed replays it: `--seed`).

`tests/unit/test_schemathesis_all_checks.py` runs the same `run`, seeded and small, in `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lucs_harness.mock.auth import OPENAPI_PATH
from lucs_harness.mock.openapi import CONTROL_OPENAPI_PATH
from tests.realtarget.support import mock_process

SCHEMATHESIS = [sys.executable, "-m", "schemathesis.cli"]  # the `schemathesis` command of this interpreter
PHASES = ("examples", "coverage", "fuzzing", "stateful")
DOCUMENTS = {"LUCS API": OPENAPI_PATH, "control endpoints": CONTROL_OPENAPI_PATH}
MAX_EXAMPLES = 150
TIMEOUT = 600.0  # seconds one run may take; a hang is a finding too
LOOPBACK = "127.0.0.1,localhost,::1"


class CampaignError(RuntimeError):
    """Schemathesis did not run to its end; the message carries its output."""


@dataclass(frozen=True)
class Outcome:
    """What one `schemathesis run` found, read from its JSON report."""

    seed: int
    generated: int
    failures: dict[str, int]  # "ST202 Schema-valid request rejected" -> unique failures
    errors: int
    phases: dict[str, str]  # phase -> "success", "failure", "skipped", ...
    seconds: float
    exit_code: int
    output: str  # the CLI's own report: each failure with the curl that reproduces it

    @property
    def clean(self) -> bool:
        """No failure, no error, and Schemathesis agrees."""
        return not self.failures and not self.errors and self.exit_code == 0

    def summary(self) -> str:
        """One line of counts."""
        found = ", ".join(f"{name}: {count}" for name, count in self.failures.items()) or "none"
        phases = ", ".join(f"{phase} {status}" for phase, status in self.phases.items())
        return (
            f"{self.generated} test cases, failures: {found}, errors: {self.errors}; {phases}; "
            f"seed {self.seed}; {self.seconds:.1f} s"
        )


def command(url: str, max_examples: int, seed: int | None, report: Path) -> list[str]:
    """The CLI as a user types it, plus a JSON report to read the counts from."""
    args = [*SCHEMATHESIS, "run", url, "--checks", "all", "--phases", ",".join(PHASES)]
    args += ["--max-examples", str(max_examples), "--generation-database", "none", "--no-color"]
    args += ["--report", "json", "--report-json-path", str(report)]
    return args if seed is None else [*args, "--seed", str(seed)]


def _env() -> dict[str, str]:
    """This environment, with loopback never sent through a proxy the environment names."""
    return os.environ | {"NO_PROXY": LOOPBACK, "no_proxy": LOOPBACK}


def _outcome(report: dict[str, Any], output: str) -> Outcome:
    failures: dict[str, int] = {}
    for failure in report["failures"]:
        name = f"{failure['code']} {failure['title']}"
        failures[name] = failures.get(name, 0) + int(failure["count"])
    return Outcome(
        seed=int(report["seed"]),
        generated=int(report["test_cases"]["generated"]),
        failures=failures,
        errors=len(report["errors"]),
        phases={phase: str(state["status"]) for phase, state in report["phases"].items()},
        seconds=float(report["running_time"]),
        exit_code=int(report["exit_code"]),
        output=output,
    )


def run(url: str, max_examples: int = MAX_EXAMPLES, seed: int | None = None, timeout: float = TIMEOUT) -> Outcome:
    """Fuzz the document at `url` once; runs in a scratch folder, so no config file or report of
    the user's takes part and nothing is left behind."""
    with tempfile.TemporaryDirectory(prefix="schemathesis-") as scratch:
        report = Path(scratch) / "report.json"
        done = subprocess.run(
            command(url, max_examples, seed, report),
            cwd=scratch,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        output = done.stdout + done.stderr
        if not report.exists():
            raise CampaignError(f"schemathesis exited with {done.returncode} and no report:\n{output}")
        return _outcome(json.loads(report.read_text()), output)


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--max-examples", type=int, default=MAX_EXAMPLES, help="test cases per operation and phase")
    cli.add_argument("--seed", type=int, help="replay a run (default: a new seed every run)")
    return cli


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    started = time.perf_counter()
    clean = True
    for name, path in DOCUMENTS.items():
        with mock_process() as base:
            try:
                outcome = run(base + path, args.max_examples, args.seed)
            except (CampaignError, subprocess.TimeoutExpired) as error:
                print(f"schemathesis_campaign: {name}: {error}", file=sys.stderr)
                return 1
        print(f"{name} ({path}): {outcome.summary()}")
        if not outcome.clean:
            clean = False
            print(outcome.output)
    print(f"schemathesis campaign, every check and phase, {args.max_examples} examples: ", end="")
    print(f"{'no failure' if clean else 'FAILURES'} in {time.perf_counter() - started:.0f} s")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
