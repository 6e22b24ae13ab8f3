"""How the mock reads a request and writes an answer: JSON both ways (orjson), the body limit, a
template's parameters, and LUCS's error envelope with the status of each kind of refusal.

Every bad input is a 4xx in the envelope, never a 500 or a hang: a body over the limit is a 413
(refused on its declared length, or as soon as a chunked one passes the limit), and JSON nested
deeper than `MAX_JSON_DEPTH` is a 400 before anything recursive (the schema validator) sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse

from lucs_harness.contract import Contract
from lucs_harness.json_bounds import MAX_JSON_DEPTH, value_nests_deeper_than
from lucs_harness.mock.domain import Conflict, DomainError, Invalid, NotFound

MAX_BODY = 1024 * 1024  # bytes (1 MiB): LUCS bodies are a few hundred bytes; this bounds a request's memory


class Json(JSONResponse):
    """JSON rendered by orjson: several times faster than the standard library on the users list."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class TooLarge(DomainError):
    """A body over the limit: refused by the HTTP layer before the domain sees the request."""


STATUS: dict[type[DomainError], int] = {Invalid: 400, NotFound: 404, Conflict: 409, TooLarge: 413}


def error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Json:
    """A response in LUCS's documented error envelope."""
    return Json({"Error": {"Code": code, "Message": message}}, status_code=status, headers=headers)


def _too_large(limit: int) -> TooLarge:
    return TooLarge("PayloadTooLarge", f"the request body is larger than {limit} bytes")


def refuse_declared_excess(request: Request, limit: int) -> None:
    """Refuse on the headers alone, before a byte of the body is read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)


async def _read(request: Request, limit: int) -> bytes:
    """The body, read no further than `limit` bytes: a chunked body declares no length up front."""
    refuse_declared_excess(request, limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


async def read_json(request: Request, limit: int) -> Any:
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


async def checked_body(request: Request, contract: Contract, schema: str, limit: int) -> Any:
    """The body, checked against `schema`; kept as `request.state.body` (a wire fault may echo it)."""
    body = await read_json(request, limit)
    verdict = contract.check(schema, body)
    if verdict.violations:
        raise Invalid("InvalidArgument", "; ".join(verdict.violations))
    request.state.body = body
    return body


def parameter(request: Request, name: str) -> str:
    """A parameter of the operation's template: in the path, else in the query (required there)."""
    value = request.path_params.get(name) or request.query_params.get(name)
    if not value:
        raise Invalid("InvalidArgument", f"the query parameter {name} is required")
    return str(value)
