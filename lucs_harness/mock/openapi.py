"""The mock's two OpenAPI 3.1 documents, built from `schemas/` so the JSON Schemas stay the one contract.

`/openapi.json` describes the LUCS API as the mock serves it, and nothing else: a fuzzer or Prism
given it cannot reach the mock's faults or clock. `/_mock/openapi.json` describes the mock's own
control endpoints (`/_mock/*` and the two documents), which a real LUCS does not have.

Each `schemas/*.json` becomes `components/schemas/<file stem>` with its `$ref`s rewritten to point
there and `$id`/`$schema` dropped (OpenAPI tools resolve refs against the document, not `$id`).
Nothing of a LUCS body is written here by hand: the LUCS operations come from
`lucs_harness.operations`, the table the client and the mock's routes read too. The documents are
exact for the faithful mock: every request they allow is accepted, every answer is described.
Where the mock accepts less than the contract (presence values, callback sort fields) the LUCS
document narrows the contract's schema to what the mock accepts. With authentication on, every endpoint but
`/openapi.json` needs the credentials. Served with other `Conventions`, the document says what
this mock serves: its paths and close call, the setpresence body's field, the create-task answer's
form and where the API key goes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lucs_harness.contract import BASE_URI, Contract, default_contract
from lucs_harness.key_placement import PLACEMENT_PATTERN
from lucs_harness.mock.auth import CONTROL_PREFIX, OPENAPI_PATH, MockAuth
from lucs_harness.mock.conventions import STATE_KEYS, Close, Conventions, TaskIdForm, presence_schema
from lucs_harness.mock.domain import CALLBACK_FIELDS, PRESENCES
from lucs_harness.mock.faults import Fault
from lucs_harness.mock.seed import Seed
from lucs_harness.operations import OPERATIONS, PARAMETERS, query_parameters
from lucs_harness.operations import Operation as TableOperation

OPENAPI_VERSION = "3.1.0"
COMPONENTS = "#/components/schemas/"
CONTROL_OPENAPI_PATH = CONTROL_PREFIX + "openapi.json"
LUCS_TAG = "LUCS"
MOCK_TAG = "mock-only"
SECURITY_SCHEME = "lucsAuth"
EXAMPLES = "examples"  # the JSON Schema keyword a documented example is given in
ERROR_SCHEMA = "error"
MAX_ADVANCE = 10**10  # seconds one clock step may take (317 years); the control endpoint enforces it
ANY_REQUEST_ERRORS = (413,)  # refusals every guarded operation has, whatever its body
_PATH_PARAMETER = re.compile(r"{(\w+)}")

ERROR_DESCRIPTIONS = {
    400: "the body is not JSON, breaks the schema or nests too deep, or a value is unknown or missing",
    401: "missing or wrong credentials, or a method the credentials' API roles do not allow",
    404: "no such service, user, task or callback (or no such path)",
    409: "the task conflicts with the current state (open duplicate, already closed)",
    413: "the body is larger than the mock's limit (`lucs-mock serve --max-body`); the connection is closed after",
}
CLOSE_HEADER = {
    "Connection": {
        "description": "the rest of the body is unread, so the connection cannot carry another request",
        "schema": {"type": "string", "const": "close"},
    }
}


@dataclass(frozen=True)
class Operation:
    """One endpoint: what it answers on success and which refusals (in the error envelope) it has.
    `guarded` operations refuse a body over the limit (413); the two documents read no body."""

    operation_id: str
    method: str
    path: str
    summary: str
    status: int
    response: str | None = None
    request: str | None = None
    errors: tuple[int, ...] = ()
    guarded: bool = True
    query: tuple[str, ...] = ()  # required query parameters


def lucs_operations(table: Mapping[str, TableOperation]) -> tuple[Operation, ...]:
    """The LUCS endpoints of an operations table (the mock's own, with its conventions applied)."""
    return tuple(
        Operation(
            op.name,
            op.method.lower(),
            op.route,
            op.summary,
            op.status,
            op.response,
            op.request,
            op.errors,
            query=query_parameters(op.path),
        )
        for op in table.values()
    )


CONTROL_OPERATIONS: tuple[Operation, ...] = (
    Operation("mock_reset", "post", "/_mock/reset", "Back to the seed (faults stay)", 200, "MockState"),
    Operation("mock_state", "get", "/_mock/state", "The raw state of the mock", 200, "MockState"),
    Operation("mock_get_faults", "get", "/_mock/faults", "The active faults", 200, "FaultNames"),
    Operation(
        "mock_set_faults",
        "put",
        "/_mock/faults",
        "Replace the active faults (they break the LUCS API's contract on purpose)",
        200,
        "FaultNames",
        request="FaultNames",
        errors=(400,),
    ),
    Operation("mock_get_clock", "get", "/_mock/clock", "The simulated time", 200, "ClockNow"),
    Operation(
        "mock_conventions",
        "get",
        "/_mock/conventions",
        "How this mock serves what LUCS does not document (`lucs-mock serve --convention`)",
        200,
        "Conventions",
    ),
    Operation(
        "mock_advance_clock",
        "post",
        "/_mock/clock",
        "Advance the simulated time; due answers and RONA timeouts fire; time stops in the calendar's "
        "last second (9999-12-31T23:59:59)",
        200,
        "ClockNow",
        request="ClockAdvance",
        errors=(400,),
    ),
    Operation("openapi", "get", OPENAPI_PATH, "The LUCS API's document", 200, "OpenApiDocument", guarded=False),
    Operation("control_openapi", "get", CONTROL_OPENAPI_PATH, "This document", 200, "OpenApiDocument", guarded=False),
)


# OpenAPI links: where a success answer's values feed the next call (a stateful fuzzer follows them).
# A `requestBody` object with expressions inside is Schemathesis's reading: it merges them into a
# generated body, so a task gets posted to a service that exists. No link leads to `close_task`:
# closing keeps the task readable (State "Closed"), which a fuzzer that reads a DELETE as removal
# would report as a deleted resource still served.
def _link(operation_id: str, **parameters: str) -> dict[str, Any]:
    return {"operationId": operation_id, "parameters": parameters}


LINKS: dict[str, dict[str, dict[str, Any]]] = {
    "list_services": {
        "ListUsers": _link("list_users", serviceId="$response.body#/0/Id"),
        "CreateTask": {"operationId": "create_task", "requestBody": {"Service": "$response.body#/0/Id"}},
    },
    "list_users": {
        "BlockUser": _link("block_user", userId="$response.body#/0/Id"),
        "SetPresence": _link("set_presence", userId="$response.body#/0/Id"),
    },
    "block_user": {"UnblockUser": _link("unblock_user", userId="$response.body#/Id")},
    "create_task": {
        "GetTask": _link("get_task", taskIdentifier="$response.body"),
        "ListServiceTasks": _link("service_tasks", serviceId="$request.body#/Service"),
    },
}


def _string_or_null(**more: Any) -> dict[str, Any]:
    return {"type": ["string", "null"], **more}


CONTROL_SCHEMAS: dict[str, dict[str, Any]] = {
    "FaultNames": {
        "type": "array",
        "items": {"type": "string", "enum": [fault.value for fault in Fault]},
    },
    "ClockAdvance": {
        "type": "object",
        "properties": {
            "advance": {"type": "number", "minimum": 0, "maximum": MAX_ADVANCE, "description": "seconds; 0 when absent"}
        },
    },
    "ClockNow": {
        "type": "object",
        "required": ["now"],
        "properties": {"now": {"type": "string", "format": "date-time"}},
    },
    "MockState": {
        "type": "object",
        "required": ["now", "faults", "users", "tasks"],
        "properties": {
            "now": {"type": "string", "format": "date-time"},
            "faults": {"$ref": COMPONENTS + "FaultNames"},
            "users": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["Id", "SipUri", "PresenceState", "Blocked", "TaskId", "Selectable"],
                    "properties": {
                        "Id": {"type": "string"},
                        "SipUri": {"type": "string"},
                        "PresenceState": {"type": "string"},
                        "Blocked": {"type": "boolean"},
                        "TaskId": _string_or_null(),
                        "Selectable": {"type": "boolean"},
                    },
                },
            },
            "tasks": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["Id", "ExternalTaskId", "State", "AgentId", "History"],
                    "properties": {
                        "Id": {"type": "string", "format": "uuid"},
                        "ExternalTaskId": {"type": "string"},
                        "State": {"type": "string", "description": "the task's State, named as the mock answers it"},
                        "AgentId": _string_or_null(),
                        "History": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        },
    },
    "Conventions": {
        "type": "object",
        "required": ["api-key", "close", "task-states", "presence-field", "paths", "task-id"],
        "additionalProperties": False,
        "properties": {
            "api-key": {
                "type": "string",
                "pattern": f"^({PLACEMENT_PATTERN})$",
                "description": "as `api_key_header` writes it",
            },
            "close": {"type": "string", "enum": [close.value for close in Close]},
            "task-states": {
                "type": "object",
                "required": list(STATE_KEYS),
                "additionalProperties": False,
                "properties": {key: {"type": "string", "minLength": 1} for key in STATE_KEYS},
            },
            "presence-field": {"type": "string", "minLength": 1},
            "paths": {
                "type": "object",
                "description": "every LUCS operation this mock serves, by name, and its path",
                "additionalProperties": {"type": "string", "pattern": "^/"},
            },
            "task-id": {"type": "string", "enum": [form.value for form in TaskIdForm]},
        },
    },
    "OpenApiDocument": {
        "type": "object",
        "required": ["openapi", "info", "paths"],
        "properties": {"openapi": {"type": "string", "pattern": r"^3\.1\.\d+$"}},
    },
}


