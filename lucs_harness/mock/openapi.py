"""The mock's OpenAPI 3.1 document, built from `schemas/` so the JSON Schemas stay the one contract.

Each `schemas/*.json` becomes `components/schemas/<file stem>` with its `$ref`s rewritten to point
there and `$id`/`$schema` dropped (OpenAPI tools resolve refs against the document, not `$id`).
Nothing of a LUCS body is written here by hand: only the operations (path, method, statuses) and
the few shapes of the mock-only endpoints, which LUCS does not have. The LUCS operations are read
from `lucs_harness.operations`, the table the client and the mock's routes read too.

The mock-only endpoints (`/_mock/*`, `/openapi.json`) are described too, tagged `mock-only` and
marked `x-mock-only: true`, so a fuzzer or Prism can tell them apart from LUCS. With
authentication on, every endpoint but the document itself needs the credentials.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from lucs_harness.contract import BASE_URI, SCHEMAS_DIR, Contract, default_contract
from lucs_harness.mock.auth import MockAuth
from lucs_harness.mock.faults import Fault
from lucs_harness.mock.seed import Seed
from lucs_harness.operations import OPERATIONS as TABLE

OPENAPI_VERSION = "3.1.0"
COMPONENTS = "#/components/schemas/"
LUCS_TAG = "LUCS"
MOCK_TAG = "mock-only"
SECURITY_SCHEME = "lucsAuth"
EXAMPLES_DIR = SCHEMAS_DIR / "examples"
_PATH_PARAMETER = re.compile(r"{(\w+)}")

ERROR_DESCRIPTIONS = {
    400: "the body is not JSON, breaks the schema, or names an unknown value",
    401: "missing or wrong credentials",
    404: "no such service, user or task (or no such path)",
    409: "the task conflicts with the current state (open duplicate, already closed)",
}


@dataclass(frozen=True)
class Operation:
    """One endpoint: what it answers on success and which refusals (in the error envelope) it has."""

    operation_id: str
    method: str
    path: str
    summary: str
    status: int
    response: str | None = None
    request: str | None = None
    errors: tuple[int, ...] = ()
    mock_only: bool = False


LUCS_OPERATIONS: tuple[Operation, ...] = tuple(
    Operation(op.name, op.method.lower(), op.path, op.summary, op.status, op.response, op.request, op.errors)
    for op in TABLE.values()
)

MOCK_OPERATIONS: tuple[Operation, ...] = (
    Operation("mock_reset", "post", "/_mock/reset", "Back to the seed (faults stay)", 200, "MockState", mock_only=True),
    Operation("mock_state", "get", "/_mock/state", "The raw state of the mock", 200, "MockState", mock_only=True),
    Operation("mock_get_faults", "get", "/_mock/faults", "The active faults", 200, "FaultNames", mock_only=True),
    Operation(
        "mock_set_faults",
        "put",
        "/_mock/faults",
        "Replace the active faults (they break the contract on purpose)",
        200,
        "FaultNames",
        request="FaultNames",
        errors=(400,),
        mock_only=True,
    ),
    Operation("mock_get_clock", "get", "/_mock/clock", "The simulated time", 200, "ClockNow", mock_only=True),
    Operation(
        "mock_advance_clock",
        "post",
        "/_mock/clock",
        "Advance the simulated time; due answers and RONA timeouts fire",
        200,
        "ClockNow",
        request="ClockAdvance",
        errors=(400,),
        mock_only=True,
    ),
    Operation("openapi", "get", "/openapi.json", "This document", 200, "OpenApiDocument", mock_only=True),
)

OPERATIONS = LUCS_OPERATIONS + MOCK_OPERATIONS


# OpenAPI links: where a success answer's values feed the next call (a stateful fuzzer follows them).
# A `requestBody` object with expressions inside is Schemathesis's reading: it merges them into a
# generated body, so a task gets posted to a service that exists.
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
        "CloseTask": _link("close_task", taskIdentifier="$response.body"),
        "ListServiceTasks": _link("service_tasks", serviceId="$request.body#/Service"),
    },
    "get_task": {"CloseTask": _link("close_task", taskIdentifier="$response.body#/Id")},
}


def _string_or_null(**more: Any) -> dict[str, Any]:
    return {"type": ["string", "null"], **more}


MOCK_SCHEMAS: dict[str, dict[str, Any]] = {
    "FaultNames": {
        "type": "array",
        "items": {"type": "string", "enum": [fault.value for fault in Fault]},
    },
    "ClockAdvance": {
        "type": "object",
        "properties": {"advance": {"type": "number", "minimum": 0, "description": "seconds; 0 when absent"}},
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
                        "State": {"type": "string", "enum": ["Pending", "Offered", "Accepted", "Closed"]},
                        "AgentId": _string_or_null(),
                        "History": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
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


def _component(node: Any, current: str, known: set[str]) -> Any:
    """A copy of a schema node fit for `components/schemas`: refs rewritten, `$id`/`$schema` gone."""
    if isinstance(node, dict):
        out = {key: _component(value, current, known) for key, value in node.items() if key not in ("$id", "$schema")}
        if isinstance(node.get("$ref"), str):
            out["$ref"] = _ref(node["$ref"], current, known)
        return out
    if isinstance(node, list):
        return [_component(item, current, known) for item in node]
    return node


def components(contract: Contract) -> dict[str, dict[str, Any]]:
    """Every contract schema under its component name, plus the mock-only shapes."""
    names = {component_name(name): name for name in contract.names()}
    clash = set(names) & set(MOCK_SCHEMAS)
    if clash:
        raise ValueError(f"contract schemas clash with mock-only components: {sorted(clash)}")
    known = set(names)
    built = {stem: _component(contract.schemas[file], stem, known) for stem, file in names.items()}
    return built | copy.deepcopy(MOCK_SCHEMAS)


def _examples() -> dict[str, Any]:
    """The documented examples (`schemas/examples/<stem>.json`), keyed by component name."""
    if not EXAMPLES_DIR.is_dir():
        return {}
    return {path.stem: json.loads(path.read_text()) for path in sorted(EXAMPLES_DIR.glob("*.json"))}


def _content(schema: str, examples: dict[str, Any]) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": {"$ref": COMPONENTS + schema}}
    if schema in examples:
        media["example"] = examples[schema]
    return {"application/json": media}


def _parameters(path: str, seed: Seed | None) -> list[dict[str, Any]]:
    """Path parameters; service and user GUIDs carry the seed's first ones as examples."""
    seeded = {}
    if seed is not None and seed.services and seed.users:
        seeded = {"serviceId": seed.services[0]["Id"], "userId": seed.users[0]["Id"]}
    described = {
        "serviceId": ("the service's GUID", {"type": "string", "format": "uuid"}),
        "userId": ("the user's GUID", {"type": "string", "format": "uuid"}),
        "taskIdentifier": ("the task's GUID or its ExternalTaskId", {"type": "string", "minLength": 1}),
    }
    parameters = []
    for name in _PATH_PARAMETER.findall(path):
        description, schema = described.get(name, ("", {"type": "string"}))
        parameter: dict[str, Any] = {
            "name": name,
            "in": "path",
            "required": True,
            "description": description,
            "schema": schema,
        }
        if name in seeded:
            parameter["example"] = seeded[name]
        parameters.append(parameter)
    return parameters


