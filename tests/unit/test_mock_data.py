"""`lucs-mock serve --data CAPTURE`: a capture of a real installation's services and users is the
mock's world, so the mock mirrors a team's own LUCS; a file that is no such capture is one line.

`data/lucs-capture.json` is a small capture: two services, a user listed in both, a blocked user, a
user held unselectable for a reason the mock does not model (a duty profile), an Offline user whose
reason has another name than the mock's, a Busy user who is selectable anyway, and fields the
harness's schemas do not list.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from lucs_harness.contract import default_contract
from lucs_harness.mock.capture import CaptureError, load_data
from lucs_harness.mock.cli import main
from lucs_harness.mock.server import MockServer
from tests.realtarget.support import mock_process
from tests.support.suite import ROOT, child_env

CAPTURE_FILE = Path(__file__).with_name("data") / "lucs-capture.json"
CAPTURE: dict[str, Any] = json.loads(CAPTURE_FILE.read_text())
CLAIMS, SALES = (service["Id"] for service in CAPTURE["services"])
ALICE, BOB, CAROL, DAVE = (user["Id"] for user in CAPTURE["users"][CLAIMS])
TIMEOUT = 5.0


@pytest.fixture(scope="module")
def mirror() -> Iterator[str]:
    """A mock serving the capture; tests reset it as they need."""
    with MockServer(seed=CAPTURE_FILE) as server:
        yield server.base_url


@pytest.fixture
def http(mirror: str) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.post(f"{mirror}/_mock/reset", timeout=TIMEOUT).raise_for_status()
        yield session


def _one_line(error: str) -> None:
    """What `lucs-mock` says of a setting it cannot serve with: one line on stderr."""
    assert error.startswith("lucs-mock: "), error
    assert error.count("\n") == 1, error


def _user(http: requests.Session, base: str, service: str, user_id: str) -> dict[str, Any]:
    users = http.get(f"{base}/v1.0/services/{service}/users", timeout=TIMEOUT).json()
    found: dict[str, Any] = next(user for user in users if user["Id"] == user_id)
    return found


def _captured(user_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(user for user in CAPTURE["users"][CLAIMS] if user["Id"] == user_id)
    return found


def test_the_mock_answers_the_captured_services_and_users(mirror: str, http: requests.Session) -> None:
    assert http.get(f"{mirror}/v1.0/services", timeout=TIMEOUT).json() == CAPTURE["services"]
    for service, captured in CAPTURE["users"].items():
        served = http.get(f"{mirror}/v1.0/services/{service}/users", timeout=TIMEOUT).json()
        assert served == captured
        verdict = default_contract().check("user-list.json", served)
        assert verdict.violations == ()
        assert "$[0].Department" in verdict.extras  # an unlisted field is kept, and the harness reports it


def test_block_and_unblock_work_on_captured_users(mirror: str, http: requests.Session) -> None:
    blocked = http.post(f"{mirror}/v1.0/users/{ALICE}/block", timeout=TIMEOUT).json()
    assert blocked["IsBlockedByLuwareApi"] is True
    assert blocked["NotSelectableReason"] == "InAServiceTask"
    assert blocked["IsSelectable"] is False
    assert blocked["PresenceState"] == "Online"
    assert default_contract().check("user.json", blocked).violations == ()
    assert _user(http, mirror, SALES, ALICE) == blocked  # one user in both services
    assert http.post(f"{mirror}/v1.0/users/{ALICE}/unblock", timeout=TIMEOUT).json() == _captured(ALICE)
    unblocked = http.post(f"{mirror}/v1.0/users/{BOB}/unblock", timeout=TIMEOUT).json()
    assert (unblocked["IsBlockedByLuwareApi"], unblocked["IsSelectable"], unblocked["NotSelectableReason"]) == (
        False,
        True,
        None,
    )


def test_a_user_captured_unselectable_for_an_unmodelled_reason_stays_so(mirror: str, http: requests.Session) -> None:
    """Carol is Online and unblocked, but not in a duty profile: she takes no task, and a block and
    unblock bring her back to the captured reason."""
    assert http.post(f"{mirror}/v1.0/users/{CAROL}/block", timeout=TIMEOUT).json()["NotSelectableReason"] == (
        "InAServiceTask"
    )
    assert http.post(f"{mirror}/v1.0/users/{CAROL}/unblock", timeout=TIMEOUT).json() == _captured(CAROL)
    task = {
        "ExternalTaskId": "for-carol",
        "Service": CLAIMS,
        "PreferredAgents": [_captured(CAROL)["SipUri"]],
        "ConsiderPreferredAgentsOnly": True,
        "Required": {
            "Im": False,
            "Audio": False,
            "Video": False,
            "DesktopSharing": False,
            "ConversationContext": False,
        },
        "DistributeToAgent": True,
    }
    assert http.post(f"{mirror}/v1.0/tasks", json=task, timeout=TIMEOUT).status_code == 200
    assert http.get(f"{mirror}/v1.0/tasks/for-carol", timeout=TIMEOUT).json()["ReservedUserObject"] is None


def test_the_captured_reasons_and_presences_follow_the_mocks_rules_after_a_change(
    mirror: str, http: requests.Session
) -> None:
    """Dave is Offline with the capture's name for it; Online he is selectable, and back Offline he
    shows that name again."""
    url = f"{mirror}/v1.0/users/{DAVE}/setpresence"
    assert http.post(url, json={"Presence": "Online"}, timeout=TIMEOUT).status_code == 200
    assert _user(http, mirror, CLAIMS, DAVE)["IsSelectable"] is True
    assert http.post(url, json={"Presence": "Offline"}, timeout=TIMEOUT).status_code == 200
    assert _user(http, mirror, CLAIMS, DAVE)["NotSelectableReason"] == "UserOffline"


def test_a_capture_served_by_lucs_mock() -> None:
    with mock_process("--data", str(CAPTURE_FILE)) as base:
        assert requests.get(f"{base}/v1.0/services/{SALES}/users", timeout=TIMEOUT).json() == CAPTURE["users"][SALES]
        assert requests.get(f"{base}/_mock/state", timeout=TIMEOUT).json()["tasks"] == []


def test_fields_a_capture_lacks_come_from_the_template(tmp_path: Path) -> None:
    capture = copy.deepcopy(CAPTURE)
    bare = {"Id": ALICE, "SipUri": "sip:alice.archer@contoso.example", "FirstName": "Alice", "LastName": "Archer"}
    capture["users"] = {CLAIMS: [bare]}
    file = tmp_path / "capture.json"
    file.write_text(json.dumps(capture))
    with MockServer(seed=load_data(file)) as server:
        served = requests.get(f"{server.base_url}/v1.0/services/{CLAIMS}/users", timeout=TIMEOUT).json()
    assert default_contract().check("user-list.json", served).violations == ()
    assert served[0]["IsSelectable"] is True
    assert served[0]["Upn"] == "alice.archer@contoso.example"


BAD: list[tuple[Any, str]] = [
    ([], "not a capture the mock can serve: a list where an object belongs; a capture is"),
    (
        {"services": [], "users": {}, "deep": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]},
        "deeper than 32",
    ),
    ({"users": {}}, "missing 'services'"),
    ({"services": []}, "missing 'users'"),
    ({"services": [], "users": {}, "when": "now"}, "unknown key 'when'"),
    ({"services": [], "users": {}}, "services: no service listed"),
    ({"services": [{"Name": "x"}], "users": {}}, r"services\[0\]: .*Id"),
    ({"services": [{"Id": "not-a-guid", "Name": "x"}], "users": {}}, r"services\[0\]\.Id"),
]


def _bad_user(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    capture = copy.deepcopy(CAPTURE)
    change(capture)
    return capture


BAD += [
    (_bad_user(lambda c: c["services"].append(c["services"][0])), "is listed twice"),
    (_bad_user(lambda c: c["users"].update(nowhere=[])), "users: 'nowhere' is not a listed service"),
    (_bad_user(lambda c: c["users"].update({SALES: {}})), "a users answer is a list"),
    (_bad_user(lambda c: c["users"][CLAIMS].append("bob")), "a user is an object, not a str"),
    (_bad_user(lambda c: c["users"][CLAIMS][1].pop("Id")), r"users\['c0a80101.*'\]\[1\]: a user without Id"),
    (_bad_user(lambda c: c["users"][CLAIMS][2].pop("SipUri")), r"\[2\]: a user without SipUri"),
    (_bad_user(lambda c: c["users"][CLAIMS][0].update(FirstName=None)), r"\[0\]\.FirstName: null is not"),
    (_bad_user(lambda c: c["users"][CLAIMS][1].update(Id="bob")), r"\[1\]\.Id: .*uuid"),
    (_bad_user(lambda c: c["users"][CLAIMS][0].update(Behaviour={"Answer": "never"})), "the mock's seed field"),
    (_bad_user(lambda c: c["users"][SALES][0].update(SipUri="sip:x@y")), "is sip:x@y here but sip:alice"),
    (_bad_user(lambda c: c["users"][CLAIMS][1].update(SipUri=c["users"][CLAIMS][0]["SipUri"])), "duplicate SipUri"),
    (_bad_user(lambda c: c.update(users={CLAIMS: [], SALES: []})), "no user in any service"),
]


@pytest.mark.parametrize(("data", "message"), BAD)
def test_a_file_that_is_no_capture_is_one_line(
    tmp_path: Path, data: Any, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "capture.json"
    file.write_text(json.dumps(data))
    with pytest.raises(CaptureError, match=message) as refused:
        load_data(file)
    assert "\n" not in str(refused.value)
    assert str(refused.value).startswith(f"{file}: ")
    assert main(["serve", "--port", "0", "--data", str(file)]) == 2
    _one_line(capsys.readouterr().err)


def test_lucs_mock_refuses_a_bad_capture_in_one_line_without_a_traceback(tmp_path: Path) -> None:
    file = tmp_path / "bad.json"
    file.write_text(json.dumps({"services": CAPTURE["services"], "users": {"nowhere": []}}))
    command = [sys.executable, "-m", "lucs_harness.mock.cli", "serve", "--port", "0", "--data", str(file)]
    done = subprocess.run(command, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "'nowhere' is not a listed service" in done.stderr