def component_name(file_name: str) -> str:
    """`user.json` -> `user`: the component a schema file becomes."""
    return file_name.removesuffix(".json")


def _ref(ref: str, current: str, known: set[str]) -> str:
    """A file-relative (or absolute `$id`-based) `$ref` as a pointer into `components/schemas`."""
    file, _, fragment = ref.removeprefix(BASE_URI).partition("#")
    if fragment and not fragment.startswith("/"):
        raise ValueError(f"{current}: $ref {ref!r} uses an anchor; only JSON pointers are supported")
    name = component_name(file) if file else current
    if name not in known:
        raise ValueError(f"{current}: $ref {ref!r} names no schema of the contract")
    return COMPONENTS + name + fragment


def _nullable_format(node: dict[str, Any]) -> dict[str, Any]:
    """`{"type": [T, "null"], "format": F}` spelled `{"anyOf": [{"type": T, "format": F}, {"type": "null"}]}`,
    which means the same: Schemathesis's coverage phase (4.32) reads the first spelling as allowing
    `""` for a nullable uuid or date-time, and reports the mock's 400 as a valid request refused."""
    kinds = node.get("type")
    if "format" not in node or not isinstance(kinds, list) or len(kinds) != 2 or "null" not in kinds:
        return node
    rest = {key: value for key, value in node.items() if key not in ("type", "format")}
    kind = next(kind for kind in kinds if kind != "null")
    return rest | {"anyOf": [{"type": kind, "format": node["format"]}, {"type": "null"}]}


