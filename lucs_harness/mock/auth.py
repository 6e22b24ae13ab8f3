"""Credentials the mock can demand, so the suite's auth modes are tested against a real 401."""

from __future__ import annotations

import base64
import hmac
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

MODES = ("none", "basic", "bearer", "apikey")
CONTROL_PREFIX = "/_mock/"
OPENAPI_PATH = "/openapi.json"
DEFAULT_KEY_HEADER = "X-API-Key"
KEY_PLACES = ("header", "authorization", "query")  # where an API key may travel
KEY_FORMS = "header:<Header-Name>, authorization:<Scheme> (e.g. ApiKey, Bearer), query:<parameter>"
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name or auth scheme (RFC 9110 token)
_QUERY_NAME = re.compile(r"[A-Za-z0-9._~-]+")  # a query parameter name that needs no percent-encoding


@dataclass(frozen=True)
class KeyPlace:
    """Where a request carries the API key: LUCS documents the key but not where it goes, so an
    installation may read it from any header, the Authorization header under a scheme, or the query."""

    kind: str  # one of KEY_PLACES
    name: str  # the header name, the Authorization scheme, or the query parameter

    def __post_init__(self) -> None:
        if self.kind not in KEY_PLACES:
            raise ValueError(f"unknown API key place {self.kind!r}; known: {KEY_FORMS}")
        pattern = _QUERY_NAME if self.kind == "query" else _TOKEN
        if not pattern.fullmatch(self.name):
            raise ValueError(f"{self.kind}:{self.name!r} is not a {self.kind} name the key can travel in")

    @classmethod
    def parse(cls, text: str) -> KeyPlace:
        """`header:X-API-Key`, `authorization:ApiKey`, `query:api_key`."""
        kind, colon, name = text.partition(":")
        if not colon or kind not in KEY_PLACES or not name:
            raise ValueError(f"{text!r} names no API key place; known forms: {KEY_FORMS}")
        return cls(kind, name)

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"

    def carried(self, request: Request) -> str:
        """The key as the request carries it at this place; "" when it carries none there."""
        if self.kind == "query":
            return request.query_params.get(self.name, "")
        value = request.headers.get("Authorization" if self.kind == "authorization" else self.name, "")
        if self.kind == "header":
            return value
        scheme, _, key = value.partition(" ")
        return key.lstrip(" ") if scheme.lower() == self.name.lower() else ""  # schemes are case-insensitive

    def headers(self, key: str) -> dict[str, str]:
        """The headers a client sends the key in (none for a query key)."""
        if self.kind == "header":
            return {self.name: key}
        return {"Authorization": f"{self.name} {key}"} if self.kind == "authorization" else {}

    def params(self, key: str) -> dict[str, str]:
        """The query parameters a client sends the key in (none for a header key)."""
        return {self.name: key} if self.kind == "query" else {}

    def security_scheme(self) -> dict[str, Any]:
        """This place as an OpenAPI security scheme."""
        if self.kind == "authorization":
            return {"type": "http", "scheme": self.name}
        return {"type": "apiKey", "in": self.kind, "name": self.name}


DEFAULT_KEY_PLACE = KeyPlace("header", DEFAULT_KEY_HEADER)


@dataclass(frozen=True)
class MockAuth:
    """What the mock accepts: one mode and its secret (user:password for basic), and the methods the
    credentials' API roles allow (LUCS limits keys to GET, POST, DELETE by role; a missing role is a 401).
    An API key is read at `place` (by default the header `header`); anywhere else it is no key.

    The control endpoints (`/_mock/*`) demand the same credentials but no role: roles model what a LUCS
    key may do, and `PUT /_mock/faults` is no LUCS method, so a read-only key must not lose the harness
    its control. The OpenAPI document is open to anyone, as a tool reads it before it has credentials."""

    mode: str
    secret: str
    header: str = DEFAULT_KEY_HEADER
    roles: frozenset[str] = frozenset({"GET", "POST", "DELETE"})
    place: KeyPlace | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown auth mode {self.mode!r}; known: {', '.join(MODES)}")
        if self.mode != "none" and not self.secret.strip():
            raise ValueError(f"auth mode {self.mode!r} needs a secret (--secret); an empty one would admit anyone")
        if self.mode == "basic" and ":" not in self.secret:
            raise ValueError("auth mode 'basic' needs a secret of the form user:password")

    @property
    def key_place(self) -> KeyPlace:
        """Where an API key is read (`mode` apikey)."""
        return self.place or KeyPlace("header", self.header)

    @property
    def demanding(self) -> bool:
        """True when requests need credentials at all."""
        return self.mode != "none"

    @cached_property
    def _place(self) -> tuple[KeyPlace, str]:
        """Where the credentials go and what they are there: basic and bearer are Authorization schemes.
        Worked out once: every request the mock answers is checked against it."""
        if self.mode == "basic":
            return KeyPlace("authorization", "Basic"), base64.b64encode(self.secret.encode()).decode()
        if self.mode == "bearer":
            return KeyPlace("authorization", "Bearer"), self.secret
        return self.key_place, self.secret

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
        return self.key_place.security_scheme()

    def allows(self, request: Request) -> bool:
        """True when the request carries the expected credentials at their place (compared in
        constant time) and, on the LUCS API, uses a method of the roles."""
        path = request.url.path
        if not self.demanding or path == OPENAPI_PATH:
            return True
        place, expected = self._place
        if not hmac.compare_digest(place.carried(request).encode(), expected.encode()):
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
