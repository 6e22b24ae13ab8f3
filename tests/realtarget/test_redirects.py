"""A LUCS (or a proxy, or a compromised host) that answers every call with a 307 to another
origin, through `lucs-acceptance` as a user runs it: nothing reaches the other origin, the run
fails (exit 1) naming the redirects, each in the report's "Redirect refused" category, and the
API key shows nowhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

from lucs_harness.exit_codes import FAILED
from lucs_harness.reporting.allure_results import CATEGORIES_FILE
from tests.realtarget.misbehaving import capture_server, redirecting_server, url_of
from tests.support.suite import run_wrapper

SECRET = "Zq7-redirect-k3y"


def category_of(message: str) -> list[str]:
    categories = json.loads(CATEGORIES_FILE.read_text())
    return [c["name"] for c in categories if re.fullmatch(c["messageRegex"], message)]


def test_a_target_redirecting_every_call_elsewhere_sends_nothing_there(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    with capture_server() as capture, redirecting_server(lambda path: url_of(capture) + path) as hostile:
        done = run_wrapper(
            *["--reports-dir", str(reports), "--no-html", "--no-history", "--"],
            *["--lucs-base-url", url_of(hostile), "--lucs-allow-changes", "-m", "smoke"],
            env={
                "LUCS_AUTH": "apikey",
                "LUCS_API_KEY": SECRET,
                "LUCS_JOURNAL_DIR": str(tmp_path / "journal"),
                "LUCS_LEASE_DIR": str(tmp_path / "leases"),
            },
            timeout=120,
        )
        reached = len(capture.seen)
        sent = len(hostile.seen)
    output = done.stdout + done.stderr
    assert done.returncode == FAILED, output[-3000:]
    assert reached == 0
    assert sent > 0
    assert f"-> 307: redirect refused: Location {url_of(capture)}/" in output
    assert SECRET not in output
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert not [path for path in written if SECRET in path.read_text(errors="replace")]
    messages = [
        result["statusDetails"]["message"]
        for path in (reports / "allure-results").glob("*-result.json")
        if (result := json.loads(path.read_text())).get("status") == "failed"
    ]
    assert messages
    assert all(category_of(message) == ["Redirect refused"] for message in messages), messages
