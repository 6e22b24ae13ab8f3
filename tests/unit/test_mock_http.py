"""The mock over real HTTP: every bad input gets a 4xx in the LUCS error envelope, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from lucs_harness.contract import default_contract
from lucs_harness.mock.control import MockControl
from tests.unit.conftest import MockTarget

SERVICE = "7830678b-03b1-4e71-af33-a3987142519f"
CURT = "854822ed-4a2a-4eb1-b07f-637ed3eab729"


@pytest.fixture
def http(mock_target: MockTarget) -> Iterator[tuple[requests.Session, str]]:
    assert mock_target.control is not None
    mock_target.control.reset()
    with requests.Session() as session:
        yield session, mock_target.base_url


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", f"/v1.0/users/{CURT}/setpresence", b"{", 400),
        ("POST", f"/v1.0/users/{CURT}/setpresence", b"[]", 400),
        ("POST", f"/v1.0/users/{CURT}/setpresence", b'{"Presence": 3}', 400),
        ("POST", f"/v1.0/users/{CURT}/setpresence", b'{"Presence": "Sleepy"}', 400),
        ("POST", "/v1.0/users/nobody/setpresence", b'{"Presence": "Online"}', 404),
        ("POST", "/v1.0/users/nobody/block", b"", 404),
        ("POST", "/v1.0/users/nobody/unblock", b"", 404),
        ("POST", "/v1.0/tasks", b"", 400),
        ("POST", "/v1.0/tasks", b"null", 400),
        ("POST", "/v1.0/tasks", b'{"ExternalTaskId": "x"}', 400),
        ("POST", "/v1.0/tasks", b'{"ExternalTaskId": "x", "Service": "not-a-guid"}', 400),
        (
            "POST",
            "/v1.0/tasks",
            b'{"ExternalTaskId": "x", "Service": "' + SERVICE.encode() + b'", "Required": {}}',
            400,
        ),
        ("POST", "/v1.0/tasks", b'{"ExternalTaskId": "x", "Service": "00000000-0000-4000-8000-000000000000"}', 404),
        ("GET", "/v1.0/tasks/nothing", None, 404),
        ("DELETE", "/v1.0/tasks/nothing", None, 404),
        ("GET", "/v1.0/services/nowhere/users", None, 404),
        ("GET", "/v1.0/services/nowhere/tasks", None, 404),
        ("GET", "/v1.0/nothing", None, 404),
        ("DELETE", "/v1.0/services", None, 405),
        ("PUT", "/_mock/faults", b'["no-such-fault"]', 400),
        ("PUT", "/_mock/faults", b'{"a": 1}', 400),
        ("PUT", "/_mock/faults", b"{", 400),
        ("POST", "/_mock/clock", b'{"advance": -1}', 400),
        ("POST", "/_mock/clock", b'{"advance": "soon"}', 400),
        ("POST", "/_mock/clock", b"{", 400),
        (
            "POST",
            "/v1.0/tasks",
            b'{"ExternalTaskId": "x", "Service": "' + SERVICE.encode() + b'", "Caller": "\\ud800"}',
            400,
        ),
        ("POST", "/v1.0/tasks", b"[" * 100_000, 400),
        ("POST", "/_mock/clock", b'{"advance": 1e999}', 400),
        ("POST", "/_mock/clock", b'{"advance": NaN}', 400),
        ("POST", "/_mock/clock", b'{"advance": 1e300}', 400),
        (
            "POST",
            "/v1.0/tasks",
            b'{"ExternalTaskId": "x", "Service": "' + SERVICE.encode() + b'", '
            b'"DistributeToAgentRONATimeoutInSeconds": 0}',
            400,
        ),
        (
            "POST",
            "/v1.0/tasks",
            b'{"ExternalTaskId": "x", "Service": "' + SERVICE.encode() + b'", '
            b'"DistributeToAgentRONATimeoutInSeconds": 100000000000000000000}',
            400,
        ),
    ],
)
def test_bad_input_gets_a_4xx_in_the_error_envelope(
    http: tuple[requests.Session, str], method: str, path: str, body: bytes | None, status: int
) -> None:
    session, base = http
    response = session.request(method, base + path, data=body, headers={"Content-Type": "application/json"}, timeout=5)
    assert response.status_code == status, response.text
    assert default_contract().check("error.json", response.json()).violations == ()


def test_the_control_endpoint_sets_faults_and_moves_the_clock(http: tuple[requests.Session, str]) -> None:
    session, base = http
    assert session.put(base + "/_mock/faults", json=["list-500"], timeout=5).json() == ["list-500"]
    listed = session.get(f"{base}/v1.0/services/{SERVICE}/users", timeout=5)
    assert listed.status_code == 500
    assert listed.json()["Error"]["Code"] == "NotInitialized"
    assert session.post(base + "/_mock/clock", json={"advance": 90}, timeout=5).json() == {
        "now": "2026-01-01T08:01:30Z"
    }
    state: dict[str, Any] = session.post(base + "/_mock/reset", timeout=5).json()
    assert state["faults"] == ["list-500"]
    assert state["now"] == "2026-01-01T08:00:00Z"
    assert session.put(base + "/_mock/faults", json=[], timeout=5).json() == []


def test_a_reused_external_task_id_names_the_open_task(http: tuple[requests.Session, str]) -> None:
    session, base = http
    body = {"ExternalTaskId": "again", "Service": SERVICE}
    first = session.post(f"{base}/v1.0/tasks", json=body, timeout=5).json()
    assert session.delete(f"{base}/v1.0/tasks/again", timeout=5).status_code == 204
    second = session.post(f"{base}/v1.0/tasks", json=body, timeout=5).json()
    assert second != first
    assert session.get(f"{base}/v1.0/tasks/again", timeout=5).json()["Id"] == second
    assert session.delete(f"{base}/v1.0/tasks/again", timeout=5).status_code == 204


def test_the_control_client_ignores_environment_proxies(
    mock_target: MockTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    assert MockControl(mock_target.base_url).reset()["faults"] == []
