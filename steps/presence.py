"""Steps about presence: setting it and reading it back."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from lucs_harness.world import World

from . import NAMED


@when(parsers.parse('I set the presence of the target user to "{presence}"'))
@when(parsers.parse("I set the presence of " + NAMED + ' to "{presence}"'))
def set_presence(world: World, presence: str, user: str | None = None) -> None:
    world.set_presence(user, presence)


@when(parsers.parse('I try to set the presence of the target user to "{presence}"'))
def try_set_presence(world: World, presence: str) -> None:
    world.set_presence(None, presence, expect_error=True)


@then(parsers.parse('the target user\'s presence reads "{presence}"'))
@then(parsers.parse(NAMED + '\'s presence reads "{presence}"'))
def presence_reads(world: World, presence: str, user: str | None = None) -> None:
    """Polls the list up to the wait deadline for the new presence."""
    world.wait_for_user(user, {"PresenceState": presence})
