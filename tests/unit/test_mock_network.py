"""The mock on a network: no client can exhaust it for the others (`lucs_harness/mock/limits.py`).

Heads over the limits are refused in LUCS's error envelope and closed, a head that never ends is
refused once it passes them with the server's memory bounded, idle connections and requests that
take too long to arrive (slowloris) are closed while others are served, and past the connection
cap under a low `ulimit -n` new connections are answered 503 and the server never runs out of
descriptors. Everything runs on loopback; the only sleeps are an attack's own pace."""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import resource
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from lucs_harness.contract import default_contract
from lucs_harness.mock.limits import (
    IDLE_TIMEOUT,
    MAX_CONNECTIONS,
    MAX_HEADER_SIZE,
    MAX_HEADERS,
    MAX_REQUEST_LINE,
    REQUEST_TIMEOUT,
    GuardedProtocol,
    Limits,
    Room,
    batch_for,
    headroom,
)
from lucs_harness.mock.server import MockServer, StartError
from tests.realtarget.support import free_port
from tests.support.suite import ROOT, child_env

pytestmark = pytest.mark.slow  # waits out deadlines or runs child processes: make test, not make check

TIMEOUT = 5.0  # the longest any wait here may take; each ends as soon as its state is reached
MiB = 1024 * 1024


# helpers: raw sockets, since a client library would neither send a broken head nor show the close


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)


def _until_closed(sock: socket.socket, timeout: float = TIMEOUT) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed (its
    `time.monotonic()`); a reset counts as the close. Fails if it is still open after `timeout`."""
    started = time.monotonic()
    received = bytearray()
    while True:
        left = started + timeout - time.monotonic()
        assert left > 0, f"still open after {timeout} s; received {bytes(received[:200])!r}"
        readable, _, _ = select.select([sock], [], [], left)
        if not readable:
            continue
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return bytes(received), time.monotonic()
        received += chunk


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def _reply(raw: bytes) -> Reply:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return Reply(int(status_line.split()[1]), headers, body)


def _envelope(reply: Reply, status: int, code: str) -> None:
    assert reply.status == status, reply
    envelope: Any = json.loads(reply.body)
    assert default_contract().check("error.json", envelope).violations == (), envelope
    assert envelope["Error"]["Code"] == code, envelope
    assert reply.headers["connection"] == "close"


def _exchange(port: int, head: bytes) -> tuple[Reply, bytes]:
    """Send a whole head; the first answer, and what followed it before the close (must be nothing)."""
    with _connect(port) as sock:
        sock.sendall(head)
        raw, _ = _until_closed(sock)
    reply = _reply(raw)
    length = int(reply.headers.get("content-length", "0"))
    return Reply(reply.status, reply.headers, reply.body[:length]), reply.body[length:]


def _get(target: str, fields: list[tuple[str, str]]) -> bytes:
    lines = [f"GET {target} HTTP/1.1", *(f"{name}: {value}" for name, value in fields)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _served(reply: Reply) -> bool:
    return reply.status == 200


@contextmanager
def _uvicorn_log() -> Iterator[list[logging.LogRecord]]:
    """The records uvicorn's error logger emits meanwhile (it does not propagate to pytest's)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


# 1. Heads over the limits: 414 or 431 in the envelope, then closed; at the limit, served.

SMALL = Limits(max_request_line=100, max_header_size=300, max_headers=5)
HOST = ("Host", "127.0.0.1")  # 4 + 9 + 4 = 17 bytes of the fields


@pytest.fixture(scope="module")
def small() -> Iterator[MockServer]:
    with MockServer(limits=SMALL) as server:
        yield server


def _target(line: int) -> str:
    """A target that makes `GET <target> HTTP/1.1` exactly `line` bytes."""
    base = "/v1.0/services?pad="
    return base + "x" * (line - len("GET  HTTP/1.1") - len(base))


def test_a_request_line_at_the_limit_is_served_and_one_byte_longer_is_414(small: MockServer) -> None:
    served, _ = _exchange(small.port, _get(_target(100), [HOST, ("Connection", "close")]))
    assert served.status == 200, served
    refused, after = _exchange(small.port, _get(_target(101), [HOST]))
    _envelope(refused, 414, "URITooLong")
    assert after == b""


