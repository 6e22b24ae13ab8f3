"""Steps about users: listing, blocking, unblocking, and what a user DTO shows."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from lucs_harness.expectations import assert_fields, expected_fields
from lucs_harness.world import World

from . import NAMED


@given("the target user is selectable in the service")
@given(parsers.parse(NAMED + " is selectable in the service"))
def user_is_selectable(world: World, user: str | None = None) -> None:
    """Precondition: the use case starts from a selectable, unblocked user (as first seen: later
    checks of "unchanged" compare with this)."""
    problems = world.not_ready(user)
    if problems:
        raise AssertionError(
            f"precondition failed: {world.ref(user)} must be selectable and not blocked before the scenario:\n  "
            + "\n  ".join(problems)
        )


@given("the target user is blocked")
@given(parsers.parse(NAMED + " is blocked"))
@when("I block the target user")
@when(parsers.parse("I block " + NAMED))
def block_user(world: World, user: str | None = None) -> None:
    world.block(user)


@when("I unblock the target user")
@when(parsers.parse("I unblock " + NAMED))
def unblock_user(world: World, user: str | None = None) -> None:
    world.unblock(user)


@when(parsers.parse('I try to block the user with id "{user_id}"'))
def try_block(world: World, user_id: str) -> None:
    world.last = world.client.send("block_user", {"userId": user_id}, expect=range(100, 600))


@when(parsers.parse('I try to unblock the user with id "{user_id}"'))
def try_unblock(world: World, user_id: str) -> None:
    world.last = world.client.send("unblock_user", {"userId": user_id}, expect=range(100, 600))


@when("I list the users of the service")
def list_users(world: World) -> None:
    world.list_users()


@then("the list contains the target user with:")
@then(parsers.parse("the list contains " + NAMED + " with:"))
def list_contains(world: World, datatable: list[list[str]], user: str | None = None) -> None:
    if world.listed is None:
        raise AssertionError("no user list was fetched in this scenario")
    found = world.find(world.listed, user)
    if found is None:
        listed = ", ".join(str(u.get("SipUri")) for u in world.listed) or "nobody"
        raise AssertionError(
            f"{world.ref(user)} is not in the list of service {world.config.service_id} (listed: {listed})"
        )
    assert_fields(found, expected_fields(datatable), what=f"{world.ref(user)} as listed")


@then("the returned user has:")
def returned_user_has(world: World, datatable: list[list[str]]) -> None:
    if world.returned_user is None:
        raise AssertionError("no call in this scenario returned a user")
    assert_fields(world.returned_user, expected_fields(datatable), what=f"the user returned by {world.last_call}")


@then("the returned user is the target user")
@then(parsers.parse("the returned user is " + NAMED))
def returned_user_is(world: World, user: str | None = None) -> None:
    if world.returned_user is None:
        raise AssertionError("no call in this scenario returned a user")
    assert_fields(world.returned_user, {"Id": world.user_id(user)}, what="the returned user")


@then("the target user as listed has:")
@then(parsers.parse(NAMED + " as listed has:"))
def listed_user_has(world: World, datatable: list[list[str]], user: str | None = None) -> None:
    """Polls the list up to the wait deadline: a real LUCS may apply a change a moment later."""
    world.wait_for_user(user, expected_fields(datatable))


@then("the returned user's presence is unchanged")
def returned_presence_unchanged(world: World) -> None:
    if world.returned_user is None:
        raise AssertionError("no call in this scenario returned a user")
    before = world.presence_before(None)
    assert_fields(
        world.returned_user, {"PresenceState": before}, what="presence of the returned user (noted before the scenario)"
    )


@then("the target user's presence as listed is unchanged")
@then(parsers.parse(NAMED + "'s presence as listed is unchanged"))
def listed_presence_unchanged(world: World, user: str | None = None) -> None:
    before = world.presence_before(user)
    assert_fields(world.listed_user(user), {"PresenceState": before}, what=f"presence of {world.ref(user)} as listed")
