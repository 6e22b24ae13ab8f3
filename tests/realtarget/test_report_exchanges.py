"""What the cheap attachments must keep: against a LUCS reached with credentials, the Allure
results of a run name every exchange the scenarios made, each attachment is on disk and redacted,
and a run against a real target never loads the mock's code (uvicorn, Starlette, the mock app)."""

from __future__ import annotations

import base64
import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from lucs_harness.redact import MASK
from tests.realtarget.support import mock_thread, run_suite

pytestmark = pytest.mark.xdist_group("report-exchanges")  # one run, read by every test here
USER, PASSWORD = "qa", "Xq9-pa55-report"
FORMS = (PASSWORD, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())  # as written, in a Basic header
LAST_RESPONSE = "last response: "  # the extra attachment of a failing step


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], subprocess.CompletedProcess[str]]:
    """The whole suite against a mock of its own with basic auth and a fault that fails scenarios."""
    folder = tmp_path_factory.mktemp("report-exchanges")
    results, probe = folder / "allure-results", folder / "probe.json"
    with mock_thread("--auth", "basic", "--secret", f"{USER}:{PASSWORD}", "--fault", "block-wrong-reason") as base:
        done = run_suite(
            "--lucs-base-url", base.replace("http://", f"http://{USER}:{PASSWORD}@"), "--lucs-allow-changes",
            "--lucs-hold-time", "0", f"--alluredir={results}", "-p", "tests.realtarget.exchange_probe",
            env={"LUCS_TEST_PROBE": str(probe)},
        )  # fmt: skip
    return results, json.loads(probe.read_text()), done


def attachments(results: Path) -> list[dict[str, Any]]:
    """Every attachment the test results name, at any step depth."""
    found: list[dict[str, Any]] = []

    def walk(item: dict[str, Any]) -> None:
        found.extend(item.get("attachments", []))
        for step in item.get("steps", []):
            walk(step)

    for result in results.glob("*-result.json"):
        walk(json.loads(result.read_text(encoding="utf-8")))
    return found


def values_of(body: Any, key: str) -> list[Any]:
    if isinstance(body, dict):
        return [v for k, v in body.items() if k == key] + [x for v in body.values() for x in values_of(v, key)]
    if isinstance(body, list):
        return [x for v in body for x in values_of(v, key)]
    return []


def test_every_exchange_has_its_attachment_on_disk_redacted(
    run: tuple[Path, dict[str, Any], subprocess.CompletedProcess[str]],
) -> None:
    results, probe, done = run
    assert done.returncode == 1, done.stdout[-3000:]  # the credentials worked, and the fault failed scenarios
    listed = attachments(results)
    files = {path.name for path in results.glob("*-attachment.*")}
    assert {a["source"] for a in listed} == files  # each named file is there, and none is stray
    exchanges = [a for a in listed if a["type"] == "application/json" and not a["name"].startswith(LAST_RESPONSE)]
    records = [json.loads((results / a["source"]).read_text(encoding="utf-8")) for a in exchanges]
    shown = Counter((r["method"], urlsplit(r["url"]).path, r["status"]) for r in records)
    assert shown == Counter(tuple(e) for e in probe["exchanges"])
    assert len(records) > 100
    assert all(r["request"]["headers"]["Authorization"] == MASK for r in records)
    tokens = [v for r in records for v in values_of(r["response"]["body"], "PresenceToken")]
    assert tokens
    assert set(tokens) == {MASK}
    failing = [a for a in listed if a["name"].startswith(LAST_RESPONSE)]
    assert failing, "a failing step carries the response it judged"
    every_file = [path.read_bytes() for path in results.iterdir() if path.is_file()]
    assert not [text for text in every_file for form in FORMS if form.encode() in text]


def test_against_a_real_target_nothing_of_the_mock_is_loaded(
    run: tuple[Path, dict[str, Any], subprocess.CompletedProcess[str]],
) -> None:
    _, probe, _ = run
    assert probe["exchanges"]
    assert probe["mock_modules"] == []
