"""The mock's OpenAPI document: valid 3.1, built from `schemas/`, complete, and true to the mock.

The last claim is fuzzed: Schemathesis generates requests for every operation of the document
(LUCS and mock-only alike) and sends them to a mock of this module's own over loopback; every
answer must be a documented status with a documented content type and a body that matches the
documented schema, and none may be a 5xx. The mock is reset to the seed with no fault before each
case, so a case that switches a fault on (`PUT /_mock/faults` is fuzzed too) cannot leak into
the next. Hypothesis runs derandomized with no example database: the same cases every run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.routing import Route

from lucs_harness.contract import default_contract
from lucs_harness.mock.app import create_app
from lucs_harness.mock.auth import MODES, MockAuth
from lucs_harness.mock.domain import Lucs
from lucs_harness.mock.openapi import COMPONENTS, MOCK_TAG, build_openapi, component_name
from lucs_harness.mock.seed import load_seed
from lucs_harness.mock.server import MockServer
from lucs_harness.operations import DEFAULT_PATHS

MAX_EXAMPLES = 30
STATEFUL_SCENARIOS = 60
STATEFUL_STEPS = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
DOCUMENT = build_openapi(seed=load_seed())
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
SCHEMA.config.generation.update(deterministic=True, max_examples=MAX_EXAMPLES)
TIMEOUT = 5.0
SETTINGS = hypothesis.settings(
    deadline=None, derandomize=True, database=None, suppress_health_check=list(hypothesis.HealthCheck)
)


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


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    """This module's own mock: fuzzing switches faults on, which must not reach other tests."""
    with MockServer() as server:
        yield server


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.mark.parametrize("mode", ["none", *(m for m in MODES if m != "none")])
def test_the_document_is_valid_openapi_3_1(mode: str) -> None:
    auth = None if mode == "none" else MockAuth(mode, "user:secret")
    document = build_openapi(auth=auth)
    validate(document)
    assert document["openapi"].startswith("3.1.")


def test_every_contract_schema_is_a_component_with_refs_into_components() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    for name, original in default_contract().schemas.items():
        component = schemas[component_name(name)]
        assert "$id" not in component
        assert "$schema" not in component
        assert component["title"] == original["title"]
    refs = set(_refs(DOCUMENT))
    assert refs, "the document references no schema"
    for ref in refs:
        assert ref.startswith(COMPONENTS), ref
        assert ref.removeprefix(COMPONENTS).split("/")[0] in schemas, ref
    assert "#/components/schemas/user" in refs
    assert "#/components/schemas/capabilities" in refs


def test_every_route_of_the_app_is_described_and_nothing_else() -> None:
    app = create_app(Lucs(load_seed()))
    served = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }
    described = {(path, method) for path, item in DOCUMENT["paths"].items() for method in item}
    assert served == described


def test_the_lucs_operations_are_the_clients_path_table() -> None:
    ids = {
        operation["operationId"]: path
        for path, item in DOCUMENT["paths"].items()
        for operation in item.values()
        if MOCK_TAG not in operation["tags"]
    }
    assert ids == DEFAULT_PATHS


def test_with_auth_every_operation_but_the_document_may_answer_401() -> None:
    document = build_openapi(auth=MockAuth("apikey", "k", "X-Key"))
    assert document["components"]["securitySchemes"]["lucsAuth"] == {"type": "apiKey", "in": "header", "name": "X-Key"}
    for path, item in document["paths"].items():
        for operation in item.values():
            if path == "/openapi.json":
                assert operation["security"] == []
                assert "401" not in operation["responses"]
            else:
                assert "security" not in operation
                assert "401" in operation["responses"]
    assert all("401" not in op["responses"] for item in DOCUMENT["paths"].values() for op in item.values())


def test_the_mock_serves_the_document_without_credentials(http: requests.Session) -> None:
    auth = MockAuth("bearer", "token")
    with MockServer(auth=auth) as server:
        response = http.get(f"{server.base_url}/openapi.json", timeout=TIMEOUT)
        refused = http.get(f"{server.base_url}{DEFAULT_PATHS['list_services']}", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    served = response.json()
    assert served.pop("servers") == [{"url": server.base_url}]
    assert served == json.loads(json.dumps(build_openapi(auth=auth, seed=load_seed())))
    assert refused.status_code == 401


@SCHEMA.parametrize()
@hypothesis.settings(SETTINGS, max_examples=MAX_EXAMPLES)
def test_the_mock_conforms_to_its_document(
    case: schemathesis.Case[Any], mock: MockServer, http: requests.Session
) -> None:
    mock.lucs.faults.set(frozenset())
    mock.lucs.reset()
    case.call_and_validate(base_url=mock.base_url, session=http, checks=CHECKS, timeout=TIMEOUT)


def test_the_mock_conforms_along_the_documents_links(mock: MockServer, http: requests.Session) -> None:
    """One call at a time on a fresh mock never reaches an existing task; following the document's
    links does (list services, post a task there, read it, list it, close it; list users, block,
    unblock, set presence). Mock-only operations are left out: a fault switched on mid-scenario
    would break the calls after it on purpose."""

    class Workflow(SCHEMA.exclude(tag=MOCK_TAG).as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            mock.lucs.faults.set(frozenset())
            mock.lucs.reset()

        def get_call_kwargs(self, case: schemathesis.Case[Any]) -> dict[str, Any]:
            return {"base_url": mock.base_url, "session": http, "timeout": TIMEOUT}

        def validate_response(
            self,
            response: schemathesis.Response,
            case: schemathesis.Case[Any],
            additional_checks: list[schemathesis.CheckFunction] | None = None,
            **kwargs: Any,
        ) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Workflow.run(
        settings=hypothesis.settings(SETTINGS, max_examples=STATEFUL_SCENARIOS, stateful_step_count=STATEFUL_STEPS)
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_mock/clock", b'{"advance": 5.818842876381597e+306}'),
        ("/_mock/clock", b'{"advance": 1e999}'),
        ("/_mock/clock", b'{"advance": NaN}'),
        ("/_mock/clock", b'{"advance": Infinity}'),
        ("/v1.0/tasks", b'{"ExternalTaskId": "x", "Service": "%s", "DistributeToAgentRONATimeoutInSeconds": 1e20}'),
        (
            "/v1.0/tasks",
            b'{"ExternalTaskId": "x", "Service": "%s", "DistributeToAgentRONATimeoutInSeconds": 2147483648}',
        ),
    ],
)
def test_numbers_the_fuzzer_found_are_refused_with_400_and_change_nothing(
    mock: MockServer, http: requests.Session, path: str, body: bytes
) -> None:
    mock.lucs.reset()
    before = mock.lucs.snapshot()
    service = load_seed().services[0]["Id"].encode()
    response = http.post(mock.base_url + path, data=body.replace(b"%s", service), timeout=TIMEOUT)
    assert response.status_code == 400, response.text
    assert set(response.json()["Error"]) == {"Code", "Message"}
    assert mock.lucs.snapshot() == before
