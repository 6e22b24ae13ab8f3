"""The client stays bounded whatever a server sends: bodies over the cap are not read (nor
inflated), JSON that is not JSON or nests too deep fails its call with a clear message, and what
the reports show of a body is cut. Each server is a throw-away one on 127.0.0.1, answering raw
bytes written by the test."""

from __future__ import annotations

import copy
import json
import socketserver
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import allure
import pytest

from lucs_harness.client import MEGABYTE, Exchange, LucsClient, parse_json
from lucs_harness.config import SEED_SERVICE, LucsConfig
from lucs_harness.contract import default_contract
from lucs_harness.errors import (
    JsonTooDeep,
    LucsError,
    NotJson,
    ResponseTooLarge,
    SchemaViolation,
    TransportError,
    Unreachable,
)
from lucs_harness.json_bounds import MAX_JSON_DEPTH, text_nests_deeper_than
from lucs_harness.redact import MASK, Redactor
from lucs_harness.reporting.exchanges import BODY_DISPLAY_LIMIT, allure_listener, exchange_record

HUGE = 50 * MEGABYTE
PIECE = b" " * (64 * 1024)
USERS_URL = rf"GET http://127\.0\.0\.1:\d+/v1\.0/services/{SEED_SERVICE}/users"


class Script:
    """What a scripted server answers, and what it saw: bytes that went out, a client that hung up."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = replies
        self.connections = 0
        self.sent = 0
        self.broken = False
        self.answered = threading.Event()  # set when an answer is over, sent whole or cut off
        self.release = threading.Event()  # lets a held-back body go; set by the test, or at teardown


Reply = Callable[[Script], Iterator[bytes]]  # one answer, as the pieces written to the socket


class _Handler(socketserver.StreamRequestHandler):
    """Answers each request on a connection with the next reply of the script."""

    server: _Server

    def handle(self) -> None:
        script = self.server.script
        script.connections += 1
        while self._read_head() and script.replies:
            try:
                for piece in script.replies.pop(0)(script):
                    self.wfile.write(piece)
                    script.sent += len(piece)
            except OSError:
                script.broken = True
                return
            finally:
                script.answered.set()

    def _read_head(self) -> bool:
        line = self.rfile.readline()
        while line not in (b"\r\n", b""):
            line = self.rfile.readline()
        return line == b"\r\n"


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    script: Script


@pytest.fixture
def serve() -> Iterator[Callable[..., tuple[LucsClient, Script]]]:
    """Start a server answering `replies` in turn; returns a client of it (cap from `settings`)."""
    started: list[tuple[_Server, LucsClient, Script]] = []

    def start(*replies: Reply, **settings: Any) -> tuple[LucsClient, Script]:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.script = Script(list(replies))
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()  # quick to shut down
        config = LucsConfig(**({"get_retries": 0, "read_timeout": 5.0} | settings))
        client = LucsClient(config, f"http://127.0.0.1:{server.server_address[1]}")
        started.append((server, client, server.script))
        return client, server.script

    yield start
    for server, client, script in started:
        script.release.set()
        client.close()
        server.shutdown()
        server.server_close()


def head(status: str = "200 OK", **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(body: bytes, content_type: str = "application/json", status: str = "200 OK", **headers: str) -> Reply:
    def pieces(_: Script) -> Iterator[bytes]:
        yield head(status, Content_Type=content_type, Content_Length=str(len(body)), **headers) + body

    return pieces


def flood(framing: str, total: int = HUGE, held: bool = False, status: str = "200 OK", **headers: str) -> Reply:
    """`total` bytes in 64 KB pieces: with a Content-Length, chunked, or until the connection closes;
    a `held` body only once the script is released."""
    framings = {"length": {"Content_Length": str(total)}, "chunked": {"Transfer_Encoding": "chunked"}}

    def pieces(script: Script) -> Iterator[bytes]:
        yield head(status, Content_Type="application/json", **framings.get(framing, {"Connection": "close"}), **headers)
        if held:
            script.release.wait(10)
        for _ in range(total // len(PIECE)):
            yield b"%x\r\n%s\r\n" % (len(PIECE), PIECE) if framing == "chunked" else PIECE

    return pieces


def seen_by(client: LucsClient) -> list[Exchange]:
    """The exchanges the client's listeners see, each also turned into its report record."""
    seen: list[Exchange] = []

    def listen(exchange: Exchange) -> None:
        json.dumps(exchange_record(exchange, client.redactor))  # what the reports do: must not fail
        seen.append(exchange)

    client.listeners.append(listen)
    return seen


# ---- bodies over the cap ---------------------------------------------------------------------


