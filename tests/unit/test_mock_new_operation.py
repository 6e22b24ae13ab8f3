"""A row of the operations table and a domain method are all the mock needs to serve a new operation:
the real table plus two made-up operations (a GET and a POST on one path, the POST with a body),
served by a `Lucs` with their two rules, answer at their routes, check the POST's body against its
schema, refuse in the error envelope and are described in the OpenAPI document, with no handler
written for them."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette

from lucs_harness.contract import Contract, default_contract
from lucs_harness.mock.app import create_app
from lucs_harness.mock.domain import Lucs
from lucs_harness.mock.openapi import COMPONENTS
from lucs_harness.mock.seed import load_seed
from lucs_harness.operations import OPERATIONS, Operation
from tests.support.asgi import call

CURT = "854822ed-4a2a-4eb1-b07f-637ed3eab729"
NOTES = f"/v1.0/users/{CURT}/notes"
NOTE = {"type": "object", "required": ["Text"], "properties": {"Text": {"type": "string", "minLength": 1}}}
SCHEMAS: dict[str, dict[str, Any]] = {
    "note.json": {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Note", **NOTE},
    "note-list.json": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "NoteList",
        "type": "array",
        "items": {"$ref": "note.json"},
    },
}
EXTRA = (
    Operation("list_notes", "GET", "/v1.0/users/{userId}/notes", "A user's notes", response="note-list", errors=(404,)),
    Operation(
        "add_note", "POST", "/v1.0/users/{userId}/notes", "Note something on a user", request="note",
        success=(201,), errors=(400, 404),
    ),
)  # fmt: skip
TABLE = OPERATIONS | {op.name: op for op in EXTRA}


class NotingLucs(Lucs):
    """The faithful rules and the two made-up operations' rules, named as the operations."""

    def reset(self) -> None:
        with self._lock:
            super().reset()
            self.notes: dict[str, list[dict[str, Any]]] = {}

    def list_notes(self, user_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.notes.get(self._agent(user_id).id, []))

    def add_note(self, user_id: str, note: dict[str, Any]) -> None:
        with self._lock:
            self.notes.setdefault(self._agent(user_id).id, []).append(note)


def _contract() -> Contract:
    contract = default_contract()
    for name, schema in SCHEMAS.items():
        contract = contract.with_schema(name, schema)
    return contract


@pytest.fixture
def app() -> Starlette:
    return create_app(NotingLucs(load_seed()), contract=_contract(), operations=TABLE)


def test_the_new_routes_answer_with_their_rules(app: Starlette) -> None:
    assert call(app, "GET", NOTES)[::2] == (200, [])
    assert call(app, "POST", NOTES, {"Text": "prefers mornings"})[::2] == (201, None)
    status, _, notes = call(app, "GET", NOTES)
    assert (status, notes) == (200, [{"Text": "prefers mornings"}])
    assert _contract().check("note-list.json", notes).violations == ()


def test_the_new_body_is_checked_against_its_schema_before_the_rule_runs(app: Starlette) -> None:
    status, _, refused = call(app, "POST", NOTES, {"Text": ""})
    assert status == 400
    assert refused["Error"]["Code"] == "InvalidArgument"
    assert "$.Text" in refused["Error"]["Message"]
    assert call(app, "POST", NOTES, ["not", "a", "note"])[0] == 400
    assert call(app, "GET", NOTES)[2] == []


def test_the_new_rules_refusals_are_in_the_error_envelope(app: Starlette) -> None:
    status, _, refused = call(app, "POST", "/v1.0/users/nobody/notes", {"Text": "x"})
    assert (status, refused["Error"]["Code"]) == (404, "UserNotFound")
    status, headers, refused = call(app, "PUT", NOTES, {"Text": "x"})
    assert (status, refused["Error"]["Code"]) == (405, "MethodNotAllowed")
    assert {method.strip() for method in headers["allow"].split(",")} == {"GET", "HEAD", "POST"}


def test_the_table_routes_answer_as_before(app: Starlette) -> None:
    status, _, services = call(app, "GET", "/v1.0/services")
    assert status == 200
    assert services[0]["Name"] == "Smoky Customer Care"
    assert call(app, "POST", f"/v1.0/users/{CURT}/block")[2]["IsBlockedByLuwareApi"] is True


def test_the_openapi_document_describes_the_new_operations(app: Starlette) -> None:
    status, _, document = call(app, "GET", "/openapi.json")
    assert status == 200
    described = document["paths"]["/v1.0/users/{userId}/notes"]
    assert (described["get"]["operationId"], described["post"]["operationId"]) == ("list_notes", "add_note")
    listed = described["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed == {"$ref": COMPONENTS + "note-list"}
    sent = described["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert sent == {"$ref": COMPONENTS + "note"}
    assert set(described["post"]["responses"]) == {"201", "400", "404", "413"}
    assert {"note", "note-list"} <= set(document["components"]["schemas"])


def test_an_operation_without_its_domain_rule_is_refused_when_the_app_is_built() -> None:
    with pytest.raises(ValueError, match="Lucs has no method list_notes"):
        create_app(Lucs(load_seed()), contract=_contract(), operations=TABLE)


class Members(NotingLucs):
    def list_members(self, service_id: str) -> list[dict[str, Any]]:
        return self.list_users(service_id)


def test_a_row_answering_where_another_does_is_refused_when_the_app_is_built() -> None:
    clash = Operation("list_members", "GET", "/v1.0/services/{serviceId}/users", "The service's users again")
    with pytest.raises(ValueError, match="list_members and list_users would both answer GET"):
        create_app(Members(load_seed()), contract=_contract(), operations=TABLE | {clash.name: clash})
