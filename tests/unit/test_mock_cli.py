"""`lucs-mock`: serves on loopback, logs a line per request, stops cleanly on Ctrl-C, refuses bad seeds,
and refuses any setting it cannot serve with in one line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import trustme
import uvicorn

from lucs_harness.mock.cli import EXIT_BROKEN_PIPE, main
from lucs_harness.mock.seed import DEFAULT_SEED, SeedError, load_seed
from lucs_harness.waits import wait_until
from tests.realtarget.support import free_port, mock_process, tls_files
from tests.support.suite import ROOT, child_env

LUCS_MOCK = Path(sys.executable).with_name("lucs-mock")
REFUSAL_TIMEOUT = 15.0  # a refused start ends in well under a second; a start that is not refused serves on


def test_serve_logs_a_line_per_request_without_credentials_and_stops_on_ctrl_c() -> None:
    """An API key in the query is logged masked: by its name, and by its value wherever it shows."""
    port = free_port()
    key = "s3cr3t-k3y"
    auth = ["--auth", "apikey", "--secret", key, "--convention", "api-key=?api_key"]
    command = [str(LUCS_MOCK), "serve", "--port", str(port), *auth]
    server = subprocess.Popen(
        command, cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        answer = wait_until(
            lambda: _get(f"http://127.0.0.1:{port}/v1.0/services?api_key={key}&limit=5&token=other-{key}"),
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
    assert '"GET /v1.0/services?api_key=***&limit=5&token=*** HTTP/1.1" 200' in output
    assert key not in output


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


@dataclass(frozen=True)
class Tls:
    cert: Path
    key: Path
    other_key: Path


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    folder = tmp_path_factory.mktemp("tls")
    issued = tls_files(folder)
    files = Tls(issued.cert, issued.key, folder / "other-key.pem")
    trustme.CA().issue_cert("127.0.0.1").private_key_pem.write_to_path(str(files.other_key))  # not the cert's
    return files


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def _refused_start(*args: str) -> str:
    """`lucs-mock serve ARGS` must end at once with exit 2 and one line on stderr; returns that line."""
    done = subprocess.run(
        [str(LUCS_MOCK), "serve", *args],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=REFUSAL_TIMEOUT,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("lucs-mock: "), done.stderr
    return done.stderr


def _refused_here(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    """`_refused_start` through the CLI's `main` in this process (a child costs 0.2 CPU-s; the console
    script's own path is `_refused_start`'s, kept for the port in use and the unreadable file): exit 2
    and one line on stderr. A start that is not refused fails here instead of serving on."""

    def served(*_: object, **__: object) -> None:
        raise AssertionError(f"lucs-mock serve {' '.join(args)} was not refused: it would serve")

    monkeypatch.setattr(uvicorn.Server, "run", served)
    code = main(["serve", *args])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("lucs-mock: "), err
    return err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--auth", "basic"], "auth mode 'basic' needs a secret"),
        (["--auth", "bearer"], "auth mode 'bearer' needs a secret"),
        (["--auth", "apikey", "--secret", ""], "auth mode 'apikey' needs a secret"),
        (["--auth", "basic", "--secret", "k3y"], "user:password"),
        (["--port", "70000"], "port 70000 is not a TCP port"),
        (["--port", "-1"], "port -1 is not a TCP port"),
        (["--port", "0", "--max-body", "0"], "the body limit must be at least 1 byte"),
        (["--host", "192.0.2.1"], "cannot listen on 192.0.2.1:0: Cannot assign requested address"),
        (["--max-request-line", "10"], "--max-request-line must be at least 16, not 10"),
        (["--max-header-size", "0"], "--max-header-size must be at least 1, not 0"),
        (["--max-headers", "-1"], "--max-headers must be at least 1, not -1"),
        (["--idle-timeout", "0"], "--idle-timeout must be a number of seconds above 0, not 0.0"),
        (["--request-timeout", "nan"], "--request-timeout must be a number of seconds above 0, not nan"),
        (["--max-connections", "0"], "--max-connections must be at least 1, not 0"),
        (["--max-connections", "100000000"], "--max-connections 100000000 does not fit under the descriptor limit"),
    ],
)
def test_a_setting_the_mock_cannot_serve_with_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    assert message in _refused_here(capsys, monkeypatch, "--port", "0", *args)


def test_serve_help_documents_every_limit_and_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option, default in [
        ("--max-request-line BYTES", "(default 8192)"),
        ("--max-header-size BYTES", "(default 16384)"),
        ("--max-headers N", "(default 100)"),
        ("--idle-timeout SECONDS", "(default 5)"),
        ("--request-timeout SECONDS", "default 10)"),
        ("--max-connections N", "(default 1000, or fewer if the descriptor limit"),
    ]:
        assert option in text
        assert default in text.rsplit(option, 1)[1].split(" --", 1)[0], option  # the last: past the usage line


def test_a_port_in_use_is_one_line_and_exit_2(taken_port: int) -> None:
    line = _refused_start("--port", str(taken_port))
    assert f"cannot listen on 127.0.0.1:{taken_port}: Address already in use" in line


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (lambda t: ["--certfile", str(t.cert.with_name("missing.pem"))], "cannot read the TLS certificate"),
        (lambda t: ["--certfile", str(t.cert.parent)], "Is a directory"),
        (
            lambda t: ["--certfile", str(t.cert), "--keyfile", str(t.cert.with_name("no.key"))],
            "cannot read the TLS key",
        ),
        (lambda t: ["--certfile", str(t.cert), "--keyfile", str(t.other_key)], "KEY_VALUES_MISMATCH"),
        (lambda t: ["--certfile", str(t.key)], "cannot serve TLS with"),
        (lambda t: ["--keyfile", str(t.key)], "a TLS key needs its certificate"),
    ],
)
def test_tls_files_the_mock_cannot_use_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tls: Tls,
    files: Callable[[Tls], list[str]],
    message: str,
) -> None:
    assert message in _refused_here(capsys, monkeypatch, "--port", "0", *files(tls))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_certificate_is_one_line_and_exit_2(tls: Tls, tmp_path: Path) -> None:
    locked = tmp_path / "locked.pem"
    locked.write_bytes(tls.cert.read_bytes())
    locked.chmod(0)
    assert "Permission denied" in _refused_start("--port", "0", "--certfile", str(locked), "--keyfile", str(tls.key))


def test_max_body_sets_the_largest_body_read() -> None:
    with mock_process("--max-body", "100") as base:
        address = base.removeprefix("http://")
        at_limit = requests.post(f"{base}/_mock/clock", data=b'{"advance": 1}'.ljust(100), timeout=5)
        assert at_limit.status_code == 200, at_limit.text
        connection = http.client.HTTPConnection(address, timeout=5)
        connection.putrequest("POST", "/_mock/clock")
        connection.putheader("Content-Length", "101")
        connection.endheaders()  # and no body: the answer must not wait for it
        over = connection.getresponse()
        assert over.status == 413
        assert json.loads(over.read())["Error"]["Code"] == "PayloadTooLarge"
        connection.close()


@pytest.mark.parametrize(
    ("args", "codes"),
    [
        (["faults"], {EXIT_BROKEN_PIPE}),
        (["serve", "--help"], {0, EXIT_BROKEN_PIPE}),  # argparse swallows an error of its own write
    ],
)
def test_output_into_a_closed_pipe_ends_quietly(args: list[str], codes: set[int]) -> None:
    """`lucs-mock faults | head -1`: the reader is gone before the listing is written."""
    reader, writer = os.pipe()
    listing = subprocess.Popen(
        [str(LUCS_MOCK), *args], cwd=ROOT, env=child_env(), stdout=writer, stderr=subprocess.PIPE, text=True
    )
    os.close(writer)
    os.close(reader)
    _, errors = listing.communicate(timeout=REFUSAL_TIMEOUT)
    assert errors == ""
    assert listing.returncode in codes
