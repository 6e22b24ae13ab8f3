"""The parts of the operation steps that need no LUCS: field paths and what they say where they
lead nowhere, JSON equality with types, schema names, and the undo each change gets from the
operations table (or the refusal when it has none)."""

from __future__ import annotations

import re
from typing import Any, cast

import pytest

from lucs_harness.client import Exchange
from lucs_harness.config import LucsConfig
from lucs_harness.contract import default_contract
from lucs_harness.journal import Lookup
from lucs_harness.operations import OPERATIONS
from lucs_harness.world import World
from steps.operations import field_at, filled, operation_named, reversal_of, same, schema_named, undo_for
from tests.support.journals import SMOKY_CC

ANSWER = {"Id": "a", "Items": [{"Name": "x", "Tags": [1, 2]}], "Owner": {"SipUri": "sip:a@b", "Id": None}}
TASK_ID = "lucs-harness-00000000-00000000-000000"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("Id", "a"),
        ("$.Id", "a"),
        ("Owner.SipUri", "sip:a@b"),
        ("Owner.Id", None),
        ("Items[0].Name", "x"),
        ("Items[0].Tags[1]", 2),
        ("$.Items[0].Tags", [1, 2]),
    ],
)
def test_a_field_path_reaches_nested_fields_and_list_items(path: str, value: Any) -> None:
    assert field_at(ANSWER, path) == value


def test_a_path_into_a_list_starts_with_its_index() -> None:
    assert field_at([{"Id": "first"}, {"Id": "second"}], "[1].Id") == "second"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("Nobody", "$ is an object of Id, Items, Owner, no field Nobody"),
        ("Items[3].Name", "$.Items is a list of 1 items, no [3]"),
        ("Id.Name", '$.Id is a string "a", no field Name'),
        ("Owner.Id.Name", "$.Owner.Id is null, no field Name"),
        ("Owner[0]", "$.Owner is an object, no [0]"),
        ("Items..Name", 'expected a name, ".name" or "[index]" at "..Name"'),
        ("Items[0]Name", 'expected a name, ".name" or "[index]" at "Name"'),
        ("$", "names no field"),
    ],
)
def test_a_path_that_leads_nowhere_says_where_it_stopped(path: str, message: str) -> None:
    with pytest.raises(AssertionError, match=re.escape(f'"{path}"') + ".*" + re.escape(message)):
        field_at(ANSWER, path)


def test_json_values_are_equal_only_with_their_types_at_every_level() -> None:
    assert same({"a": [1, True, None]}, {"a": [1, True, None]})
    assert not same(True, 1)
    assert not same("true", True)
    assert not same([1], [True])
    assert not same({"a": 1}, {"a": 1, "b": 2})
    assert not same(1, 1.0)


@pytest.mark.parametrize(
    ("name", "file"),
    [
        ("User", "user.json"),
        ("UserList", "user-list.json"),
        ("user-list", "user-list.json"),
        ("callbackdto", "callback.json"),
    ],
)
def test_a_schema_is_named_by_its_title_or_its_file_in_any_case(name: str, file: str) -> None:
    assert schema_named(default_contract(), name) == file


def test_an_unknown_schema_or_operation_names_the_closest_and_every_one() -> None:
    with pytest.raises(AssertionError, match=r'unknown schema "Usr" \(did you mean "User"\?\); the schemas: Callb'):
        schema_named(default_contract(), "Usr")
    with pytest.raises(AssertionError, match=r'unknown operation "list_user" \(did you mean "list_users"'):
        operation_named("list_user")


