"""`lucs-mock`: serves on loopback, logs a line per request, stops cleanly on Ctrl-C, refuses bad seeds."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from lucs_harness.mock.cli import main
from lucs_harness.mock.seed import DEFAULT_SEED, SeedError, load_seed
from lucs_harness.suite import ROOT, child_env
from lucs_harness.waits import wait_until
from tests.realtarget.support import free_port, mock_process

LUCS_MOCK = Path(sys.executable).with_name("lucs-mock")


def test_serve_logs_a_line_per_request_and_stops_on_ctrl_c() -> None:
    port = free_port()
    command = [str(LUCS_MOCK), "serve", "--port", str(port)]
    server = subprocess.Popen(
        command, cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        answer = wait_until(
            lambda: _get(f"http://127.0.0.1:{port}/v1.0/services"),
            lambda r: r is not None or server.poll() is not None,
            timeout=15,
            interval=0.02,
            expected="lucs-mock answering",
        )
        assert answer is not None
        assert answer.status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=10)
    assert server.returncode == 0, output
    assert f"Uvicorn running on http://127.0.0.1:{port}" in output
    assert '"GET /v1.0/services HTTP/1.1" 200' in output


def _get(url: str) -> requests.Response | None:
    try:
        return requests.get(url, timeout=1)
    except requests.ConnectionError:
        return None


def test_faults_lists_every_fault(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["faults"]) == 0
    assert "block-wrong-reason" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["users"][0].update(SipUri="curt"), r"\$\.users\[0\]\.SipUri"),
        (lambda d: d["users"][1].update(Services=["00000000-0000-4000-8000-000000000000"]), "unknown service"),
        (lambda d: d["users"][2].update(Id=d["users"][0]["Id"]), "duplicate Id"),
        (lambda d: d["users"][3].update(Behaviour={"Answer": "after"}), "Seconds"),
        (lambda d: d.update(extra=1), "Additional properties"),
    ],
)
def test_a_bad_seed_is_refused_with_the_path_and_the_reason(tmp_path: Path, change: object, message: str) -> None:
    data = json.loads(DEFAULT_SEED.read_text())
    change(data)  # type: ignore[operator]
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(data))
    with pytest.raises(SeedError, match=message) as refused:
        load_seed(seed)
    assert str(seed) in str(refused.value)
    assert main(["serve", "--data", str(seed), "--port", "0"]) == 2


def test_a_yaml_seed_is_read(tmp_path: Path) -> None:
    import yaml

    seed = tmp_path / "seed.yaml"
    seed.write_text(yaml.safe_dump(json.loads(DEFAULT_SEED.read_text())))
    with mock_process("--data", str(seed)) as base:
        assert len(requests.get(f"{base}/v1.0/services", timeout=5).json()) == 2
