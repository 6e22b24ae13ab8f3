"""The mock answers hostile input with a 4xx in LUCS's error envelope, never a 500, a hang or a traceback:
credentials on the control endpoints, a body limit, a nesting limit, `Allow` on every 405.

Oversized bodies are sent over a raw socket: a client library would send the whole body first, and
the point is that the mock answers without waiting for it."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from starlette.routing import Route

from lucs_harness.contract import default_contract
from lucs_harness.json_bounds import MAX_JSON_DEPTH, value_nests_deeper_than
from lucs_harness.key_placement import key_placement
from lucs_harness.mock.app import MAX_BODY, create_app
from lucs_harness.mock.auth import MODES, MockAuth
from lucs_harness.mock.control import MockControl
from lucs_harness.mock.domain import Lucs
from lucs_harness.mock.faulty import FaultyLucs
from lucs_harness.mock.seed import load_seed
from lucs_harness.mock.server import MockServer, StartError
from tests.realtarget.support import mock_process, tls_files

SERVICE = "7830678b-03b1-4e71-af33-a3987142519f"
CURT = "854822ed-4a2a-4eb1-b07f-637ed3eab729"
TIMEOUT = 5.0
LIMIT = 1000  # the body limit of this module's mock: small, so a body over it is cheap to send
BODY_ENDPOINTS = [
    ("POST", "/v1.0/tasks"),
    ("POST", f"/v1.0/users/{CURT}/setpresence"),
    ("PUT", "/_mock/faults"),
    ("POST", "/_mock/clock"),
]
SECRETS = {"basic": "qa:k3y", "bearer": "k3y", "apikey": "k3y"}


@pytest.fixture(scope="module")
def small() -> Iterator[MockServer]:
    """A mock with a small body limit: a body over it is cheap to send."""
    with MockServer(max_body=LIMIT) as server:
        yield server


@pytest.fixture(scope="module")
def roomy() -> Iterator[MockServer]:
    """A mock with the default body limit, for bodies (deeply nested ones) that are not small."""
    with MockServer() as server:
        yield server


def _reset(mock: MockServer) -> MockServer:
    assert isinstance(mock.lucs, FaultyLucs)
    mock.lucs.faults.set(frozenset())
    mock.lucs.reset()
    return mock


@pytest.fixture
def fresh(small: MockServer) -> MockServer:
    return _reset(small)


@pytest.fixture
def fresh_roomy(roomy: MockServer) -> MockServer:
    return _reset(roomy)


def _envelope(body: bytes, code: str) -> None:
    """`body` is LUCS's error envelope with `code`."""
    envelope: Any = json.loads(body)
    assert default_contract().check("error.json", envelope).violations == (), envelope
    assert envelope["Error"]["Code"] == code, envelope


