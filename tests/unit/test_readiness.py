"""What makes an agent not ready, and its repair: one judgement for a scenario's precondition and for
the pool check before a run; a lease held by a live run keeps its agent out of the check."""

from __future__ import annotations

from lucs_harness.client import LucsClient
from lucs_harness.config import LucsConfig
from lucs_harness.leftovers import harness_id
from lucs_harness.readiness import BLOCKED, LeftChanged, check_pool, problems, repairs, report
from lucs_harness.restore import RestoreRegistry, performer
from lucs_harness.world import World
from tests.unit.conftest import MockTarget

CC, DD = "sip:smoky.cc@dev.local", "sip:smoky.dd@dev.local"
READY_USER = {"Id": "u1", "IsSelectable": True, "IsBlockedByLuwareApi": False, "PresenceState": "Online"}


def test_a_selectable_online_unblocked_user_without_tasks_is_ready() -> None:
    assert problems(READY_USER, []) == []


def test_each_thing_that_keeps_a_user_from_the_use_case_is_named() -> None:
    user = READY_USER | {"IsSelectable": False, "IsBlockedByLuwareApi": True, "PresenceState": "Away"}
    user |= {"NotSelectableReason": "InAServiceTask"}
    task = {"Id": "t1", "ExternalTaskId": "crm-7", "State": "Accepted"}
    assert problems(user, [task]) == [
        BLOCKED,
        "presence is 'Away', not 'Online'",
        "not selectable: NotSelectableReason is 'InAServiceTask'",
        "holds open task t1 (ExternalTaskId 'crm-7', State 'Accepted')",
    ]


def test_the_repair_is_by_hand_unless_a_journal_of_the_harness_is_left() -> None:
    blocked = READY_USER | {"IsSelectable": False, "IsBlockedByLuwareApi": True}
    by_hand = repairs(blocked, [], LucsConfig(), journal_left=False)
    assert by_hand == [
        "unblock it in LUCS: no restore journal of this harness undoes it "
        "(another system blocked it, or a run whose journal was lost)"
    ]
    journaled = repairs(blocked, [], LucsConfig(), journal_left=True)
    assert journaled[0].endswith("then `lucs-acceptance restore` with this run's options")


def test_a_held_task_is_closed_by_hand_or_by_the_restore_once_it_is_an_orphan() -> None:
    ours = {"Id": "t1", "ExternalTaskId": harness_id()}
    theirs = {"Id": "t2", "ExternalTaskId": "crm-7"}
    steps = repairs(
        READY_USER | {"IsSelectable": False}, [ours, theirs], LucsConfig(orphan_task_age=60), journal_left=False
    )
    assert steps == [
        "close task t1 in LUCS (`lucs-acceptance restore` closes it once it is 60 s old)",
        "close task t2 in LUCS (another system's)",
    ]


def _client(mock_target: MockTarget) -> LucsClient:
    mock_target.control.reset()
    return LucsClient(LucsConfig(), mock_target.base_url)


def _user_id(client: LucsClient, sip: str) -> str:
    return str(next(u["Id"] for u in client.list_users(LucsConfig().service_id) if u["SipUri"] == sip))


def test_the_pool_check_names_each_free_agent_not_ready_and_skips_leased_ones(mock_target: MockTarget) -> None:
    client = _client(mock_target)
    for sip in (CC, DD):
        client.block(_user_id(client, sip))
    config = LucsConfig(agents=[CC, DD, "sip:nobody@dev.local"])
    found = check_pool(config, client, lambda agent: agent == DD, journal_left=False)
    assert [(f.agent, f.wrong[0]) for f in found] == [
        (CC, BLOCKED),
        ("sip:nobody@dev.local", f"not among the users of service {config.service_id}"),
    ]
    reason, block = report(found)
    assert reason.startswith("target not ready: 2 agent(s) of the pool cannot start the use case: ")
    assert len(block) == 5  # a headline, then two lines per agent
    assert check_pool(LucsConfig(agents=[DD]), client, lambda agent: True, journal_left=False) == []


def test_the_scenarios_precondition_judges_as_the_pool_check_does(mock_target: MockTarget) -> None:
    client = _client(mock_target)
    client.block(_user_id(client, CC))
    world = World(LucsConfig(), client, RestoreRegistry(performer(client)), CC)
    lines = world.users.fetch_why_not_ready(None)
    [pool_finding] = check_pool(LucsConfig(), client, lambda agent: False, journal_left=False)
    assert lines[:2] == ["IsSelectable: expected true, got false", "IsBlockedByLuwareApi: expected false, got true"]
    assert lines[2:-1] == pool_finding.wrong
    assert "lucs-acceptance restore" in lines[-1]


def test_an_agent_left_changed_is_one_reason_per_scenario_and_one_finding() -> None:
    left = LeftChanged(CC, "test_blocking")
    left.not_run += ["test_a", "test_b"]
    assert left.reason() == f"not run: agent {CC} was left changed by the failed undo of scenario test_blocking"
    assert left.finding().startswith(f"2 later scenario(s) not run: agent {CC} was left changed")
