"""The mock LUCS's HTTP layer: its routes answer from the operations table.

Every operation of the table (`lucs_harness.operations`) is served by one handler built from its
row (`table_handler`): the body checked against the row's request schema, the parameters of its
template, then the domain rule of the operation's name (`Lucs.<operation>`), whose answer is sent as
JSON when the row has a response schema, else the row's success status with no body. So a row and
a domain method are all a new operation needs here. The mock's `Conventions`, how it serves what
LUCS does not document, adapt the few operations that differ (`adapters`: the setpresence body's
field, the create-task answer's form, a close by TaskId only), and move paths or the close call.

Each kind of `DomainError` is answered with its status (`bodies.STATUS`) in LUCS's envelope
`{"Error": {"Code", "Message"}}`, a body over the limit included; the faults that live on the wire
(`faulty.WIRE`: 500, not JSON, slow, extra body, wrong status, a user DTO with a field of the wrong
type or missing) wrap the handlers they break. The mock's own endpoints, under `/_mock/`, and its
two OpenAPI documents are `control_endpoints`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from lucs_harness.contract import Contract, default_contract
from lucs_harness.key_placement import DEFAULT_KEY_PLACEMENT
from lucs_harness.mock.auth import CONTROL_PREFIX, MockAuth, auth_middleware
from lucs_harness.mock.bodies import (
    MAX_BODY,
    STATUS,
    Json,
    TooLarge,
    checked_body,
    error,
    parameter,
    refuse_declared_excess,
)
from lucs_harness.mock.control_endpoints import CONTROL, DOCUMENTS, Served
from lucs_harness.mock.conventions import CLOSE_TASK, Close, Conventions
from lucs_harness.mock.domain import DomainError, Lucs
from lucs_harness.mock.faults import Faults
from lucs_harness.mock.faulty import FaultyLucs, Wire
from lucs_harness.mock.openapi import build_control_openapi, build_openapi
from lucs_harness.operations import OPERATIONS, PARAMETER, Operation

__all__ = ["MAX_BODY", "Adapter", "adapters", "create_app", "domain_rule", "guarded", "lucs_routes", "table_handler"]

Handler = Callable[[Request], Awaitable[Response]]


def _itself(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Adapter:
    """Where an operation's HTTP is not the table's rule: what of its checked body its domain rule
    takes, the keyword arguments the rule is given, and the rule's answer as sent."""

    body: Callable[[Any], Any] = _itself
    options: Mapping[str, Any] = field(default_factory=dict)
    answer: Callable[[Any], Any] = _itself


def adapters(conventions: Conventions) -> dict[str, Adapter]:
    """The operations whose HTTP the conventions decide (LUCS does not document it): the presence
    read from the setpresence body's field, the new task's id answered in its form, a task closed by
    its TaskId only (`close=delete-by-id`)."""
    return {
        "set_presence": Adapter(body=itemgetter(conventions.presence_field)),
        "create_task": Adapter(answer=conventions.task_id_answer),
        CLOSE_TASK: Adapter(options={"by_id": conventions.close is Close.DELETE_BY_ID}),
    }


def domain_rule(lucs: Lucs, name: str) -> Callable[..., Any]:
    """The method of `lucs` that an operation's handler calls: the one of the operation's name."""
    rule: Callable[..., Any] | None = getattr(lucs, name, None)
    if name.startswith("_") or not callable(rule):
        raise ValueError(f"operation {name!r} has no domain rule: {type(lucs).__name__} has no method {name}")
    return rule


def table_handler(
    lucs: Lucs, row: Operation, served: Operation, contract: Contract, max_body: int, adapter: Adapter | None = None
) -> Handler:
    """The handler of an operation (`row` of the table, `served` as the conventions serve it): its
    body checked against its request schema (when it has one), its template's parameters (path, else
    query) in the row's order, the body after them, to `Lucs.<operation>`; the answer as JSON when
    it has a response schema, else the success status with no body."""
    rule, adapter = domain_rule(lucs, row.name), adapter or Adapter()
    schema = None if served.request is None else f"{served.request}.json"

    async def answer(request: Request) -> Response:
        body = None if schema is None else await checked_body(request, contract, schema, max_body)
        arguments = [parameter(request, name) for name in row.parameters]
        if schema is not None:
            arguments.append(adapter.body(body))
        answered = rule(*arguments, **adapter.options)
        if served.response is None:
            return Response(status_code=served.status)
        return Json(adapter.answer(answered))

    return answer


