"""The mock's two OpenAPI documents: valid 3.1, built from `schemas/`, apart, complete, and exact.

`/openapi.json` describes the LUCS API and nothing else; `/_mock/openapi.json` the control
endpoints. Between them they describe every route the app serves. Exactness (every request a
document allows is accepted, every answer is described) is fuzzed by
`test_schemathesis_all_checks.py` with every Schemathesis check; here are the facts a fuzzer does
not reach: the presence values, the clock's range in any state, the 413 of a body over the limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from openapi_spec_validator import validate
from starlette.routing import Route

from lucs_harness.contract import default_contract
from lucs_harness.key_placement import key_placement
from lucs_harness.mock.app import MAX_BODY, create_app
from lucs_harness.mock.auth import MODES, OPENAPI_PATH, MockAuth
from lucs_harness.mock.domain import PRESENCES, Lucs
from lucs_harness.mock.openapi import (
    COMPONENTS,
    CONTROL_OPENAPI_PATH,
    MAX_ADVANCE,
    build_control_openapi,
    build_openapi,
    component_name,
)
from lucs_harness.mock.seed import load_seed
from lucs_harness.mock.server import MockServer
from lucs_harness.operations import OPERATIONS

DOCUMENT = build_openapi(seed=load_seed())
CONTROL = build_control_openapi()
TIMEOUT = 5.0


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    """This module's own mock: the clock tests move its time to the end of the calendar."""
    with MockServer() as server:
        yield server


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.mark.parametrize("mode", ["none", *(m for m in MODES if m != "none")])
def test_both_documents_are_valid_openapi_3_1(mode: str) -> None:
    auth = None if mode == "none" else MockAuth(mode, "user:secret")
    for document in (build_openapi(auth=auth), build_control_openapi(auth=auth)):
        validate(document)
        assert document["openapi"].startswith("3.1.")


def test_every_contract_schema_is_a_component_with_refs_into_components() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    for name, original in default_contract().schemas.items():
        component = schemas[component_name(name)]
        assert "$id" not in component
        assert "$schema" not in component
        assert component["title"] == original["title"]
    for document in (DOCUMENT, CONTROL):
        refs = set(_refs(document))
        assert refs, "the document references no schema"
        for ref in refs:
            assert ref.startswith(COMPONENTS), ref
            assert ref.removeprefix(COMPONENTS).split("/")[0] in document["components"]["schemas"], ref
    assert "#/components/schemas/user" in set(_refs(DOCUMENT))
    assert "#/components/schemas/capabilities" in set(_refs(DOCUMENT))


def test_the_lucs_document_is_the_operations_table_and_the_control_document_the_rest_of_the_app() -> None:
    app = create_app(Lucs(load_seed()))
    served = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }
    lucs = {(path, method) for path, method, _ in _operations(DOCUMENT)}
    control = {(path, method) for path, method, _ in _operations(CONTROL)}
    assert lucs == {(op.route, op.method.lower()) for op in OPERATIONS.values()}
    assert {op["operationId"] for _, _, op in _operations(DOCUMENT)} == set(OPERATIONS)
    assert lucs | control == served
    assert not lucs & control
    assert all(path.startswith("/_mock/") or path == OPENAPI_PATH for path, _ in control)


def test_the_lucs_document_names_the_presences_the_mock_accepts_and_the_contract_stays_open() -> None:
    """The contract leaves the value open so the suite can send an unknown one to a real LUCS."""
    described = DOCUMENT["components"]["schemas"]["presence-request"]["properties"]["Presence"]
    assert described["enum"] == list(PRESENCES)
    assert "enum" not in default_contract().schemas["presence-request.json"]["properties"]["Presence"]


def test_with_auth_every_operation_but_the_lucs_document_may_answer_401() -> None:
    auth = MockAuth("apikey", "k", key_placement("X-Key"))
    for document in (build_openapi(auth=auth), build_control_openapi(auth=auth)):
        assert document["components"]["securitySchemes"]["lucsAuth"] == {
            "type": "apiKey",
            "in": "header",
            "name": "X-Key",
        }
        for path, _, operation in _operations(document):
            if path == OPENAPI_PATH:
                assert operation["security"] == []
                assert "401" not in operation["responses"]
            else:
                assert "security" not in operation
                assert "401" in operation["responses"]
    for document in (DOCUMENT, CONTROL):
        assert all("401" not in op["responses"] for _, _, op in _operations(document))