def test_header_fields_at_the_size_limit_are_served_and_one_byte_more_is_431(small: MockServer) -> None:
    def pad(size: int) -> list[tuple[str, str]]:  # HOST, Connection: close (19 bytes) and X-Pad making `size`
        return [HOST, ("Connection", "close"), ("X-Pad", "p" * (size - 17 - 19 - len("X-Pad") - 4))]

    served, _ = _exchange(small.port, _get("/v1.0/services", pad(300)))
    assert served.status == 200, served
    refused, after = _exchange(small.port, _get("/v1.0/services", pad(301)))
    _envelope(refused, 431, "RequestHeaderFieldsTooLarge")
    assert after == b""


def test_as_many_header_fields_as_the_limit_are_served_and_one_more_is_431(small: MockServer) -> None:
    fields = [HOST, ("Connection", "close"), *((f"X-{n}", "1") for n in range(3))]
    served, _ = _exchange(small.port, _get("/v1.0/services", fields))
    assert served.status == 200, served
    refused, after = _exchange(small.port, _get("/v1.0/services", [*fields, ("X-3", "1")]))
    _envelope(refused, 431, "RequestHeaderFieldsTooLarge")
    assert after == b""


def test_a_head_sent_a_byte_at_a_time_is_counted_across_reads(small: MockServer) -> None:
    with _connect(small.port) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in _get("/v1.0/services", [HOST, ("Connection", "close")]):
            sock.send(bytes([byte]))
        served, _ = _until_closed(sock)
    assert _reply(served).status == 200


def _endless(port: int, start: bytes, piece: bytes) -> tuple[bytes, int]:
    """Send `start`, then `piece` again and again until the server closes; what it answered and
    how many bytes were sent (some still in flight when it closed)."""
    sent = 0
    with _connect(port) as sock:
        sock.sendall(start)
        sock.setblocking(False)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], TIMEOUT)
            if readable:
                sock.setblocking(True)
                answered, _ = _until_closed(sock)
                return answered, sent
            if writable:
                try:
                    sent += sock.send(piece)
                except (BrokenPipeError, ConnectionResetError):
                    return b"", sent
    pytest.fail(f"the server kept reading an endless head ({sent} bytes)")


@pytest.mark.parametrize(
    ("start", "piece", "status"),
    [
        (b"GET /v1.0/services HTTP/1.1\r\nX-Endless: ", b"v" * 1024, 431),  # one value without end
        (b"GET /v1.0/services HTTP/1.1\r\n", b"X-Many: 1\r\n" * 100, 431),  # fields without end
        (b"GET /v1.0/services HTTP/1.1\r\n", b"X:\r\n" * 256, 431),  # the shortest fields
        (b"GET /", b"a" * 1024, 414),  # a target without end
    ],
    ids=["one-value", "many-fields", "tiny-fields", "request-line"],
)
def test_a_head_that_never_ends_is_refused_once_it_passes_the_limits(
    small: MockServer, start: bytes, piece: bytes, status: int
) -> None:
    answered, _ = _endless(small.port, start, piece)
    if answered:  # the client may be reset before it reads the answer: it is still sending
        reply = _reply(answered)
        code = "URITooLong" if status == 414 else "RequestHeaderFieldsTooLarge"
        _envelope(Reply(reply.status, reply.headers, reply.body[: int(reply.headers["content-length"])]), status, code)


