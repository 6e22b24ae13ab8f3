"""The Control Users scenarios of `features/control_users.feature` as a team would write them without
the harness: one plain pytest module with requests and jsonschema, every body checked against the
schemas in `schemas/`, every change undone after its test. It drives the LUCS whose API root
`BENCH_PLAIN_BASE_URL` names (the mock `benchmarks/plain_vs_harness.py` starts) and is the reference
that benchmark times the harness against; it tests nothing of the harness.

The folder is a project of its own (its `pytest.ini`: the repository's conftest and pytest settings
stay out), and the name does not match `test_*.py`: no collection of the repository's tests takes
it; pytest runs it only when named.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from jsonschema import Draft202012Validator, FormatChecker  # type: ignore[import-untyped]
from referencing import Registry, Resource

BASE_URL_ENV = "BENCH_PLAIN_BASE_URL"
SERVICE = "7830678b-03b1-4e71-af33-a3987142519f"
TARGET = "sip:smoky.cc@dev.local"
UNKNOWN_USER = "00000000-0000-4000-8000-000000000000"  # a well-formed GUID that names nobody
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
TIMEOUT = (3.05, 10.0)  # connect, read
WAIT = 10.0  # seconds a state reached asynchronously may take
POLL = 0.05
HOLD = 0.0  # seconds a pending task is watched: on the mock, as the harness's `--lucs-hold-time 0`
STATES = {"pending": "Pending", "accepted": "Accepted"}  # the mock's task State names (LUCS documents none)

BLOCKED = {"IsBlockedByLuwareApi": True, "NotSelectableReason": "InAServiceTask", "IsSelectable": False}
UNBLOCKED = {"IsBlockedByLuwareApi": False, "NotSelectableReason": None, "IsSelectable": True}

T = TypeVar("T")
User = dict[str, Any]
Undos = list[Callable[[], object]]  # what a test changed: each undoes one change


class Schemas:
    """The JSON Schemas of `schemas/` by file name, their `$ref`s between files resolved."""

    def __init__(self, folder: Path) -> None:
        documents = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]
        registry: Registry[Any] = Registry().with_resources(
            (document["$id"], Resource.from_contents(document)) for document in documents
        )
        self._validators = {
            document["$id"].rsplit("/", 1)[-1]: Draft202012Validator(
                document, registry=registry, format_checker=FormatChecker()
            )
            for document in documents
        }

    def violations(self, name: str, body: Any) -> list[str]:
        return [f"{error.json_path}: {error.message}" for error in self._validators[name].iter_errors(body)]

    def check(self, name: str, body: Any) -> None:
        found = self.violations(name, body)
        assert not found, f"body breaks {name}: " + "; ".join(found)


class Lucs:
    """The LUCS API root, with the calls the scenarios make; answers and bodies sent schema-checked."""

    def __init__(self, base: str, http: requests.Session, schemas: Schemas) -> None:
        self.base, self.http, self.schemas = base.rstrip("/"), http, schemas

    def send(self, method: str, path: str, body: Any = None, raw: str | None = None) -> requests.Response:
        headers = {"Content-Type": "application/json"} if raw is not None else None
        return self.http.request(method, self.base + path, json=body, data=raw, headers=headers, timeout=TIMEOUT)

    def answer(self, response: requests.Response, schema: str, status: tuple[int, ...] = (200,)) -> Any:
        assert response.status_code in status, f"{response.request.method} {response.url}: {response.status_code}"
        body = response.json()
        self.schemas.check(schema, body)
        return body

    def users(self) -> list[User]:
        users: list[User] = self.answer(self.send("GET", f"/v1.0/services/{SERVICE}/users"), "user-list.json")
        return users

    def user(self, sip: str = TARGET) -> User:
        listed = self.users()
        found = next((user for user in listed if user["SipUri"] == sip), None)
        assert found is not None, f"{sip} is not among the users of {SERVICE}"
        return found

    def block(self, user_id: str) -> User:
        user: User = self.answer(self.send("POST", f"/v1.0/users/{user_id}/block"), "user.json")
        return user

    def unblock(self, user_id: str) -> User:
        user: User = self.answer(self.send("POST", f"/v1.0/users/{user_id}/unblock"), "user.json")
        return user

    def set_presence(self, user_id: str, presence: str) -> requests.Response:
        body = {"Presence": presence}
        self.schemas.check("presence-request.json", body)
        return self.send("POST", f"/v1.0/users/{user_id}/setpresence", body)

    def post_task(self, body: dict[str, Any]) -> str:
        self.schemas.check("task-request.json", body)
        answer = self.answer(self.send("POST", "/v1.0/tasks", body), "task-id.json")
        return str(answer["TaskId"] if isinstance(answer, dict) else answer)

    def task(self, task_id: str) -> dict[str, Any]:
        task: dict[str, Any] = self.answer(self.send("GET", f"/v1.0/tasks/{task_id}"), "task.json")
        return task

    def close_task(self, external_id: str) -> requests.Response:
        return self.send("DELETE", f"/v1.0/tasks/{external_id}")


def differences(found: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """The fields of `found` that differ from `expected` in value or JSON type (1 is not true)."""
    return [
        f"{key}: expected {value!r}, got {found.get(key)!r}"
        for key, value in expected.items()
        if found.get(key) != value or type(found.get(key)) is not type(value)
    ]


def eventually(fetch: Callable[[], T], wrong: Callable[[T], list[str]], timeout: float = WAIT) -> T:
    """Fetch until nothing is `wrong`, up to `timeout` seconds: LUCS may apply a change a moment later."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        problems = wrong(value)
        if not problems:
            return value
        assert time.monotonic() < deadline, f"not reached within {timeout} s: " + "; ".join(problems)
        time.sleep(POLL)


