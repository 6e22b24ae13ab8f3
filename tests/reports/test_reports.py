"""One run of the main command writes Allure results, the single-file HTML, JUnit XML and Cucumber
JSON; they agree; a deliberate failure shows at the right step with the response; no secret leaks."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from lucs_harness.mock.auth import MockAuth
from lucs_harness.mock.server import MockServer
from lucs_harness.reporting.html import EXTERNAL_ATTR
from tests.reports.conftest import publish, scenario_names

FAILING = "Blocking takes the user out of distribution without touching presence"
SCENARIOS = sum(scenario_names().values())  # as the feature files hold them today


def allure_results(reports: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in (reports / "allure-results").glob("*-result.json")]


def cucumber_statuses(reports: Path) -> Counter[str]:
    statuses: Counter[str] = Counter()
    for feature in json.loads((reports / "cucumber.json").read_text()):
        for scenario in feature["elements"]:
            steps = [step["result"]["status"] for step in scenario["steps"]]
            statuses["failed" if "failed" in steps else "passed"] += 1
    return statuses


def junit_statuses(reports: Path) -> Counter[str]:
    statuses: Counter[str] = Counter()
    for case in ET.parse(reports / "junit.xml").getroot().iter("testcase"):
        statuses["failed" if case.find("failure") is not None or case.find("error") is not None else "passed"] += 1
    return statuses


pytestmark = pytest.mark.xdist_group("reports")


def test_the_run_fails_with_the_suites_exit_code_and_one_summary_line(
    failing_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    reports, done = failing_run
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    summary = done.stdout.strip().splitlines()[-1]
    counts = junit_statuses(reports)  # the fault fails FAILING, and any other scenario that checks the reason
    assert counts["failed"] >= 1
    assert summary.startswith(
        f"LUCS acceptance: {counts['passed']} passed, {counts['failed']} failed -> exit 1 (some scenarios failed)"
    )
    for name in ("report.html", "junit.xml", "cucumber.json", "allure-results"):
        assert name in summary
        assert (reports / name).exists()


def test_all_reports_agree_on_passed_and_failed(failing_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    reports, _ = failing_run
    expected = junit_statuses(reports)
    assert expected["failed"] >= 1
    assert expected.total() == SCENARIOS
    assert Counter(r["status"] for r in allure_results(reports)) == expected
    assert cucumber_statuses(reports) == expected
    stats = json.loads((reports / "allure-summary.json").read_text())["stats"]
    assert stats == {"total": SCENARIOS, "passed": expected["passed"], "failed": expected["failed"]}


def test_cucumber_json_holds_every_scenario_under_xdist(
    failing_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    reports, _ = failing_run
    assert sum(cucumber_statuses(reports).values()) == SCENARIOS


def test_the_failure_is_shown_at_its_step_with_the_response(
    failing_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    reports, _ = failing_run
    (failed,) = [r for r in allure_results(reports) if r["status"] == "failed" and r["name"] == FAILING]
    steps = {step["name"]: step for step in failed["steps"]}
    step = steps["And the returned user has:"]
    assert step["status"] == "failed"
    assert 'NotSelectableReason: expected "InAServiceTask", got "Busy"' in step["statusDetails"]["message"]
    (attachment,) = [a for a in step["attachments"] if a["name"].startswith("last response: POST /v1.0/users/")]
    exchange = json.loads((reports / "allure-results" / attachment["source"]).read_text())
    assert exchange["status"] == 200
    assert exchange["response"]["body"]["NotSelectableReason"] == "Busy"
    block = steps["When I block the target user"]
    assert [a["name"].split(" (")[0] for a in block["attachments"]] == [
        "POST /v1.0/users/854822ed-4a2a-4eb1-b07f-637ed3eab729/block -> 200"
    ]


def test_labels_and_environment_come_from_the_tags_and_the_run(
    failing_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    reports, _ = failing_run
    (failed,) = [r for r in allure_results(reports) if r["status"] == "failed" and r["name"] == FAILING]
    labels = {(label["name"], label["value"]) for label in failed["labels"]}
    assert {("feature", "Control Users"), ("story", "blocking"), ("severity", "critical"), ("tag", "smoke")} <= labels
    environment = (reports / "allure-results" / "environment.properties").read_text()
    assert "target=embedded mock LUCS\n" in environment
    assert "harness.version=" in environment
    assert json.loads((reports / "allure-results" / "categories.json").read_text())[0]["name"] == "Schema violation"


def test_the_html_is_one_file_that_names_no_other_host(
    failing_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    reports, _ = failing_run
    html = (reports / "report.html").read_text()
    assert EXTERNAL_ATTR.search(html) is None
    assert "googletagmanager" not in html
    assert "Content-Security-Policy" in html


def test_no_report_contains_the_secret_token(tmp_path: Path) -> None:
    token = "tok-9f8e7d6c5b4a-SECRET"
    with MockServer(auth=MockAuth("bearer", token)) as server:
        done = publish(
            tmp_path,
            f"--lucs-base-url={server.base_url}",
            "--lucs-allow-changes",
            env={"LUCS_AUTH": "bearer", "LUCS_TOKEN": token},
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert token not in done.stdout + done.stderr
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) > SCENARIOS
    leaks = [str(p) for p in files if token.encode() in p.read_bytes()]
    assert leaks == []
    authorization = [p for p in files if b'"Authorization": "***"' in p.read_bytes()]
    assert authorization, "the attachments should show the Authorization header, masked"
