"""The whole suite against the mock in its own process, reached only through `--lucs-base-url`,
with each authentication mode enforced, and over TLS verified through the CA-bundle option."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lucs_harness.exit_codes import CREDENTIALS_REFUSED, UNREACHABLE
from tests.realtarget.support import mock_thread, run_suite, tls_files
from tests.support.suite import scenario_tags

SECRET = "Zq7-secret-4f2b"
MODES = {
    "basic": ({"LUCS_USERNAME": "qa", "LUCS_PASSWORD": SECRET}, "qa:" + SECRET, {"LUCS_PASSWORD": "wrong"}),
    "bearer": ({"LUCS_TOKEN": SECRET}, SECRET, {"LUCS_TOKEN": "wrong"}),
    "apikey": ({"LUCS_API_KEY": SECRET, "LUCS_API_KEY_HEADER": "X-LUCS-Key"}, SECRET, {"LUCS_API_KEY": "wrong"}),
}


def outcome(done: subprocess.CompletedProcess[str]) -> str:
    """Exit code and the end of the output, for an assertion message."""
    return f"exit {done.returncode}\n{done.stdout[-2500:]}{done.stderr[-1500:]}"


@pytest.mark.parametrize("mode", list(MODES))
def test_each_auth_mode_passes_with_the_right_credentials_and_stops_at_once_without(mode: str) -> None:
    good, secret, wrong = MODES[mode]
    with mock_thread("--auth", mode, "--secret", secret, "--api-key-header", "X-LUCS-Key") as base:
        common = ["--lucs-base-url", base, "--lucs-allow-changes", "--lucs-auth", mode, "--lucs-hold-time", "0"]
        passed = run_suite(*common, "-m", "smoke", env=good)  # the whole suite passes in the self-test
        assert passed.returncode == 0, outcome(passed)
        smoke = sum("smoke" in tags for tags in scenario_tags())
        assert f"{smoke} passed, {len(scenario_tags()) - smoke} deselected" in passed.stdout
        assert SECRET not in passed.stdout + passed.stderr
        refused = run_suite(*common, env=good | wrong)
        assert refused.returncode == CREDENTIALS_REFUSED, outcome(refused)
        assert "LUCS refused the credentials" in refused.stdout + refused.stderr
        assert "-> 401" in refused.stdout + refused.stderr


def test_missing_credentials_stop_the_run_at_once_with_one_line() -> None:
    with mock_thread("--auth", "apikey", "--secret", SECRET) as base:
        missing = run_suite("--lucs-base-url", base, "--lucs-allow-changes")
    assert missing.returncode == CREDENTIALS_REFUSED, outcome(missing)
    refused = [line for line in missing.stdout.splitlines() if "refused the credentials" in line]
    assert len(refused) == 1, outcome(missing)  # stopped before the first scenario, not once per scenario
    assert "-> 401" in refused[0]
    assert "no tests ran" in missing.stdout


def test_tls_with_a_self_signed_ca_passes_through_the_ca_bundle_and_fails_without(tmp_path: Path) -> None:
    files = tls_files(tmp_path)
    cert, key, bundle = files.cert, files.key, files.bundle
    with mock_thread("--certfile", str(cert), "--keyfile", str(key)) as base:
        verified = run_suite("--lucs-base-url", base, "--lucs-allow-changes", "--lucs-ca-bundle", str(bundle))
        assert verified.returncode == 0, outcome(verified)
        untrusted = run_suite("--lucs-base-url", base, "--lucs-allow-changes")
        assert untrusted.returncode == UNREACHABLE, outcome(untrusted)
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stdout + untrusted.stderr


def test_a_401_in_the_middle_of_the_run_stops_it_with_exit_11() -> None:
    """The key may read (GET passes the check before the run) but its API roles forbid POST."""
    with mock_thread("--auth", "apikey", "--secret", SECRET, "--api-roles", "GET") as base:
        done = run_suite(
            "--lucs-base-url", base, "--lucs-allow-changes", "--lucs-auth", "apikey", env={"LUCS_API_KEY": SECRET}
        )
    assert done.returncode == CREDENTIALS_REFUSED, outcome(done)
    assert "POST " in done.stdout
    assert "the credentials were refused" in done.stdout
    assert "Interrupted: LUCS refused the credentials" in done.stdout  # the run stopped at the first 401
