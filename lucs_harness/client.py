"""The LUCS API client: one `requests.Session`, explicit timeouts, the configured path table,
and a schema check of every body sent and received.

Every failure becomes one `AssertionError` subclass whose message names the method, the URL and
the status, so a failed step reads as a sentence a QA engineer can act on.

Whatever a server sends, the harness stays bounded: a body is read up to `max_response_mb` (decoded
bytes, so a gzip bomb is caught too) and no further, and JSON is refused, with a clear failure,
when it nests deeper than `MAX_JSON_DEPTH` or holds what is not JSON (NaN, an infinite number, a
lone surrogate, a byte order mark, invalid UTF-8).

Credentials and bodies go to the configured origin only: the session never follows a redirect
itself (`requests` would resend a custom API-key header, a `?api_key` parameter and a POST's body to
whatever host a Location names). A 3xx fails its call as `RedirectRefused`, unless
`allow_redirects = "same-origin"` lets the client follow it on the configured scheme, host and
port, at most `MAX_REDIRECTS` hops, each hop an exchange of its own for the listeners.

Every exchange ends by its deadline, from connect to the last byte of the body (`exchange_timeout`,
or what is left of a `within` block, such as a restore): a socket timeout restarts with every byte,
so every wait on the socket (connect, TLS handshake, send, status line, headers, body) is cut to
the time left, and past it the exchange fails as `ExchangeTimeout`.
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import math
import socket
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast
from urllib.parse import quote, urljoin, urlsplit

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3 import BaseHTTPResponse, PoolManager, poolmanager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import ConnectionPool, HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from lucs_harness.auth import session_auth
from lucs_harness.config import LucsConfig
from lucs_harness.contract import EXCERPT_CHARS, Contract, default_contract
from lucs_harness.errors import (
    CredentialsRefused,
    ExchangeTimeout,
    JsonTooDeep,
    LucsError,
    NotJson,
    RedirectRefused,
    ResponseTooLarge,
    SchemaViolation,
    TransportError,
    UnexpectedStatus,
    Unreachable,
)
from lucs_harness.json_bounds import MAX_JSON_DEPTH, text_nests_deeper_than
from lucs_harness.operations import OPERATIONS, Operation

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

log = logging.getLogger("lucs")


ERROR_SCHEMA = "error.json"
MEGABYTE = 1024 * 1024
_READ_CHUNK = 256 * 1024  # decoded bytes per read: urllib3 (2.6+) inflates a gzip bomb no faster
MAX_REDIRECTS = 5  # hops followed for one call, with allow_redirects = "same-origin"
FOLLOWED = frozenset({301, 302, 303, 307, 308})  # the redirects that may be followed
KEEPS_METHOD = frozenset({307, 308})  # a client resends 301, 302 and 303 as GET (RFC 9110 15.4): a POST lost
DEFAULT_PORTS = {"http": 80, "https": 443}


def _unreachable(error: requests.RequestException) -> bool:
    """True unless the server was reached and only the answer was late (its head or its body)."""
    if isinstance(error, requests.ReadTimeout):
        return False
    cause = error.args[0] if error.args else None
    reason = getattr(cause, "reason", None)
    late = isinstance(cause, ReadTimeoutError) or isinstance(reason, ReadTimeoutError)
    return isinstance(error, requests.ConnectionError) and not late


class NoRedirectSession(requests.Session):
    """A session that never follows a redirect, whatever a caller passes as `allow_redirects`:
    following is the client's decision (`LucsClient._next_hop`), made with the configured origin in
    view, and `requests` does not read a redirect's body behind the client's cap either."""

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        return None


def origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an absolute http(s) URL, the port filled in from the scheme; None for
    any other URL, and for one with user info (credentials the harness did not configure)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


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
    body_error: NotJson | None = field(default=None, repr=False)  # why; raised once the status is judged
    poll: int | None = None  # the exchange's number within a wait, if it was one of its polls
    transport_error: bool = False  # no whole answer: none at all, or one cut short (its status may be set)

    @property
    def what(self) -> str:
        """`METHOD URL -> status`, the phrase every message starts with."""
        status = "no response" if self.status is None else str(self.status)
        return f"{self.method} {self.url} -> {status}"


Listener = Callable[[Exchange], None]


def task_id_of(body: Any) -> str:
    """The TaskID from a create-task answer: a bare JSON string or `{"TaskId": ...}`."""
    return str(body["TaskId"] if isinstance(body, dict) else body)


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# ---- reading a body, bounded --------------------------------------------------------------


def read_capped(response: requests.Response, cap: int) -> bytes | None:
    """The decoded body, or None as soon as it is known to be over `cap` bytes: a Content-Length
    over it is believed at once, and no more than `cap` plus one read is ever inflated."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        return None
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(_READ_CHUNK):
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def response_header(exchange: Exchange, wanted: str) -> str | None:
    """A response header's value, whatever the case of its name (the exchange keeps a plain dict)."""
    return next((value for name, value in exchange.response_headers.items() if name.lower() == wanted), None)


