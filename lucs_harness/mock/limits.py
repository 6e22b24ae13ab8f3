"""The mock on a network: what one client may take of it, so that no client (hostile, broken or
just left open) can exhaust it for the others.

uvicorn bounds none of this with httptools, the parser the mock runs on (h11, which has
`h11_max_incomplete_event_size`, is pure Python and slower): httptools keeps a header it has not
seen the end of in a buffer that grows as long as bytes come (a never-ending header took 1.6 GB in
10 s), its keep-alive timeout starts only after a first answer (a connection that sends nothing,
or a byte a second, is kept for ever), `limit_concurrency` answers 503 only once a request's
headers are in, and the connections themselves have no bound (past `ulimit -n` the listener stops
accepting anyone: asyncio logs `Too many open files` and retries a second later, and again).

So the mock runs uvicorn's httptools protocol with a thin subclass (`guarded_protocol`) that
adds, per connection:

- limits on the request line (414), the header fields' size together and their number (431),
  counted as the parser reports them, and on the raw bytes of a head not yet finished, so that a
  head that never ends is refused once it passes them, with bounded memory;
- an idle timeout from the moment a connection is made (uvicorn's starts only after an answer);
- a request timeout: a request must arrive whole, headers and body, within it from its first
  byte, or it is answered 408 and closed (slowloris, or a body that stops coming);
- a connection cap below the descriptor limit: a connection over it is answered 503 at once and
  closed, so the mock never runs out of descriptors and serves again as soon as some go.

A refusal is LUCS's error envelope with `Connection: close`, written by the protocol (the
request never reaches the app). A refusal of the request line or the headers is written while the
client may still be sending; closing then may reset the connection before the client has read it,
which a client sending a never-ending head cannot avoid anyway. The normal path costs a few
attribute checks per request: a timer is started only for a request its first read did not
bring whole, and the byte count only then too.
"""

from __future__ import annotations

import asyncio
import math
import os
import resource
import socket
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from logging import Logger
from typing import Any, ClassVar

import httptools
import orjson
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

MAX_REQUEST_LINE = 8192  # bytes: method, path and query, version (Apache's and gunicorn's order of size)
MAX_HEADER_SIZE = 16384  # bytes of the header fields together, `Name: value` and CRLF each (h11's whole head)
MAX_HEADERS = 100  # header fields (gunicorn's default; a LUCS client sends fewer than 10)
IDLE_TIMEOUT = 5.0  # seconds a connection may wait for its next request (uvicorn's keep-alive default)
REQUEST_TIMEOUT = 10.0  # seconds a request may take to arrive, from its first byte to the end of its body
MAX_CONNECTIONS = 1000  # the cap when the descriptor limit leaves room for more
RESERVE = 32  # descriptors kept for what is not a connection: the listener, log and seed files, the loop
MAX_BATCH = 128
LISTEN_BACKLOG = 2048  # connections the kernel queues for accepting (uvicorn's default); they hold no descriptor
NO_LIMIT = 1 << 20  # connections the cap allows when the descriptor limit is unlimited
REQUEST_LINE_FRAMING = 10  # the two spaces and `HTTP/1.1` around the target
THROTTLE = 1.0  # seconds between two log lines of one kind of refusal