def test_the_mock_serves_both_documents_and_the_lucs_one_without_credentials(http: requests.Session) -> None:
    auth = MockAuth("bearer", "token")
    with MockServer(auth=auth) as server:
        lucs = http.get(f"{server.base_url}{OPENAPI_PATH}", timeout=TIMEOUT)
        refused = http.get(f"{server.base_url}{CONTROL_OPENAPI_PATH}", timeout=TIMEOUT)
        control = http.get(f"{server.base_url}{CONTROL_OPENAPI_PATH}", headers=auth.headers(), timeout=TIMEOUT)
    expected = {
        OPENAPI_PATH: build_openapi(auth=auth, seed=load_seed(), max_body=MAX_BODY),
        CONTROL_OPENAPI_PATH: build_control_openapi(auth=auth, max_body=MAX_BODY),
    }
    for path, response in ((OPENAPI_PATH, lucs), (CONTROL_OPENAPI_PATH, control)):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        served = response.json()
        assert served.pop("servers") == [{"url": server.base_url}]
        assert served == json.loads(json.dumps(expected[path])), path
    assert refused.status_code == 401


def test_a_body_over_the_limit_gets_the_documented_413(http: requests.Session) -> None:
    with MockServer(max_body=100) as server:
        response = http.post(f"{server.base_url}/v1.0/tasks", data=b" " * 101, timeout=TIMEOUT)
    documented = build_openapi(max_body=100)["paths"]["/v1.0/tasks"]["post"]["responses"]["413"]
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] in documented["content"]
    assert response.headers["connection"] == documented["headers"]["Connection"]["schema"]["const"]
    assert default_contract().check("error.json", response.json()).violations == ()
    assert "100 bytes" in documented["description"]


def test_every_clock_step_the_document_allows_is_taken_in_any_state(mock: MockServer, http: requests.Session) -> None:
    """Time stops in the calendar's last second rather than refusing a step: a fuzzer may step
    as often as it likes."""
    mock.lucs.reset()
    described = CONTROL["components"]["schemas"]["ClockAdvance"]["properties"]["advance"]
    assert (described["minimum"], described["maximum"]) == (0, MAX_ADVANCE)
    nows = [
        http.post(f"{mock.base_url}/_mock/clock", json={"advance": MAX_ADVANCE}, timeout=TIMEOUT).json()["now"]
        for _ in range(30)  # 30 steps of 317 years pass the year 9999
    ]
    assert nows[-1].startswith("9999-12-31T23:59:59"), nows[-1]
    assert http.post(f"{mock.base_url}/_mock/clock", json={"advance": 0.5}, timeout=TIMEOUT).status_code == 200
    mock.lucs.reset()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_mock/clock", b'{"advance": 5.818842876381597e+306}'),
        ("/_mock/clock", b'{"advance": 10000000001}'),
        ("/_mock/clock", b'{"advance": 1e999}'),
        ("/_mock/clock", b'{"advance": NaN}'),
        ("/_mock/clock", b'{"advance": Infinity}'),
        ("/v1.0/tasks", b'{"ExternalTaskId": "x", "Service": "%s", "DistributeToAgentRONATimeoutInSeconds": 1e20}'),
        (
            "/v1.0/tasks",
            b'{"ExternalTaskId": "x", "Service": "%s", "DistributeToAgentRONATimeoutInSeconds": 2147483648}',
        ),
        ("/v1.0/users/%u/setpresence", b'{"Presence": "0"}'),
    ],
)
def test_values_outside_the_documents_are_refused_with_400_and_change_nothing(
    mock: MockServer, http: requests.Session, path: str, body: bytes
) -> None:
    mock.lucs.reset()
    before = mock.lucs.snapshot()
    seed = load_seed()
    service, user = seed.services[0]["Id"], seed.users[0]["Id"]
    response = http.post(
        mock.base_url + path.replace("%u", user), data=body.replace(b"%s", service.encode()), timeout=TIMEOUT
    )
    assert response.status_code == 400, response.text
    assert set(response.json()["Error"]) == {"Code", "Message"}
    assert mock.lucs.snapshot() == before
