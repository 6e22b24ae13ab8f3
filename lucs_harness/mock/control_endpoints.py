"""The mock's own endpoints (`/_mock/...`: reset, state, faults, clock, conventions) and its two
OpenAPI documents, which a real LUCS does not have. Module-level Starlette endpoints: what they serve
is the app's `state.mock` (`Served`, set by `app.create_app`); `mock/control.py` is their client."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from lucs_harness.key_placement import KeyPlacement
from lucs_harness.mock.auth import OPENAPI_PATH
from lucs_harness.mock.bodies import Json, read_json
from lucs_harness.mock.conventions import API_KEY, Conventions
from lucs_harness.mock.domain import Invalid, Lucs, iso_utc
from lucs_harness.mock.faults import Faults, UnknownFault, parse_faults
from lucs_harness.mock.faulty import FaultyLucs
from lucs_harness.mock.openapi import CONTROL_OPENAPI_PATH, MAX_ADVANCE

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Served:
    """What one app serves beside the LUCS routes: the domain, its fault switch, the conventions,
    where the API key goes, the body limit and the two documents."""

    lucs: Lucs
    faults: Faults
    conventions: Conventions
    key_place: KeyPlacement
    max_body: int
    document: dict[str, Any]
    control_document: dict[str, Any]


def served(request: Request) -> Served:
    """The `Served` of the app answering `request`."""
    mock: Served = request.app.state.mock
    return mock


def _state(mock: Served) -> dict[str, Any]:
    """The domain's state and the faults on."""
    snapshot = mock.lucs.snapshot()
    return {"now": snapshot.pop("now"), "faults": sorted(f.value for f in mock.faults.active), **snapshot}


async def reset(request: Request) -> Response:
    mock = served(request)
    mock.lucs.reset()
    return Json(_state(mock))


async def state(request: Request) -> Response:
    return Json(_state(served(request)))


async def conventions(request: Request) -> Response:
    mock = served(request)
    return Json({API_KEY: str(mock.key_place)} | mock.conventions.as_dict())


async def faults(request: Request) -> Response:
    """GET the faults on; PUT a JSON array of fault names to switch exactly those on (a `FaultyLucs` only)."""
    mock = served(request)
    if request.method == "PUT":
        names = await read_json(request, mock.max_body)
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise Invalid("InvalidArgument", "expected a JSON array of fault names")
        try:
            chosen = parse_faults(names)
        except UnknownFault as bad:
            raise Invalid("InvalidArgument", str(bad)) from None
        if chosen and not isinstance(mock.lucs, FaultyLucs):
            raise Invalid("InvalidArgument", "this mock serves the faithful rules (a Lucs): no fault can be on")
        mock.faults.set(chosen)
    return Json(sorted(f.value for f in mock.faults.active))


async def clock(request: Request) -> Response:
    """GET the simulated time; POST `{"advance": seconds}` to move it (due events fire)."""
    mock = served(request)
    body = await read_json(request, mock.max_body) if request.method == "POST" else {}
    seconds = body.get("advance", 0) if isinstance(body, dict) else None
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0 <= seconds <= MAX_ADVANCE:
        raise Invalid("InvalidArgument", f'expected {{"advance": <seconds from 0 to {MAX_ADVANCE}>}}')
    # time stops in the calendar's last second, so every step the document allows is taken in any state
    room = math.floor((datetime.max.replace(tzinfo=UTC) - mock.lucs.clock.now()).total_seconds())
    return Json({"now": iso_utc(mock.lucs.advance(min(seconds, room)))})


def _with_server(described: dict[str, Any], request: Request) -> Response:
    """A document, naming the address it was asked at as its server."""
    return Json(described | {"servers": [{"url": str(request.base_url).rstrip("/")}]})


async def lucs_document(request: Request) -> Response:
    return _with_server(served(request).document, request)


async def control_document(request: Request) -> Response:
    return _with_server(served(request).control_document, request)


CONTROL: tuple[tuple[str, Endpoint, tuple[str, ...]], ...] = (
    ("/_mock/reset", reset, ("POST",)),
    ("/_mock/state", state, ("GET",)),
    ("/_mock/faults", faults, ("GET", "PUT")),
    ("/_mock/clock", clock, ("GET", "POST")),
    ("/_mock/conventions", conventions, ("GET",)),
)  # (path, endpoint, methods): each guarded (body limit, the error envelope)
DOCUMENTS: tuple[tuple[str, Endpoint], ...] = (
    (OPENAPI_PATH, lucs_document),
    (CONTROL_OPENAPI_PATH, control_document),
)  # (path, endpoint), GET only and unguarded
