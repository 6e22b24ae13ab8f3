"""Every exchange ends by its deadline, from connect to the last byte of the body, however slowly
the bytes come: a read timeout restarts with every byte, so a server that trickles its status
line, its headers or its body one byte at a time (each far within the read timeout) must be cut by
the wall clock. Each server is a throw-away one on 127.0.0.1 (`tests/realtarget/misbehaving.py`)."""

from __future__ import annotations

import re
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from lucs_harness.client import Exchange, LucsClient
from lucs_harness.config import SEED_SERVICE, LucsConfig
from lucs_harness.errors import ExchangeTimeout, TransportError, Unreachable
from lucs_harness.exit_codes import UNREACHABLE
from lucs_harness.plugin.fixtures import transport_watch
from lucs_harness.plugin.session import RunState
from tests.realtarget.misbehaving import body_trickler, header_trickler, silent_server, url_of
from tests.realtarget.support import tls_files, wait_for
from tests.support.restores import timed_restore

pytestmark = pytest.mark.slow  # waits out deadlines or runs child processes: make test, not make check

SLACK = 0.5  # seconds past a deadline an exchange may take to fail: a loaded 2-core machine
TRICKLERS = {"headers": header_trickler, "body": body_trickler}


def client_of(base: str, **settings: Any) -> LucsClient:
    """A client whose read timeout never fires against a trickler: only a deadline can end a call."""
    return LucsClient(LucsConfig(**({"get_retries": 0, "read_timeout": 5.0} | settings)), base)


def timed_failure(client: LucsClient) -> tuple[TransportError, float]:
    """The transport error of one call, and how long the call took."""
    started = time.monotonic()
    with pytest.raises(TransportError) as failure:
        client.list_users(SEED_SERVICE)
    return failure.value, time.monotonic() - started


def arrived(error: BaseException) -> int:
    found = re.search(r"(\d+) bytes? of the answer had arrived", str(error))
    assert found, str(error)
    return int(found.group(1))


