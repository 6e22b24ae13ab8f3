"""The client against the mock: parsed bodies, the path table, and one clear message per failure."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from requests.adapters import HTTPAdapter

from lucs_harness.client import Exchange, LucsClient, task_id_of
from lucs_harness.config import LucsConfig
from lucs_harness.contract import default_contract
from lucs_harness.errors import (
    CredentialsRefused,
    NotJson,
    SchemaViolation,
    TransportError,
    UnexpectedStatus,
    Unreachable,
)
from lucs_harness.key_placement import key_placement
from lucs_harness.mock.auth import MockAuth
from lucs_harness.mock.server import MockServer
from tests.unit.conftest import MockTarget

SERVICE = "7830678b-03b1-4e71-af33-a3987142519f"
CURT = "854822ed-4a2a-4eb1-b07f-637ed3eab729"
GUID = "854822ed-4a2a-4eb1-b07f-637ed3eab729"


@pytest.fixture
def mock(mock_target: MockTarget) -> Iterator[MockTarget]:
    assert mock_target.control is not None
    mock_target.control.reset()
    yield mock_target
    mock_target.control.set_faults([])
    mock_target.control.reset()


@pytest.fixture
def client(mock: MockTarget) -> Iterator[LucsClient]:
    client = LucsClient(LucsConfig(read_timeout=1.0), mock.base_url)
    yield client
    client.close()


def test_task_ids_come_bare_or_wrapped() -> None:
    assert task_id_of(GUID) == GUID
    assert task_id_of({"TaskId": GUID}) == GUID


def test_the_use_case_calls_return_parsed_bodies(client: LucsClient) -> None:
    users = client.list_users(SERVICE)
    assert users[0]["SipUri"] == "sip:smoky.cc@dev.local"
    assert client.block(CURT)["IsBlockedByLuwareApi"] is True
    task = default_contract().example("task-request.json")
    task_id = client.create_task(task)
    assert client.get_task(task_id)["State"] == "Pending"
    assert client.unblock(CURT)["NotSelectableReason"] == "InAnExternalTask"
    client.close_task(task_id)
    assert client.set_presence(CURT, "DoNotDisturb").status == 200


def test_listeners_see_every_exchange(client: LucsClient) -> None:
    seen: list[Exchange] = []
    client.listeners.append(seen.append)
    client.list_users(SERVICE)
    assert [(e.method, e.status, e.operation) for e in seen] == [("GET", 200, "list_users")]
    assert seen[0].elapsed_ms > 0


def test_bodies_read_in_full_leave_their_connection_to_the_next_call(client: LucsClient, mock: MockTarget) -> None:
    for _ in range(3):
        assert client.list_users(SERVICE)
    adapter = client.session.get_adapter(mock.base_url)
    assert isinstance(adapter, HTTPAdapter)
    pools = adapter.poolmanager.pools
    (key,) = pools.keys()  # one pool, with one connection for the three calls
    assert (pools[key].num_connections, pools[key].num_requests) == (1, 3)


def test_path_parameters_are_percent_encoded(client: LucsClient) -> None:
    assert client.url("get_task", taskIdentifier="a b/c").endswith("/v1.0/tasks/a%20b%2Fc")


def test_the_path_table_is_configurable(mock: MockTarget) -> None:
    config = LucsConfig(paths={"list_users": "/v1.0/services/{serviceId}/agents"})
    with pytest.raises(UnexpectedStatus, match=r"GET http://.*/v1.0/services/.*/agents -> 404: expected status 200"):
        LucsClient(config, mock.base_url).list_users(SERVICE)


def test_a_path_needing_an_unknown_parameter_is_named(mock: MockTarget) -> None:
    config = LucsConfig(paths={"list_users": "/v1.0/{tenant}/users"})
    with pytest.raises(AssertionError, match="needs parameter 'tenant'"):
        LucsClient(config, mock.base_url).list_users(SERVICE)


def test_an_unexpected_status_names_method_url_status_and_body(client: LucsClient) -> None:
    with pytest.raises(
        UnexpectedStatus, match=r"POST http://127\.0\.0\.1:\d+/v1.0/users/nobody/block -> 404: .*UserNotFound"
    ):
        client.block("nobody")


def test_a_body_that_is_not_json_is_named(client: LucsClient, mock: MockTarget) -> None:
    assert mock.control is not None
    mock.control.set_faults(["not-json"])
    with pytest.raises(NotJson, match=r"GET .*/users -> 200: response is not JSON \(text/html"):
        client.list_users(SERVICE)


def test_a_schema_violation_names_the_field(client: LucsClient, mock: MockTarget) -> None:
    assert mock.control is not None
    mock.control.set_faults(["wrong-type"])
    with pytest.raises(SchemaViolation, match=r"\$\[0\]\.IsSelectable: \"true\" is not of type \"boolean\""):
        client.list_users(SERVICE)


def test_a_body_where_none_is_expected_fails(client: LucsClient, mock: MockTarget) -> None:
    assert mock.control is not None
    mock.control.set_faults(["presence-returns-body"])
    with pytest.raises(SchemaViolation, match="expected no body"):
        client.set_presence(CURT, "Online")


def test_an_invalid_request_is_not_sent(client: LucsClient) -> None:
    seen: list[Exchange] = []
    client.listeners.append(seen.append)
    with pytest.raises(SchemaViolation, match="request body of POST"):
        client.create_task({"ExternalTaskId": "x"})
    assert seen == []


def test_a_timeout_is_a_transport_error(client: LucsClient, mock: MockTarget) -> None:
    assert mock.control is not None
    mock.control.set_faults(["slow-response"])
    client.config.read_timeout = 0.2
    with pytest.raises(
        TransportError, match=r"GET .*/users -> no response: transport error after \d+ ms: .*Read timed out"
    ):
        client.list_users(SERVICE)


def test_a_refused_connection_is_a_transport_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = LucsClient(LucsConfig(get_retries=0), f"http://127.0.0.1:{port}")
    with pytest.raises(Unreachable, match="ConnectionError"):
        client.list_users(SERVICE)


@pytest.mark.parametrize(
    ("mode", "settings"),
    [
        ("apikey", {"api_key": "k3y", "api_key_header": "X-LUCS-Key"}),
        ("bearer", {"token": "k3y"}),
        ("basic", {"username": "qa", "password": "k3y"}),
    ],
)
def test_each_auth_mode_passes_the_right_credentials_and_a_wrong_one_is_refused(
    mode: str, settings: dict[str, str]
) -> None:
    secret = "qa:k3y" if mode == "basic" else "k3y"
    with MockServer(auth=MockAuth(mode, secret, key_placement("X-LUCS-Key"))) as server:
        good = LucsClient(LucsConfig(auth=mode, **settings), server.base_url)
        assert good.list_users(SERVICE)
        wrong = {k: ("wrong" if k in ("api_key", "token", "password") else v) for k, v in settings.items()}
        bad = LucsClient(LucsConfig(auth=mode, **wrong), server.base_url)
        with pytest.raises(CredentialsRefused, match="credentials were refused"):
            bad.list_users(SERVICE)
        with pytest.raises(CredentialsRefused):
            LucsClient(LucsConfig(), server.base_url).list_users(SERVICE)


def test_gets_retry_connection_errors_with_backoff_and_posts_never_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib3.util.connection

    attempts: list[str] = []

    def refuse(address: tuple[str, int], *args: object, **kwargs: object) -> None:
        attempts.append(f"{address[0]}:{address[1]}")
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", refuse)
    monkeypatch.setattr("urllib3.connection.connection.create_connection", refuse)
    client = LucsClient(LucsConfig(get_retries=3), "http://lucs.invalid:8080")
    with pytest.raises(Unreachable):
        client.list_users(SERVICE)
    assert len(attempts) == 4
    attempts.clear()
    with pytest.raises(Unreachable):
        client.block(CURT)
    assert len(attempts) == 1


def test_a_wait_reports_its_first_and_last_poll_only(client: LucsClient) -> None:
    seen: list[Exchange] = []
    client.listeners.append(seen.append)
    with client.polling():
        for _ in range(5):
            client.list_users(SERVICE)
    assert [e.poll for e in seen] == [1, 5]
    client.list_users(SERVICE)
    assert seen[-1].poll is None
