"""Steps about presence: setting it and reading it back."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from lucs_harness.world import World

from . import USER


@when(parsers.re(rf'I set the presence of {USER} to "(?P<presence>[^"]+)"'))
def set_presence(world: World, presence: str, user: str | None = None) -> None:
    world.users.set_presence(user, presence)


@when(parsers.re(rf'I try to set the presence of {USER} to "(?P<presence>[^"]+)"'))
def try_set_presence(world: World, presence: str, user: str | None = None) -> None:
    """Any answer is taken: the next step judges it."""
    world.users.set_presence(user, presence, expect_error=True)


@then(parsers.re(rf'{USER}\'s presence reads "(?P<presence>[^"]+)"'))
def presence_reads(world: World, presence: str, user: str | None = None) -> None:
    """Polls the list up to the wait deadline for the new presence."""
    world.users.wait_for(user, {"PresenceState": presence})