@pytest.fixture
def trickling(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    """A trickler of the kind the test's parameter names, and its base URL."""
    with TRICKLERS[request.param]() as server:
        yield request.param, server


@pytest.mark.parametrize("trickling", TRICKLERS, indirect=True)
def test_a_trickled_answer_is_cut_at_the_exchange_deadline(trickling: tuple[str, Any]) -> None:
    kind, server = trickling
    client = client_of(url_of(server), exchange_timeout=0.5)
    error, elapsed = timed_failure(client)
    client.close()
    assert 0.5 <= elapsed < 0.5 + SLACK, elapsed  # not never: the read timeout of 5 s restarts every 50 ms
    assert isinstance(error, ExchangeTimeout)
    assert not isinstance(error, Unreachable)
    status, phase = (
        ("no response", "before the status line and headers were complete")
        if kind == "headers"
        else ("200", "while the body was coming")
    )
    assert f"-> {status}: transport error after" in str(error)
    assert f"the exchange deadline (exchange_timeout 0.5 s) passed {phase}" in str(error)
    assert arrived(error) >= 2  # bytes did come: the read timeout alone would have waited on
    assert client.last_exchange is not None
    assert client.last_exchange.transport_error  # it counts toward `unreachable_after`, status or not


def test_the_deadline_is_connect_plus_read_timeout_unless_set() -> None:
    with header_trickler() as server:
        client = client_of(url_of(server), connect_timeout=0.2, read_timeout=0.4)
        error, elapsed = timed_failure(client)
        client.close()
    assert 0.6 <= elapsed < 0.6 + SLACK, elapsed
    assert "exchange_timeout 0.6 s" in str(error)


def test_a_server_that_never_answers_is_cut_at_the_deadline_with_nothing_arrived() -> None:
    with silent_server() as base:
        client = client_of(base, exchange_timeout=0.3)
        error, elapsed = timed_failure(client)
        client.close()
    assert elapsed < 0.3 + SLACK, elapsed
    assert isinstance(error, ExchangeTimeout)
    assert arrived(error) == 0


def test_a_trickle_over_tls_is_cut_at_the_deadline_too(tmp_path: Path) -> None:
    files = tls_files(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.cert, files.key)
    with header_trickler(tls=context) as server:
        client = client_of(url_of(server, "https"), exchange_timeout=0.5, ca_bundle=str(files.bundle))
        error, elapsed = timed_failure(client)
        client.close()
    assert 0.5 <= elapsed < 0.5 + SLACK, elapsed
    assert isinstance(error, ExchangeTimeout)
    assert arrived(error) >= 2


def test_the_client_gives_up_on_the_connection_and_the_next_call_starts_afresh() -> None:
    with body_trickler() as server:
        client = client_of(url_of(server), exchange_timeout=0.3)
        for _ in range(2):
            timed_failure(client)
        client.close()
        wait_for(lambda: server.hung_up == 2, "the trickler to see both connections closed", 5)  # at its next bytes


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_proxy_that_trickles_is_cut_at_the_deadline_too(scheme: str) -> None:
    """Through an HTTP proxy: a request forwarded (http), or the proxy's answer to CONNECT (https)."""
    with header_trickler() as proxy:
        client = client_of(f"{scheme}://lucs.invalid", exchange_timeout=0.5, proxy=url_of(proxy))
        error, elapsed = timed_failure(client)
        client.close()
    assert 0.5 <= elapsed < 0.5 + SLACK, elapsed
    assert isinstance(error, ExchangeTimeout)


@pytest.mark.parametrize("trickling", TRICKLERS, indirect=True)
def test_an_undo_against_a_trickler_ends_within_the_restore_timeout(trickling: tuple[str, Any]) -> None:
    _, server = trickling
    client = client_of(url_of(server), exchange_timeout=30.0)  # only the restore's deadline can end it
    failed, elapsed = timed_restore(client, within=1.0)
    client.close()
    assert 1.0 <= elapsed < 1.0 + SLACK, elapsed
    assert "unblock c: ExchangeTimeout: POST" in failed[0]
    assert "the restore deadline (restore_timeout) passed " in failed[0]
    assert failed[1:] == [
        "unblock b: not attempted, the restore deadline passed",
        "unblock a: not attempted, the restore deadline passed",
    ]


def test_a_within_block_bounds_its_own_thread_only() -> None:
    with header_trickler() as server:
        client = client_of(url_of(server), exchange_timeout=1.0)
        took: dict[str, float] = {}
        failures: dict[str, str] = {}

        def call(name: str, block: AbstractContextManager[None] | None) -> None:
            started = time.monotonic()
            try:
                if block is None:
                    client.list_users(SEED_SERVICE)
                else:
                    with block:
                        client.list_users(SEED_SERVICE)
            except TransportError as error:
                failures[name] = str(error)
            took[name] = time.monotonic() - started

        threads = [
            threading.Thread(target=call, args=("within", client.within(0.3, "the test's deadline"))),
            threading.Thread(target=call, args=("plain", None)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        client.close()
    assert 0.3 <= took["within"] < 0.3 + SLACK, took
    assert 1.0 <= took["plain"] < 1.0 + SLACK, took
    assert "the test's deadline passed" in failures["within"]
    assert "exchange_timeout 1 s" in failures["plain"]


def test_an_answer_cut_after_its_status_counts_toward_unreachable() -> None:
    run = RunState(session=cast(Any, SimpleNamespace(shouldstop=False)))
    listen = transport_watch(run, limit=2)
    cut = Exchange("list_users", "GET", "http://lucs/x", status=200, transport_error=True)
    listen(cut)
    listen(Exchange("list_users", "GET", "http://lucs/x", status=200))
    listen(cut)
    assert run.exit_code is None  # not two in a row
    listen(cut)
    assert run.exit_code == UNREACHABLE
