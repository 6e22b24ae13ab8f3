"""Steps about external tasks: posting, pending, distribution, closing."""

from __future__ import annotations

import json

from pytest_bdd import given, parsers, step, then, when

from lucs_harness.errors import ExpectationFailed
from lucs_harness.expectations import assert_fields
from lucs_harness.world import World

from . import USER

RONA = r"(?: with a RONA timeout of (?P<rona>\d+) seconds)?"


@given(parsers.re(rf"an external task that prefers only {USER} is posted"))
@when(parsers.re(rf"I post an external task that prefers only {USER}{RONA}"))
def post_task(world: World, user: str | None = None, rona: str | None = None) -> None:
    """The documented example task (its RONA timeout is 50 seconds unless the step says otherwise)."""
    world.tasks.post_for(user, **({"rona": int(rona)} if rona else {}))


@then("LUCS answers with the id of the new task")
def answers_task_id(world: World) -> None:
    """The id (schema-checked as a GUID) must name the task just posted."""
    tasks = world.tasks
    assert_fields(
        tasks.fetch(), {"Id": tasks.task_id, "ExternalTaskId": tasks.external_task_id}, what=f"task {tasks.task_id}"
    )


@then("the task stays pending")
def task_pending(world: World) -> None:
    """Watched for the hold time: a real LUCS may hand a task out a moment after it was posted."""
    world.tasks.hold_pending()


@step(parsers.re(rf"the task is distributed to and accepted by {USER}(?: within (?P<seconds>\d+) seconds)?"))
def task_accepted(world: World, user: str | None = None, seconds: str | None = None) -> None:
    """Polls the task until the user holds it (and it is accepted), up to `seconds` or the wait deadline."""
    world.tasks.wait_accepted(user, float(seconds) if seconds else None)


@when(parsers.re(rf'I post an external task that prefers only the users "(?P<users>[^"]+)"{RONA}'))
def post_task_for_users(world: World, users: str, rona: str | None = None) -> None:
    """Preferred agents in order, comma-separated."""
    world.tasks.post_for(*[u.strip() for u in users.split(",")], **({"rona": int(rona)} if rona else {}))


@then(parsers.re(rf"the task is (?:still )?offered to {USER}"))
def task_offered(world: World, user: str | None = None) -> None:
    """Held by the agent but not yet accepted (State checked where its name is known)."""
    world.tasks.check_offered(user)


@when("I close the task")
def close_task(world: World) -> None:
    world.tasks.close()


@when("I try to post an external task with this body:")
def try_post_malformed(world: World, docstring: str) -> None:
    """Sent exactly as written; the body must really break the task schema."""
    try:
        body = json.loads(docstring)
    except ValueError:
        pass  # not JSON at all: malformed by definition
    else:
        if not world.client.contract.check("task-request.json", body).violations:
            raise ExpectationFailed("this body is a valid task request; a malformed-body scenario needs an invalid one")
    world.tasks.try_post_raw(docstring)


@when(parsers.re(r"I read the task by its (?P<key>TaskId|ExternalTaskId)"))
def read_task(world: World, key: str) -> None:
    world.tasks.read_by(key)


@then("the task read is the posted task")
def task_read_is_posted(world: World) -> None:
    expected = {"Id": world.tasks.task_id, "ExternalTaskId": world.tasks.external_task_id}
    assert_fields(world.tasks.as_read(), expected, what=f"the task read by {world.last_call}")


@when("I list the tasks of the service")
def list_service_tasks(world: World) -> None:
    world.tasks.list_all()


@then("the service's tasks include the posted task")
def service_tasks_include(world: World) -> None:
    tasks = world.tasks
    listed = tasks.as_listed()
    if all(t.get("Id") != tasks.task_id for t in listed):
        raise ExpectationFailed(
            f"task {tasks.task_id} ({tasks.external_task_id}) is not among the {len(listed)} "
            f"tasks of service {world.config.service_id}"
        )
