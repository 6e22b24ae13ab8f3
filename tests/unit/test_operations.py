"""One table of operations, four views of it: the configuration's paths, the client, the mock's
routes and the OpenAPI document say the same thing about every operation."""

from __future__ import annotations

import pytest
from starlette.routing import Route

from lucs_harness.client import LucsClient
from lucs_harness.config import LucsConfig, load_config
from lucs_harness.errors import ConfigError
from lucs_harness.mock.app import create_app
from lucs_harness.mock.domain import Lucs
from lucs_harness.mock.openapi import ANY_REQUEST_ERRORS, COMPONENTS, build_openapi
from lucs_harness.mock.seed import load_seed
from lucs_harness.operations import OPERATIONS

PARAMETERS = {"serviceId": "s", "userId": "u", "taskIdentifier": "t", "callbackId": "c", "externalTaskId": "e"}


def test_the_configuration_defaults_to_the_table_and_knows_no_other_operation() -> None:
    config = LucsConfig()
    assert {name: config.path(name) for name in OPERATIONS} == {name: op.path for name, op in OPERATIONS.items()}
    with pytest.raises(ConfigError, match="unknown operation"):
        load_config(cli={"paths": "no_such_operation=/x"}, environ={})


def test_the_client_sends_each_operation_to_its_path() -> None:
    client = LucsClient(LucsConfig(), "http://lucs")
    for name, op in OPERATIONS.items():
        assert client.url(name, **PARAMETERS) == "http://lucs" + op.path.format(**PARAMETERS)


def test_the_mock_routes_each_operation_by_path_and_method() -> None:
    app = create_app(Lucs(load_seed()))
    routes = {route.path: route.methods or set() for route in app.routes if isinstance(route, Route)}
    for op in OPERATIONS.values():
        assert op.method in routes[op.route], op.name


def test_the_openapi_document_describes_each_operation_as_the_table_does() -> None:
    document = build_openapi()
    for op in OPERATIONS.values():
        described = document["paths"][op.route][op.method.lower()]
        assert described["operationId"] == op.name
        assert set(described["responses"]) == {str(op.status), *map(str, op.errors + ANY_REQUEST_ERRORS)}
        success = described["responses"][str(op.status)]
        if op.response is None:
            assert "content" not in success, op.name
        else:
            assert success["content"]["application/json"]["schema"]["$ref"] == COMPONENTS + op.response
        if op.request is None:
            assert "requestBody" not in described, op.name
        else:
            assert described["requestBody"]["content"]["application/json"]["schema"]["$ref"] == COMPONENTS + op.request
