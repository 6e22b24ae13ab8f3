"""The mock LUCS's HTTP layer: routes, status codes, the error envelope, the control endpoint.

A thin Starlette app over `Lucs`: it parses and schema-checks bodies, maps each kind of
`DomainError` to its status (`STATUS`) in LUCS's envelope `{"Error": {"Code", "Message"}}`, and
lets the faults that live on the wire (`faulty.WIRE`: 500, not JSON, slow, extra body, wrong status,
a user DTO with a field of the wrong type or missing) wrap the handlers they break. Mock-only
endpoints live under `/_mock/`. Its
`Conventions` say how it serves what LUCS does not document (paths, the close call, the presence
field, the task id's form, where the API key goes).

Every bad input is a 4xx in the envelope, never a 500 or a hang: a body over `max_body` bytes is a
413 (refused on its declared length, or as soon as a chunked one passes the limit), and JSON nested
deeper than `MAX_JSON_DEPTH` is a 400 before anything recursive (the schema validator) sees it.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lucs_harness.contract import Contract, default_contract
from lucs_harness.json_bounds import MAX_JSON_DEPTH, value_nests_deeper_than
from lucs_harness.key_placement import DEFAULT_KEY_PLACEMENT
from lucs_harness.mock.auth import CONTROL_PREFIX, MockAuth, auth_middleware
from lucs_harness.mock.conventions import API_KEY, CLOSE_TASK, Close, Conventions
from lucs_harness.mock.domain import Conflict, DomainError, Invalid, Lucs, NotFound, iso_utc
from lucs_harness.mock.faults import Faults, UnknownFault, parse_faults
from lucs_harness.mock.faulty import FaultyLucs, Wire
from lucs_harness.mock.openapi import CONTROL_OPENAPI_PATH, MAX_ADVANCE, build_control_openapi, build_openapi
from lucs_harness.operations import OPERATIONS, PARAMETER, Operation

Handler = Callable[[Request], Awaitable[Response]]


class Json(JSONResponse):
    """JSON rendered by orjson: several times faster than the standard library on the users list."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


MAX_BODY = 1024 * 1024  # bytes (1 MiB): LUCS bodies are a few hundred bytes; this bounds a request's memory


class TooLarge(DomainError):
    """A body over the limit: refused by the HTTP layer before the domain sees the request."""


STATUS: dict[type[DomainError], int] = {Invalid: 400, NotFound: 404, Conflict: 409, TooLarge: 413}


def error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Json:
    """A response in LUCS's documented error envelope."""
    return Json({"Error": {"Code": code, "Message": message}}, status_code=status, headers=headers)


def _too_large(limit: int) -> TooLarge:
    return TooLarge("PayloadTooLarge", f"the request body is larger than {limit} bytes")


def _refuse_declared_excess(request: Request, limit: int) -> None:
    """Refuse on the headers alone, before a byte of the body is read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)


async def _read(request: Request, limit: int) -> bytes:
    """The body, read no further than `limit` bytes: a chunked body declares no length up front."""
    _refuse_declared_excess(request, limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


async def _json(request: Request, limit: int) -> Any:
    """The body (at most `limit` bytes) as JSON, strictly: orjson refuses NaN, infinities, lone
    surrogates and nesting deeper than 1024, each of which the standard library lets through to crash
    a later step; nesting deeper than `MAX_JSON_DEPTH` is refused here."""
    try:
        body = orjson.loads(await _read(request, limit))
    except orjson.JSONDecodeError:
        raise Invalid("InvalidJson", "the request body is not valid JSON") from None
    if value_nests_deeper_than(body, MAX_JSON_DEPTH):
        raise Invalid("InvalidJson", f"the request body nests deeper than {MAX_JSON_DEPTH} levels")
    return body


async def _body(request: Request, contract: Contract, schema: str, limit: int) -> Any:
    """The body, checked against `schema`; kept as `request.state.body` (a wire fault may echo it)."""
    body = await _json(request, limit)
    verdict = contract.check(schema, body)
    if verdict.violations:
        raise Invalid("InvalidArgument", "; ".join(verdict.violations))
    request.state.body = body
    return body


def lucs_routes(handlers: Mapping[str, Handler], operations: Mapping[str, Operation] = OPERATIONS) -> list[Route]:
    """The LUCS routes, one per path of the operations table (so a 405 lists every method of the
    path in `Allow`), each method answered by the handler of its operation. A literal segment is
    tried before a parameter in its place (`/tasks/search` before `/tasks/{id}`), as servers route."""
    by_path: dict[str, dict[str, Handler]] = {}
    for name, operation in operations.items():
        by_path.setdefault(operation.route, {})[operation.method] = handlers[name]
    ordered = sorted(by_path, key=lambda path: [PARAMETER.fullmatch(part) is not None for part in path.split("/")])
    return [Route(path, _by_method(by_path[path]), methods=list(by_path[path])) for path in ordered]


def parameter(request: Request, name: str) -> str:
    """A parameter of the operation's template: in the path, else in the query (required there)."""
    value = request.path_params.get(name) or request.query_params.get(name)
    if not value:
        raise Invalid("InvalidArgument", f"the query parameter {name} is required")
    return str(value)


