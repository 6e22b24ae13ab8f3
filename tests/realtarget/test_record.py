"""`--lucs-record DIR` and the drift report, against a mock that serves a capture of a team's own
LUCS (`doctor --capture`, then `lucs-mock serve --data`): every exchange kept, redacted; the
fields the server sent that the schemas do not list, those never sent, the values seen."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.realtarget.support import TARGET_ENV, mock_thread
from tests.support.suite import ROOT, run_wrapper

KEY = "r3c0rd-k3y"
SERVICE = "c0a80101-0000-4000-8000-000000000001"
USER = "sip:alice.archer@contoso.example"
CAPTURED = ROOT / "tests" / "unit" / "data" / "lucs-capture.json"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_wrapper(*args, env=TARGET_ENV | {"LUCS_AUTH": "apikey", "LUCS_API_KEY": KEY})


def test_a_capture_served_by_the_mock_then_a_recorded_run_reports_the_drift(tmp_path: Path) -> None:
    target = ["--lucs-service-id", SERVICE, "--lucs-user", USER]
    with mock_thread("--data", str(CAPTURED), "--auth", "apikey", "--secret", KEY) as base:
        doctor = run("doctor", f"--lucs-base-url={base}", *target, "--capture", str(tmp_path / "capture.json"))
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        suite = run(
            f"--lucs-base-url={base}", *target, "--lucs-allow-changes", "-k", "Blocking_takes",
            f"--lucs-record={tmp_path / 'record'}", "--no-html", "--no-history", f"--reports-dir={tmp_path / 'r'}",
        )  # fmt: skip
    assert suite.returncode == 0, suite.stdout[-3000:]
    capture = json.loads((tmp_path / "capture.json").read_text())
    assert [u["SipUri"] for u in capture["users"][SERVICE]] == [
        u["SipUri"] for u in json.loads(CAPTURED.read_text())["users"][SERVICE]
    ]
    recorded = {path.parent.name for path in (tmp_path / "record" / "exchanges").glob("*/*.json")}
    assert {"list_users", "block_user"} <= recorded
    every_file = "".join(path.read_text() for path in (tmp_path / "record").rglob("*.json"))
    assert KEY not in every_file
    drift = json.loads((tmp_path / "record" / "drift.json").read_text())["schemas"]
    assert "$[].Department" in drift["user-list.json"]["sent_not_listed"]
    assert "InAServiceTask" in drift["user.json"]["values_seen"]["$.NotSelectableReason"]
    assert "drift.md" in suite.stdout


def test_the_embedded_mock_serves_a_capture_so_the_suite_meets_the_teams_own_users(tmp_path: Path) -> None:
    done = run_wrapper(
        f"--lucs-mock-data={CAPTURED}", "--lucs-service-id", SERVICE, "--lucs-user", USER,
        "-k", "Blocking_takes or configured_service_is_listed",
        "--no-html", "--no-history", f"--reports-dir={tmp_path}",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert "2 passed" in done.stdout.splitlines()[-1]
    bad = run_wrapper(f"--lucs-mock-data={tmp_path / 'none.json'}", "--no-html", f"--reports-dir={tmp_path / 'bad'}")
    assert bad.returncode == 4
    assert "--lucs-mock-data:" in bad.stdout + bad.stderr