def holds(fetch: Callable[[], T], wrong: Callable[[T], list[str]], seconds: float = HOLD) -> T:
    """Fetch for `seconds` (at least once); fail the first time something is `wrong`."""
    started = time.monotonic()
    while True:
        value = fetch()
        problems = wrong(value)
        assert not problems, f"broken after {time.monotonic() - started:.2f} s: " + "; ".join(problems)
        if time.monotonic() - started >= seconds:
            return value
        time.sleep(POLL)


def assert_refused(response: requests.Response, schemas: Schemas) -> None:
    """A 4xx in the LUCS error envelope, `{"Error": {"Code", "Message"}}` with both texts non-empty."""
    assert 400 <= response.status_code < 500, f"expected a client error, got {response.status_code}"
    schemas.check("error.json", response.json())


def task_for(sip: str) -> dict[str, Any]:
    """The documented example task, preferring only `sip`, with a fresh ExternalTaskId."""
    return {
        "ExternalTaskId": f"plain-{uuid.uuid4()}",
        "Service": SERVICE,
        "Caller": f"Get me {sip} now!",
        "PreferredAgents": [sip],
        "ConsiderPreferredAgentsOnly": True,
        "Required": dict.fromkeys(("Im", "Audio", "Video", "DesktopSharing", "ConversationContext"), True),
        "DistributeToAgent": True,
        "DistributeToAgentRONATimeoutInSeconds": 50,
    }


def held_by(user_id: str, state: str) -> Callable[[dict[str, Any]], list[str]]:
    def wrong(task: dict[str, Any]) -> list[str]:
        holder = (task.get("ReservedUserObject") or {}).get("Id")
        ok = holder == user_id and task.get("State") == state
        return [] if ok else [f"held by {holder!r} in State {task.get('State')!r}"]

    return wrong


def pending(task: dict[str, Any]) -> list[str]:
    return differences(task, {"ReservedUserObject": None, "State": STATES["pending"]})


# ---- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def schemas() -> Schemas:
    return Schemas(SCHEMAS)


@pytest.fixture(scope="session")
def lucs(schemas: Schemas) -> Iterator[Lucs]:
    with requests.Session() as http:
        http.trust_env = False  # loopback: no proxy from the environment
        yield Lucs(os.environ[BASE_URL_ENV], http, schemas)


@pytest.fixture
def undo() -> Iterator[Undos]:
    """What a test changed, undone after it in reverse order, every undo tried."""
    undos: Undos = []
    yield undos
    failed = []
    for step in reversed(undos):
        try:
            step()
        except (requests.RequestException, AssertionError) as error:
            failed.append(repr(error))
    assert not failed, "undo failed: " + "; ".join(failed)


@pytest.fixture
def target(lucs: Lucs) -> User:
    """The feature's Background: the target user is selectable and not blocked, as first seen."""
    user = lucs.user()
    assert not differences(user, {"IsSelectable": True, "IsBlockedByLuwareApi": False}), f"{TARGET} is not ready"
    return user


def close_later(lucs: Lucs, undo: Undos, external_id: str) -> None:
    def close() -> None:
        status = lucs.close_task(external_id).status_code
        assert status in (200, 204, 404, 409, 410), f"closing {external_id}: {status}"  # 4xx: closed already

    undo.append(close)


# ---- the scenarios ----------------------------------------------------------------------------


def test_target_listed_as_selectable_and_not_blocked(lucs: Lucs, target: User) -> None:
    expected = {**UNBLOCKED, "PresenceState": "Online"}
    assert not differences(lucs.user(), expected)