def _content_type(exchange: Exchange) -> str:
    """The response's Content-Type, whatever the case of its name."""
    return response_header(exchange, "content-type") or "no Content-Type"


def redirect_location(exchange: Exchange) -> str | None:
    """The Location of a 3xx answer (a redirect), else None."""
    return response_header(exchange, "location") if 300 <= (exchange.status or 0) < 400 else None


def _text_of(content: bytes, encoding: str | None) -> str:
    """The body as text for messages and reports, in the charset its Content-Type names (else UTF-8)."""
    try:
        return content.decode(encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return content.decode("utf-8", errors="replace")


# ---- parsing JSON, bounded ---------------------------------------------------------------

# orjson reads an integer beyond 64 bits as a rounded float: a run of 19 digits sends the body to
# the stdlib parser, which keeps integers exact
_DIGIT_MARKS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_INTEGER = b"0" * 19
# the nesting of a JSON text without parsing it: strings dropped, braces as brackets


def parse_json(data: bytes) -> Any:
    """The JSON value of a body, or `NotJson` naming what is wrong: stricter than `json.loads`
    (UTF-8 only, no byte order mark, no NaN or Infinity, no number out of a float's range, no
    lone surrogate) and bounded (`JsonTooDeep` beyond `MAX_JSON_DEPTH`, never a RecursionError)."""
    try:
        value = orjson.loads(data)
        exact = _LONG_INTEGER not in data.translate(_DIGIT_MARKS)
    except orjson.JSONDecodeError:
        exact = False  # the stdlib parser says why, or takes an integer orjson cannot hold
    if not exact:
        value = _parse_exactly(data)
    # no deeper than it has brackets: a small body (one user, one task) is not measured
    if data.count(b"[") + data.count(b"{") > MAX_JSON_DEPTH and text_nests_deeper_than(data, MAX_JSON_DEPTH):
        raise JsonTooDeep(f"nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _parse_exactly(data: bytes) -> Any:
    """The stdlib parser, as strict as orjson, with integers of any length up to Python's limit."""
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_not_a_number, parse_float=_finite)
    except RecursionError:
        raise JsonTooDeep(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    except UnicodeDecodeError as error:
        raise NotJson(f"invalid UTF-8 at byte {error.start}: {error.reason}") from None
    except json.JSONDecodeError as error:
        early = "the body ends early (cut short?): " if error.pos >= len(error.doc.rstrip()) else ""
        raise NotJson(f"{early}{error}") from None
    except ValueError as error:  # a number out of range, NaN, Infinity
        raise NotJson(str(error)) from None
    _refuse_lone_surrogates(value)
    return value


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"number {_excerpt(text, 40)} is out of range")
    return number


def _refuse_lone_surrogates(value: Any) -> None:
    """A `\\ud800` escape alone parses to a string no report or validator can encode."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack += node.keys()
            stack += node.values()
        elif isinstance(node, list):
            stack += node
        elif isinstance(node, str) and not node.isascii():
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                raise NotJson(f"a lone surrogate in the string {_excerpt(ascii(node), 60)}") from None


# ---- a deadline per exchange, however slowly the bytes come --------------------------------


@dataclass(slots=True)
class Deadline:
    """The wall-clock end of one exchange, from connect to the last byte of the body. A socket
    timeout bounds one wait and restarts with every byte, so each wait is cut to what is left."""

    at: float  # time.monotonic()
    seconds: float  # from the start of the exchange, or of the `within` block it is in
    name: str = ""  # which deadline, in the message; "" for the exchange's own (`exchange_timeout`)
    arrived: int = 0  # bytes of the answer received so far, as sent (before any decoding)

    def limit(self, timeout: float | None) -> float:
        """`timeout`, or the time left when that is shorter; TimeoutError once none is left."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"{self.named()} passed")
        return left if timeout is None or left < timeout else timeout

    def passed(self) -> bool:
        return time.monotonic() >= self.at

    def named(self) -> str:
        """Which deadline this is (made only for a message: an exchange that keeps to it pays nothing)."""
        return self.name or f"the exchange deadline (exchange_timeout {self.seconds:g} s)"

    def why(self, headers_read: bool) -> str:
        """The end of the message of an exchange cut here."""
        when = "while the body was coming" if headers_read else "before the status line and headers were complete"
        plural = "" if self.arrived == 1 else "s"
        return f"{self.named()} passed {when}; {self.arrived} byte{plural} of the answer had arrived"


# the deadline of the exchange this thread (or task) is making: the connection classes below read it
_DEADLINE: ContextVar[Deadline | None] = ContextVar("lucs_exchange_deadline", default=None)


def _timeout_of(value: object) -> float | None:
    """A urllib3 connection's timeout as seconds (it may hold a sentinel for "the default")."""
    return float(value) if isinstance(value, int | float) else None


class _DeadlineReader(io.RawIOBase):
    """The socket as http.client reads it (status line, headers, body), each wait on it cut to the
    deadline, the bytes counted for the message. It stands in for the socket `HTTPResponse` is
    given, which only makes a file of it."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        super().__init__()
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)  # counted among the socket's open files, as http.client's
        self._timeout = sock.gettimeout()  # the read timeout urllib3 set for this answer
        self._deadline = deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(self)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int | None:
        wait = self._deadline.limit(self._timeout)
        if wait != self._timeout:  # the deadline comes first: a syscall only then
            self._sock.settimeout(wait)
        count = self._raw.readinto(buffer)
        if count:
            self._deadline.arrived += count
        return count

    def fileno(self) -> int:
        return self._raw.fileno()

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    """http.client's response, reading through `_DeadlineReader` while an exchange has a deadline."""

    def __init__(
        self, sock: socket.socket, debuglevel: int = 0, method: str | None = None, url: str | None = None
    ) -> None:
        deadline = _DEADLINE.get()
        if deadline is not None:
            sock = cast(socket.socket, _DeadlineReader(sock, deadline))
        super().__init__(sock, debuglevel, method, url)


class _DeadlineConnection(HTTPConnection):
    """urllib3's connection keeping to the exchange's deadline: connect, TLS handshake and send
    get what is left of it, and the answer is read through `_DeadlineResponse`."""

    response_class = _DeadlineResponse

    def _new_conn(self) -> socket.socket:
        deadline = _DEADLINE.get()
        if deadline is None:
            return super()._new_conn()
        self.timeout = deadline.limit(_timeout_of(self.timeout))
        sock = super()._new_conn()
        sock.settimeout(deadline.limit(_timeout_of(self.timeout)))  # the TLS handshake gets what connect left
        return sock

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> None:
        deadline = _DEADLINE.get()
        if deadline is not None:
            self.timeout = deadline.limit(_timeout_of(self.timeout))
        super().request(method, url, *args, **kwargs)


class _DeadlineHTTPSConnection(_DeadlineConnection, HTTPSConnection):
    pass


class _DeadlineHTTPPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineConnection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


_DEADLINE_POOLS = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}