def _component(node: Any, current: str, known: set[str]) -> Any:
    """A copy of a schema node fit for `components/schemas`: refs rewritten, `$id`/`$schema` gone."""
    if isinstance(node, dict):
        out = {key: _component(value, current, known) for key, value in node.items() if key not in ("$id", "$schema")}
        if isinstance(node.get("$ref"), str):
            out["$ref"] = _ref(node["$ref"], current, known)
        return _nullable_format(out)
    if isinstance(node, list):
        return [_component(item, current, known) for item in node]
    return node


def components(contract: Contract) -> dict[str, dict[str, Any]]:
    """Every contract schema under its component name."""
    names = {component_name(name): name for name in contract.names()}
    known = set(names)
    return {stem: _component(_unexampled(contract.schemas[file]), stem, known) for stem, file in names.items()}


def _unexampled(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema without its documented examples: the document gives each as its media type's `example`."""
    return {key: value for key, value in schema.items() if key != EXAMPLES}


def _as_the_mock_accepts(built: dict[str, dict[str, Any]], conventions: Conventions) -> dict[str, dict[str, Any]]:
    """The contract narrowed to what the mock accepts and answers. The contract leaves these values
    open, so the suite can send an unknown one to a real LUCS and see it refused; the mock knows its
    `PRESENCES`, orders callbacks by a `CALLBACK_FIELDS` name only, reads the presence from its
    convention's field and answers a task id in one form of the two."""
    field = conventions.presence_field
    built["presence-request"] = presence_schema(built["presence-request"], field)
    built["presence-request"]["properties"][field]["enum"] = list(PRESENCES)
    built["callback-search"]["properties"]["OrderBy"]["enum"] = [*CALLBACK_FIELDS, None]
    either = built["task-id"]
    kind = "string" if conventions.task_id is TaskIdForm.STRING else "object"
    one = next(branch for branch in either["oneOf"] if branch.get("type") == kind)
    built["task-id"] = {key: value for key, value in either.items() if key != "oneOf"} | one
    return built


def _links(conventions: Conventions) -> dict[str, dict[str, dict[str, Any]]]:
    """`LINKS`, the new task's id read from the create-task answer in this mock's form."""
    links = copy.deepcopy(LINKS)
    if conventions.task_id is TaskIdForm.OBJECT:
        links["create_task"]["GetTask"]["parameters"]["taskIdentifier"] = "$response.body#/TaskId"
    return links


def _examples_as_served(examples: dict[str, Any], conventions: Conventions) -> dict[str, Any]:
    """The documented examples, the setpresence body's in this mock's field."""
    presence = examples.get("presence-request")
    if isinstance(presence, dict) and "Presence" in presence:
        value = presence["Presence"]
        examples = examples | {"presence-request": {conventions.presence_field: value}}
    return examples


def _examples(contract: Contract) -> dict[str, Any]:
    """The documented examples (each schema's first of its `examples`), keyed by component name."""
    return {
        component_name(name): contract.example(name)
        for name in contract.names()
        if contract.schemas[name].get(EXAMPLES)
    }


def _content(schema: str, examples: dict[str, Any]) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": {"$ref": COMPONENTS + schema}}
    if schema in examples:
        media["example"] = examples[schema]
    return {"application/json": media}


def _parameters(operation: Operation, seed: Seed | None) -> list[dict[str, Any]]:
    """Path, then query parameters, all required; service and user GUIDs carry the seed's first
    ones as examples."""
    seeded = {}
    if seed is not None and seed.services and seed.users:
        seeded = {"serviceId": seed.services[0]["Id"], "userId": seed.users[0]["Id"]}
    located = [(name, "path") for name in _PATH_PARAMETER.findall(operation.path)]
    located += [(name, "query") for name in operation.query]
    parameters = []
    for name, where in located:
        if name not in PARAMETERS:
            raise ValueError(f"{operation.operation_id}: parameter {name!r} is not described in operations.PARAMETERS")
        description, schema = PARAMETERS[name]
        parameter: dict[str, Any] = {
            "name": name,
            "in": where,
            "required": True,
            "description": description,
            "schema": copy.deepcopy(schema),
        }
        if name in seeded:
            parameter["example"] = seeded[name]
        parameters.append(parameter)
    return parameters


def _error_statuses(operation: Operation, auth: MockAuth | None) -> list[int]:
    """The operation's own refusals, the body limit's, and the credentials' (all but the LUCS document)."""
    errors = set(operation.errors)
    if operation.guarded:
        errors.update(ANY_REQUEST_ERRORS)
    if auth is not None and operation.path != OPENAPI_PATH:
        errors.add(401)
    return sorted(errors)


def _refusal(status: int, examples: dict[str, Any], max_body: int | None) -> dict[str, Any]:
    description = ERROR_DESCRIPTIONS[status]
    if status == 413 and max_body is not None:
        description += f"; this mock's limit is {max_body} bytes"
    refusal: dict[str, Any] = {"description": description, "content": _content(ERROR_SCHEMA, examples)}
    if status == 413:
        refusal["headers"] = copy.deepcopy(CLOSE_HEADER)
    return refusal


@dataclass(frozen=True)
class _Served:
    """What one document's operations share: the credentials, the seed's ids, the examples, the
    links between calls and the body limit."""

    auth: MockAuth | None
    seed: Seed | None
    examples: dict[str, Any]
    links: dict[str, dict[str, dict[str, Any]]]
    max_body: int | None


def _operation(operation: Operation, tag: str, served: _Served) -> Any:
    auth, examples = served.auth, served.examples
    success: dict[str, Any] = {"description": "no body" if operation.response is None else "OK"}
    if operation.response is not None:
        success["content"] = _content(operation.response, examples)
    if operation.operation_id in served.links:
        success["links"] = copy.deepcopy(served.links[operation.operation_id])
    responses: dict[str, Any] = {str(operation.status): success}
    for status in _error_statuses(operation, auth):
        responses[str(status)] = _refusal(status, examples, served.max_body)
    described: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "tags": [tag],
    }
    parameters = _parameters(operation, served.seed)
    if parameters:
        described["parameters"] = parameters
    if operation.request is not None:
        described["requestBody"] = {"required": True, "content": _content(operation.request, examples)}
    described["responses"] = responses
    if auth is not None and operation.path == OPENAPI_PATH:
        described["security"] = []
    return described


