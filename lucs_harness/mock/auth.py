"""Credentials the mock can demand, so the suite's auth modes are tested against a real 401."""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lucs_harness.key_placement import DEFAULT_KEY_PLACEMENT, KeyPlacement

MODES = ("none", "basic", "bearer", "apikey")
CONTROL_PREFIX = "/_mock/"
OPENAPI_PATH = "/openapi.json"
_AUTHORIZATION_BASIC = KeyPlacement("header", "Authorization", "Basic")
_AUTHORIZATION_BEARER = KeyPlacement("header", "Authorization", "Bearer")


def _carried(place: KeyPlacement, request: Request) -> str:
    """The key as the request carries it at `place`; "" when it carries none there."""
    if place.where == "query":
        return request.query_params.get(place.name, "")
    value = request.headers.get(place.name, "")
    if not place.scheme:
        return value
    scheme, _, key = value.partition(" ")
    return key.lstrip(" ") if scheme.lower() == place.scheme.lower() else ""  # schemes are case-insensitive


def _security_scheme(place: KeyPlacement) -> dict[str, Any]:
    """`place` as an OpenAPI security scheme: an Authorization scheme is http's, the rest apiKey."""
    if place.scheme and place.name.lower() == "authorization":
        return {"type": "http", "scheme": place.scheme}
    return {"type": "apiKey", "in": place.where, "name": place.name}


@dataclass(frozen=True)
class MockAuth:
    """What the mock accepts: one mode and its secret (user:password for basic), and the methods the
    credentials' API roles allow (LUCS limits keys to GET, POST, DELETE by role; a missing role is a 401).
    An API key is read at `place` (by default the header X-API-Key); anywhere else it is no key. The
    mock keeps the key's place here only: the `api-key` convention and `--api-key-header` set it.

    The control endpoints (`/_mock/*`) demand the same credentials but no role: roles model what a LUCS
    key may do, and `PUT /_mock/faults` is no LUCS method, so a read-only key must not lose the harness
    its control. The OpenAPI document is open to anyone, as a tool reads it before it has credentials."""

    mode: str
    secret: str
    place: KeyPlacement = DEFAULT_KEY_PLACEMENT
    roles: frozenset[str] = frozenset({"GET", "POST", "DELETE"})

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown auth mode {self.mode!r}; known: {', '.join(MODES)}")
        if self.mode != "none" and not self.secret.strip():
            raise ValueError(f"auth mode {self.mode!r} needs a secret (--secret); an empty one would admit anyone")
        if self.mode == "basic" and ":" not in self.secret:
            raise ValueError("auth mode 'basic' needs a secret of the form user:password")

    @property
    def demanding(self) -> bool:
        """True when requests need credentials at all."""
        return self.mode != "none"

    @cached_property
    def _place(self) -> tuple[KeyPlacement, str]:
        """Where the credentials go and what they are there: basic and bearer are Authorization schemes.
        Worked out once: every request the mock answers is checked against it."""
        if self.mode == "basic":
            return _AUTHORIZATION_BASIC, base64.b64encode(self.secret.encode()).decode()
        if self.mode == "bearer":
            return _AUTHORIZATION_BEARER, self.secret
        return self.place, self.secret

    def headers(self) -> dict[str, str]:
        """The headers a client sends to pass, e.g. to `MockControl(url, headers=auth.headers())`."""
        if not self.demanding:
            return {}
        place, value = self._place
        return place.headers(value)

    def params(self) -> dict[str, str]:
        """The query parameters a client sends to pass (an API key read from the query)."""
        if not self.demanding:
            return {}
        place, value = self._place
        return place.params(value)

    def security_scheme(self) -> dict[str, Any]:
        """The credentials as an OpenAPI security scheme."""
        if self.mode in ("basic", "bearer"):
            return {"type": "http", "scheme": self.mode}
        return _security_scheme(self.place)

    def allows(self, request: Request) -> bool:
        """True when the request carries the expected credentials at their place (compared in
        constant time) and, on the LUCS API, uses a method of the roles."""
        path = request.url.path
        if not self.demanding or path == OPENAPI_PATH:
            return True
        place, expected = self._place
        if not hmac.compare_digest(_carried(place, request).encode(), expected.encode()):
            return False
        return path.startswith(CONTROL_PREFIX) or request.method in self.roles


def auth_middleware(auth: MockAuth) -> type[BaseHTTPMiddleware]:
    """Starlette middleware answering 401 in the LUCS envelope when `auth` refuses a request."""

    class _Auth(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            if auth.allows(request):
                return await call_next(request)
            return JSONResponse(
                {"Error": {"Code": "Unauthorized", "Message": "missing or wrong credentials"}}, status_code=401
            )

    return _Auth