def _refused(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    _envelope(response.content, code)


def _raw_refused(answer: Answer, status: int, code: str) -> None:
    assert answer.status == status, answer.body
    _envelope(answer.body, code)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def _raw(mock: MockServer, method: str, path: str, headers: dict[str, str], *chunks: bytes) -> Answer:
    """Send a request head, then `chunks` as they are (no terminator unless given); read the answer."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", mock.port), timeout=TIMEOUT) as sock:
        sock.sendall(head.encode() + b"".join(chunks))
        response = http.client.HTTPResponse(sock)
        response.begin()
        return Answer(response.status, response.headers, response.read())


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


# 1. The control endpoints demand the credentials; roles apply to the LUCS API only.


@pytest.mark.parametrize("mode", [m for m in MODES if m != "none"])
def test_the_control_endpoints_demand_the_credentials_and_the_document_does_not(mode: str) -> None:
    auth = MockAuth(mode, SECRETS[mode], key_placement("X-LUCS-Key"))
    with MockServer(auth=auth) as server, requests.Session() as http:
        for method, path in [
            ("GET", "state"),
            ("POST", "reset"),
            ("GET", "faults"),
            ("PUT", "faults"),
            ("GET", "clock"),
        ]:
            refused = http.request(method, f"{server.base_url}/_mock/{path}", json=[], timeout=TIMEOUT)
            _refused(refused, 401, "Unauthorized")
        wrong = http.get(
            f"{server.base_url}/_mock/state", headers={"X-LUCS-Key": "x", "Authorization": "x"}, timeout=TIMEOUT
        )
        assert wrong.status_code == 401
        assert http.get(f"{server.base_url}/openapi.json", timeout=TIMEOUT).status_code == 200
        control = MockControl(server.base_url, headers=auth.headers())
        assert control.set_faults(["list-500"]) == ["list-500"]
        assert control.reset()["faults"] == ["list-500"]
        assert control.advance(30) == "2026-01-01T08:00:30Z"
        with pytest.raises(AssertionError, match="-> 401"):
            MockControl(server.base_url).state()


def test_api_roles_limit_the_lucs_api_but_not_the_control_endpoints() -> None:
    auth = MockAuth("apikey", "k3y", roles=frozenset({"GET"}))
    with MockServer(auth=auth) as server, requests.Session() as http:
        http.headers.update(auth.headers())
        assert http.get(f"{server.base_url}/v1.0/services", timeout=TIMEOUT).status_code == 200
        assert http.post(f"{server.base_url}/v1.0/users/{CURT}/block", timeout=TIMEOUT).status_code == 401
        control = MockControl(server.base_url, headers=auth.headers())
        assert control.set_faults([]) == []
        assert control.reset()["faults"] == []


def test_a_served_mock_with_auth_is_seen_up_by_the_test_support_and_driven_with_headers() -> None:
    auth = MockAuth("apikey", "k3y")
    with mock_process("--auth", "apikey", "--secret", "k3y") as base:
        assert MockControl(base, headers=auth.headers()).state()["faults"] == []
        assert requests.get(f"{base}/_mock/state", timeout=TIMEOUT).status_code == 401


# 2. An empty secret is refused (the CLI side is in test_mock_cli.py).


@pytest.mark.parametrize(("mode", "secret"), [("basic", ""), ("bearer", ""), ("apikey", ""), ("apikey", "  ")])
def test_an_auth_mode_without_a_secret_is_refused(mode: str, secret: str) -> None:
    with pytest.raises(ValueError, match="needs a secret"):
        MockAuth(mode, secret)


def test_basic_needs_user_and_password_and_none_needs_no_secret() -> None:
    with pytest.raises(ValueError, match="user:password"):
        MockAuth("basic", "k3y")
    assert MockAuth("none", "").headers() == {}


# 3. Bodies over the limit: 413 at once on the declared length, and as soon as a chunked one passes it.


@pytest.mark.parametrize(("method", "path"), [*BODY_ENDPOINTS, ("POST", f"/v1.0/users/{CURT}/block")])
def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(
    fresh: MockServer, method: str, path: str
) -> None:
    before = fresh.lucs.snapshot()
    response = _raw(fresh, method, path, {"Content-Length": str(10**9)})
    _raw_refused(response, 413, "PayloadTooLarge")
    assert response.headers["Connection"] == "close"
    assert fresh.lucs.snapshot() == before


@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
def test_a_chunked_body_is_refused_once_it_passes_the_limit_without_waiting_for_its_end(
    fresh: MockServer, method: str, path: str
) -> None:
    piece = b"[" + b" " * 298 + b"]"
    response = _raw(fresh, method, path, {"Transfer-Encoding": "chunked"}, *[_chunk(piece)] * 4)
    _raw_refused(response, 413, "PayloadTooLarge")


def test_a_body_of_exactly_the_limit_is_read_declared_or_chunked(fresh: MockServer) -> None:
    body = b'{"advance": 1}'.ljust(LIMIT)
    declared = _raw(fresh, "POST", "/_mock/clock", {"Content-Length": str(LIMIT)}, body)
    assert (declared.status, json.loads(declared.body)) == (200, {"now": "2026-01-01T08:00:01Z"})
    chunked = _raw(fresh, "POST", "/_mock/clock", {"Transfer-Encoding": "chunked"}, _chunk(body), _chunk(b""))
    assert (chunked.status, json.loads(chunked.body)) == (200, {"now": "2026-01-01T08:00:02Z"})
    over = _raw(fresh, "POST", "/_mock/clock", {"Content-Length": str(LIMIT + 1)})
    _raw_refused(over, 413, "PayloadTooLarge")


def test_the_default_limit_is_one_mebibyte() -> None:
    assert MAX_BODY == 1024 * 1024
    assert MockServer().max_body == MAX_BODY


@pytest.mark.parametrize("limit", [0, -1])
def test_a_limit_below_one_byte_is_refused(limit: int) -> None:
    with pytest.raises(ValueError, match="body limit"):
        MockServer(max_body=limit)


# 4. JSON nested at any depth is a 400, never a 500.


def _nested(depth: int, shape: str) -> bytes:
    if shape == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("shape", ["array", "object"])
@pytest.mark.parametrize("depth", [10, 100, 300, 600, 1023, 1024, 5000])
@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
def test_json_nested_at_any_depth_is_answered_without_a_5xx(
    fresh_roomy: MockServer, method: str, path: str, depth: int, shape: str
) -> None:
    url = fresh_roomy.base_url + path
    response = requests.request(method, url, data=_nested(depth, shape), timeout=TIMEOUT)
    if depth > MAX_JSON_DEPTH:
        _refused(response, 400, "InvalidJson")
    else:
        assert response.status_code < 500, response.text


def test_nesting_up_to_the_limit_is_accepted_and_one_level_more_is_not(fresh: MockServer) -> None:
    def post(depth: int) -> requests.Response:
        body = b'{"advance": 1, "x": ' + _nested(depth - 1, "array") + b"}"
        return requests.post(fresh.base_url + "/_mock/clock", data=body, timeout=TIMEOUT)

    assert post(MAX_JSON_DEPTH).status_code == 200
    refused = post(MAX_JSON_DEPTH + 1)
    _refused(refused, 400, "InvalidJson")


def test_depth_is_counted_iteratively_across_wide_and_deep_values() -> None:
    deep: Any = 1
    for _ in range(100_000):  # far past the recursion limit
        deep = [deep]
    assert value_nests_deeper_than(deep, MAX_JSON_DEPTH)
    assert not value_nests_deeper_than([[]] * 10_000 + [{"a": [1]}], 3)
    assert value_nests_deeper_than({"a": [1], "b": {"c": [{"d": 1}]}}, 3)
    assert not value_nests_deeper_than("scalar", 0)


# 7. Every 405 names the route's methods in `Allow`.


def test_every_405_carries_allow_with_the_routes_methods(fresh_roomy: MockServer) -> None:
    methods: dict[str, set[str]] = {}
    for route in create_app(Lucs(load_seed())).routes:
        assert isinstance(route, Route)
        methods.setdefault(route.path, set()).update(route.methods or ())
    for path, allowed in methods.items():
        concrete = path.format(serviceId=SERVICE, userId=CURT, taskIdentifier="t", callbackId="c")
        response = requests.patch(fresh_roomy.base_url + concrete, timeout=TIMEOUT)
        _refused(response, 405, "MethodNotAllowed")
        assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed, path


# 5. A port or TLS files the mock cannot serve with are a StartError naming the problem (the CLI: test_mock_cli.py).


def test_a_port_in_use_is_a_start_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StartError, match=f"cannot listen on 127.0.0.1:{port}: Address already in use"):
            MockServer(port=port).start()


@pytest.mark.parametrize("port", [-1, 65536, 70000])
def test_a_port_out_of_range_is_refused(port: int) -> None:
    with pytest.raises(ValueError, match=f"port {port} is not a TCP port"):
        MockServer(port=port)


def test_tls_with_matching_files_serves_https(tmp_path: Path) -> None:
    files = tls_files(tmp_path)
    with MockServer(certfile=str(files.cert), keyfile=str(files.key)) as server:
        assert server.base_url.startswith("https://")
        assert requests.get(f"{server.base_url}/v1.0/services", verify=str(files.bundle), timeout=TIMEOUT).ok


def test_the_listening_socket_lets_asyncio_turn_off_nagle() -> None:
    """Without IPPROTO_TCP asyncio leaves Nagle on, and every two-part answer waits 40 ms for an ACK."""
    _, sock = MockServer().server()
    with sock:
        assert sock.proto == socket.IPPROTO_TCP
