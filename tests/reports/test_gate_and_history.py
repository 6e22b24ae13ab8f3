"""The CI gate a team tunes (Allure's quality gate, known LUCS defects) and the history that the
HTML's trend is drawn from, through the wrapper as docs/reports.md shows them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from lucs_harness.exit_codes import FAILED, PASSED, QUALITY_GATE_FAILED, USAGE
from lucs_harness.reporting.html import generate
from lucs_harness.reporting.options import Publishing
from lucs_harness.reporting.publish import RESULTS, finish
from lucs_harness.reporting.quality_gate import QualityGate
from tests.reports.conftest import FAULT
from tests.support.suite import run_wrapper

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
    return run_wrapper("--reports-dir", str(reports), *args)


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


@pytest.fixture(scope="module")
def one_failed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reports of one run with one failed scenario and one passed, for the gates judged below."""
    reports = tmp_path_factory.mktemp("one-failed")
    done = run(reports, "--no-history", "--no-html", *SELECTION)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    return reports


@pytest.mark.xdist_group("one-failed")  # every gate on one worker: the `one_failed` run once
@pytest.mark.parametrize(
    ("gate", "code", "said"),
    [
        (
            QualityGate(max_failures=0),
            QUALITY_GATE_FAILED,
            "the quality gate failed: The number of failed tests 1 exceeds the allowed threshold value 0",
        ),
        (QualityGate(success_rate=0.5), PASSED, "-> exit 0 (quality gate passed)"),
        (QualityGate(success_rate=0.6), QUALITY_GATE_FAILED, "Success rate 0.5 is less, than expected 0.6"),
    ],
)
def test_the_gate_decides_the_exit_code_of_a_failed_run(
    one_failed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], gate: QualityGate, code: int, said: str
) -> None:
    reports = shutil.copytree(one_failed, tmp_path / "reports")
    assert finish(reports, FAILED, Publishing(reports, html=False, gate=gate), []) == code
    assert said in capsys.readouterr().out


def test_an_unusable_known_issues_file_is_one_line_and_runs_nothing(tmp_path: Path) -> None:
    (tmp_path / "known.toml").write_text('[[issue]]\nid = "LUCS-1"\nmessage = "("\n')
    done = run(tmp_path / "reports", f"--lucs-known-issues={tmp_path / 'known.toml'}")
    assert done.returncode == USAGE
    assert done.stderr.strip().count("\n") == 0
    assert "issue 1 (LUCS-1): message is not a regular expression" in done.stderr
    assert not (tmp_path / "reports").exists()


def test_the_history_outlives_the_reports_folder_and_feeds_the_trend(tmp_path: Path) -> None:
    history = tmp_path / "cache" / "history.jsonl"
    done = run(tmp_path / "reports", f"--history={history}", "-k", "unblocking_an_unknown")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert len(history.read_text().splitlines()) == 1
    # the next run's report (its results as the first run's) draws the trend from both
    generate(tmp_path / "reports" / RESULTS, tmp_path / "next.html", history=history)
    assert len(history.read_text().splitlines()) == 2
    assert "history/" in (tmp_path / "next.html").read_text()