def _document(
    info: dict[str, str],
    tag: dict[str, str],
    operations: tuple[Operation, ...],
    schemas: dict[str, dict[str, Any]],
    served: _Served,
) -> dict[str, Any]:
    auth = served.auth if served.auth is not None and served.auth.demanding else None
    served = _Served(auth, served.seed, served.examples, served.links, served.max_body)
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        described = _operation(operation, tag["name"], served)
        paths.setdefault(operation.path, {})[operation.method] = described
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {"version": "1.0", **info},
        "tags": [tag],
        "paths": paths,
        "components": {"schemas": schemas},
    }
    if auth is not None:
        document["components"]["securitySchemes"] = {SECURITY_SCHEME: auth.security_scheme()}
        document["security"] = [{SECURITY_SCHEME: []}]
    return document


LUCS_INFO = {
    "title": "Luware LUCS API (mock)",
    "description": "The LUCS API as the harness's mock serves it; bodies are the JSON Schemas of the harness's "
    "`schemas/`, narrowed where the mock accepts less (presence values). The mock's control endpoints "
    f"(faults, clock, reset) are described apart, at `{CONTROL_OPENAPI_PATH}`; a fault switched on there "
    "breaks this document on purpose. A method a path does not have is answered 405 with `Allow`.",
}
CONTROL_INFO = {
    "title": "LUCS mock: control endpoints",
    "description": "The harness's mock LUCS's own endpoints; a real LUCS has none of them. The LUCS API "
    f"is described at `{OPENAPI_PATH}`. A method a path does not have is answered 405 with `Allow`.",
}