def _keep_deadlines(manager: PoolManager) -> PoolManager:
    """`manager` making its connections as `_DeadlineConnection` (a SOCKS manager's are its own)."""
    if manager.pool_classes_by_scheme is poolmanager.pool_classes_by_scheme:
        manager.pool_classes_by_scheme = _DEADLINE_POOLS
    return manager


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections keep to the exchange's deadline, directly or through
    an HTTP(S) proxy."""

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        _keep_deadlines(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        return _keep_deadlines(super().proxy_manager_for(proxy, **proxy_kwargs))


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
        deadline = _DEADLINE.get()
        late = deadline is not None and deadline.passed()
        if late or (method is not None and method.upper() not in (self.allowed_methods or ())):
            spent = self.new(total=0, connect=0, read=0)  # exhausted: the next step raises MaxRetryError
        return Retry.increment(spent, method, url, response, error, _pool, _stacktrace)

    def get_backoff_time(self) -> float:
        """No backoff beyond the exchange's deadline."""
        backoff = super().get_backoff_time()
        deadline = _DEADLINE.get()
        return backoff if deadline is None else max(0.0, min(backoff, deadline.at - time.monotonic()))


class LucsClient:
    """Calls LUCS operations by name; `listeners` see every exchange (reports, logs, dry runs)."""

    def __init__(self, config: LucsConfig, base_url: str, contract: Contract | None = None) -> None:
        self.config = config
        self.base_url = base_url.rstrip("/")
        self.contract = contract or default_contract()
        self.listeners: list[Listener] = []
        self.redactor = config.redactor()
        self.last_exchange: Exchange | None = None
        self._within = threading.local()  # `until`: the `Deadline` of this thread's `within` block
        self.session = NoRedirectSession()
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
            allowed_methods=frozenset(op.method for op in OPERATIONS.values() if op.idempotent),
            backoff_factor=0.1,
            raise_on_status=False,
        )
        adapter = DeadlineAdapter(max_retries=retry)
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
        method = self.config.method(operation)
        exchange = Exchange(operation, method, self.url(operation, **params), request_body=body, params=params)
        self.last_exchange = exchange
        try:
            if check_request and not raw and op.request is not None:
                self.contract.validate(f"{op.request}.json", body, what=f"request body of {method} {exchange.url}")
            exchange = self._exchange(exchange, raw)
            self._judge(exchange, op, op.success if expect is None else expect)
        except LucsError as failure:  # every message names the URL and may quote a body
            failure.args = (self.redactor.text(str(failure)),)
            raise
        return exchange

    @contextmanager
    def within(self, seconds: float | None, name: str) -> Iterator[None]:
        """Inside, every exchange ends within `seconds` from now, all of them together, or fails as
        `ExchangeTimeout` naming `name`: a restore that must end by its deadline does not wait out
        the exchange deadline of a silent or trickling server. Per thread; the earlier end wins."""
        outer: Deadline | None = getattr(self._within, "until", None)
        if seconds is not None:
            until = Deadline(time.monotonic() + max(seconds, 0.0), seconds, name)
            self._within.until = until if outer is None or until.at < outer.at else outer
        try:
            yield
        finally:
            self._within.until = outer

    @contextmanager
    def polling(self) -> Iterator[None]:
        """Inside, exchanges are numbered and held back; on the way out the listeners see only the
        first and the last, so a wait of 200 polls puts 2 exchanges in the log and the report."""
        held: list[Exchange] = []  # the first and the latest only: a long wait holds two bodies

        def hold(exchange: Exchange) -> None:
            exchange.poll = (held[-1].poll or 0) + 1 if held else 1
            del held[1:]
            held.append(exchange)

        listeners, self.listeners = self.listeners, [hold]
        try:
            yield
        finally:
            self.listeners = listeners
            for exchange in held:
                self._notify(exchange)

    def _notify(self, exchange: Exchange) -> None:
        """Reporting never changes what a call did: a listener that fails (an Allure step left open
        by an interrupt, say) is logged, and the call, or the undo, goes on."""
        for listener in self.listeners:
            try:
                listener(exchange)
            except Exception as error:  # noqa: BLE001 - see above
                log.warning("listener %r failed on %s: %s: %s", listener, exchange.what, type(error).__name__, error)

    @property
    def max_response_bytes(self) -> int:
        """The largest body read, from the configuration (which a test may change mid-way)."""
        return int(self.config.max_response_mb * MEGABYTE)

    def _too_large(self, what: str) -> ResponseTooLarge:
        return ResponseTooLarge(f"{what}: response larger than {self.config.max_response_mb:g} MB; not read further")

    def _exchange(self, exchange: Exchange, raw: bool) -> Exchange:
        """Send `exchange`, then each redirect hop `_next_hop` allows; the listeners see every
        hop, and the last exchange is the one whose answer is judged."""
        hops = 0
        while True:
            self.last_exchange = exchange
            try:
                self._perform(exchange, raw)
            finally:
                self._notify(exchange)
            location = redirect_location(exchange)
            if location is None:
                return exchange
            exchange = self._next_hop(exchange, location, hops)
            hops += 1

    def _next_hop(self, exchange: Exchange, location: str, hops: int) -> Exchange:
        """The request to `location` (same method, same body), or `RedirectRefused` naming the
        status and the Location (redacted) and why it was not followed."""
        try:
            target = urljoin(exchange.url, location)  # a relative Location is relative to the URL answered
        except ValueError:
            target = location
        why = self._refusal(exchange, target, hops)
        if why is not None:
            raise RedirectRefused(
                f"{exchange.what}: redirect refused: Location {self.redactor.url(target)} not followed: {why}",
                exchange.status,
            )
        return Exchange(
            exchange.operation, exchange.method, target, request_body=exchange.request_body, params=exchange.params
        )

    def _refusal(self, exchange: Exchange, target: str, hops: int) -> str | None:
        """Why the redirect from `exchange` to `target` must not be followed, or None."""
        here, there = origin_of(exchange.url), origin_of(target)
        configured = origin_of(self.base_url)
        if here is not None and there is not None and (here[0], there[0]) == ("https", "http"):
            return "https is never followed to http"
        if self.config.allow_redirects == "never":
            same = there is not None and there == configured
            hint = "; allow_redirects 'same-origin' would follow it" if same else ""
            return f"allow_redirects is 'never': credentials and bodies go to the configured origin only{hint}"
        if exchange.status not in FOLLOWED:
            return f"a {exchange.status} is not a redirect the harness follows"
        if there is None or there != configured:
            shown = "?" if configured is None else f"{configured[0]}://{configured[1]}:{configured[2]}"
            return f"not the configured origin {shown} (allow_redirects 'same-origin')"
        if exchange.status not in KEEPS_METHOD and exchange.method not in ("GET", "HEAD"):
            return f"a {exchange.status} would resend {exchange.method} as GET (only 307 and 308 keep the method)"
        if hops >= MAX_REDIRECTS:
            return f"more than {MAX_REDIRECTS} redirects"
        return None

    def _deadline(self) -> Deadline:
        """This exchange's deadline: `exchange_timeout` from now, or the `within` block's if earlier."""
        config = self.config
        seconds = config.exchange_timeout or config.connect_timeout + config.read_timeout
        at = time.monotonic() + seconds
        until: Deadline | None = getattr(self._within, "until", None)
        if until is not None and until.at < at:
            return Deadline(until.at, until.seconds, until.name)
        return Deadline(at, seconds)

    def _perform(self, exchange: Exchange, raw: bool = False) -> None:
        started = time.perf_counter()
        deadline = self._deadline()
        token = _DEADLINE.set(deadline)
        try:
            response = self._request(exchange, raw)
            try:
                exchange.status = response.status_code
                exchange.request_headers = dict(response.request.headers)
                exchange.response_headers = dict(response.headers)
                content = read_capped(response, self.max_response_bytes)
            finally:
                response.close()  # a body left unread closes its connection: none goes back half-read
        except requests.RequestException as error:
            exchange.elapsed_ms = (time.perf_counter() - started) * 1000
            exchange.transport_error = True
            raise self._transport_error(exchange, error, deadline) from None
        finally:
            _DEADLINE.reset(token)
        exchange.elapsed_ms = (time.perf_counter() - started) * 1000
        if content is None:
            raise self._too_large(exchange.what)
        self._take_body(exchange, content, response)

    @staticmethod
    def _transport_error(exchange: Exchange, error: requests.RequestException, deadline: Deadline) -> TransportError:
        """The failure of an exchange that got no whole answer: past its deadline, whatever the
        library raised on the way, the message says which deadline and how much had arrived."""
        what = f"{exchange.what}: transport error after {exchange.elapsed_ms:.0f} ms"
        if deadline.passed():
            return ExchangeTimeout(f"{what}: {deadline.why(headers_read=exchange.status is not None)}")
        kind = Unreachable if _unreachable(error) else TransportError
        return kind(f"{what}: {type(error).__name__}: {error}")

    def _request(self, exchange: Exchange, raw: bool) -> requests.Response:
        """Send the request; the body is left to be read, capped (`stream=True`), by the deadline."""
        payload: dict[str, Any] = (
            {"data": str(exchange.request_body).encode(), "headers": {"Content-Type": "application/json"}}
            if raw
            else {"json": exchange.request_body}
        )
        return self.session.request(
            exchange.method,
            exchange.url,
            timeout=(self.config.connect_timeout, self.config.read_timeout),  # each wait; `Deadline` bounds them all
            verify=self.verify,
            stream=True,
            allow_redirects=False,  # see NoRedirectSession: the client decides, in `_next_hop`
            **payload,
        )

    def _take_body(self, exchange: Exchange, content: bytes, response: requests.Response) -> None:
        """The text of the body and, when it is JSON, its value; else why it is not (judged later)."""
        exchange.response_text = _text_of(content, response.encoding)
        if not content:
            return
        try:
            exchange.response_body = parse_json(content)
        except NotJson as error:
            exchange.media_type = _content_type(exchange)
            exchange.body_error = type(error)(
                f"{exchange.what}: response is not JSON ({exchange.media_type}): {error}; "
                f"body: {_excerpt(exchange.response_text)!r}"
            )

    def _judge(self, exchange: Exchange, op: Operation, expect: Collection[int]) -> None:
        """Status first (an IIS 401 or 500 page is HTML), then the body's form, then its schema."""
        status = exchange.status or 0
        if status == 401:
            raise CredentialsRefused(
                f"{exchange.what}: the credentials were refused (auth mode {self.config.auth!r}); "
                "check the API key, its header name, its API roles, or the user and password"
            )
        if status not in expect:
            wanted = ", ".join(map(str, sorted(expect)))
            raise UnexpectedStatus(
                f"{exchange.what}: expected status {wanted}; body: {self._excerpt(exchange)!r}", status
            )
        what = f"response of {exchange.what}"
        if op.response is None and status < 400:
            if exchange.response_text:
                raise SchemaViolation(f"{what}: expected no body, got {self._excerpt(exchange)!r}")
            return
        if exchange.body_error is not None:
            raise exchange.body_error
        schema = ERROR_SCHEMA if status >= 400 else f"{op.response}.json"
        if not exchange.response_text:
            media = _content_type(exchange)
            raise NotJson(f"{exchange.what}: response is not JSON ({media}): empty, where a {schema} body belongs")
        exchange.extras = self._validate(schema, exchange, what)

    def _excerpt(self, exchange: Exchange) -> str:
        """The start of the response, redacted: made only for a failure's message."""
        return self.redactor.text(_excerpt(exchange.response_text))

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
