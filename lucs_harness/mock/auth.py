"""Credentials the mock can demand, so the suite's auth modes are tested against a real 401."""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

MODES = ("none", "basic", "bearer", "apikey")
CONTROL_PREFIX = "/_mock/"
OPENAPI_PATH = "/openapi.json"


@dataclass(frozen=True)
class MockAuth:
    """What the mock accepts: one mode and its secret (user:password for basic), and the methods the
    credentials' API roles allow (LUCS limits keys to GET, POST, DELETE by role; a missing role is a 401).

    The control endpoints (`/_mock/*`) demand the same credentials but no role: roles model what a LUCS
    key may do, and `PUT /_mock/faults` is no LUCS method, so a read-only key must not lose the harness
    its control. The OpenAPI document is open to anyone, as a tool reads it before it has credentials."""

    mode: str
    secret: str
    header: str = "X-API-Key"
    roles: frozenset[str] = frozenset({"GET", "POST", "DELETE"})

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown auth mode {self.mode!r}; known: {', '.join(MODES)}")
        if self.mode != "none" and not self.secret.strip():
            raise ValueError(f"auth mode {self.mode!r} needs a secret (--secret); an empty one would admit anyone")
        if self.mode == "basic" and ":" not in self.secret:
            raise ValueError("auth mode 'basic' needs a secret of the form user:password")

    def expected(self) -> tuple[str, str] | None:
        """The header name and value a request must carry, or None when anything goes."""
        if self.mode == "basic":
            return "Authorization", "Basic " + base64.b64encode(self.secret.encode()).decode()
        if self.mode == "bearer":
            return "Authorization", f"Bearer {self.secret}"
        if self.mode == "apikey":
            return self.header, self.secret
        return None

    def headers(self) -> dict[str, str]:
        """The headers a client sends to pass, e.g. to `MockControl(url, headers=auth.headers())`."""
        expected = self.expected()
        return {} if expected is None else dict([expected])

    def allows(self, request: Request) -> bool:
        """True when the request carries the expected credentials (compared in constant time) and, on
        the LUCS API, uses a method of the roles."""
        expected = self.expected()
        path = request.url.path
        if expected is None or path == OPENAPI_PATH:
            return True
        name, value = expected
        if not hmac.compare_digest(request.headers.get(name, "").encode(), value.encode()):
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
