"""The mock served with other conventions: what LUCS leaves undocumented, served another way.

For each convention, over real HTTP against a mock started with it: the other form works, the
default form is refused as a real server would refuse it (404, 405, 401 or 400 in the error
envelope), and `/openapi.json` says what the mock serves. A tool that discovers an installation's
conventions (`lucs-acceptance doctor`) is proven against these servers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from lucs_harness.contract import default_contract
from lucs_harness.key_placement import key_placement
from lucs_harness.mock.auth import MockAuth
from lucs_harness.mock.cli import main
from lucs_harness.mock.control import MockControl
from lucs_harness.mock.conventions import Conventions, TaskIdForm, UnknownConvention, read_conventions, read_settings
from lucs_harness.mock.domain import TASK_STATES
from lucs_harness.mock.server import MockServer
from lucs_harness.operations import DEFAULT_PATHS
from tests.realtarget.support import mock_process

SERVICE = "7830678b-03b1-4e71-af33-a3987142519f"
CURT = "854822ed-4a2a-4eb1-b07f-637ed3eab729"  # accepts at once
FAY = "sip:smoky.ff@dev.local"  # never answers: a task offered to her stays offered
TASK = default_contract().example("task-request.json")
STATES = ("Queued", "Ringing", "Connected", "Terminated")
TIMEOUT = 5.0


@contextmanager
def served(*items: str, auth: MockAuth | None = None) -> Iterator[tuple[str, requests.Session]]:
    """A mock started with the conventions `items`, and a session that sends its credentials."""
    with MockServer(conventions=Conventions.parse(items), auth=auth) as server, requests.Session() as http:
        if server.auth is not None:
            http.headers.update(server.auth.headers())
            http.params = server.auth.params()
        yield server.base_url, http


def _one_line(error: str) -> None:
    """What `lucs-mock` says of a setting it cannot serve with: one line on stderr."""
    assert error.startswith("lucs-mock: "), error
    assert error.count("\n") == 1, error


def _refused(response: requests.Response, status: int, code: str) -> None:
    """Refused in LUCS's error envelope."""
    assert response.status_code == status, response.text
    envelope: Any = response.json()
    assert default_contract().check("error.json", envelope).violations == (), envelope
    assert envelope["Error"]["Code"] == code, envelope


def _document(base: str) -> dict[str, Any]:
    document: dict[str, Any] = requests.get(f"{base}/openapi.json", timeout=TIMEOUT).json()
    return document