def test_the_default_limits() -> None:
    limits = Limits()
    assert (limits.max_request_line, limits.max_header_size, limits.max_headers) == (8192, 16384, 100)
    assert (limits.idle_timeout, limits.request_timeout, limits.max_connections) == (5.0, 10.0, None)
    assert (MAX_REQUEST_LINE, MAX_HEADER_SIZE, MAX_HEADERS, IDLE_TIMEOUT, REQUEST_TIMEOUT) == (
        8192,
        16384,
        100,
        5.0,
        10.0,
    )


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"max_request_line": 15}, "--max-request-line must be at least 16"),
        ({"max_header_size": 0}, "--max-header-size must be at least 1"),
        ({"max_headers": 0}, "--max-headers must be at least 1"),
        ({"idle_timeout": 0}, "--idle-timeout must be a number of seconds above 0"),
        ({"request_timeout": float("inf")}, "--request-timeout must be a number of seconds above 0"),
        ({"request_timeout": float("nan")}, "--request-timeout must be"),
        ({"max_connections": 0}, "--max-connections must be at least 1"),
    ],
)
def test_a_limit_the_mock_cannot_serve_with_is_refused(setting: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Limits(**setting)


# 2. Idle connections and requests too slow to arrive are closed; the others are served meanwhile.


def test_connections_that_send_nothing_are_closed_after_the_idle_timeout() -> None:
    with MockServer(limits=Limits(idle_timeout=0.3)) as server:
        opened = time.monotonic()
        silent = [_connect(server.port) for _ in range(50)]
        with _connect(server.port) as used:  # and one idle after an answer (uvicorn's own keep-alive)
            used.sendall(_get("/v1.0/services", [HOST]))
            closes = [_until_closed(sock)[1] - opened for sock in silent]
            answered, closed = _until_closed(used)
        for sock in silent:
            sock.close()
    assert _reply(answered).status == 200
    assert min(closes) > 0.25, closes
    assert max(closes) < 3.0, closes
    assert 0.25 < closed - opened < 3.0


def test_a_slowloris_head_is_answered_408_and_closed_while_a_normal_client_is_served() -> None:
    with MockServer(limits=Limits(request_timeout=0.5)) as server, _connect(server.port) as slow:
        slow.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        slow.sendall(b"GET /v1.0/services HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        trickle = threading.Thread(target=_trickle, args=(slow, b"X-Slow: 1\r\n"), daemon=True)
        trickle.start()
        served = requests.get(f"{server.base_url}/v1.0/services", timeout=TIMEOUT)
        answered, closed = _until_closed(slow)
        closed_after = closed - started
        trickle.join(TIMEOUT)
    assert served.status_code == 200
    assert 0.45 < closed_after < 3.0, closed_after
    if answered:
        reply = _reply(answered)
        assert reply.status == 408
        assert json.loads(reply.body)["Error"]["Code"] == "RequestTimeout"


def _trickle(sock: socket.socket, piece: bytes) -> None:
    """The attack: one piece every 100 ms, each short of the end, until the server closes."""
    while True:
        time.sleep(0.1)
        try:
            sock.send(piece)
        except OSError:
            return


def test_a_body_that_stops_coming_is_answered_408_and_closed_without_a_traceback() -> None:
    with _uvicorn_log() as records, MockServer(limits=Limits(request_timeout=0.5)) as server:
        with _connect(server.port) as slow:
            head = b"POST /v1.0/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n"
            slow.sendall(head + b'\r\n{"Ext')
            started = time.monotonic()
            trickle = threading.Thread(target=_trickle, args=(slow, b" "), daemon=True)
            trickle.start()
            answered, closed = _until_closed(slow)
            closed_after = closed - started
            trickle.join(TIMEOUT)
        served = requests.get(f"{server.base_url}/v1.0/services", timeout=TIMEOUT)
    assert served.status_code == 200
    assert 0.45 < closed_after < 3.0
    reply = _reply(answered)
    assert reply.status == 408
    assert "body did not arrive within 0.5 s" in json.loads(reply.body)["Error"]["Message"]
    assert not [r for r in records if r.levelno >= logging.ERROR], [r.getMessage() for r in records]
    assert server.lucs.snapshot()["tasks"] == []


def test_a_request_that_arrives_in_pieces_within_the_timeout_is_served() -> None:
    with MockServer(limits=Limits(request_timeout=2.0)) as server, _connect(server.port) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = _get("/v1.0/services", [HOST, ("Connection", "close")])
        for piece in (head[:10], head[10:40], head[40:]):
            sock.send(piece)
            time.sleep(0.1)  # the client's pace
        answered, _ = _until_closed(sock)
    assert _reply(answered).status == 200


# 3. The connection cap: under the descriptor limit, with headroom; past it, 503 and closed.


def test_the_cap_leaves_headroom_under_the_descriptor_limit() -> None:
    assert [batch_for(n) for n in (64, 256, 1024, 4096, 1 << 20)] == [8, 16, 64, 128, 128]
    room = Room(limit=1024, held=20, batch=64, connections=1024 - 20 - headroom(64))
    assert headroom(64) == 4 * 64 + 32
    assert Limits().cap(room) == room.connections == 716
    assert Limits().cap(Room(limit=20000, held=20, batch=128, connections=19000)) == MAX_CONNECTIONS
    assert Limits(max_connections=700).cap(room) == 700
    with pytest.raises(ValueError, match=r"--max-connections 717 does not fit .*ulimit -n 1024.*at most 716"):
        Limits(max_connections=717).cap(room)
    with pytest.raises(ValueError, match=r"ulimit -n 64\) leaves no room for connections"):
        Limits().cap(Room(limit=64, held=30, batch=8, connections=64 - 30 - headroom(8)))


def test_the_embedded_mock_runs_the_same_limits() -> None:
    mock = MockServer(limits=Limits(max_connections=7, idle_timeout=1.5))
    config = mock.config()
    protocol = config.http
    assert isinstance(protocol, type)
    assert issubclass(protocol, GuardedProtocol)
    assert protocol.shared.cap == 7
    assert protocol.shared.limits.idle_timeout == 1.5
    assert config.backlog == Room.now().batch
    default = MockServer().config().http
    assert isinstance(default, type)
    assert issubclass(default, GuardedProtocol)
    assert default.shared.limits == Limits()


def test_a_cap_over_the_room_is_a_start_error() -> None:
    with pytest.raises(StartError, match="does not fit under the descriptor limit"):
        MockServer(limits=Limits(max_connections=Room.now().connections + 1)).server()


def test_past_the_cap_new_connections_are_answered_503_and_served_again_once_some_close() -> None:
    with MockServer(limits=Limits(max_connections=20, idle_timeout=60)) as server:
        held = [_connect(server.port) for _ in range(20)]
        with _connect(server.port) as turned_away:
            knocked = time.monotonic()
            refused, closed = _until_closed(turned_away)
        _envelope(_reply(refused), 503, "ServiceUnavailable")
        assert _reply(refused).headers["retry-after"] == "1"
        assert closed - knocked < 1.0
        for sock in held[:5]:
            sock.close()
        served = _wait_served(server.base_url)
        for sock in held[5:]:
            sock.close()
    assert served.status_code == 200


def _wait_served(base: str) -> requests.Response:
    """Ask until served: closes reach the server a moment after the client's."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            answer = requests.get(f"{base}/v1.0/services", timeout=TIMEOUT)
        except requests.ConnectionError:
            answer = None
        if (answer is not None and answer.status_code == 200) or time.monotonic() > deadline:
            assert answer is not None
            return answer
        time.sleep(0.02)


# 4. `lucs-mock serve` in a process of its own: its memory under a flood, its descriptors at a low ulimit.


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / MiB
        raise AssertionError(f"no VmRSS for {self.process.pid}")


@contextmanager
def _serve(tmp_path: Path, *args: str, descriptors: int | None = None) -> Iterator[Served]:
    """`lucs-mock serve ARGS`, its output in a file; with `descriptors`, under that `ulimit -n`."""
    port = free_port()
    log = tmp_path / f"mock-{port}.log"

    def limit() -> None:
        if descriptors is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (descriptors, descriptors))

    command = [sys.executable, "-m", "lucs_harness.mock.cli", "serve", "--port", str(port), "--quiet", *args]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=child_env(), stdout=output, stderr=subprocess.STDOUT, preexec_fn=limit
        )
    served = Served(process, port, log)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                requests.get(f"{served.base}/v1.0/services", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.02)
        yield served
    finally:
        process.terminate()
        process.wait(timeout=10)


class _Peak(threading.Thread):
    """The highest resident memory of a served mock while it runs."""

    def __init__(self, served: Served) -> None:
        super().__init__(daemon=True)
        self.served, self.peak, self.done = served, served.rss(), threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.01):
            self.peak = max(self.peak, self.served.rss())

    def __enter__(self) -> _Peak:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.join()
        self.peak = max(self.peak, self.served.rss())


FLOOD_SECONDS = 2.0


def _flood(port: int, start: bytes, piece: bytes, closes: list[int], until: float) -> None:
    """One flooder: an endless head, again on a new connection each time the server closes one."""
    while time.monotonic() < until:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
            try:
                sock.sendall(start)
                while time.monotonic() < until:
                    sock.sendall(piece)
            except OSError:
                closes.append(1)


def test_a_header_flood_is_refused_and_the_servers_memory_stays_bounded(tmp_path: Path) -> None:
    """Before the limits, one connection sending one endless header grew the server by 1.6 GB in 10 s."""
    with _serve(tmp_path) as served:
        before = served.rss()
        with _Peak(served) as peak:
            # heads just short of the limits, held open: the most memory a connection may take
            head = b"GET /" + b"a" * 8000 + b" HTTP/1.1\r\n" + (b"X-H: " + b"b" * 1000 + b"\r\n") * 15
            holders = [_connect(served.port) for _ in range(300)]
            for sock in holders:
                sock.sendall(head)
            # and floods of endless heads: one value, many fields, one target
            until = time.monotonic() + FLOOD_SECONDS
            closes: list[int] = []
            floods = [
                (b"GET /v1.0/services HTTP/1.1\r\nX-Endless: ", b"v" * 16384),
                (b"GET /v1.0/services HTTP/1.1\r\n", b"X-Flood: " + b"f" * 100 + b"\r\n"),
                (b"GET /", b"a" * 16384),
            ] * 4
            flooders = [threading.Thread(target=_flood, args=(served.port, *f, closes, until)) for f in floods]
            for flooder in flooders:
                flooder.start()
            during = requests.get(f"{served.base}/v1.0/services", timeout=TIMEOUT)
            for flooder in flooders:
                flooder.join()
            for sock in holders:
                sock.close()
        assert during.status_code == 200
        assert len(closes) > len(floods), "the server did not close endless heads"
        assert peak.peak - before < 50, f"RSS {before:.0f} MiB before, {peak.peak:.0f} MiB at the peak"


LOW_ULIMIT = 256  # `batch_for` 16, headroom 96: a cap of about 150


def test_at_a_low_ulimit_connections_past_the_cap_get_503_and_the_server_never_runs_out(tmp_path: Path) -> None:
    """Before the cap, 1,100 idle connections at ulimit -n 1024 left the mock answering nobody."""
    with _serve(tmp_path, "--idle-timeout", "60", descriptors=LOW_ULIMIT) as served:
        crowd = [_connect(served.port) for _ in range(2 * LOW_ULIMIT)]  # twice the descriptor limit, at once
        statuses = [_status(sock) for sock in crowd]
        assert set(statuses) == {200, 503}, statuses
        assert 100 < statuses.count(200) < LOW_ULIMIT - 64, statuses.count(200)
        busy = requests.get(f"{served.base}/v1.0/services", timeout=TIMEOUT)
        for sock in crowd:
            sock.close()
        again = _wait_served(served.base)
        log = served.log.read_text()
    assert busy.status_code == 503
    assert json.loads(busy.content)["Error"]["Code"] == "ServiceUnavailable"
    assert again.status_code == 200
    for sign in ("Too many open files", "EMFILE", "out of system resource"):
        assert sign not in log, log
    assert "connections open: a new one is answered 503" in log


def _status(sock: socket.socket) -> int:
    """A request on the connection, and its answer's status: 200 on one served (it stays open),
    503 on one turned away (answered before the request was sent, and closed)."""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(_get("/v1.0/services", [HOST]))
    answer = http.client.HTTPResponse(sock)
    answer.begin()
    answer.read()
    return answer.status


def test_a_cap_the_descriptor_limit_cannot_hold_is_one_line_and_exit_2(tmp_path: Path) -> None:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (LOW_ULIMIT, LOW_ULIMIT))

    refused = _run_limited(["--max-connections", "1000"], limit)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith("lucs-mock: --max-connections 1000 does not fit under the descriptor limit")
    assert "ulimit -n 256" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1


def _run_limited(args: list[str], limit: Callable[[], None]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "lucs_harness.mock.cli", "serve", "--port", "0", *args]
    return subprocess.run(
        command,
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=15,
        check=False,
        preexec_fn=limit,
    )
