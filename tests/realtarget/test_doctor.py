"""`lucs-acceptance doctor` against mocks that follow other conventions than the defaults, as a
team meets its own LUCS: read-only it sends GETs only; with `--lucs-allow-changes` it finds what
it needs, writes the profile, leaves the target as found; the suite with that profile then passes."""

from __future__ import annotations

import re
import signal
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from lucs_harness.key_placement import DEFAULT_KEY_PLACEMENT, key_placement
from tests.realtarget.misbehaving import answering_server, huge_body, nested_body, silent_server, url_of
from tests.realtarget.support import (
    TARGET_ENV,
    acceptance,
    agent_state,
    mock_process,
    mock_thread,
    signal_run,
    wait_for,
)
from tests.support.suite import ROOT, run_wrapper

KEY = "d0ct0r-k3y"
CONVENTIONS = {
    "defaults": [],
    "api-key-scheme": ["--auth", "apikey", "--secret", KEY, "--convention", "api-key=Authorization: ApiKey"],
    "renamed": [
        "--convention", "task-states=Queued,Ringing,Connected,Terminated",
        "--convention", "presence-field=State",
        "--convention", "close=post-close",
        "--convention", "task-id=object",
    ],
    "by-id-and-paths": [
        "--auth", "apikey", "--secret", KEY, "--convention", "api-key=?api_key",
        "--convention", "close=delete-by-id",
        "--convention", "paths.set_presence=/v1.0/users/{userId}/presence",
        "--convention", "presence-field=PresenceState",
    ],
}  # fmt: skip
REQUEST = re.compile(r'"([A-Z]+) (/\S*) HTTP/1\.1"')