def test_a_content_length_over_the_cap_fails_at_once_without_reading_the_body(serve: Any) -> None:
    client, script = serve(flood("length", held=True))  # a client waiting for the body would time out
    seen = seen_by(client)
    started = time.perf_counter()
    with pytest.raises(ResponseTooLarge, match=rf"^{USERS_URL} -> 200: response larger than 4 MB; not read further$"):
        client.list_users(SEED_SERVICE)
    assert time.perf_counter() - started < 2
    script.release.set()
    assert script.answered.wait(10)
    assert script.broken, "the server should see the connection closed"
    assert script.sent < HUGE
    assert [(e.status, e.response_text) for e in seen] == [(200, "")]


@pytest.mark.parametrize("framing", ["close", "chunked"])
def test_a_50_mb_body_without_a_length_is_read_to_the_cap_only(serve: Any, framing: str) -> None:
    client, script = serve(flood(framing))
    started = time.perf_counter()
    with pytest.raises(ResponseTooLarge, match=rf"^{USERS_URL} -> 200: response larger than 4 MB; not read further$"):
        client.list_users(SEED_SERVICE)
    assert time.perf_counter() - started < 2
    assert script.answered.wait(10)
    assert script.broken
    assert script.sent < HUGE


@cache
def gzip_bomb(inflated: int = 32 * MEGABYTE) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(MEGABYTE)
    return b"".join(packer.compress(block) for _ in range(inflated // MEGABYTE)) + packer.flush()


def test_a_gzip_bomb_is_counted_inflated_and_never_inflated_whole(serve: Any) -> None:
    bomb = gzip_bomb()
    assert len(bomb) < MEGABYTE  # on the wire it is under the cap: only the inflated size can tell
    client, _ = serve(answer(bomb, Content_Encoding="gzip"), max_response_mb=1)
    tracemalloc.start()
    try:
        with pytest.raises(
            ResponseTooLarge, match=rf"^{USERS_URL} -> 200: response larger than 1 MB; not read further$"
        ):
            client.list_users(SEED_SERVICE)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MEGABYTE, f"{peak} bytes held while reading a 32 MB bomb with a 1 MB cap"


def test_a_body_cut_off_is_not_put_back_in_the_pool_half_read(serve: Any) -> None:
    users = json.dumps(default_contract().example("user-list.json")).encode()
    client, script = serve(flood("chunked"), answer(users))
    with pytest.raises(ResponseTooLarge):
        client.list_users(SEED_SERVICE)
    assert client.list_users(SEED_SERVICE) == json.loads(users)
    assert script.connections == 2  # the half-read connection was dropped, a fresh one made


def test_a_body_of_exactly_the_cap_is_read(serve: Any) -> None:
    body = b'"' + b"x" * (MEGABYTE - 2) + b'"'
    client, _ = serve(answer(body), max_response_mb=1)
    with pytest.raises(SchemaViolation, match=r"is not of type \"array\"") as failure:
        client.list_users(SEED_SERVICE)
    assert len(str(failure.value)) < 1000  # the violation quotes the value, shortened


def test_a_thousand_broken_elements_make_a_message_of_twenty_and_a_count(serve: Any) -> None:
    client, _ = serve(answer(json.dumps(list(range(1000))).encode()))
    with pytest.raises(SchemaViolation, match=r'\$\[0\]: 0 is not of type "object"\n[^…]*  … and 980 more$') as failure:
        client.list_users(SEED_SERVICE)
    assert len(str(failure.value).splitlines()) == 1 + 20 + 1


def test_a_redirect_followed_on_the_same_origin_has_its_body_capped_too(serve: Any) -> None:
    users = json.dumps(default_contract().example("user-list.json")).encode()
    to = f"/v1.0/services/{SEED_SERVICE}/users?moved"
    same_origin = {"allow_redirects": "same-origin"}
    client, _ = serve(answer(b"moved", "text/plain", "302 Found", Location=to), answer(users), **same_origin)
    assert client.list_users(SEED_SERVICE) == json.loads(users)
    client, script = serve(flood("chunked", status="302 Found", Location=to), **same_origin)
    with pytest.raises(ResponseTooLarge, match=rf"^{USERS_URL} -> 302: response larger than 4 MB; not read further$"):
        client.list_users(SEED_SERVICE)
    assert script.answered.wait(10)
    assert script.broken


def test_a_body_that_stops_coming_is_a_late_answer_not_an_unreachable_server(serve: Any) -> None:
    client, _ = serve(flood("length", total=MEGABYTE, held=True), read_timeout=0.3)
    with pytest.raises(TransportError, match=rf"{USERS_URL} -> 200: transport error after \d+ ms") as failure:
        client.list_users(SEED_SERVICE)
    assert not isinstance(failure.value, Unreachable)


# ---- JSON that is not JSON -------------------------------------------------------------------

NOT_JSON = {
    "nested 600 deep": (b"[" * 600 + b"]" * 600, rf"nested deeper than {MAX_JSON_DEPTH} levels"),
    "nested 100000 deep": (b"[" * 100_000 + b"]" * 100_000, rf"nested deeper than {MAX_JSON_DEPTH} levels"),
    "an infinite number": (b"[1e999999]", r"number 1e999999 is out of range"),
    "10000 digits": (b"[" + b"9" * 10_000 + b"]", r"Exceeds the limit \(4300 digits\)"),
    "NaN": (b"[NaN]", r"NaN is not a JSON value"),
    "Infinity": (b"[Infinity]", r"Infinity is not a JSON value"),
    "-Infinity": (b"[-Infinity]", r"-Infinity is not a JSON value"),
    "invalid UTF-8": (b'[{"Name": "\xff"}]', r"invalid UTF-8 at byte 11"),
    "a byte order mark": (b'\xef\xbb\xbf[{"Name": "x"}]', r"Unexpected UTF-8 BOM"),
    "cut short": (b'[{"Id": "854822ed", "Name"', r"the body ends early \(cut short\?\)"),
    "a lone surrogate": (b'[{"Name": "\\ud800"}]', r"a lone surrogate in the string '\\ud800'"),
    "an empty body": (b"", r"empty, where a user-list\.json body belongs"),
}


@pytest.mark.parametrize(("body", "reason"), NOT_JSON.values(), ids=NOT_JSON.keys())
def test_json_a_server_can_send_fails_its_call_with_a_clear_message(serve: Any, body: bytes, reason: str) -> None:
    client, _ = serve(answer(body))
    seen = seen_by(client)
    with pytest.raises(
        NotJson, match=rf"^{USERS_URL} -> 200: response is not JSON \(application/json\): {reason}"
    ) as failure:
        client.list_users(SEED_SERVICE)
    assert isinstance(failure.value, LucsError)
    assert isinstance(failure.value, JsonTooDeep) == ("deep" in reason)
    assert len(str(failure.value)) < 1000
    assert seen[0].response_body is None


def test_integers_beyond_64_bits_are_kept_exact() -> None:
    body = b'{"a": [18446744073709551616, -9223372036854775809, 1' + b"0" * 400 + b', 1.5, "12345678901234567890"]}'
    assert parse_json(body) == {"a": [2**64, -(2**63) - 1, 10**400, 1.5, "12345678901234567890"]}


def test_nesting_is_measured_on_the_text_with_strings_and_escapes_ignored() -> None:
    assert not text_nests_deeper_than(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, MAX_JSON_DEPTH)
    assert text_nests_deeper_than(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)
    tricky = [
        (b'{"a": "]]]]", "b": [[["x"]]]}', 4),
        (b'["\\"[[[", {"k\\\\": [[]]}, "\\\\"]', 4),
        (b'[{"a": {"b": []}}, [[[["[{"]]]]]', 5),
        (b'"[[["', 0),
        (b"42", 0),
    ]
    for text, depth in tricky:
        assert not text_nests_deeper_than(text, depth), text
        assert depth == 0 or text_nests_deeper_than(text, depth - 1), text


# ---- what the reports show -------------------------------------------------------------------


def test_a_200_kb_body_is_cut_to_64_kb_in_the_record_with_a_note_of_the_rest() -> None:
    body = [{"Password": "hunter2", "Name": "s3cret"}] + [{"Name": "x" * 1000, "Id": i} for i in range(200)]
    text = json.dumps(body)
    exchange = Exchange(
        "list_users", "POST", "http://x/v1.0", request_body="r" * 200_000, status=200, response_body=body,
        response_text=text,
    )  # fmt: skip
    record = exchange_record(exchange, Redactor(["s3cret"]))
    shown = record["response"]["body"]
    assert isinstance(shown, str)
    head, _, note = shown.rpartition("… [")
    assert len(head.encode()) == BODY_DISPLAY_LIMIT
    redacted_size = len(json.dumps(Redactor(["s3cret"]).body(body), ensure_ascii=False).encode())
    assert note == f"{redacted_size - BODY_DISPLAY_LIMIT} bytes left out]"
    assert head.startswith(f'[{{"Password": "{MASK}", "Name": "{MASK}"}}')
    assert "hunter2" not in shown
    assert "s3cret" not in shown
    assert record["request"]["body"] == "r" * BODY_DISPLAY_LIMIT + f"… [{200_000 - BODY_DISPLAY_LIMIT} bytes left out]"


def test_a_normal_exchange_is_attached_whole_and_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    users = default_contract().example("user-list.json")
    users[0]["Token"] = "t0k"
    users[0]["DisplayName"] = "name with s3cret"
    exchange = Exchange(
        "list_users", "GET", "http://x/v1.0", status=200, response_body=users, response_text=json.dumps(users)
    )
    attached: list[str] = []
    monkeypatch.setattr(allure, "attach", lambda body, **_: attached.append(body))
    allure_listener(Redactor(["s3cret"]))(exchange)
    expected = copy.deepcopy(users)
    expected[0].update(Token=MASK, PresenceToken=MASK, DisplayName=f"name with {MASK}")
    assert json.loads(attached[0])["response"]["body"] == expected
