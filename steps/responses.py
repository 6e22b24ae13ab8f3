"""Steps about the last response itself: status, empty body, the error envelope."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_bdd import parsers, then

from lucs_harness.errors import ExpectationFailed
from lucs_harness.world import World

if TYPE_CHECKING:
    from lucs_harness.client import Exchange


def _last(world: World) -> Exchange:
    if world.last is None:
        raise ExpectationFailed("no request was sent in this scenario")
    return world.last


@then(parsers.parse("LUCS answers {status:d} with no body"))
def status_without_body(world: World, status: int) -> None:
    last = _last(world)
    if last.status != status or last.response_text != "":
        raise ExpectationFailed(f"{last.what}: expected {status} with no body, got body {last.response_text[:200]!r}")


@then(parsers.parse("LUCS answers {status:d}"))
def status_is(world: World, status: int) -> None:
    last = _last(world)
    if last.status != status:
        raise ExpectationFailed(f"{last.what}: expected status {status}")


@then("the request is refused with a client error in the LUCS error envelope")
def refused_with_envelope(world: World) -> None:
    """4xx, and a JSON body `{"Error": {"Code", "Message"}}` with both texts non-empty."""
    last = _last(world)
    status = last.status or 0
    if not 400 <= status < 500:
        raise ExpectationFailed(f"{last.what}: expected a 4xx client error; body {last.response_text[:200]!r}")
    error = last.response_body.get("Error") if isinstance(last.response_body, dict) else None
    texts = [error.get(k) for k in ("Code", "Message")] if isinstance(error, dict) else []
    if not texts or not all(isinstance(text, str) and text for text in texts):
        envelope = '{"Error": {"Code", "Message"}}'
        raise ExpectationFailed(
            f"{last.what}: expected the error envelope {envelope}, got {last.response_text[:200]!r}"
        )