def _task(http: requests.Session, base: str, **changes: Any) -> str:
    """Post the documented example task (with `changes`); its id, whatever the answer's form."""
    answer = http.post(f"{base}/v1.0/tasks", json=TASK | changes, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return str(body["TaskId"] if isinstance(body, dict) else body)


def _state(http: requests.Session, base: str, task_id: str) -> str:
    return str(http.get(f"{base}/v1.0/tasks/{task_id}", timeout=TIMEOUT).json()["State"])


# ---- the defaults are the mock's own behaviour ---------------------------------------------------


def test_the_defaults_are_the_mock_as_it_was() -> None:
    defaults = Conventions()
    assert Conventions.parse([]) == defaults
    assert read_conventions([]) == (defaults, None)
    assert defaults.as_dict() == {
        "close": "delete",
        "task-states": dict(zip(("pending", "offered", "accepted", "closed"), TASK_STATES, strict=True)),
        "presence-field": "Presence",
        "paths": DEFAULT_PATHS,
        "task-id": "string",
    }
    with served() as (base, http):
        assert MockControl(base).conventions() == {"api-key": "X-API-Key"} | defaults.as_dict()
        assert isinstance(http.post(f"{base}/v1.0/tasks", json=TASK, timeout=TIMEOUT).json(), str)


def test_conventions_read_back_from_their_dict_and_from_a_file(tmp_path: Path) -> None:
    conventions = Conventions.parse(
        ["close=post-close", f"task-states={','.join(STATES)}", "paths.set_presence=/v1.0/users/{userId}/presence"]
    )
    assert Conventions.from_settings(conventions.as_dict()) == conventions
    toml = tmp_path / "lucs.toml"
    toml.write_text(
        'close = "post-close"\ntask-states = ["Queued", "Ringing", "Connected", "Terminated"]\n'
        '[paths]\nset_presence = "/v1.0/users/{userId}/presence"\n'
    )
    assert Conventions.load(toml) == conventions
    as_json = tmp_path / "lucs.json"
    as_json.write_text(json.dumps(conventions.as_dict()))
    assert Conventions.load(as_json, ["task-id=object"]) == Conventions(
        close=conventions.close, task_states=STATES, paths=conventions.paths, task_id=TaskIdForm.OBJECT
    )


# ---- api-key -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("place", "headers", "params", "scheme"),
    [
        ("X-LUCS-Key", {"X-LUCS-Key": "k3y"}, {}, {"type": "apiKey", "in": "header", "name": "X-LUCS-Key"}),
        ("Authorization: ApiKey", {"Authorization": "ApiKey k3y"}, {}, {"type": "http", "scheme": "ApiKey"}),
        ("Authorization: Bearer", {"Authorization": "Bearer k3y"}, {}, {"type": "http", "scheme": "Bearer"}),
        ("X-Auth: Key", {"X-Auth": "Key k3y"}, {}, {"type": "apiKey", "in": "header", "name": "X-Auth"}),
        ("?api_key", {}, {"api_key": "k3y"}, {"type": "apiKey", "in": "query", "name": "api_key"}),
    ],
)
def test_the_api_key_is_read_at_its_place_and_nowhere_else(
    place: str, headers: dict[str, str], params: dict[str, str], scheme: dict[str, str]
) -> None:
    auth = MockAuth("apikey", "k3y", key_placement(place))
    with served(auth=auth) as (base, _), requests.Session() as http:
        assert http.get(f"{base}/v1.0/services", headers=headers, params=params, timeout=TIMEOUT).status_code == 200
        control = MockControl(base, headers=headers, params=params)
        assert control.conventions()["api-key"] == place
        assert control.state()["faults"] == []
        default = http.get(f"{base}/v1.0/services", headers={"X-API-Key": "k3y"}, timeout=TIMEOUT)
        _refused(default, 401, "Unauthorized")
        _refused(http.get(f"{base}/v1.0/services", params={"X-API-Key": "k3y"}, timeout=TIMEOUT), 401, "Unauthorized")
        wrong = {name: value.replace("k3y", "nope") for name, value in headers.items()}
        wrong_params = {name: "nope" for name in params}
        _refused(
            http.get(f"{base}/v1.0/services", headers=wrong, params=wrong_params, timeout=TIMEOUT), 401, "Unauthorized"
        )
        assert _document(base)["components"]["securitySchemes"]["lucsAuth"] == scheme


def test_the_api_key_convention_is_read_apart_for_the_auth_that_keeps_it() -> None:
    conventions, place = read_conventions(["api-key=Authorization: ApiKey", "close=none"])
    assert (conventions, place) == (Conventions.parse(["close=none"]), key_placement("Authorization: ApiKey"))
    with pytest.raises(UnknownConvention, match="the auth's"):
        Conventions.parse(["api-key=X-Key"])


# ---- close ---------------------------------------------------------------------------------------


def test_delete_by_id_closes_by_the_guid_and_not_by_the_external_task_id() -> None:
    with served("close=delete-by-id") as (base, http):
        task_id = _task(http, base)
        _refused(http.delete(f"{base}/v1.0/tasks/{TASK['ExternalTaskId']}", timeout=TIMEOUT), 404, "TaskNotFound")
        assert _state(http, base, task_id) == "Accepted"
        closed = http.delete(f"{base}/v1.0/tasks/{task_id}", timeout=TIMEOUT)
        assert (closed.status_code, closed.content) == (204, b"")
        assert _state(http, base, task_id) == "Closed"
        described = _document(base)["paths"]["/v1.0/tasks/{taskIdentifier}"]["delete"]
        assert "GUID" in described["summary"]


