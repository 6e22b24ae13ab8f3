"""HTTP load for the mock benchmarks: keep-alive connections driven from one thread by a selector,
each request written as ready bytes and each answer read by its Content-Length. That is tens of
microseconds of Python per call (41 % of a core at 4,300 calls a second on the users list), so
on 2 cores the server under test, not the load, sets the rate. A `requests` session per thread
costs about a millisecond a call: it held every server to one figure (mock and Prism 586 and 540
calls a second, a mock with 20,000 tasks and an empty one 460 each), and a ratio of two such
figures says nothing."""

from __future__ import annotations

import re
import selectors
import socket
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

CONTENT_LENGTH = re.compile(r"(?im)^content-length:\s*(\d+)")


class LoadError(RuntimeError):
    """The server answered something other than 200 with a length, or dropped a connection."""


def request(method: str, url: str) -> bytes:
    """An HTTP/1.1 request without a body, as bytes to send again and again."""
    parts = urlsplit(url)
    length = "Content-Length: 0\r\n" if method in ("POST", "PUT") else ""
    return (
        f"{method} {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: application/json\r\n{length}\r\n".encode()
    )


class _Connection:
    """One keep-alive connection: its cycle of requests and the answer arriving."""

    def __init__(self, sock: socket.socket, cycle: Sequence[bytes]) -> None:
        self.sock, self.cycle, self.next = sock, cycle, 0
        self.buffer, self.need = bytearray(), -1

    def send(self) -> None:
        self.sock.send(self.cycle[self.next])  # a few hundred bytes: an empty send buffer takes them whole
        self.next = (self.next + 1) % len(self.cycle)

    def feed(self, chunk: bytes) -> bool:
        """Whether `chunk` completes the answer."""
        self.buffer += chunk
        if self.need < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return False
            head = bytes(self.buffer[:end]).decode("latin-1")
            if not head.startswith("HTTP/1.1 200"):
                raise LoadError(f"answered {head.splitlines()[0]!r} under load")
            length = CONTENT_LENGTH.search(head)
            if length is None:
                raise LoadError("answered without a Content-Length, which this load cannot read")
            self.need = end + 4 + int(length.group(1))
        if len(self.buffer) < self.need:
            return False
        self.buffer, self.need = bytearray(), -1
        return True


def calls_per_second(base: str, cycles: Sequence[Sequence[bytes]], seconds: float) -> float:
    """Answers a second over `seconds`: one connection to `base` per cycle, each sending its
    cycle's requests in turn, the next as soon as the last is answered."""
    parts = urlsplit(base)
    answered = 0
    with selectors.DefaultSelector() as selector:
        connections = [
            _Connection(socket.create_connection((parts.hostname, parts.port), timeout=10), cycle) for cycle in cycles
        ]
        try:
            started = time.perf_counter()
            for connection in connections:
                connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                connection.send()
                connection.sock.setblocking(False)
                selector.register(connection.sock, selectors.EVENT_READ, connection)
            stop = started + seconds
            while (left := stop - time.perf_counter()) > 0:
                for key, _ in selector.select(timeout=left):
                    connection = key.data
                    chunk = connection.sock.recv(1 << 18)
                    if not chunk:
                        raise LoadError("closed a keep-alive connection under load")
                    if connection.feed(chunk):
                        answered += 1
                        connection.send()
            elapsed = time.perf_counter() - started
        finally:
            for connection in connections:
                connection.sock.close()
    return answered / elapsed
