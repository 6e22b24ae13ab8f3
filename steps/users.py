"""Steps about users: listing, blocking, unblocking, and what a user DTO shows."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from lucs_harness.expectations import assert_fields, expected_fields
from lucs_harness.world import World

from . import USER


@given(parsers.re(rf"{USER} is selectable in the service"))
def user_is_selectable(world: World, user: str | None = None) -> None:
    """Precondition: the use case starts from a selectable, unblocked user (as first seen: later
    checks of "unchanged" compare with this); a failure names what it found and the repair."""
    world.users.require_ready(user)


@given(parsers.re(rf"{USER} is blocked"))
@when(parsers.re(rf"I block {USER}"))
def block_user(world: World, user: str | None = None) -> None:
    world.users.block(user)


@when(parsers.re(rf"I unblock {USER}"))
def unblock_user(world: World, user: str | None = None) -> None:
    world.users.unblock(user)


@when(parsers.re(r"I try to (?P<action>block|unblock) an unknown user"))
def try_on_unknown_user(world: World, action: str) -> None:
    """An unknown user: a well-formed GUID that names nobody."""
    world.users.try_on_unknown(f"{action}_user")


@when("I list the users of the service")
def list_users(world: World) -> None:
    world.users.list_all()


@then(parsers.re(rf"the list contains {USER} with:"))
def list_contains(world: World, datatable: list[list[str]], user: str | None = None) -> None:
    assert_fields(world.users.as_listed(user), expected_fields(datatable), what=f"{world.ref(user)} as listed")


@then("the returned user has:")
def returned_user_has(world: World, datatable: list[list[str]]) -> None:
    assert_fields(world.users.as_returned(), expected_fields(datatable), what=f"the user returned by {world.last_call}")


@then(parsers.re(rf"the returned user is {USER}"))
def returned_user_is(world: World, user: str | None = None) -> None:
    assert_fields(world.users.as_returned(), {"Id": world.users.fetch_id(user)}, what="the returned user")


@then(parsers.re(rf"{USER} as listed has:"))
def listed_user_has(world: World, datatable: list[list[str]], user: str | None = None) -> None:
    """Polls the list up to the wait deadline: a real LUCS may apply a change a moment later."""
    world.users.wait_for(user, expected_fields(datatable))


@then("the returned user's presence is unchanged")
def returned_presence_unchanged(world: World) -> None:
    """Compared with the presence noted when the scenario first listed the user."""
    before = world.users.presence_before(None)
    assert_fields(world.users.as_returned(), {"PresenceState": before}, what="presence of the returned user")


@then(parsers.re(rf"{USER}'s presence as listed is unchanged"))
def listed_presence_unchanged(world: World, user: str | None = None) -> None:
    before = world.users.presence_before(user)
    assert_fields(world.users.fetch(user), {"PresenceState": before}, what=f"presence of {world.ref(user)} as listed")