@pytest.mark.parametrize("action", ["close", "cancel"])
def test_a_post_close_call_closes_and_delete_is_a_405(action: str) -> None:
    with served(f"close=post-{action}") as (base, http):
        task_id = _task(http, base)
        refused = http.delete(f"{base}/v1.0/tasks/{task_id}", timeout=TIMEOUT)
        _refused(refused, 405, "MethodNotAllowed")
        assert "DELETE" not in refused.headers["Allow"]
        assert _state(http, base, task_id) == "Accepted"
        closed = http.post(f"{base}/v1.0/tasks/{TASK['ExternalTaskId']}/{action}", timeout=TIMEOUT)
        assert (closed.status_code, closed.content) == (200, b"")
        assert _state(http, base, task_id) == "Closed"
        _refused(http.post(f"{base}/v1.0/tasks/{task_id}/{action}", timeout=TIMEOUT), 409, "Conflict")
        paths = _document(base)["paths"]
        assert set(paths[f"/v1.0/tasks/{{taskIdentifier}}/{action}"]) == {"post"}
        assert "200" in paths[f"/v1.0/tasks/{{taskIdentifier}}/{action}"]["post"]["responses"]
        assert set(paths["/v1.0/tasks/{taskIdentifier}"]) == {"get"}


def test_close_none_serves_no_close_call() -> None:
    with served("close=none") as (base, http):
        task_id = _task(http, base)
        _refused(http.delete(f"{base}/v1.0/tasks/{task_id}", timeout=TIMEOUT), 405, "MethodNotAllowed")
        _refused(http.post(f"{base}/v1.0/tasks/{task_id}/close", timeout=TIMEOUT), 404, "NotFound")
        assert _state(http, base, task_id) == "Accepted"
        document = _document(base)
        assert "close_task" not in {op["operationId"] for item in document["paths"].values() for op in item.values()}
        assert "close_task" not in MockControl(base).conventions()["paths"]


# ---- task-states ---------------------------------------------------------------------------------


def test_task_states_rename_the_states_and_change_nothing_else() -> None:
    with served(f"task-states={','.join(STATES)}") as (base, http):
        control = MockControl(base)
        assert control.task_states == dict(zip(("pending", "offered", "accepted", "closed"), STATES, strict=True))
        http.post(f"{base}/v1.0/users/{CURT}/block", timeout=TIMEOUT)
        waiting = _task(http, base, PreferredAgents=["sip:smoky.cc@dev.local"], ConsiderPreferredAgentsOnly=True)
        assert _state(http, base, waiting) == "Queued"
        offered = _task(http, base, ExternalTaskId="offered", PreferredAgents=[FAY], ConsiderPreferredAgentsOnly=True)
        assert _state(http, base, offered) == "Ringing"
        http.post(f"{base}/v1.0/users/{CURT}/unblock", timeout=TIMEOUT)
        assert _state(http, base, waiting) == "Connected"
        assert http.delete(f"{base}/v1.0/tasks/{waiting}", timeout=TIMEOUT).status_code == 204
        assert _state(http, base, waiting) == "Terminated"
        listed = http.get(f"{base}/v1.0/services/{SERVICE}/tasks", timeout=TIMEOUT).json()
        assert [task["State"] for task in listed] == ["Terminated", "Ringing"]
        assert {task["State"] for task in control.state()["tasks"]} == {"Terminated", "Ringing"}
        control_document = requests.get(f"{base}/_mock/openapi.json", timeout=TIMEOUT).json()
        task_item = control_document["components"]["schemas"]["MockState"]["properties"]["tasks"]["items"]
        assert task_item["properties"]["State"]["enum"] == list(STATES)


# ---- presence-field ------------------------------------------------------------------------------


def test_the_presence_is_read_from_its_field_and_the_default_field_is_a_400() -> None:
    with served("presence-field=State") as (base, http):
        url = f"{base}/v1.0/users/{CURT}/setpresence"
        _refused(http.post(url, json={"Presence": "DoNotDisturb"}, timeout=TIMEOUT), 400, "InvalidArgument")
        answer = http.post(url, json={"State": "DoNotDisturb"}, timeout=TIMEOUT)
        assert (answer.status_code, answer.content) == (200, b"")
        users = http.get(f"{base}/v1.0/services/{SERVICE}/users", timeout=TIMEOUT).json()
        assert next(u for u in users if u["Id"] == CURT)["PresenceState"] == "DoNotDisturb"
        _refused(http.post(url, json={"State": "Sleepy"}, timeout=TIMEOUT), 400, "InvalidPresence")
        document = _document(base)
        schema = document["components"]["schemas"]["presence-request"]
        assert schema["required"] == ["State"]
        assert "Presence" not in schema["properties"]
        body = document["paths"]["/v1.0/users/{userId}/setpresence"]["post"]["requestBody"]
        assert body["content"]["application/json"]["example"] == {"State": "DoNotDisturb"}


