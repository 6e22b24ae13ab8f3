"""Servers that misbehave the way real ones do: accept and never answer, answer 200 with a huge
body, answer JSON nested deeper than any DTO, redirect elsewhere (with a capture server that
records what reaches it), answer one byte at a time (its status line and headers, or its body;
or, as a relay in front of a real server, from a moment the test chooses). Each runs in a thread
on a loopback port."""

from __future__ import annotations

import itertools
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar
from urllib.parse import urlsplit

HUGE_BYTES = 50 * 1024 * 1024
NESTING = 600


@contextmanager
def silent_server() -> Iterator[str]:
    """Accepts connections (the kernel completes the handshake) and never reads or answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


Server = TypeVar("Server", bound=socketserver.TCPServer)


@contextmanager
def serving(server: Server, tls: ssl.SSLContext | None = None) -> Iterator[Server]:
    """`server` answering from a thread of its own (polled every 10 ms: a quick shutdown), shut
    down and closed after; with `tls`, it speaks https."""
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


class _Answer(BaseHTTPRequestHandler):
    """Answers every request with 200 and the server's `body` (bytes, or a chunk repeated)."""

    server: _AnswerServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(self.server.size))
        self.end_headers()
        chunk, left = self.server.chunk, self.server.size
        try:
            while left > 0:
                piece = chunk[: min(len(chunk), left)]
                self.wfile.write(piece)
                left -= len(piece)
                self.server.sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client stopped reading: exactly what a bounded client does

    do_GET = do_POST = do_DELETE = do_PUT = _answer

    def log_message(self, format: str, *args: object) -> None:
        return


class _AnswerServer(ThreadingHTTPServer):
    daemon_threads = True
    chunk: bytes
    size: int
    sent: int = 0


@contextmanager
def answering_server(chunk: bytes, size: int) -> Iterator[_AnswerServer]:
    """A server answering `size` bytes made of `chunk` repeated; `.sent` counts what went out."""
    server = _AnswerServer(("127.0.0.1", 0), _Answer)
    server.chunk, server.size = chunk, size
    with serving(server):
        yield server


def url_of(server: socketserver.TCPServer, scheme: str = "http") -> str:
    host, port = server.server_address[:2]
    return f"{scheme}://{host!s}:{port}"


def huge_body() -> tuple[bytes, int]:
    """A JSON string 50 MB long, sent in 64 KB pieces."""
    return b'"' + b"x" * (64 * 1024 - 1), HUGE_BYTES


def nested_body() -> tuple[bytes, int]:
    """A JSON list nested 600 deep."""
    body = b"[" * NESTING + b"]" * NESTING
    return body, len(body)


@dataclass(frozen=True)
class Seen:
    """One request as a server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Locate = Callable[[str], str | None]  # a request's path -> the Location to redirect it to, or None to answer


class _Redirect(BaseHTTPRequestHandler):
    """Records every request, then redirects it where the server's `locate` says, or answers 200
    with the server's `body`."""

    server: _RedirectServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append(Seen(self.command, self.path, dict(self.headers), body))
        location = self.server.locate(self.path)
        answer = self.server.body if location is None else b""
        self.send_response(200 if location is None else self.server.status)
        if location is not None:
            self.send_header("Location", location)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer)

    do_GET = do_POST = do_DELETE = do_PUT = do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:
        return


class _RedirectServer(ThreadingHTTPServer):
    daemon_threads = True
    locate: Locate
    status: int
    body: bytes
    seen: list[Seen]


@contextmanager
def redirecting_server(
    locate: Locate, status: int = 307, body: bytes = b"[]", tls: ssl.SSLContext | None = None
) -> Iterator[_RedirectServer]:
    """A server that answers `status` with the Location `locate` gives a request's path (None: 200
    and `body`); `.seen` lists every request it received. With `tls`, it speaks https."""
    server = _RedirectServer(("127.0.0.1", 0), _Redirect)
    server.locate, server.status, server.body, server.seen = locate, status, body, []
    with serving(server, tls):
        yield server


@contextmanager
def capture_server() -> Iterator[_RedirectServer]:
    """A server on another port that records every request reaching it (and answers 200 `[]`)."""
    with redirecting_server(lambda path: None) as server:
        yield server


# ---- one byte at a time ----------------------------------------------------------------------