def batch_for(descriptors: int) -> int:
    """How many connections asyncio accepts each time the listener is ready: the `backlog` it is
    given (which is also the listen backlog until `listen_deeper`). A sixteenth of the descriptor
    limit, from 8 to 128, so the headroom it needs stays small."""
    return max(8, min(MAX_BATCH, descriptors // 16))


def headroom(batch: int) -> int:
    """Descriptors the cap leaves free. asyncio accepts up to `batch` connections each time the
    listener is ready, before any is turned away; one turned away is closed three loop turns later,
    so up to four batches may be open beyond the cap at once."""
    return 4 * batch + RESERVE


def listen_deeper(sock: socket.socket) -> None:
    """Let the kernel queue `LISTEN_BACKLOG` connections on a socket asyncio listens on with the
    small `batch_for` (it uses one number for both): a burst of clients connecting at once waits
    in the queue, which costs no descriptor, instead of having its SYNs dropped and retried a
    second later. `listen` again on a listening socket only sets the queue's length."""
    sock.listen(LISTEN_BACKLOG)


def descriptor_limit() -> int:
    """The soft `RLIMIT_NOFILE` (`ulimit -n`); `NO_LIMIT` when unlimited."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return NO_LIMIT if soft == resource.RLIM_INFINITY else int(soft)


def open_descriptors() -> int:
    """Descriptors this process holds now (Linux and macOS list them; elsewhere a guess)."""
    for folder in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(folder))
        except OSError:
            continue
    return RESERVE


@dataclass(frozen=True)
class Room:
    """What the descriptor limit leaves for connections: `limit` (ulimit -n), `held` (open now),
    `batch` (connections accepted in one go, `batch_for`) and `connections` (the most the cap may be)."""

    limit: int
    held: int
    batch: int
    connections: int

    @classmethod
    def now(cls) -> Room:
        limit, held = descriptor_limit(), open_descriptors()
        batch = batch_for(limit)
        return cls(limit, held, batch, limit - held - headroom(batch))


@dataclass(frozen=True)
class Limits:
    """What one client may take of the mock; `max_connections` None: `MAX_CONNECTIONS`, or fewer
    when the descriptor limit leaves room for fewer (`cap`)."""

    max_request_line: int = MAX_REQUEST_LINE
    max_header_size: int = MAX_HEADER_SIZE
    max_headers: int = MAX_HEADERS
    idle_timeout: float = IDLE_TIMEOUT
    request_timeout: float = REQUEST_TIMEOUT
    max_connections: int | None = None

    def __post_init__(self) -> None:
        for name, least in (("max_request_line", 16), ("max_header_size", 1), ("max_headers", 1)):
            if getattr(self, name) < least:
                raise ValueError(f"{_option(name)} must be at least {least}, not {getattr(self, name)}")
        for name in ("idle_timeout", "request_timeout"):
            seconds = getattr(self, name)
            if not (math.isfinite(seconds) and seconds > 0):
                raise ValueError(f"{_option(name)} must be a number of seconds above 0, not {seconds}")
        if self.max_connections is not None and self.max_connections < 1:
            raise ValueError(f"--max-connections must be at least 1, not {self.max_connections}")

    def cap(self, room: Room) -> int:
        """The connection cap in `room`; a `ValueError` naming the limit when it cannot be served."""
        if room.connections < 1:
            raise ValueError(
                f"the descriptor limit (ulimit -n {room.limit}) leaves no room for connections: "
                f"{room.held} are open and {headroom(room.batch)} are kept free; raise it"
            )
        if self.max_connections is None:
            return min(MAX_CONNECTIONS, room.connections)
        if self.max_connections > room.connections:
            raise ValueError(
                f"--max-connections {self.max_connections} does not fit under the descriptor limit "
                f"(ulimit -n {room.limit}): at most {room.connections} here; raise the limit or lower the cap"
            )
        return self.max_connections


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def answer(status: int, code: str, message: str, *headers: str) -> bytes:
    """A whole response in LUCS's error envelope that closes the connection."""
    body = orjson.dumps({"Error": {"Code": code, "Message": message}})
    head = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
        *headers,
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class _Throttle:
    """One log line a second for each kind of refusal, counting those left out: a flood of
    refusals must not become a flood of log lines."""

    def __init__(self) -> None:
        self.last: dict[str, float] = {}
        self.left_out: dict[str, int] = {}

    def warn(self, logger: Logger, kind: str, message: str) -> None:
        now = time.monotonic()
        if now - self.last.get(kind, -math.inf) < THROTTLE:
            self.left_out[kind] = self.left_out.get(kind, 0) + 1
            return
        self.last[kind] = now
        more = self.left_out.pop(kind, 0)
        logger.warning("%s%s", message, f" (and {more} more since the last such line)" if more else "")


@dataclass
class _Shared:
    """What the connections of one server share: their limits, the cap, the log throttle."""

    limits: Limits
    cap: int
    throttle: _Throttle = field(default_factory=_Throttle)
    busy: bytes = b""

    def __post_init__(self) -> None:
        message = f"the mock serves {self.cap} connections at most; try again when one has closed"
        self.busy = answer(503, "ServiceUnavailable", message, "retry-after: 1")


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a request the limits refuse."""


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits of `shared` (see the module's docstring).

    Byte counting: httptools reports the target as it comes (`on_url`) but a header only once the
    next one starts, so a head that is still open after a read is counted by the bytes read: the
    whole read when the head was open before it, else the read less the bodies it carried (an
    earlier request's head read with it counts too: a bound, not a measure, and a head passes it
    only when its line or fields are over their limits or several pipelined heads came at once)."""

    shared: ClassVar[_Shared]

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limits = self.shared.limits
        self.timeout_keep_alive = limits.idle_timeout  # type: ignore[assignment]  # typed int, used as a delay
        self.head_limit = limits.max_request_line + 2 + limits.max_header_size + 2  # the CRLFs
        # read per request: plain attributes, and the exact checks only past the cheap ones
        self.url_room = limits.max_request_line - REQUEST_LINE_FRAMING - 3  # 3: the shortest method
        self.fields_room, self.fields_most = limits.max_header_size, limits.max_headers
        self.turned_away = False
        self.in_message = False  # from a request's first byte to the end of its body
        self.head_open = False  # from a request's first byte to the end of its headers
        self.head_bytes = 0  # bytes of the open head read before the current read
        self.read_size = 0  # bytes of the current read
        self.body_read = 0  # body bytes of the current read
        self.refusal: tuple[int, str, str] | None = None
        self.deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.shared.cap:
            self.turned_away = True
            self.shared.throttle.warn(
                self.logger, "busy", f"{self.shared.cap} connections open: a new one is answered 503"
            )
            transport.write(self.shared.busy)
            transport.close()
            return
        super().connection_made(transport)
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.turned_away:
            return
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """uvicorn's, with the refusals and, for a request a read left unfinished, the byte count
        and the request timeout."""
        self._unset_keepalive_if_required()
        self.read_size, self.body_read = len(data), 0
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.refusal is not None:
                self._refuse(*self.refusal)
            else:
                message = "Invalid HTTP request received."
                self.logger.warning(message)
                self.send_400_response(message)
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self.in_message:
            self._unfinished(len(data))

    def _unfinished(self, size: int) -> None:
        if self.head_open:
            self.head_bytes += size - self.body_read
            if self.head_bytes > self.head_limit:
                limits = self.shared.limits
                self._refuse(
                    431,
                    "RequestHeaderFieldsTooLarge",
                    f"the request's head passed {self.head_limit} bytes without ending (request line "
                    f"{limits.max_request_line} bytes at most, header fields {limits.max_header_size})",
                )
                return
        if self.deadline is None:
            self.deadline = self.loop.call_later(self.shared.limits.request_timeout, self._too_slow)

    def on_message_begin(self) -> None:
        HttpToolsProtocol.on_message_begin(self)
        self.in_message = self.head_open = True
        self.head_bytes = 0

    def on_url(self, url: bytes) -> None:
        self.url += url  # uvicorn's, inlined: called on every request
        if len(self.url) > self.url_room:
            limit = self.shared.limits.max_request_line
            if len(self.url) + REQUEST_LINE_FRAMING + len(self.parser.get_method()) > limit:
                self._stop(414, "URITooLong", f"the request line is longer than {limit} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()  # uvicorn's, inlined: called on every header
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))
        if len(self.headers) > self.fields_most:
            self._stop(431, "RequestHeaderFieldsTooLarge", f"more than {self.fields_most} header fields")

    def on_headers_complete(self) -> None:
        self.head_open = False
        # the fields' size counted only when the head's bytes could hold more than their limit
        if self.head_bytes + self.read_size > self.fields_room:
            size = sum(len(name) + len(value) + 4 for name, value in self.headers)
            if size > self.fields_room:
                message = f"the header fields are larger than {self.fields_room} bytes together"
                self._stop(431, "RequestHeaderFieldsTooLarge", message)
        HttpToolsProtocol.on_headers_complete(self)

    def on_body(self, body: bytes) -> None:
        self.body_read += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self.in_message = False
        if self.deadline is not None:
            self._disarm()
        HttpToolsProtocol.on_message_complete(self)

    def _stop(self, status: int, code: str, message: str) -> None:
        self.refusal = (status, code, message)
        raise _Refused(message)

    def _answering(self) -> bool:
        """Whether an answer to an earlier request is being written (pipelining)."""
        return bool(self.pipeline) or (self.cycle is not None and not self.cycle.response_complete)

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer `status` in the envelope unless an earlier answer is being written, and close."""
        self._disarm()
        self.shared.throttle.warn(self.logger, code, f"{self._who()}{message}: refused with {status}")
        if self.transport.is_closing():
            return
        if not self._answering():
            self.transport.write(answer(status, code, message))
        self.transport.close()

    def _too_slow(self) -> None:
        """The request timeout: 408 unless an answer has begun, and close."""
        self.deadline = None
        if not self.in_message or self.transport.is_closing():
            return
        part = "headers" if self.head_open else "body"
        seconds = self.shared.limits.request_timeout
        message = f"the request's {part} did not arrive within {seconds:g} s"
        self.shared.throttle.warn(self.logger, "slow", f"{self._who()}{message}: closed")
        if self.head_open:
            quiet = self._answering()
        else:  # the app has the request and waits for its body: it is told the client is gone
            quiet = self.cycle.response_started or bool(self.pipeline)
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        if not quiet:
            self.transport.write(answer(408, "RequestTimeout", message))
        self.transport.close()

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _who(self) -> str:
        return f"{self.client[0]}:{self.client[1]} - " if self.client else ""


def guarded_protocol(limits: Limits, cap: int) -> type[GuardedProtocol]:
    """The protocol class for one server: its connections share `limits` and the cap."""

    class Guarded(GuardedProtocol):
        shared = _Shared(limits, cap)

    return Guarded
