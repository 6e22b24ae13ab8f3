"""The `world` and its facets: an accessor reads only what the scenario holds and sends nothing,
failing with a message that says what was not fetched; a method named for a call makes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lucs_harness.client import Exchange, LucsClient
from lucs_harness.config import LucsConfig
from lucs_harness.restore import RestoreRegistry, performer
from lucs_harness.world import World
from tests.unit.conftest import MockTarget

CC = "sip:smoky.cc@dev.local"
CC_ID = "854822ed-4a2a-4eb1-b07f-637ed3eab729"  # smoky.cc in the mock's seed


def _world(mock_target: MockTarget, target: str = CC) -> tuple[World, list[Exchange]]:
    mock_target.control.reset()
    client = LucsClient(LucsConfig(), mock_target.base_url)
    sent: list[Exchange] = []
    client.listeners.append(sent.append)
    return World(LucsConfig(), client, RestoreRegistry(performer(client)), target, mock_target.control), sent


ACCESSORS: dict[str, tuple[Callable[[World], Any], str]] = {
    "users.as_listed": (lambda w: w.users.as_listed(None), "no user list was fetched in this scenario"),
    "users.as_returned": (lambda w: w.users.as_returned(), "no call in this scenario returned a user"),
    "users.presence_before": (
        lambda w: w.users.presence_before(None),
        f"the presence of {CC} was not noted before the scenario changed anything",
    ),
    "tasks.as_read": (lambda w: w.tasks.as_read(), "no task was read in this scenario"),
    "tasks.as_listed": (lambda w: w.tasks.as_listed(), "the service's tasks were not listed in this scenario"),
    "callbacks.as_answered": (
        lambda w: w.callbacks.as_answered("first"),
        "no callback 'first' was requested in this scenario",
    ),
    "callbacks.newest": (lambda w: w.callbacks.newest(), "no callback was requested in this scenario"),
    "callbacks.external_id_of": (
        lambda w: w.callbacks.external_id_of("first"),
        "no callback 'first' was requested in this scenario",
    ),
    "callbacks.as_read": (lambda w: w.callbacks.as_read(), "no callback was read in this scenario"),
    "callbacks.as_found": (lambda w: w.callbacks.as_found(), "no callback search was made in this scenario"),
    "services.as_listed": (lambda w: w.services.as_listed(), "no service list was fetched in this scenario"),
}


@pytest.mark.parametrize("accessor", list(ACCESSORS))
def test_an_accessor_sends_nothing_and_says_what_was_not_fetched(mock_target: MockTarget, accessor: str) -> None:
    world, sent = _world(mock_target)
    read, message = ACCESSORS[accessor]
    with pytest.raises(AssertionError) as failure:
        read(world)
    assert str(failure.value) == message
    assert sent == []
    assert world.last is None


def test_accessors_read_what_the_calls_kept(mock_target: MockTarget) -> None:
    world, sent = _world(mock_target)
    world.users.block(None)
    world.tasks.post_for(None)
    world.tasks.read_by("ExternalTaskId")
    world.tasks.list_all()
    world.callbacks.request("first")
    world.callbacks.fetch("first")
    world.callbacks.search_own({})
    world.services.list_all()
    calls = len(sent)
    assert world.users.as_listed(None)["SipUri"] == CC
    assert world.users.as_returned()["IsBlockedByLuwareApi"] is True
    assert world.users.presence_before(None) == "Online"
    assert world.tasks.as_read()["Id"] == world.tasks.task_id
    assert [t["Id"] for t in world.tasks.as_listed()] == [world.tasks.task_id]
    assert world.callbacks.newest() == world.callbacks.as_answered("first") == world.callbacks.as_read()
    assert world.callbacks.external_id_of("first") == world.callbacks.sent["first"]["ExternalTaskId"]
    assert world.callbacks.names_of(world.callbacks.as_found()) == ["first"]
    assert world.config.service_id in [s["Id"] for s in world.services.as_listed()]
    assert world.tasks.body_for(CC)["PreferredAgents"] == [CC]
    assert world.callbacks.body_for(CC)["Target"] == CC
    assert len(sent) == calls  # the accessors and the body builders sent nothing
    assert world.restore.restore_all() == []


def test_a_fetch_looks_a_guid_up_and_the_facets_share_one_last_call(mock_target: MockTarget) -> None:
    world, sent = _world(mock_target, target=CC_ID)
    assert world.users.fetch_sip(None) == CC
    assert [e.operation for e in sent] == ["list_users"]
    assert world.last is None  # a lookup is not the scenario's evidence
    assert world.users.fetch_id(None) == CC_ID
    assert len(sent) == 1  # noted once per scenario
    assert world.services.list_all() is world.services.listed
    assert world.last_call.endswith("/services -> 200")
    world.users.try_on_unknown("block_user")
    assert world.last_call.endswith(" -> 404")
    assert repr(world) == f"World(target={CC_ID!r}, last={world.last_call!r})"
