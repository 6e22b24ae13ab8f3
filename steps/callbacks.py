"""Steps about callbacks: requesting, reading back, searching, cancelling. A scenario names its
callbacks ("first", "unwanted"); each one calls the target user back for the configured service."""

from __future__ import annotations

import re
from typing import Any

from pytest_bdd import given, parsers, then, when

from lucs_harness.errors import ExpectationFailed
from lucs_harness.expectations import assert_fields, expected_fields
from lucs_harness.world import UNKNOWN_ID, World

_QUOTED = re.compile(r'"([^"]+)"')


def _body(world: World, **fields: Any) -> dict[str, Any]:
    """A callback request to the target user (its SIP URI looked up where it was given as a GUID)."""
    return world.callbacks.body_for(world.users.fetch_sip(None), **fields)


def _names(text: str) -> list[str]:
    """`"a", "b" and "c"` as ["a", "b", "c"]."""
    names = _QUOTED.findall(text)
    if not names:
        raise ValueError(f"no quoted callback names in {text!r}")
    return names


@given(parsers.parse('a callback "{name}" for the target user has been requested'))
@when(parsers.parse('I request a callback "{name}" for the target user'))
def request_callback(world: World, name: str) -> None:
    world.callbacks.request(name)


@given(parsers.re(r"callbacks (?P<names>.+) for the target user have been requested in this order"))
def request_callbacks(world: World, names: str) -> None:
    for name in _names(names):
        world.callbacks.request(name)


@given(parsers.parse('a callback "{name}" for the target user that is due now has been requested'))
def request_due_callback(world: World, name: str) -> None:
    """Due at once: only the mock, whose clock the scenario drives, may get one (it would be dialled)."""
    if world.control is None:
        raise ExpectationFailed("a callback due now would be dialled by a real LUCS; tag the scenario @mock-only")
    world.callbacks.request(name, due_now=True)


@when(parsers.parse('I request a callback "{name}" for the target user naming the service by its SIP address "{sip}"'))
def request_callback_by_service_sip(world: World, name: str, sip: str) -> None:
    world.callbacks.request(name, ServiceId=None, ServiceSip=sip)


@given(parsers.parse('the callback "{name}" has been cancelled'))
@when(parsers.parse('I cancel the callback "{name}"'))
def cancel_callback(world: World, name: str) -> None:
    world.callbacks.cancel(name)


@when(parsers.parse('I try to cancel the callback "{name}" again'))
def cancel_again(world: World, name: str) -> None:
    world.callbacks.try_cancel(str(world.callbacks.as_answered(name)["Id"]))


@when("I try to cancel an unknown callback")
def cancel_unknown(world: World) -> None:
    world.callbacks.try_cancel(UNKNOWN_ID)


@when(parsers.parse('I read the callback "{name}" by its ExternalTaskId'))
def read_callback(world: World, name: str) -> None:
    world.callbacks.fetch(name)


@when("I search the callbacks with no filter")
def search_all(world: World) -> None:
    """`{}`: documented to find every callback."""
    world.callbacks.search({})


@when("I search the callbacks of the configured service")
def search_by_service(world: World) -> None:
    world.callbacks.search({"ServiceId": world.config.service_id})


@when(parsers.parse('I search the callbacks by the ExternalTaskId of "{name}"'))
def search_by_external_id(world: World, name: str) -> None:
    world.callbacks.search({"ExternalTaskId": world.callbacks.external_id_of(name)})


@when("I search the callbacks requested in this scenario with:")
def search_own(world: World, datatable: list[list[str]]) -> None:
    """The table's filters, and the scenario's CallerId: other callbacks on the target stay out."""
    world.callbacks.search_own(expected_fields(datatable))


# ---- refused requests ----------------------------------------------------------------------


def _try_invalid(world: World, body: dict[str, object]) -> None:
    """The body must really break the request schema, or the scenario would prove nothing."""
    if not world.client.contract.check("callback-request.json", body).violations:
        raise ExpectationFailed("this body is a valid callback request; a refusal scenario needs an invalid one")
    world.callbacks.try_request(body)


@when(parsers.parse('I try to request a callback for the target user with the priority "{priority}"'))
def try_priority(world: World, priority: str) -> None:
    _try_invalid(world, _body(world, Priority=priority))


@when(parsers.parse("I try to request a callback for the target user with a description of {length:d} characters"))
def try_description(world: World, length: int) -> None:
    _try_invalid(world, _body(world, Description="d" * length))