# ---- paths ---------------------------------------------------------------------------------------


def test_moved_operations_answer_at_their_path_and_the_default_path_is_a_404() -> None:
    with served(
        "paths.set_presence=/v1.0/users/{userId}/presence",
        "paths.list_users=/v1.0/services/{serviceId}/agents",
        "paths.get_callback=/v1.0/callbacks/external/{externalTaskId}",
        "paths.service_tasks=/v1.0/tasks?serviceId={serviceId}",
    ) as (base, http):
        agents = http.get(f"{base}/v1.0/services/{SERVICE}/agents", timeout=TIMEOUT)
        assert agents.status_code == 200
        assert default_contract().check("user-list.json", agents.json()).violations == ()
        _refused(http.get(f"{base}/v1.0/services/{SERVICE}/users", timeout=TIMEOUT), 404, "NotFound")
        moved = http.post(f"{base}/v1.0/users/{CURT}/presence", json={"Presence": "Away"}, timeout=TIMEOUT)
        assert moved.status_code == 200, moved.text
        gone = http.post(f"{base}/v1.0/users/{CURT}/setpresence", json={"Presence": "Away"}, timeout=TIMEOUT)
        _refused(gone, 404, "NotFound")
        _refused(http.get(f"{base}/v1.0/callbacks/external/nobody", timeout=TIMEOUT), 404, "CallbackNotFound")
        _refused(
            http.get(f"{base}/v1.0/callbacks", params={"externalTaskId": "x"}, timeout=TIMEOUT), 405, "MethodNotAllowed"
        )
        assert http.get(f"{base}/v1.0/tasks", params={"serviceId": SERVICE}, timeout=TIMEOUT).json() == []
        _refused(http.get(f"{base}/v1.0/tasks", timeout=TIMEOUT), 400, "InvalidArgument")
        paths = _document(base)["paths"]
        assert set(paths["/v1.0/tasks"]) == {"get", "post"}
        assert "/v1.0/services/{serviceId}/agents" in paths
        assert "/v1.0/users/{userId}/presence" in paths
        assert "/v1.0/services/{serviceId}/users" not in paths
        parameters = paths["/v1.0/callbacks/external/{externalTaskId}"]["get"]["parameters"]
        assert [(p["name"], p["in"]) for p in parameters] == [("externalTaskId", "path")]


# ---- task-id -------------------------------------------------------------------------------------


def test_the_task_id_is_answered_as_an_object() -> None:
    with served("task-id=object") as (base, http):
        answer = http.post(f"{base}/v1.0/tasks", json=TASK, timeout=TIMEOUT).json()
        assert set(answer) == {"TaskId"}
        assert default_contract().check("task-id.json", answer).violations == ()
        assert http.get(f"{base}/v1.0/tasks/{answer['TaskId']}", timeout=TIMEOUT).status_code == 200
        document = _document(base)
        assert document["components"]["schemas"]["task-id"]["type"] == "object"
        link = document["paths"]["/v1.0/tasks"]["post"]["responses"]["200"]["links"]["GetTask"]
        assert link["parameters"]["taskIdentifier"] == "$response.body#/TaskId"


# ---- every convention at once, and the command line ------------------------------------------------