def build_openapi(
    contract: Contract | None = None,
    auth: MockAuth | None = None,
    seed: Seed | None = None,
    max_body: int | None = None,
    conventions: Conventions | None = None,
    table: Mapping[str, TableOperation] = OPERATIONS,
) -> dict[str, Any]:
    """The LUCS API's document as the mock serves `table`: with `auth`, every operation demands the
    credentials and may answer 401; `max_body` (bytes) is named in the 413's description;
    `conventions` are the mock's ways where LUCS documents none (its defaults when None)."""
    conventions = conventions or Conventions()
    contract = contract or default_contract()
    built = _as_the_mock_accepts(components(contract), conventions)
    tag = {"name": LUCS_TAG, "description": "the documented LUCS API, as the mock serves it"}
    examples = _examples_as_served(_examples(contract), conventions)
    served = _Served(auth, seed, examples, _links(conventions), max_body)
    return _document(LUCS_INFO, tag, lucs_operations(conventions.operations(table)), built, served)


def build_control_openapi(
    contract: Contract | None = None,
    auth: MockAuth | None = None,
    max_body: int | None = None,
    conventions: Conventions | None = None,
) -> dict[str, Any]:
    """The control endpoints' document: with `auth`, all but `/openapi.json` demand the credentials."""
    contract = contract or default_contract()
    error = components(contract)[ERROR_SCHEMA]
    schemas = {ERROR_SCHEMA: error} | copy.deepcopy(CONTROL_SCHEMAS)
    states = schemas["MockState"]["properties"]["tasks"]["items"]["properties"]["State"]
    states["enum"] = list((conventions or Conventions()).task_states)
    tag = {"name": MOCK_TAG, "description": "mock-only control endpoints; a real LUCS has none of them"}
    served = _Served(auth, None, _examples(contract), LINKS, max_body)
    return _document(CONTROL_INFO, tag, CONTROL_OPERATIONS, schemas, served)