def test_blocking_takes_the_user_out_of_distribution(lucs: Lucs, target: User, undo: Undos) -> None:
    undo.append(lambda: lucs.unblock(target["Id"]))
    returned = lucs.block(target["Id"])
    assert returned["Id"] == target["Id"]
    assert not differences(returned, BLOCKED)
    assert returned["PresenceState"] == target["PresenceState"]
    eventually(lucs.user, lambda user: differences(user, BLOCKED))
    assert lucs.user()["PresenceState"] == target["PresenceState"]


def test_unblocking_makes_a_blocked_user_selectable(lucs: Lucs, target: User, undo: Undos) -> None:
    undo.append(lambda: lucs.unblock(target["Id"]))
    lucs.block(target["Id"])
    returned = lucs.unblock(target["Id"])
    assert returned["Id"] == target["Id"]
    assert not differences(returned, UNBLOCKED)
    eventually(lucs.user, lambda user: differences(user, UNBLOCKED))
    assert lucs.user()["PresenceState"] == target["PresenceState"]


def test_task_for_a_blocked_user_waits_then_is_taken(lucs: Lucs, target: User, undo: Undos) -> None:
    undo.append(lambda: lucs.unblock(target["Id"]))
    lucs.block(target["Id"])
    body = task_for(TARGET)
    close_later(lucs, undo, body["ExternalTaskId"])
    task_id = lucs.post_task(body)
    assert not differences(lucs.task(task_id), {"Id": task_id, "ExternalTaskId": body["ExternalTaskId"]})
    holds(lambda: lucs.task(task_id), pending)
    assert lucs.unblock(target["Id"])["IsBlockedByLuwareApi"] is False
    eventually(lambda: lucs.task(task_id), held_by(target["Id"], STATES["accepted"]))
    busy = {"IsBlockedByLuwareApi": False, "NotSelectableReason": "InAnExternalTask", "IsSelectable": False}
    eventually(lucs.user, lambda user: differences(user, {**busy, "PresenceState": "Online"}))


def test_closing_the_task_frees_the_agent(lucs: Lucs, target: User, undo: Undos) -> None:
    body = task_for(TARGET)
    close_later(lucs, undo, body["ExternalTaskId"])
    task_id = lucs.post_task(body)
    eventually(lambda: lucs.task(task_id), held_by(target["Id"], STATES["accepted"]))
    assert lucs.close_task(body["ExternalTaskId"]).status_code in (200, 204)
    eventually(lucs.user, lambda user: differences(user, {"NotSelectableReason": None, "IsSelectable": True}))


def test_setting_the_presence_to_do_not_disturb(lucs: Lucs, target: User, undo: Undos) -> None:
    undo.append(lambda: lucs.set_presence(target["Id"], target["PresenceState"]))
    answer = lucs.set_presence(target["Id"], "DoNotDisturb")
    assert answer.status_code == 200
    assert answer.text == ""
    eventually(lucs.user, lambda user: differences(user, {"PresenceState": "DoNotDisturb"}))


@pytest.mark.usefixtures("target")
def test_blocking_an_unknown_user_is_refused(lucs: Lucs, schemas: Schemas) -> None:
    assert_refused(lucs.send("POST", f"/v1.0/users/{UNKNOWN_USER}/block"), schemas)


@pytest.mark.usefixtures("target")
def test_unblocking_an_unknown_user_is_refused(lucs: Lucs, schemas: Schemas) -> None:
    assert_refused(lucs.send("POST", f"/v1.0/users/{UNKNOWN_USER}/unblock"), schemas)


MALFORMED = [
    '{"ExternalTaskId": "x"}',
    f'{{"ExternalTaskId": 42, "Service": "{SERVICE}"}}',
    '{"ExternalTaskId": "x", "Service": "not-a-guid"}',
    f'{{"ExternalTaskId": "x", "Service": "{SERVICE}", "ConsiderPreferredAgentsOnly": "yes"}}',
    "{not json",
]


@pytest.mark.usefixtures("target")
@pytest.mark.parametrize("body", MALFORMED)
def test_a_malformed_task_body_is_refused(lucs: Lucs, schemas: Schemas, body: str) -> None:
    try:
        parsed = json.loads(body)
    except ValueError:
        pass  # not JSON at all: malformed by definition
    else:
        assert schemas.violations("task-request.json", parsed), "a valid task request: not a malformed body"
    assert_refused(lucs.send("POST", "/v1.0/tasks", raw=body), schemas)


def test_an_unknown_presence_is_refused(lucs: Lucs, schemas: Schemas, target: User, undo: Undos) -> None:
    undo.append(lambda: lucs.set_presence(target["Id"], target["PresenceState"]))
    assert_refused(lucs.set_presence(target["Id"], "Sleepy"), schemas)
    assert lucs.user()["PresenceState"] == target["PresenceState"]
