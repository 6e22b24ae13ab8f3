"""A password in the base URL is never shown: not at the highest verbosity, not in any report, not
after an interrupted run; and giving it on the command line draws a warning."""

from __future__ import annotations

import base64
import signal
from pathlib import Path

from tests.realtarget.support import acceptance, mock_thread, signal_run, wait_for

USER, PASSWORD = "qa", "s3cr3t-pa55"
LOUD = ["-v", "-l", "--tb=long", "-rA", "--log-level=DEBUG", "--log-cli-level=DEBUG"]


FORMS = (PASSWORD, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())  # as written, and in a Basic header


def secret_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and any(form.encode() in p.read_bytes() for form in FORMS)]


def with_password(base: str) -> str:
    return base.replace("http://", f"http://{USER}:{PASSWORD}@")


def test_a_password_in_the_url_is_masked_at_every_verbosity(tmp_path: Path) -> None:
    with mock_thread("--auth", "basic", "--secret", f"{USER}:{PASSWORD}", "--fault", "block-wrong-reason") as base:
        run = acceptance(
            "--reports-dir", str(tmp_path), "--no-html", "--", "--lucs-base-url", with_password(base),
            "--lucs-allow-changes", "--lucs-hold-time", "0", *LOUD,
        )  # fmt: skip
        output, _ = run.communicate(timeout=120)
    assert run.returncode == 1, output[-3000:]  # the credentials worked, and the fault failed scenarios
    assert f"POST {base}/v1.0/users/" in output  # URLs are shown: without the credentials
    assert not any(form in output for form in FORMS)
    assert "a secret on the command line (--lucs-base-url" in output
    assert secret_in(tmp_path) == []


def test_reports_of_an_interrupted_run_hold_no_password(tmp_path: Path) -> None:
    with mock_thread("--auth", "basic", "--secret", f"{USER}:{PASSWORD}", "--latency", "0.1") as base:
        run = acceptance(
            "--reports-dir", str(tmp_path), "--no-html", "--", "--lucs-base-url", with_password(base),
            "--lucs-allow-changes", *LOUD,
        )  # fmt: skip
        wait_for(lambda: any((tmp_path / "allure-results").glob("*-attachment*")), "a first exchange in the report")
        signal_run(run, signal.SIGINT, "group")
        output, _ = run.communicate(timeout=120)
    assert run.returncode == 2, output[-3000:]
    assert PASSWORD not in output
    assert secret_in(tmp_path) == []