@when("I try to request a callback for the target user without a Target")
def try_without_target(world: World) -> None:
    body = _body(world)
    del body["Target"]
    _try_invalid(world, body)


@when(parsers.parse('I try to request a callback for the target user naming the service by its SIP address "{sip}"'))
def try_service_sip(world: World, sip: str) -> None:
    """A valid body: the refusal, if any, comes from what LUCS knows of the service."""
    world.callbacks.try_request(_body(world, ServiceId=None, ServiceSip=sip))


# ---- checks ------------------------------------------------------------------------------


@then("the new callback has:")
def new_callback_has(world: World, datatable: list[list[str]]) -> None:
    assert_fields(world.callbacks.newest(), expected_fields(datatable), what="the new callback as LUCS answered it")


@then("the new callback echoes what was requested")
def new_callback_echoes(world: World) -> None:
    """Every field sent comes back as sent, but DueDate (LUCS may write a date-time its own way)
    and the service (see "belongs to the configured service")."""
    sent = list(world.callbacks.sent.values())[-1]
    echoed = {k: v for k, v in sent.items() if k not in ("DueDate", "ServiceId", "ServiceSip")}
    assert_fields(world.callbacks.newest(), echoed, what="the new callback against the request")


@then("the new callback belongs to the configured service")
def new_callback_in_service(world: World) -> None:
    """The service by its GUID, whether the request named it by GUID or by SIP address."""
    assert_fields(world.callbacks.newest(), {"ServiceId": world.config.service_id}, what="the new callback")


@then(parsers.parse('the callback read is "{name}"'))
def callback_read_is(world: World, name: str) -> None:
    read = world.callbacks.as_read()
    wanted = world.callbacks.as_answered(name)
    expected = {"Id": wanted["Id"], "ExternalTaskId": wanted["ExternalTaskId"]}
    assert_fields(read, expected, what=f"the callback read (expected {name!r})")


def _found(world: World) -> list[str]:
    return world.callbacks.names_of(world.callbacks.as_found())


@then(parsers.parse('the callbacks found include "{name}"'))
def found_include(world: World, name: str) -> None:
    world.callbacks.as_answered(name)
    found = _found(world)
    if name not in found:
        raise ExpectationFailed(f"callback {name!r} is not among the {len(found)} callbacks found")


@then(parsers.parse('the callbacks found do not include "{name}"'))
def found_exclude(world: World, name: str) -> None:
    """A filter that leaves a callback out (a search by another state): fails where LUCS ignores it."""
    world.callbacks.as_answered(name)
    found = _found(world)
    if name in found:
        raise ExpectationFailed(
            f"callback {name!r} is among the {len(found)} callbacks found; the search should leave it out"
        )


@then(parsers.re(r"the callbacks found are, in this order: (?P<names>.+)"))
@then(parsers.re(r'the only callback found is (?P<names>"[^"]+")'))
def found_exactly(world: World, names: str) -> None:
    expected, found = _names(names), _found(world)
    if found != expected:
        raise ExpectationFailed(f"callbacks found: expected {_listed(expected)}; got {_listed(found)}")


def _listed(names: list[str]) -> str:
    return ", ".join(f'"{name}"' for name in names) or "none"


@then("every callback found belongs to the configured service")
def found_in_service(world: World) -> None:
    others = [c for c in world.callbacks.as_found() if c.get("ServiceId") != world.config.service_id]
    if others:
        listed = ", ".join(f"{c.get('Id')} (ServiceId {c.get('ServiceId')})" for c in others[:5])
        raise ExpectationFailed(f"{len(others)} callbacks found belong to another service: {listed}")


@then(parsers.parse('the callback "{name}" is no longer among the pending callbacks'))
def not_pending(world: World, name: str) -> None:
    """Polls the pending callbacks up to the wait deadline: LUCS may take a moment."""
    world.callbacks.wait_until_not_pending(name)


@then(parsers.parse('the callback "{name}" is in state "{state}"'))
def callback_state(world: World, name: str, state: str) -> None:
    """Read by its ExternalTaskId. Documented names: Pending, Terminated; "In Queue" is spelled
    InQueue on the mock (its JSON spelling is not documented)."""
    assert_fields(world.callbacks.fetch(name), {"State": state}, what=f"callback {name!r}")