def _by_method(methods: dict[str, Handler]) -> Handler:
    async def dispatch(request: Request) -> Response:
        return await methods["GET" if request.method == "HEAD" else request.method](request)

    return dispatch


def create_app(
    lucs: Lucs,
    contract: Contract | None = None,
    auth: MockAuth | None = None,
    latency: float = 0.0,
    max_body: int = MAX_BODY,
    conventions: Conventions | None = None,
) -> Starlette:
    """The ASGI app serving `lucs`; `auth` makes it demand credentials like a real installation,
    `latency` (seconds) delays every LUCS answer like a server across a network (it costs no CPU),
    `max_body` (bytes) is the largest request body read, `conventions` how it serves what LUCS does
    not document (the task State names are `lucs`'s, so they must agree). A `FaultyLucs` (as
    `MockServer` builds) has its faults switched at `/_mock/faults`; a `Lucs` is served faithful."""
    contract = contract or default_contract()
    conventions = conventions or Conventions()
    key_place = auth.place if auth is not None else DEFAULT_KEY_PLACEMENT
    if lucs.state_names != conventions.task_states:
        raise ValueError(f"the domain names task states {lucs.state_names}, the conventions {conventions.task_states}")
    faults = lucs.faults if isinstance(lucs, FaultyLucs) else Faults()
    on_the_wire = Wire(faults, conventions.presence_field)
    operations = conventions.operations()
    wire = conventions.contract(contract)  # what request bodies are checked against
    document = build_openapi(contract, auth, lucs.seed, max_body, conventions)
    control_document = build_control_openapi(contract, auth, max_body, conventions)

    def guarded(handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            try:
                _refuse_declared_excess(request, max_body)
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

    async def services(request: Request) -> Response:
        return Json(lucs.list_services())

    async def users(request: Request) -> Response:
        return Json(lucs.list_users(parameter(request, "serviceId")))

    async def service_tasks(request: Request) -> Response:
        return Json(lucs.service_tasks(parameter(request, "serviceId")))

    async def block(request: Request) -> Response:
        return Json(lucs.block_user(parameter(request, "userId")))

    async def unblock(request: Request) -> Response:
        return Json(lucs.unblock_user(parameter(request, "userId")))

    async def set_presence(request: Request) -> Response:
        body = await _body(request, wire, "presence-request.json", max_body)
        lucs.set_presence(parameter(request, "userId"), body[conventions.presence_field])
        return Response(status_code=200)

    async def create_task(request: Request) -> Response:
        body = await _body(request, wire, "task-request.json", max_body)
        return Json(conventions.task_id_answer(lucs.create_task(body)))

    async def get_task(request: Request) -> Response:
        return Json(lucs.get_task(parameter(request, "taskIdentifier")))

    async def close_task(request: Request) -> Response:
        lucs.close_task(parameter(request, "taskIdentifier"), by_id=conventions.close is Close.DELETE_BY_ID)
        return Response(status_code=operations[CLOSE_TASK].status)

    async def create_callback(request: Request) -> Response:
        body = await _body(request, wire, "callback-request.json", max_body)
        return Json(lucs.create_callback(body))

    async def get_callback(request: Request) -> Response:
        return Json(lucs.get_callback(parameter(request, "externalTaskId")))

    async def search_callbacks(request: Request) -> Response:
        body = await _body(request, wire, "callback-search.json", max_body)
        return Json(lucs.search_callbacks(body))

    async def cancel_callback(request: Request) -> Response:
        lucs.cancel_callback(parameter(request, "callbackId"))
        return Response(status_code=200)

    def state() -> dict[str, Any]:
        """The domain's state and the faults on."""
        snapshot = lucs.snapshot()
        return {"now": snapshot.pop("now"), "faults": sorted(f.value for f in faults.active), **snapshot}

    async def control_reset(request: Request) -> Response:
        lucs.reset()
        return Json(state())

    async def control_state(request: Request) -> Response:
        return Json(state())

    async def control_conventions(request: Request) -> Response:
        return Json({API_KEY: str(key_place)} | conventions.as_dict())

    async def control_faults(request: Request) -> Response:
        if request.method == "PUT":
            names = await _json(request, max_body)
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise Invalid("InvalidArgument", "expected a JSON array of fault names")
            try:
                chosen = parse_faults(names)
            except UnknownFault as bad:
                raise Invalid("InvalidArgument", str(bad)) from None
            if chosen and not isinstance(lucs, FaultyLucs):
                raise Invalid("InvalidArgument", "this mock serves the faithful rules (a Lucs): no fault can be on")
            faults.set(chosen)
        return Json(sorted(f.value for f in faults.active))

    async def control_clock(request: Request) -> Response:
        body = await _json(request, max_body) if request.method == "POST" else {}
        seconds = body.get("advance", 0) if isinstance(body, dict) else None
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0 <= seconds <= MAX_ADVANCE:
            raise Invalid("InvalidArgument", f'expected {{"advance": <seconds from 0 to {MAX_ADVANCE}>}}')
        # time stops in the calendar's last second, so every step the document allows is taken in any state
        room = math.floor((datetime.max.replace(tzinfo=UTC) - lucs.clock.now()).total_seconds())
        return Json({"now": iso_utc(lucs.advance(min(seconds, room)))})

    def served(described: dict[str, Any]) -> Handler:
        """A document, naming the address it was asked at as its server."""

        async def openapi(request: Request) -> Response:
            return Json(described | {"servers": [{"url": str(request.base_url).rstrip("/")}]})

        return openapi

    handlers: dict[str, Handler] = {
        "list_services": services,
        "list_users": users,
        "service_tasks": service_tasks,
        "block_user": block,
        "unblock_user": unblock,
        "set_presence": set_presence,
        "create_task": create_task,
        "get_task": get_task,
        "close_task": close_task,
        "create_callback": create_callback,
        "get_callback": get_callback,
        "search_callbacks": search_callbacks,
        "cancel_callback": cancel_callback,
    }
    routes = [
        *lucs_routes({name: guarded(on_the_wire.wrap(name, answer)) for name, answer in handlers.items()}, operations),
        Route("/_mock/reset", guarded(control_reset), methods=["POST"]),
        Route("/_mock/state", guarded(control_state), methods=["GET"]),
        Route("/_mock/faults", guarded(control_faults), methods=["GET", "PUT"]),
        Route("/_mock/clock", guarded(control_clock), methods=["GET", "POST"]),
        Route("/_mock/conventions", guarded(control_conventions), methods=["GET"]),
        Route("/openapi.json", served(document), methods=["GET"]),
        Route(CONTROL_OPENAPI_PATH, served(control_document), methods=["GET"]),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        """Starlette's refusals (404, 405) in the envelope, keeping their headers (a 405's `Allow`)."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        headers = exc.headers if isinstance(exc, HTTPException) else None
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(status, "Error")
        message = f"{request.method} {request.url.path}: {getattr(exc, 'detail', 'error')}"
        return error(status, code, message, headers)

    async def crash(request: Request, exc: Exception) -> Response:
        return error(500, "InternalError", f"{type(exc).__name__}: {exc}")

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: crash})
    if auth is not None and auth.demanding:
        app.add_middleware(auth_middleware(auth))
    return app