def _operation(operation: Operation, auth: MockAuth | None, seed: Seed | None, examples: dict[str, Any]) -> Any:
    success: dict[str, Any] = {"description": "no body" if operation.response is None else "OK"}
    if operation.response is not None:
        success["content"] = _content(operation.response, examples)
    if operation.operation_id in LINKS:
        success["links"] = copy.deepcopy(LINKS[operation.operation_id])
    responses: dict[str, Any] = {str(operation.status): success}
    errors = list(operation.errors)
    open_to_all = operation.operation_id == "openapi"  # the document itself; everything else needs credentials
    if auth is not None and not open_to_all:
        errors.append(401)
    for status in sorted(errors):
        responses[str(status)] = {"description": ERROR_DESCRIPTIONS[status], "content": _content("error", examples)}
    described: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "tags": [MOCK_TAG if operation.mock_only else LUCS_TAG],
    }
    parameters = _parameters(operation.path, seed)
    if parameters:
        described["parameters"] = parameters
    if operation.request is not None:
        described["requestBody"] = {"required": True, "content": _content(operation.request, examples)}
    described["responses"] = responses
    if operation.mock_only:
        described["x-mock-only"] = True
    if auth is not None and open_to_all:
        described["security"] = []
    return described


def _security_scheme(auth: MockAuth) -> dict[str, Any]:
    if auth.mode == "basic":
        return {"type": "http", "scheme": "basic"}
    if auth.mode == "bearer":
        return {"type": "http", "scheme": "bearer"}
    return {"type": "apiKey", "in": "header", "name": auth.header}


def build_openapi(
    contract: Contract | None = None, auth: MockAuth | None = None, seed: Seed | None = None
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the mock as configured: with `auth`, LUCS operations demand
    the credentials and may answer 401 (the mock-only ones never do)."""
    contract = contract or default_contract()
    if auth is not None and auth.expected() is None:
        auth = None
    examples = _examples()
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method] = _operation(operation, auth, seed, examples)
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Luware LUCS API (mock)",
            "version": "1.0",
            "description": "The endpoints the harness's mock LUCS serves. Bodies are the JSON Schemas of the "
            "harness's `schemas/`; operations tagged `mock-only` exist only on the mock.",
        },
        "tags": [
            {"name": LUCS_TAG, "description": "the documented LUCS API, as the mock serves it"},
            {"name": MOCK_TAG, "description": "mock-only control endpoints; a real LUCS has none of them"},
        ],
        "paths": paths,
        "components": {"schemas": components(contract)},
    }
    if auth is not None:
        document["components"]["securitySchemes"] = {SECURITY_SCHEME: _security_scheme(auth)}
        document["security"] = [{SECURITY_SCHEME: []}]
    return document
