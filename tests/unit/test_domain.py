"""The mock's documented transitions, one by one, without HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from lucs_harness.contract import default_contract
from lucs_harness.mock.domain import Conflict, DomainError, Invalid, Lucs, NotFound
from lucs_harness.mock.faults import Fault, Faults
from lucs_harness.mock.faulty import FaultyLucs
from lucs_harness.mock.seed import load_seed

SERVICE = "7830678b-03b1-4e71-af33-a3987142519f"
CURT = "854822ed-4a2a-4eb1-b07f-637ed3eab729"
EE = "4c3fad85-6e1b-4a9d-8f54-81b2bd2e3f44"  # answers after 5 s
FF = "5d40be96-7f2c-4bae-9a65-92c3ce3f4a55"  # never answers
GG = "6e51cfa7-8a3d-4cbf-8b76-a3d4df4a5b66"  # declines


@pytest.fixture
def lucs() -> Lucs:
    return Lucs(load_seed())


def documented_task(**changes: Any) -> dict[str, Any]:
    task: dict[str, Any] = default_contract().example("task-request.json")
    return task | changes


def fields(user: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(user[k] for k in ("IsBlockedByLuwareApi", "NotSelectableReason", "IsSelectable", "PresenceState"))


def test_before_the_target_is_selectable_and_not_blocked(lucs: Lucs) -> None:
    assert fields(lucs.user(CURT)) == (False, None, True, "Online")


def test_every_dto_the_mock_returns_fits_the_schema(lucs: Lucs) -> None:
    contract = default_contract()
    assert contract.check("user-list.json", lucs.list_users(SERVICE)).violations == ()
    task_id = lucs.create_task(documented_task())
    assert contract.check("task.json", lucs.get_task(task_id)).violations == ()
    assert contract.check("task-list.json", lucs.service_tasks(SERVICE)).violations == ()


def test_block_sets_the_flag_and_reason_and_keeps_presence(lucs: Lucs) -> None:
    assert fields(lucs.block_user(CURT)) == (True, "InAServiceTask", False, "Online")
    assert fields(lucs.user(CURT)) == (True, "InAServiceTask", False, "Online")


def test_a_task_for_a_blocked_user_stays_pending(lucs: Lucs) -> None:
    lucs.block_user(CURT)
    task = lucs.get_task(lucs.create_task(documented_task()))
    assert (task["State"], task["ReservedUserObject"]) == ("Pending", None)


def test_unblock_distributes_the_pending_task_at_once_and_it_is_accepted(lucs: Lucs) -> None:
    lucs.block_user(CURT)
    task_id = lucs.create_task(documented_task())
    assert fields(lucs.unblock_user(CURT)) == (False, "InAnExternalTask", False, "Online")
    task = lucs.get_task(task_id)
    assert task["State"] == "Accepted"
    assert task["ReservedUserObject"]["Id"] == CURT
    assert task["Connected"] is not None


def test_a_task_can_be_read_by_its_external_id(lucs: Lucs) -> None:
    task_id = lucs.create_task(documented_task())
    assert lucs.get_task("testblockingtask")["Id"] == task_id


def test_closing_the_task_frees_the_agent(lucs: Lucs) -> None:
    task_id = lucs.create_task(documented_task())
    assert lucs.user(CURT)["NotSelectableReason"] == "InAnExternalTask"
    lucs.close_task(task_id)
    assert fields(lucs.user(CURT)) == (False, None, True, "Online")
    assert lucs.get_task(task_id)["State"] == "Closed"


def test_a_busy_agent_gets_one_task_and_the_next_waits(lucs: Lucs) -> None:
    first = lucs.create_task(documented_task())
    second = lucs.create_task(documented_task(ExternalTaskId="second"))
    assert lucs.get_task(second)["State"] == "Pending"
    lucs.close_task(first)
    assert lucs.get_task(second)["ReservedUserObject"]["Id"] == CURT


def test_presence_changes_and_do_not_disturb_makes_unselectable(lucs: Lucs) -> None:
    lucs.set_presence(CURT, "DoNotDisturb")
    user = lucs.user(CURT)
    assert (user["PresenceState"], user["IsSelectable"]) == ("DoNotDisturb", False)
    task_id = lucs.create_task(documented_task())
    assert lucs.get_task(task_id)["State"] == "Pending"
    lucs.set_presence(CURT, "Online")
    assert lucs.get_task(task_id)["State"] == "Accepted"


def test_required_capabilities_filter_agents(lucs: Lucs) -> None:
    lucs.agents[CURT].dto["Capabilities"]["Video"] = False
    task_id = lucs.create_task(documented_task())
    assert lucs.get_task(task_id)["State"] == "Pending"


def test_without_preferred_only_the_service_policy_picks_another_agent(lucs: Lucs) -> None:
    lucs.block_user(CURT)
    task = lucs.get_task(lucs.create_task(documented_task(ConsiderPreferredAgentsOnly=False)))
    assert task["ReservedUserObject"]["SipUri"] == "sip:smoky.dd@dev.local"


def test_an_agent_answering_late_accepts_when_the_clock_reaches_the_answer(lucs: Lucs) -> None:
    task_id = lucs.create_task(documented_task(PreferredAgents=["sip:smoky.ee@dev.local"]))
    assert lucs.get_task(task_id)["State"] == "Offered"
    lucs.advance(4.9)
    assert lucs.get_task(task_id)["State"] == "Offered"
    lucs.advance(0.1)
    assert lucs.get_task(task_id)["State"] == "Accepted"
    assert lucs.user(EE)["NotSelectableReason"] == "InAnExternalTask"


def test_rona_sets_a_silent_agent_away_and_the_task_waits_with_preferred_only(lucs: Lucs) -> None:
    task_id = lucs.create_task(documented_task(PreferredAgents=["sip:smoky.ff@dev.local"]))
    lucs.advance(49)
    assert lucs.get_task(task_id)["State"] == "Offered"
    lucs.advance(1)
    assert lucs.get_task(task_id)["State"] == "Pending"
    assert fields(lucs.user(FF)) == (False, "PresenceNotAvailable", False, "Away")


def test_rona_offers_the_task_to_the_next_agent(lucs: Lucs) -> None:
    preferred = ["sip:smoky.gg@dev.local", "sip:smoky.cc@dev.local"]
    task_id = lucs.create_task(documented_task(PreferredAgents=preferred))
    task = lucs.get_task(task_id)
    assert (task["State"], task["ReservedUserObject"]["Id"]) == ("Accepted", CURT)
    assert lucs.user(GG)["PresenceState"] == "Away"


def test_an_away_agent_is_considered_again_once_presence_is_reset(lucs: Lucs) -> None:
    task_id = lucs.create_task(documented_task(PreferredAgents=["sip:smoky.gg@dev.local"]))
    assert lucs.get_task(task_id)["State"] == "Pending"
    lucs.agents[GG].answer = "accept"
    lucs.set_presence(GG, "Online")
    assert lucs.get_task(task_id)["ReservedUserObject"]["Id"] == GG


@pytest.mark.parametrize(
    ("call", "kind", "code"),
    [
        (lambda m: m.block_user("nobody"), NotFound, "UserNotFound"),
        (lambda m: m.unblock_user("nobody"), NotFound, "UserNotFound"),
        (lambda m: m.set_presence(CURT, "Sleepy"), Invalid, "InvalidPresence"),
        (lambda m: m.list_users("nowhere"), NotFound, "ServiceNotFound"),
        (lambda m: m.get_task("nothing"), NotFound, "TaskNotFound"),
        (
            lambda m: m.create_task(documented_task(Service="5b0e2f4c-0000-4c3e-8f6b-2a7d9e1c4b30")),
            NotFound,
            "ServiceNotFound",
        ),
    ],
)
def test_bad_requests_are_refused_with_a_kind_and_code(
    lucs: Lucs, call: Any, kind: type[DomainError], code: str
) -> None:
    with pytest.raises(DomainError) as refused:
        call(lucs)
    assert (type(refused.value), refused.value.code) == (kind, code)


def test_a_second_open_task_with_the_same_external_id_conflicts(lucs: Lucs) -> None:
    lucs.create_task(documented_task())
    with pytest.raises(Conflict, match="exists"):
        lucs.create_task(documented_task())


def test_closing_twice_conflicts(lucs: Lucs) -> None:
    task_id = lucs.create_task(documented_task())
    lucs.close_task(task_id)
    with pytest.raises(Conflict, match="already closed"):
        lucs.close_task(task_id)


def test_reset_returns_to_the_seed(lucs: Lucs) -> None:
    lucs.block_user(CURT)
    lucs.create_task(documented_task())
    lucs.advance(10)
    lucs.reset()
    assert fields(lucs.user(CURT)) == (False, None, True, "Online")
    assert lucs.snapshot()["tasks"] == []
    assert lucs.snapshot()["now"] == "2026-01-01T08:00:00Z"


def test_a_domain_fault_breaks_exactly_its_behaviour() -> None:
    lucs = FaultyLucs(load_seed(), faults=Faults(frozenset({Fault.BLOCK_WRONG_REASON})))
    assert fields(lucs.block_user(CURT)) == (True, "Busy", False, "Online")
