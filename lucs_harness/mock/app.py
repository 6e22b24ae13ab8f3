"""The mock LUCS's HTTP layer: routes, status codes, the error envelope, the control endpoint.

A thin Starlette app over `Lucs`: it parses and schema-checks bodies, maps `DomainError` to a 4xx
in LUCS's envelope `{"Error": {"Code", "Message"}}`, and applies the faults that live on the wire
(500, not JSON, slow, extra body, wrong status). Mock-only endpoints live under `/_mock/`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lucs_harness.contract import Contract, default_contract
from lucs_harness.mock.auth import MockAuth, auth_middleware
from lucs_harness.mock.domain import DomainError, Lucs, iso_utc
from lucs_harness.mock.faults import Fault, UnknownFault, parse_faults
from lucs_harness.mock.openapi import build_openapi

Handler = Callable[[Request], Awaitable[Response]]


class Json(JSONResponse):
    """JSON rendered by orjson: several times faster than the standard library on the users list."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


SLOW_SECONDS = 12.0  # beyond the client's default read timeout (10 s)


def error(status: int, code: str, message: str) -> Json:
    """A response in LUCS's documented error envelope."""
    return Json({"Error": {"Code": code, "Message": message}}, status_code=status)


async def _json(request: Request) -> Any:
    """The body as JSON, strictly: orjson refuses NaN, infinities, lone surrogates and nesting deeper
    than 1024, each of which the standard library lets through to crash a later step."""
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise DomainError(400, "InvalidJson", "the request body is not valid JSON") from None


async def _body(request: Request, contract: Contract, schema: str) -> Any:
    body = await _json(request)
    verdict = contract.check(schema, body)
    if verdict.violations:
        raise DomainError(400, "InvalidArgument", "; ".join(verdict.violations))
    return body


def create_app(
    lucs: Lucs, contract: Contract | None = None, auth: MockAuth | None = None, latency: float = 0.0
) -> Starlette:
    """The ASGI app serving `lucs`; `auth` makes it demand credentials like a real installation,
    `latency` (seconds) delays every LUCS answer like a server across a network (it costs no CPU)."""
    contract = contract or default_contract()
    faults = lucs.faults
    document = build_openapi(contract, auth, lucs.seed)

    def guarded(handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            if latency and not request.url.path.startswith("/_mock/"):
                await asyncio.sleep(latency)
            try:
                return await handler(request)
            except DomainError as refused:
                return error(refused.status, refused.code, refused.message)

        return run

    async def services(request: Request) -> Response:
        return Json(lucs.services_list())

    async def users(request: Request) -> Response:
        if Fault.SLOW_RESPONSE in faults:
            await asyncio.sleep(SLOW_SECONDS)
        if Fault.LIST_500 in faults:
            return error(500, "NotInitialized", "the service is not initialized")
        listed = lucs.users_of(request.path_params["serviceId"])
        if Fault.NOT_JSON in faults:
            return Response("<html><body>Runtime Error</body></html>", media_type="text/html")
        return Json(listed)

    async def service_tasks(request: Request) -> Response:
        return Json(lucs.tasks_of(request.path_params["serviceId"]))

    async def block(request: Request) -> Response:
        return Json(lucs.block(request.path_params["userId"]))

    async def unblock(request: Request) -> Response:
        return Json(lucs.unblock(request.path_params["userId"]))

    async def set_presence(request: Request) -> Response:
        body = await _body(request, contract, "presence-request.json")
        lucs.set_presence(request.path_params["userId"], body["Presence"])
        if Fault.PRESENCE_RETURNS_BODY in faults:
            return Json({"Presence": body["Presence"]})
        return Response(status_code=202 if Fault.PRESENCE_WRONG_STATUS in faults else 200)

    async def create_task(request: Request) -> Response:
        body = await _body(request, contract, "task-request.json")
        return Json(lucs.create_task(body))

    async def get_task(request: Request) -> Response:
        return Json(lucs.task(request.path_params["taskIdentifier"]))

    async def close_task(request: Request) -> Response:
        lucs.close_task(request.path_params["taskIdentifier"])
        return Response(status_code=204)

    async def control_reset(request: Request) -> Response:
        lucs.reset()
        return Json(lucs.snapshot())

    async def control_state(request: Request) -> Response:
        return Json(lucs.snapshot())

    async def control_faults(request: Request) -> Response:
        if request.method == "PUT":
            names = await _json(request)
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise DomainError(400, "InvalidArgument", "expected a JSON array of fault names")
            try:
                faults.set(parse_faults(names))
            except UnknownFault as bad:
                raise DomainError(400, "InvalidArgument", str(bad)) from None
        return Json(sorted(f.value for f in faults.active))

    async def control_clock(request: Request) -> Response:
        body = await _json(request) if request.method == "POST" else {}
        seconds = body.get("advance", 0) if isinstance(body, dict) else None
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise DomainError(400, "InvalidArgument", 'expected {"advance": <seconds >= 0>}')
        return Json({"now": iso_utc(lucs.advance(seconds))})

    async def openapi(request: Request) -> Response:
        return Json(document | {"servers": [{"url": str(request.base_url).rstrip("/")}]})

    routes = [
        Route("/v1.0/services", guarded(services), methods=["GET"]),
        Route("/v1.0/services/{serviceId}/users", guarded(users), methods=["GET"]),
        Route("/v1.0/services/{serviceId}/tasks", guarded(service_tasks), methods=["GET"]),
        Route("/v1.0/users/{userId}/block", guarded(block), methods=["POST"]),
        Route("/v1.0/users/{userId}/unblock", guarded(unblock), methods=["POST"]),
        Route("/v1.0/users/{userId}/setpresence", guarded(set_presence), methods=["POST"]),
        Route("/v1.0/tasks", guarded(create_task), methods=["POST"]),
        Route("/v1.0/tasks/{taskIdentifier}", guarded(get_task), methods=["GET"]),
        Route("/v1.0/tasks/{taskIdentifier}", guarded(close_task), methods=["DELETE"]),
        Route("/_mock/reset", guarded(control_reset), methods=["POST"]),
        Route("/_mock/state", guarded(control_state), methods=["GET"]),
        Route("/_mock/faults", guarded(control_faults), methods=["GET", "PUT"]),
        Route("/_mock/clock", guarded(control_clock), methods=["GET", "POST"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(status, "Error")
        return error(status, code, f"{request.method} {request.url.path}: {getattr(exc, 'detail', 'error')}")

    async def crash(request: Request, exc: Exception) -> Response:
        return error(500, "InternalError", f"{type(exc).__name__}: {exc}")

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: crash})
    if auth is not None:
        app.add_middleware(auth_middleware(auth))
    return app