TRICKLE_EVERY = 0.05  # seconds between two bytes: far within any read timeout, so none ever fires


class _Trickle(socketserver.StreamRequestHandler):
    """Reads a request, writes the server's `at_once` bytes, then its `slowly` bytes one at a time
    until the client hangs up or the server stops."""

    server: _TrickleServer

    def handle(self) -> None:
        server = self.server
        line = self.rfile.readline()
        while line not in (b"\r\n", b""):  # the request's head; the harness's bodies are small and ignored
            line = self.rfile.readline()
        try:
            self.wfile.write(server.at_once)
            for byte in server.slowly():
                if server.stopping.wait(server.every):
                    return
                self.wfile.write(byte)
                server.sent += 1
        except OSError:
            server.hung_up += 1  # the client gave up: what a client with a deadline does


class _TrickleServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    at_once: bytes
    slowly: Callable[[], Iterable[bytes]]
    every: float
    stopping: threading.Event
    sent: int = 0  # bytes sent one at a time, on every connection
    hung_up: int = 0  # connections the client closed while bytes were still coming


@contextmanager
def _trickling(
    at_once: bytes, slowly: Callable[[], Iterable[bytes]], every: float, tls: ssl.SSLContext | None
) -> Iterator[_TrickleServer]:
    server = _TrickleServer(("127.0.0.1", 0), _Trickle)
    server.at_once, server.slowly, server.every, server.stopping = at_once, slowly, every, threading.Event()
    with serving(server, tls):
        try:
            yield server
        finally:
            server.stopping.set()  # the trickling handlers end before the server shuts down


def _bytes_of(data: bytes, then: bytes) -> Iterator[bytes]:
    """`data` one byte at a time, then `then` for ever."""
    return itertools.chain((data[i : i + 1] for i in range(len(data))), itertools.repeat(then))


@contextmanager
def header_trickler(every: float = TRICKLE_EVERY, tls: ssl.SSLContext | None = None) -> Iterator[_TrickleServer]:
    """Answers with its status line and headers one byte every `every` seconds, and never ends
    them: a header line grows by a byte at a time (64 KB would take an hour). With `tls`, https."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: "
    with _trickling(b"", lambda: _bytes_of(head, b"x"), every, tls) as server:
        yield server


@contextmanager
def body_trickler(every: float = TRICKLE_EVERY, tls: ssl.SSLContext | None = None) -> Iterator[_TrickleServer]:
    """Answers 200 and its headers at once (a 1 MB JSON body announced), then the body one byte
    every `every` seconds."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n"
    with _trickling(head, lambda: _bytes_of(b"[", b" "), every, tls) as server:
        yield server


class _Relay(socketserver.BaseRequestHandler):
    """Passes a connection on to the upstream server; its answers, once the server's `trickle` is
    set, one byte every `every` seconds."""

    server: _RelayServer

    def handle(self) -> None:
        try:
            upstream = socket.create_connection(self.server.upstream)
        except OSError:
            return
        with upstream:
            requests = threading.Thread(target=self._pass, args=(self.request, upstream, False), daemon=True)
            requests.start()
            self._pass(upstream, self.request, True)

    def _pass(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        server = self.server
        try:
            while data := source.recv(65536):
                if not (answers and server.trickle.is_set()):
                    sink.sendall(data)
                    continue
                for i in range(len(data)):
                    if server.stopping.wait(server.every):
                        return
                    sink.sendall(data[i : i + 1])
        except OSError:
            return
        finally:
            for end in (source, sink):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


class _RelayServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    upstream: tuple[str, int]
    every: float
    trickle: threading.Event  # set by the test: from then on, answers come one byte at a time
    stopping: threading.Event


@contextmanager
def trickling_relay(upstream: str, every: float = TRICKLE_EVERY) -> Iterator[_RelayServer]:
    """A relay in front of `upstream` (http://host:port) that passes everything on at once until
    the test sets `.trickle`, and from then on the answers one byte every `every` seconds."""
    parts = urlsplit(upstream)
    server = _RelayServer(("127.0.0.1", 0), _Relay)
    server.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
    server.every, server.trickle, server.stopping = every, threading.Event(), threading.Event()
    with serving(server):
        try:
            yield server
        finally:
            server.stopping.set()  # the relaying handlers end before the server shuts down