def run(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_wrapper(*args, cwd=cwd, env=TARGET_ENV | (env or {}))


def secret_env(mock_args: list[str]) -> dict[str, str]:
    return {"LUCS_AUTH": "apikey", "LUCS_API_KEY": KEY} if KEY in mock_args else {}


def control_credentials(mock_args: list[str]) -> dict[str, Any]:
    """What the mock's control endpoints take: the key where its convention puts it."""
    if KEY not in mock_args:
        return {}
    given = next((arg.split("=", 1)[1] for arg in mock_args if arg.startswith("api-key=")), None)
    placement = DEFAULT_KEY_PLACEMENT if given is None else key_placement(given)
    return {"headers": placement.headers(KEY), "params": placement.params(KEY)}


def test_read_only_it_sends_nothing_but_gets_and_says_what_it_could_not_tell(tmp_path: Path) -> None:
    log = tmp_path / "requests.log"
    with mock_process(log=log) as base:
        before = agent_state(base)
        done = run("doctor", f"--lucs-base-url={base}")
        assert agent_state(base) == before
    assert done.returncode == 0, done.stdout + done.stderr
    methods = {method for method, path in REQUEST.findall(log.read_text()) if not path.startswith("/_mock/")}
    assert methods == {"GET"}
    lines = done.stdout.splitlines()
    assert any(re.match(r"ok +reach +GET \S+/v1\.0/services -> 200 in \d+ ms", line) for line in lines)
    assert any("block_user (POST /v1.0/users/{userId}/block): exists (GET -> 405" in line for line in lines)
    assert any(line.startswith("info  calibrate    skipped (read-only)") for line in lines)
    assert lines[-1].startswith("doctor: ready")


@pytest.mark.parametrize("name", sorted(CONVENTIONS))
def test_the_profile_it_writes_lets_the_suite_pass_and_the_target_is_as_found(tmp_path: Path, name: str) -> None:
    mock_args, env, credentials = (
        CONVENTIONS[name],
        secret_env(CONVENTIONS[name]),
        control_credentials(CONVENTIONS[name]),
    )
    config = tmp_path / "lucs.toml"
    config.write_text('# the team\'s own settings stay\n[profiles.other]\nuser = "sip:someone@dev.local"\n')
    with mock_thread(*mock_args) as base:
        before = agent_state(base, **credentials)
        doctor = run(
            "doctor", f"--lucs-base-url={base}", "--lucs-allow-changes", "--write-profile", "found",
            f"--lucs-config={config}", env=env,
        )  # fmt: skip
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert agent_state(base, **credentials) == before
        suite = run(
            f"--lucs-config={config}", "--lucs-profile=found", "--lucs-allow-changes", "--no-html", "--no-history",
            f"--reports-dir={tmp_path / 'reports'}", env=env,
        )  # fmt: skip
        assert suite.returncode == 0, doctor.stdout + suite.stdout[-4000:]
        assert agent_state(base, **credentials) == before
    written = config.read_text()
    assert KEY not in written
    assert "the team's own settings stay" in written
    profiles = tomllib.loads(written)["profiles"]
    assert profiles["other"] == {"user": "sip:someone@dev.local"}
    assert profiles["found"]["base_url"] == base


def test_the_api_key_placement_is_discovered_by_reading_only(tmp_path: Path) -> None:
    mock_args = CONVENTIONS["api-key-scheme"]
    with mock_thread(*mock_args) as base:
        done = run("doctor", f"--lucs-base-url={base}", "--write-profile", "p", cwd=tmp_path, env=secret_env(mock_args))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "discovered: the API key goes in 'Authorization: ApiKey'" in done.stdout
    profile = (tmp_path / "lucs.toml").read_text()
    assert re.search(r'^api_key_header = "Authorization: ApiKey"  # discovered: GET .* -> 200', profile, re.M)
    assert "LUCS_API_KEY" in profile
    assert KEY not in profile + done.stdout + done.stderr


def test_a_target_that_cannot_be_reached_or_refuses_the_key_is_one_line_and_its_exit_code(tmp_path: Path) -> None:
    unreachable = run("doctor", "--lucs-base-url=http://127.0.0.1:9", "--lucs-connect-timeout=0.5")
    assert unreachable.returncode == 10, unreachable.stdout + unreachable.stderr
    assert "Traceback" not in unreachable.stdout + unreachable.stderr
    with mock_thread("--auth", "apikey", "--secret", KEY) as base:
        refused = run("doctor", f"--lucs-base-url={base}", env={"LUCS_AUTH": "apikey", "LUCS_API_KEY": "wrong"})
    assert refused.returncode == 11, refused.stdout + refused.stderr
    assert "the API key was refused in every usual place" in refused.stdout
    assert "wrong" not in refused.stdout


@pytest.mark.parametrize(("sig", "to"), [(signal.SIGINT, "group"), (signal.SIGTERM, "wrapper")])
def test_a_calibration_stopped_by_a_signal_undoes_what_it_changed(sig: int, to: str) -> None:
    """Every answer takes 0.2 s, so the signal lands while the target user is blocked."""
    with mock_thread("--latency", "0.2") as base:
        before = agent_state(base)
        run = acceptance("doctor", f"--lucs-base-url={base}", "--lucs-allow-changes")
        wait_for(lambda: agent_state(base)[0], "the target user to be blocked")
        signal_run(run, sig, to)
        output, _ = run.communicate(timeout=60)
        assert run.returncode == 2, output[-3000:]
        assert "stopped; what was changed was undone" in output
        assert agent_state(base) == before


def test_a_server_that_hangs_or_answers_50_mb_or_nonsense_ends_the_doctor_quickly_in_a_few_lines() -> None:
    with silent_server() as base:
        silent = run("doctor", f"--lucs-base-url={base}", "--lucs-read-timeout=0.5")
    assert silent.returncode == 10, silent.stdout + silent.stderr
    for chunk, size in (huge_body(), nested_body()):
        with answering_server(chunk, size) as server:
            done = run("doctor", f"--lucs-base-url={url_of(server)}")
        said = done.stdout + done.stderr
        assert done.returncode == 1, said[-3000:]
        assert "Traceback" not in said
        assert len(said) < 20_000
        assert done.stdout.splitlines()[-1].startswith("doctor: 1 problem(s); the first: service:")
