"""Servers that misbehave the way real ones do: accept and never answer, answer 200 with a huge
body, answer JSON nested deeper than any DTO, redirect elsewhere (with a capture server that
records what reaches it). Each runs in a thread on a loopback port."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HUGE_BYTES = 50 * 1024 * 1024
NESTING = 600


@contextmanager
def silent_server() -> Iterator[str]:
    """Accepts connections (the kernel completes the handshake) and never reads or answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


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
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def url_of(server: ThreadingHTTPServer, scheme: str = "http") -> str:
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
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)  # a quick shutdown
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def capture_server() -> Iterator[_RedirectServer]:
    """A server on another port that records every request reaching it (and answers 200 `[]`)."""
    with redirecting_server(lambda path: None) as server:
        yield server