def test_every_change_of_the_table_has_its_undo_or_is_refused() -> None:
    changes = sorted(name for name, op in OPERATIONS.items() if op.changes_state)
    undone = {name: reversal_of(OPERATIONS[name], LucsConfig())[0] for name in changes if OPERATIONS[name].undo is None}
    assert changes == sorted(
        [
            "block_user",
            "unblock_user",
            "set_presence",
            "create_task",
            "close_task",
            "create_callback",
            "cancel_callback",
        ]
    )  # a search is a POST that changes nothing
    assert reversal_of(OPERATIONS["block_user"], LucsConfig())[0] == "unblock_user"
    assert undone == {"create_task": "close_task", "create_callback": "cancel_callback"}
    for refused in ("close_task", "cancel_callback"):
        with pytest.raises(AssertionError, match=f"{refused} has no undo in the operations table"):
            reversal_of(OPERATIONS[refused], LucsConfig())
    with pytest.raises(AssertionError, match="close_tasks is off"):
        reversal_of(OPERATIONS["create_task"], LucsConfig(close_tasks=False))


def test_an_undo_takes_its_parameters_from_the_change_and_looks_up_what_it_does_not_name() -> None:
    name, rule = reversal_of(OPERATIONS["create_callback"], LucsConfig())
    undo = undo_for(name, rule, {"externalTaskId": TASK_ID}, None, None, LucsConfig())
    assert (undo.operation, undo.params, undo.gone) == ("cancel_callback", {}, (404,))
    assert undo.lookup == Lookup("get_callback", {"externalTaskId": TASK_ID}, "Id", "callbackId")
    assert undo.description == f"cancel callback {TASK_ID}"
    name, rule = reversal_of(OPERATIONS["block_user"], LucsConfig())
    undo = undo_for(name, rule, {"userId": SMOKY_CC}, None, "sip:smoky.cc@dev.local", LucsConfig())
    assert (undo.params, undo.lookup, undo.description) == (
        {"userId": SMOKY_CC},
        None,
        f"unblock sip:smoky.cc@dev.local (user {SMOKY_CC})",
    )


def test_a_task_is_closed_by_the_identifier_the_target_closes_by() -> None:
    name, rule = reversal_of(OPERATIONS["create_task"], LucsConfig())
    by_external = undo_for(name, rule, {"taskIdentifier": TASK_ID}, None, None, LucsConfig())
    assert (by_external.params, by_external.lookup) == ({"taskIdentifier": TASK_ID}, None)
    by_task_id = undo_for(name, rule, {"taskIdentifier": TASK_ID}, None, None, LucsConfig(close_by="TaskId"))
    assert by_task_id.params == {}
    assert by_task_id.lookup == Lookup("get_task", {"taskIdentifier": TASK_ID}, "Id", "taskIdentifier")


def test_an_undo_a_later_run_would_refuse_is_refused_before_the_change() -> None:
    name, rule = reversal_of(OPERATIONS["create_callback"], LucsConfig())
    with pytest.raises(AssertionError, match=r"its undo cancel_callback could not be journaled .*; not sent"):
        undo_for(name, rule, {"externalTaskId": "../../users/x"}, None, None, LucsConfig())


class _Users:
    def fetch_id(self, user: str | None) -> str:
        return SMOKY_CC

    def fetch_sip(self, user: str | None) -> str:
        return "sip:smoky.cc@dev.local"


class _World:
    """What `filled` reads of a world: the configuration, the user lookup and the last call."""

    config = LucsConfig()
    last = Exchange("create_callback", "POST", "http://lucs/v1.0/callbacks", status=200, response_body=ANSWER)
    users = _Users()


def test_a_value_alone_in_its_string_keeps_its_type_and_one_in_text_becomes_text() -> None:
    world = cast(World, _World())
    given = {"a": "{{response Items[0].Tags}}", "b": "of {{ response Id }}", "c": ["{{target user}}"], "d": 3}
    assert filled(world, given) == {"a": [1, 2], "b": "of a", "c": ["sip:smoky.cc@dev.local"], "d": 3}
    assert filled(world, "{{target user id}} in {{configured service}}") == f"{SMOKY_CC} in {LucsConfig().service_id}"
    with pytest.raises(AssertionError, match=r"unknown value \{\{target\}\}; known: \{\{target user\}\}"):
        filled(world, "{{target}}")
