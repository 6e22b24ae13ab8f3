"""Steps about external tasks: posting, pending, distribution, closing."""

from __future__ import annotations

import json
from typing import Any

from pytest_bdd import given, parsers, then, when

from lucs_harness.expectations import assert_fields, mismatches
from lucs_harness.waits import holds_for, wait_until
from lucs_harness.world import World

from . import NAMED


def _describe(task: dict[str, Any]) -> str:
    holder = (task.get("ReservedUserObject") or {}).get("SipUri")
    return f"State={task.get('State')!r}, ReservedUserObject.SipUri={holder!r}"


@given("an external task that prefers only the target user is posted")
@when("I post an external task that prefers only the target user")
@when(parsers.parse("I post an external task that prefers only " + NAMED))
def post_task(world: World, user: str | None = None) -> None:
    world.post_task(world.task_for(user))


@then("LUCS answers with the id of the new task")
def answers_task_id(world: World) -> None:
    """The id (schema-checked as a GUID) must name the task just posted."""
    task = world.task()
    assert_fields(task, {"Id": world.task_id, "ExternalTaskId": world.external_task_id}, what=f"task {world.task_id}")


@then("the task stays pending")
def task_pending(world: World) -> None:
    """Watched for the hold time: a real LUCS may hand a task out a moment after it was posted."""
    expected: dict[str, Any] = {"ReservedUserObject": None}
    states = world.config.effective_task_states()
    if states and "pending" in states:
        expected["State"] = states["pending"]
    with world.client.polling():
        holds_for(
            world.task,
            lambda task: not mismatches(task, expected),
            duration=world.config.effective_hold_time(),
            interval=world.config.poll_interval,
            expected=f"task {world.task_id} pending (nobody selectable may hold it)",
            describe=lambda task: "; ".join(mismatches(task, expected)),
        )


@given("the task is distributed to and accepted by the target user")
@then("the task is distributed to and accepted by the target user")
@then(parsers.parse("the task is distributed to and accepted by " + NAMED))
@then(parsers.parse("the task is distributed to and accepted by the target user within {seconds:d} seconds"))
@then(parsers.parse("the task is distributed to and accepted by " + NAMED + " within {seconds:d} seconds"))
def task_accepted(world: World, user: str | None = None, seconds: int | None = None) -> None:
    """Polls the task until the user holds it (and it is accepted), up to `seconds` or the wait deadline."""
    user_id = world.user_id(user)
    states = world.config.effective_task_states()
    accepted = states.get("accepted") if states else None

    def done(task: dict[str, Any]) -> bool:
        holder = task.get("ReservedUserObject") or {}
        return holder.get("Id") == user_id and (accepted is None or task.get("State") == accepted)

    with world.client.polling():
        wait_until(
            world.task,
            done,
            timeout=world.config.wait_timeout if seconds is None else seconds,
            interval=world.config.poll_interval,
            expected=f"task {world.task_id} held by {world.ref(user)}"
            + (f" in state {accepted!r}" if accepted else ""),
            describe=_describe,
        )


@when(parsers.parse('I post an external task that prefers only the users "{users}"'))
def post_task_for_users(world: World, users: str) -> None:
    """Preferred agents in order, comma-separated."""
    world.post_task(world.task_for(*[u.strip() for u in users.split(",")]))


@then(parsers.parse("the task is offered to " + NAMED))
@then(parsers.parse("the task is still offered to " + NAMED))
def task_offered(world: World, user: str) -> None:
    """Held by the agent but not yet accepted (State checked where its name is known)."""
    task = world.task()
    holder = (task.get("ReservedUserObject") or {}).get("SipUri")
    states = world.config.effective_task_states()
    expected_state = states.get("offered") if states else None
    if holder != world.sip(user) or (expected_state and task.get("State") != expected_state):
        raise AssertionError(f"task {world.task_id}: expected offered to {world.sip(user)}; got {_describe(task)}")


@when("I close the task")
def close_task(world: World) -> None:
    world.close_task()


@when("I try to post an external task with this body:")
def try_post_malformed(world: World, docstring: str) -> None:
    """The body must really break the task schema, or the scenario would prove nothing."""
    try:
        body = json.loads(docstring)
    except ValueError:
        pass  # not JSON at all: malformed by definition
    else:
        if not world.client.contract.check("task-request.json", body).violations:
            raise AssertionError("this body is a valid task request; a malformed-body scenario needs an invalid one")
    world.send_raw_task(docstring)


@when(parsers.re(r"I read the task by its (?P<key>TaskId|ExternalTaskId)"))
def read_task(world: World, key: str) -> None:
    world.read_task_by(key)


@then("the task read is the posted task")
def task_read_is_posted(world: World) -> None:
    if world.read_task is None:
        raise AssertionError("no task was read in this scenario")
    expected = {"Id": world.task_id, "ExternalTaskId": world.external_task_id}
    assert_fields(world.read_task, expected, what=f"the task read by {world.last_call}")


@when("I list the tasks of the service")
def list_service_tasks(world: World) -> None:
    world.list_service_tasks()


@then("the service's tasks include the posted task")
def service_tasks_include(world: World) -> None:
    if world.service_tasks is None:
        raise AssertionError("the service's tasks were not listed in this scenario")
    if all(t.get("Id") != world.task_id for t in world.service_tasks):
        raise AssertionError(
            f"task {world.task_id} ({world.external_task_id}) is not among the {len(world.service_tasks)} "
            f"tasks of service {world.config.service_id}"
        )
