"""Credentials and bodies go to the configured origin only: a redirect to another origin sends
nothing there (a capture server on another port counts what reaches it), fails its call naming
the status and the Location, and no secret shows; `allow_redirects = "same-origin"` follows a
redirect on the configured scheme, host and port only, keeping the method and the body, never from
https to http, never turning a POST into a GET, at most five hops. The doctor follows none either."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lucs_harness.client import MAX_REDIRECTS, Exchange, LucsClient
from lucs_harness.config import SEED_SERVICE, LucsConfig
from lucs_harness.contract import default_contract
from lucs_harness.doctor import main as doctor
from lucs_harness.errors import RedirectRefused
from lucs_harness.reporting.exchanges import attachment
from tests.realtarget.misbehaving import capture_server, redirecting_server, url_of
from tests.realtarget.support import tls_files

SECRET = "Zq7-redirect-k3y"
FOREIGN = "f0reign-s3cret"  # a credential in a Location that the configuration does not know
TASK = default_contract().example("task-request.json")
TASK_ID = b'"854822ed-4a2a-4eb1-b07f-637ed3eab729"'
USERS = f"/v1.0/services/{SEED_SERVICE}/users"
REDIRECTS = [301, 302, 303, 307, 308]


@pytest.fixture
def capture() -> Iterator[Any]:
    """The other origin: records every request that reaches it."""
    with capture_server() as server:
        yield server


def client_of(base: str, seen: list[Exchange], **settings: Any) -> LucsClient:
    """A client with an API key (a custom header `requests` would carry along a redirect)."""
    config = LucsConfig(auth="apikey", api_key=SECRET, read_timeout=2.0, **settings)
    client = LucsClient(config, base)
    client.listeners.append(seen.append)
    return client


@pytest.mark.parametrize("mode", ["never", "same-origin"])
@pytest.mark.parametrize("status", REDIRECTS)
def test_a_redirect_to_another_origin_sends_nothing_there_and_names_status_and_location(
    capture: Any, status: int, mode: str
) -> None:
    other, seen = url_of(capture), list[Exchange]()
    with redirecting_server(lambda path: other + path, status) as hostile:
        base = url_of(hostile)
        client = client_of(base, seen, allow_redirects=mode)
        calls: list[tuple[Callable[[Any], object], Any, str, str]] = [
            (client.create_task, TASK, "POST", "/v1.0/tasks"),
            (client.list_users, SEED_SERVICE, "GET", USERS),
        ]
        for call, argument, method, path in calls:
            with pytest.raises(RedirectRefused) as failure:
                call(argument)
            assert str(failure.value).startswith(
                f"{method} {base}{path} -> {status}: redirect refused: Location {other}{path} not followed: "
            )
            assert failure.value.status == status
        client.close()
    assert capture.seen == []
    assert [(e.method, e.status) for e in seen] == [("POST", status), ("GET", status)]  # each answer reported
    assert len(hostile.seen) == 2


def test_a_location_carrying_credentials_shows_none_of_them(capture: Any) -> None:
    host = url_of(capture).removeprefix("http://")
    seen: list[Exchange] = []
    with redirecting_server(lambda path: f"http://qa:{FOREIGN}@{host}{path}&token={FOREIGN}") as hostile:
        client = client_of(url_of(hostile), seen, api_key_header="?api_key")  # the key in the URL, echoed back
        with pytest.raises(RedirectRefused) as failure:
            client.list_users(SEED_SERVICE)
        client.close()
    assert f"api_key={SECRET}" in hostile.seen[0].path  # the Location quotes the configured key
    message = str(failure.value)
    assert "Location http://***@127.0.0.1:" in message
    reported = attachment(seen[0], client.redactor).decode()
    for shown in (message, reported):
        assert SECRET not in shown
        assert FOREIGN not in shown
    assert capture.seen == []


def test_same_origin_follows_a_307_keeping_method_body_and_credentials() -> None:
    seen: list[Exchange] = []

    def locate(path: str) -> str | None:
        return None if path.startswith("/moved") else "/moved" + path  # a relative Location

    with redirecting_server(locate, body=TASK_ID) as server:
        base = url_of(server)
        refusing = client_of(base, [])
        with pytest.raises(RedirectRefused, match=r"allow_redirects 'same-origin' would follow it$"):
            refusing.create_task(TASK)
        refusing.close()
        del server.seen[:]
        client = client_of(base, seen, allow_redirects="same-origin")
        assert client.create_task(TASK) == json.loads(TASK_ID)
        client.close()
    first, second = server.seen
    assert (first.method, second.method) == ("POST", "POST")
    assert json.loads(first.body) == json.loads(second.body) == TASK
    assert second.path == "/moved/v1.0/tasks"
    assert second.headers["X-API-Key"] == SECRET
    assert [e.what for e in seen] == [f"POST {base}/v1.0/tasks -> 307", f"POST {base}/moved/v1.0/tasks -> 200"]
    assert client.last_exchange is seen[-1]  # the answer judged, at the URL actually reached


@pytest.mark.parametrize("status", [301, 302, 303])
def test_same_origin_follows_a_301_302_303_for_a_get_but_never_turns_a_post_into_a_get(status: int) -> None:
    seen: list[Exchange] = []
    with redirecting_server(lambda path: None if "moved" in path else f"{path}?moved", status) as server:
        client = client_of(url_of(server), seen, allow_redirects="same-origin")
        with pytest.raises(RedirectRefused, match=rf"-> {status}: redirect refused: .* would resend POST as GET"):
            client.create_task(TASK)
        assert len(server.seen) == 1
        client.send("list_users", {"serviceId": SEED_SERVICE}, expect=[200], check_request=False)
        client.close()
    assert [(s.method, s.path) for s in server.seen[1:]] == [("GET", USERS), ("GET", f"{USERS}?moved")]


def test_same_origin_follows_at_most_five_hops() -> None:
    seen: list[Exchange] = []
    with redirecting_server(lambda path: path + "/again") as server:
        client = client_of(url_of(server), seen, allow_redirects="same-origin")
        with pytest.raises(RedirectRefused, match=rf"not followed: more than {MAX_REDIRECTS} redirects$"):
            client.list_users(SEED_SERVICE)
        client.close()
    assert len(server.seen) == len(seen) == MAX_REDIRECTS + 1


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context for 127.0.0.1 and the CA bundle that trusts it."""
    files = tls_files(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files.cert, files.key)
    return context, files.bundle