def lucs_routes(handlers: Mapping[str, Handler], operations: Mapping[str, Operation] = OPERATIONS) -> list[Route]:
    """The LUCS routes, one per path of the operations table (so a 405 lists every method of the
    path in `Allow`), each method answered by the handler of its operation. A literal segment is
    tried before a parameter in its place (`/tasks/search` before `/tasks/{id}`), as servers route."""
    by_path: dict[str, dict[str, Handler]] = {}
    answering: dict[tuple[str, str], str] = {}
    for name, operation in operations.items():
        key = (operation.method, PARAMETER.sub("{}", operation.route))
        if key in answering:
            raise ValueError(f"{name} and {answering[key]} would both answer {operation.method} {operation.route}")
        answering[key] = name
        by_path.setdefault(operation.route, {})[operation.method] = handlers[name]
    ordered = sorted(by_path, key=lambda path: [PARAMETER.fullmatch(part) is not None for part in path.split("/")])
    return [Route(path, _by_method(by_path[path]), methods=list(by_path[path])) for path in ordered]


def _by_method(methods: dict[str, Handler]) -> Handler:
    async def dispatch(request: Request) -> Response:
        return await methods["GET" if request.method == "HEAD" else request.method](request)

    return dispatch


def guarded(handler: Handler, max_body: int, latency: float = 0.0) -> Handler:
    """`handler` with the body limit checked first, `latency` (seconds) waited before a LUCS
    answer, and a refusal (`DomainError`) answered in the error envelope."""

    async def run(request: Request) -> Response:
        try:
            refuse_declared_excess(request, max_body)
            if latency and not request.url.path.startswith(CONTROL_PREFIX):
                await asyncio.sleep(latency)
            return await handler(request)
        except DomainError as refused:
            # after a 413 the rest of the body is unread: the connection cannot carry another request
            headers = {"Connection": "close"} if isinstance(refused, TooLarge) else None
            return error(STATUS[type(refused)], refused.code, refused.message, headers)
        except ClientDisconnect:  # gone before its body ended (or closed by the request timeout)
            return Response(status_code=400)  # for nobody: the server drops what a gone client is sent

    return run


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's refusals (404, 405) in the envelope, keeping their headers (a 405's `Allow`)."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = exc.headers if isinstance(exc, HTTPException) else None
    code = {404: "NotFound", 405: "MethodNotAllowed"}.get(status, "Error")
    message = f"{request.method} {request.url.path}: {getattr(exc, 'detail', 'error')}"
    return error(status, code, message, headers)


async def _crash(request: Request, exc: Exception) -> Response:
    return error(500, "InternalError", f"{type(exc).__name__}: {exc}")


def create_app(
    lucs: Lucs,
    contract: Contract | None = None,
    auth: MockAuth | None = None,
    latency: float = 0.0,
    max_body: int = MAX_BODY,
    conventions: Conventions | None = None,
    operations: Mapping[str, Operation] = OPERATIONS,
) -> Starlette:
    """The ASGI app serving `lucs`; `auth` makes it demand credentials like a real installation,
    `latency` (seconds) delays every LUCS answer like a server across a network (it costs no CPU),
    `max_body` (bytes) is the largest request body read, `conventions` how it serves what LUCS does
    not document (the task State names are `lucs`'s, so they must agree), `operations` the table it
    serves (each needs its method on `lucs`). A `FaultyLucs` (as `MockServer` builds) has its faults
    switched at `/_mock/faults`; a `Lucs` is served faithful."""
    contract, conventions = contract or default_contract(), conventions or Conventions()
    if lucs.state_names != conventions.task_states:
        raise ValueError(f"the domain names task states {lucs.state_names}, the conventions {conventions.task_states}")
    faults = lucs.faults if isinstance(lucs, FaultyLucs) else Faults()
    served, wire, adapted = conventions.operations(operations), conventions.contract(contract), adapters(conventions)
    on_the_wire = Wire(faults, conventions.presence_field)
    handlers = {
        name: on_the_wire.wrap(name, table_handler(lucs, operations[name], op, wire, max_body, adapted.get(name)))
        for name, op in served.items()
    }
    routes = [
        *lucs_routes({name: guarded(handler, max_body, latency) for name, handler in handlers.items()}, served),
        *(Route(path, guarded(endpoint, max_body), methods=list(methods)) for path, endpoint, methods in CONTROL),
        *(Route(path, endpoint, methods=["GET"]) for path, endpoint in DOCUMENTS),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error, Exception: _crash})
    app.state.mock = Served(
        lucs,
        faults,
        conventions,
        auth.place if auth is not None else DEFAULT_KEY_PLACEMENT,
        max_body,
        build_openapi(contract, auth, lucs.seed, max_body, conventions, operations),
        build_control_openapi(contract, auth, max_body, conventions),
    )
    if auth is not None and auth.demanding:
        app.add_middleware(auth_middleware(auth))
    return app
