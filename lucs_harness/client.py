"""The LUCS API client: one `requests.Session`, explicit timeouts, the configured path table,
and a schema check of every body sent and received.

Every failure becomes one `AssertionError` subclass whose message names the method, the URL and
the status, so a failed step reads as a sentence a QA engineer can act on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3 import BaseHTTPResponse
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from lucs_harness.auth import session_auth
from lucs_harness.config import LucsConfig
from lucs_harness.contract import Contract, SchemaViolation, default_contract
from lucs_harness.redact import Redactor


@dataclass(frozen=True)
class Operation:
    """One documented function: method, request and response schema, statuses that mean success."""

    method: str
    request_schema: str | None = None
    response_schema: str | None = None
    success: tuple[int, ...] = (200,)
    empty_response: bool = False


OPERATIONS: dict[str, Operation] = {
    "list_services": Operation("GET", response_schema="service-list.json"),
    "list_users": Operation("GET", response_schema="user-list.json"),
    "service_tasks": Operation("GET", response_schema="task-list.json"),
    "block_user": Operation("POST", response_schema="user.json"),
    "unblock_user": Operation("POST", response_schema="user.json"),
    "set_presence": Operation("POST", request_schema="presence-request.json", empty_response=True),
    "create_task": Operation("POST", request_schema="task-request.json", response_schema="task-id.json"),
    "get_task": Operation("GET", response_schema="task.json"),
    "close_task": Operation("DELETE", success=(200, 204)),
}
ERROR_SCHEMA = "error.json"


class LucsError(AssertionError):
    """Base of every failure the client reports."""


class TransportError(LucsError):
    """No HTTP answer: refused, timed out, TLS failure."""


class Unreachable(TransportError):
    """No connection at all: refused, unresolvable host, connect timeout, TLS handshake failure."""


def _unreachable(error: requests.RequestException) -> bool:
    """True unless the server was reached and only the answer was late."""
    if isinstance(error, requests.ReadTimeout):
        return False
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(error, requests.ConnectionError) and not isinstance(reason, ReadTimeoutError)


class UnexpectedStatus(LucsError):
    """An HTTP status the step did not expect."""


class CredentialsRefused(UnexpectedStatus):
    """401: the configured credentials were refused; no later call can succeed."""


class NotJson(LucsError):
    """A body that should be JSON but is not."""


@dataclass
class Exchange:
    """One request and its response, as the steps and the reports see it."""

    operation: str
    method: str
    url: str
    request_body: Any = None
    params: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    response_body: Any = None
    response_text: str = ""
    elapsed_ms: float = 0.0
    request_headers: dict[str, str] = field(default_factory=dict, repr=False)  # may carry credentials
    response_headers: dict[str, str] = field(default_factory=dict, repr=False)
    extras: tuple[str, ...] = ()
    media_type: str | None = None  # set when a body came back that is not JSON
    poll: int | None = None  # the exchange's number within a wait, if it was one of its polls

    @property
    def what(self) -> str:
        """`METHOD URL -> status`, the phrase every message starts with."""
        status = "no response" if self.status is None else str(self.status)
        return f"{self.method} {self.url} -> {status}"


Listener = Callable[[Exchange], None]


def task_id_of(body: Any) -> str:
    """The TaskID from a create-task answer: a bare JSON string or `{"TaskId": ...}`."""
    return str(body["TaskId"] if isinstance(body, dict) else body)


def _excerpt(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


class GetOnlyRetry(Retry):
    """urllib3 retries connect errors for every method (nothing was sent yet); the harness retries
    only idempotent GETs, so a POST or DELETE is sent at most once, whatever happens."""

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        spent = self
        if method is not None and method.upper() not in (self.allowed_methods or ()):
            spent = self.new(total=0, connect=0, read=0)  # exhausted: the next step raises MaxRetryError
        return Retry.increment(spent, method, url, response, error, _pool, _stacktrace)


class LucsClient:
    """Calls LUCS operations by name; `listeners` see every exchange (reports, logs, dry runs)."""

    def __init__(self, config: LucsConfig, base_url: str, contract: Contract | None = None) -> None:
        self.config = config
        self.base_url = base_url.rstrip("/")
        self.contract = contract or default_contract()
        self.listeners: list[Listener] = []
        self.redactor = Redactor(config.secrets(), [config.api_key_header])
        self.last_exchange: Exchange | None = None
        self.session = requests.Session()
        self.session.auth = session_auth(config)
        self.session.headers.update({"Accept": "application/json"})
        # given per request: a session-level `verify` loses to REQUESTS_CA_BUNDLE in the environment
        self.verify: str | bool = config.ca_bundle or config.verify_tls
        if config.client_cert:
            self.session.cert = (config.client_cert, config.client_key) if config.client_key else config.client_cert
        if config.proxy:
            self.session.proxies = {"http": config.proxy, "https": config.proxy}
        # environment proxies (HTTPS_PROXY, NO_PROXY) count only for a real LUCS without a configured
        # proxy; looking them up costs half a millisecond a request
        self.session.trust_env = not (config.is_mock or config.proxy)
        # GETs are idempotent: retried when no connection could be made (never on a late answer);
        # POSTs and DELETEs are never retried blindly
        retry = GetOnlyRetry(
            total=config.get_retries,
            connect=config.get_retries,
            read=0,
            status=0,
            other=0,
            allowed_methods=frozenset({"GET"}),
            backoff_factor=0.1,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def url(self, operation: str, **params: str) -> str:
        """The full URL of an operation, with each path parameter percent-encoded."""
        template = self.config.path(operation)
        try:
            path = template.format(**{k: quote(v, safe="") for k, v in params.items()})
        except KeyError as missing:
            raise LucsError(f"path {template!r} of {operation} needs parameter {missing}") from None
        return self.base_url + path

    def send(
        self,
        operation: str,
        params: dict[str, str] | None = None,
        body: Any = None,
        *,
        expect: Collection[int] | None = None,
        check_request: bool = True,
        raw: bool = False,
    ) -> Exchange:
        """Send one request; `expect=None` means the operation's success statuses.

        `raw=True` sends `body` (a string) as it is, unchecked: for malformed-JSON scenarios.
        """
        op = OPERATIONS[operation]
        params = params or {}
        exchange = Exchange(operation, op.method, self.url(operation, **params), request_body=body, params=params)
        self.last_exchange = exchange
        try:
            if check_request and not raw and op.request_schema is not None:
                self.contract.validate(op.request_schema, body, what=f"request body of {op.method} {exchange.url}")
            try:
                self._perform(exchange, raw)
            finally:
                self._notify(exchange)
            self._judge(exchange, op, op.success if expect is None else expect)
        except AssertionError as failure:  # every message names the URL and may quote a body
            failure.args = (self.redactor.text(str(failure)),)
            raise
        return exchange

    @contextmanager
    def polling(self) -> Iterator[None]:
        """Inside, exchanges are numbered and held back; on the way out the listeners see only the
        first and the last, so a wait of 200 polls puts 2 exchanges in the log and the report."""
        held: list[Exchange] = []
        listeners, self.listeners = self.listeners, [held.append]
        try:
            yield
        finally:
            self.listeners = listeners
            for number, exchange in enumerate(held, start=1):
                exchange.poll = number
            for exchange in held[:1] + held[1:][-1:]:
                self._notify(exchange)

    def _notify(self, exchange: Exchange) -> None:
        for listener in self.listeners:
            listener(exchange)

    def _perform(self, exchange: Exchange, raw: bool = False) -> None:
        started = time.perf_counter()
        payload: dict[str, Any] = (
            {"data": str(exchange.request_body).encode(), "headers": {"Content-Type": "application/json"}}
            if raw
            else {"json": exchange.request_body}
        )
        try:
            response = self.session.request(
                exchange.method,
                exchange.url,
                timeout=(self.config.connect_timeout, self.config.read_timeout),
                verify=self.verify,
                **payload,
            )
        except requests.RequestException as error:
            exchange.elapsed_ms = (time.perf_counter() - started) * 1000
            kind = Unreachable if _unreachable(error) else TransportError
            raise kind(
                f"{exchange.what}: transport error after {exchange.elapsed_ms:.0f} ms: {type(error).__name__}: {error}"
            ) from None
        exchange.elapsed_ms = (time.perf_counter() - started) * 1000
        exchange.status = response.status_code
        exchange.request_headers = dict(response.request.headers)
        exchange.response_headers = dict(response.headers)
        exchange.response_text = response.text
        if response.content:
            try:
                exchange.response_body = json.loads(response.content)
            except ValueError:
                exchange.media_type = response.headers.get("Content-Type", "no Content-Type")

    def _judge(self, exchange: Exchange, op: Operation, expect: Collection[int]) -> None:
        """Status first (an IIS 401 or 500 page is HTML), then the body's form, then its schema."""
        status = exchange.status or 0
        excerpt = self.redactor.text(_excerpt(exchange.response_text))
        if status == 401:
            raise CredentialsRefused(
                f"{exchange.what}: the credentials were refused (auth mode {self.config.auth!r}); "
                "check the API key, its header name, its API roles, or the user and password"
            )
        if status not in expect:
            wanted = ", ".join(map(str, sorted(expect)))
            raise UnexpectedStatus(f"{exchange.what}: expected status {wanted}; body: {excerpt!r}")
        what = f"response of {exchange.what}"
        if op.empty_response and status < 400:
            if exchange.response_text:
                raise SchemaViolation(f"{what}: expected no body, got {excerpt!r}")
            return
        if exchange.media_type is not None:
            raise NotJson(f"{exchange.what}: response is not JSON ({exchange.media_type}): {excerpt!r}")
        if status >= 400:
            exchange.extras = self._validate(ERROR_SCHEMA, exchange, what)
        elif op.response_schema is not None and exchange.response_text:
            exchange.extras = self._validate(op.response_schema, exchange, what)
        elif op.response_schema is not None:
            raise SchemaViolation(f"{what}: expected a {op.response_schema} body, got none")

    def _validate(self, schema: str, exchange: Exchange, what: str) -> tuple[str, ...]:
        return self.contract.validate(schema, exchange.response_body, what=what, strict=self.config.strict_schema)

    # ---- the use case's functions --------------------------------------------------------

    def list_users(self, service_id: str) -> list[dict[str, Any]]:
        body: list[dict[str, Any]] = self.send("list_users", {"serviceId": service_id}).response_body
        return body

    def block(self, user_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.send("block_user", {"userId": user_id}).response_body
        return body

    def unblock(self, user_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.send("unblock_user", {"userId": user_id}).response_body
        return body

    def set_presence(self, user_id: str, presence: str, expect: Collection[int] | None = None) -> Exchange:
        body = {self.config.presence_field: presence}
        # presence-request.json names the documented-by-example field; a renamed field is not checked
        checked = self.config.presence_field == "Presence"
        return self.send("set_presence", {"userId": user_id}, body, expect=expect, check_request=checked)

    def create_task(self, task: dict[str, Any]) -> str:
        return task_id_of(self.send("create_task", body=task).response_body)

    def get_task(self, identifier: str) -> dict[str, Any]:
        body: dict[str, Any] = self.send("get_task", {"taskIdentifier": identifier}).response_body
        return body

    def close_task(self, identifier: str) -> None:
        self.send("close_task", {"taskIdentifier": identifier})

    def close(self) -> None:
        self.session.close()