@pytest.mark.parametrize("mode", ["never", "same-origin"])
@pytest.mark.parametrize("to", ["another port", "the same port"])
def test_https_is_never_followed_to_http(capture: Any, tls: tuple[ssl.SSLContext, Path], mode: str, to: str) -> None:
    context, bundle = tls
    seen: list[Exchange] = []
    ports: list[int] = []  # the https server's own, known once it listens
    other = url_of(capture)

    def locate(path: str) -> str:
        return f"{other}{path}" if to == "another port" else f"http://127.0.0.1:{ports[0]}{path}"

    with redirecting_server(locate, tls=context) as hostile:
        ports.append(hostile.server_address[1])
        client = client_of(url_of(hostile, "https"), seen, ca_bundle=str(bundle), allow_redirects=mode)
        with pytest.raises(RedirectRefused, match=r"not followed: https is never followed to http$"):
            client.create_task(TASK)
        client.close()
    assert capture.seen == []
    assert len(hostile.seen) == 1


def test_the_doctor_follows_no_redirect(
    capture: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    other = url_of(capture)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LUCS_API_KEY", SECRET)
    with redirecting_server(lambda path: other + path) as hostile:
        code = doctor(["--lucs-base-url", url_of(hostile), "--lucs-auth", "apikey"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert f"fail  reach        GET {url_of(hostile)}/v1.0/services -> 307: redirect refused: Location {other}" in out
    assert SECRET not in out
    assert capture.seen == []


def test_the_doctors_route_probes_follow_no_redirect(
    capture: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    other = url_of(capture)
    monkeypatch.chdir(tmp_path)
    with redirecting_server(lambda path: None if path == "/v1.0/services" else other + path) as hostile:
        doctor(["--lucs-base-url", url_of(hostile)])
    out = capsys.readouterr().out
    assert f"GET -> 307, a redirect to {other}{USERS} (not followed)" in out
    assert len(hostile.seen) > 5
    assert capture.seen == []
