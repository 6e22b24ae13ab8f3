"""The CI gate a team tunes (Allure's quality gate, known LUCS defects) and the history that the
HTML's trend is drawn from, through the wrapper as the README shows them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lucs_harness.exit_codes import QUALITY_GATE_FAILED, USAGE
from tests.reports.conftest import FAULT
from tests.support.suite import ROOT, child_env

# the block scenario fails (the mock's fault) and the unknown-user scenarios pass
SELECTION = ["-k", "Blocking_takes or unblocking_an_unknown", f"--lucs-mock-fault={FAULT}"]
KNOWN = """
[[issue]]
id = "LUCS-1234"
scenario = "Blocking takes the user out of distribution without touching presence"
message = 'NotSelectableReason: expected "InAServiceTask"'
url = "https://jira.example.com/browse/LUCS-1234"
"""


def run(reports: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "lucs_harness.cli", "--reports-dir", str(reports), *args]
    return subprocess.run(command, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=300, check=False)


def summary(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout.strip().splitlines()[-1]


def test_a_known_defect_passes_the_gate_and_is_marked_in_the_report(tmp_path: Path) -> None:
    (tmp_path / "known.toml").write_text(KNOWN)
    done = run(tmp_path / "reports", "--no-history", f"--lucs-known-issues={tmp_path / 'known.toml'}", *SELECTION)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 failed (1 known)" in summary(done)
    assert "exit 0 (quality gate passed)" in summary(done)
    results = [json.loads(p.read_text()) for p in (tmp_path / "reports/allure-results").glob("*-result.json")]
    [failed] = [r for r in results if r["status"] == "failed"]
    assert failed["statusDetails"]["known"] is True
    assert {"type": "issue", "name": "LUCS-1234", "url": "https://jira.example.com/browse/LUCS-1234"} in failed["links"]
    assert "quality-gate.json" in (tmp_path / "reports/report.html").read_text()


def test_a_failure_beyond_the_gate_has_its_own_exit_code(tmp_path: Path) -> None:
    done = run(tmp_path, "--no-history", "--no-html", "--lucs-quality-gate-max-failures=0", *SELECTION)
    assert done.returncode == QUALITY_GATE_FAILED, done.stdout[-3000:] + done.stderr[-2000:]
    assert "quality gate failed: The number of failed tests 1 exceeds the allowed threshold value 0" in summary(done)
    tolerant = run(tmp_path, "--no-history", "--no-html", "--lucs-quality-gate-success-rate=50%", *SELECTION)
    assert tolerant.returncode == 0, tolerant.stdout[-3000:]


def test_an_unusable_known_issues_file_is_one_line_and_runs_nothing(tmp_path: Path) -> None:
    (tmp_path / "known.toml").write_text('[[issue]]\nid = "LUCS-1"\nmessage = "("\n')
    done = run(tmp_path / "reports", f"--lucs-known-issues={tmp_path / 'known.toml'}")
    assert done.returncode == USAGE
    assert done.stderr.strip().count("\n") == 0
    assert "issue 1 (LUCS-1): message is not a regular expression" in done.stderr
    assert not (tmp_path / "reports").exists()


def test_the_history_outlives_the_reports_folder_and_feeds_the_trend(tmp_path: Path) -> None:
    history = tmp_path / "cache" / "history.jsonl"
    for _ in range(2):
        done = run(tmp_path / "reports", f"--history={history}", "-k", "unblocking_an_unknown")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    runs = [json.loads(line) for line in history.read_text().splitlines()]
    assert len(runs) == 2
    assert "history/" in (tmp_path / "reports/report.html").read_text()