def test_lucs_mock_serve_takes_conventions_from_a_file_and_the_command_line(tmp_path: Path) -> None:
    file = tmp_path / "conventions.toml"
    file.write_text(
        'close = "post-close"\ntask-id = "object"\napi-key = "Authorization: ApiKey"\n'
        '[paths]\nlist_users = "/v1.0/services/{serviceId}/agents"\n'
    )
    arguments = ["--conventions", str(file), "--convention", f"task-states={','.join(STATES)}"]
    arguments += ["--convention", "presence-field=State"]
    with mock_process("--auth", "apikey", "--secret", "k3y", *arguments) as base:
        headers = {"Authorization": "ApiKey k3y"}
        conventions = MockControl(base, headers=headers).conventions()
        assert conventions["close"] == "post-close"
        assert conventions["task-id"] == "object"
        assert conventions["api-key"] == "Authorization: ApiKey"
        assert conventions["presence-field"] == "State"
        assert conventions["paths"]["list_users"] == "/v1.0/services/{serviceId}/agents"
        assert list(conventions["task-states"].values()) == list(STATES)
        agents = requests.get(f"{base}/v1.0/services/{SERVICE}/agents", headers=headers, timeout=TIMEOUT)
        assert agents.status_code == 200


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["close"], "expected NAME=VALUE.*known names: api-key, close"),
        (["colour=red"], "unknown convention 'colour'; known names: api-key, close, task-states"),
        (["close=sometimes"], "close: unknown value 'sometimes'; known: delete, delete-by-id, post-close"),
        (["close=delete", "close=none"], "given twice"),
        (["api-key=header:X-Key"], "^api-key: 'header:X-Key' is the old form; write 'X-Key'$"),
        (["api-key=query:api_key"], "write '[?]api_key'"),
        (["api-key="], "is not a header name, `Header: Scheme`, or `[?]parameter`"),
        (["api-key=X Key"], "is not a header name"),
        (["api-key=Authorization: Api Key"], "is not a header name"),
        (["task-states=A,B,C"], "four different names"),
        (["task-states=A,A,B,C"], "four different names"),
        (["task-states=A,,B,C"], "empty"),
        (["presence-field=1st"], "not an identifier"),
        (["task-id=number"], "known: string, object"),
        (["paths.teleport=/x"], "unknown operation; known: list_services"),
        (["paths.set_presence=/v1.0/users/presence"], "needs the parameters.*userId"),
        (["paths.set_presence=/v1.0/users/{userId}/{userId}"], "once each"),
        (["paths.set_presence=v1.0/users/{userId}"], "a path is /segments"),
        (["paths.set_presence=/v1.0/users/{userId}/\nx"], "a path is /segments"),
        (["paths.set_presence=/_mock/users/{userId}"], "the mock's own"),
        (["paths.list_users=/v1.0/users?service={serviceId}"], "a query is name={name} pairs"),
        (["paths.get_task=/v1.0/services/{taskIdentifier}/users"], "would both answer GET"),
        (["close=none", "paths.close_task=/v1.0/tasks/{taskIdentifier}/end"], "serves no close call"),
    ],
)
def test_a_convention_the_mock_cannot_serve_is_one_line(
    items: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(UnknownConvention, match=message) as refused:
        read_conventions(items)
    assert "\n" not in str(refused.value)
    arguments = [argument for item in items for argument in ("--convention", item)]
    assert main(["serve", "--port", "0", *arguments]) == 2
    _one_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("close = ", "cannot read conventions"),
        ('close = "post-close"\npaths = "everywhere"\n', "paths: an object"),
        ('task-states = {pending = "Q"}\n', "an object of exactly pending, offered, accepted, closed"),
        ("task-states = 4\n", "four names"),
        ("close = 4\n", "close: expected a string"),
        ('api-key = "authorization:ApiKey"\n', "old form; write 'Authorization: ApiKey'"),
        ("api-key = 4\n", "api-key: expected a string"),
    ],
)
def test_a_conventions_file_the_mock_cannot_serve_is_one_line(
    tmp_path: Path, text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "conventions.toml"
    file.write_text(text)
    with pytest.raises(UnknownConvention, match=message):
        read_conventions([], read_settings(file))
    assert main(["serve", "--port", "0", "--conventions", str(file)]) == 2
    _one_line(capsys.readouterr().err)


def test_the_api_key_place_is_given_once_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    arguments = ["serve", "--port", "0", "--auth", "apikey", "--secret", "k"]
    assert main([*arguments, "--api-key-header", "X-Key", "--convention", "api-key=?k"]) == 2
    assert "once" in capsys.readouterr().err
