"""Steps about external tasks: posting, pending, distribution, closing."""

from __future__ import annotations

from pytest_bdd import given, parsers, step, then, when

from lucs_harness.expectations import assert_fields
from lucs_harness.world import World

from . import USER

RONA = r"(?: with a RONA timeout of (?P<rona>\d+) seconds)?"


@given(parsers.re(rf"an external task that prefers only {USER} is posted"))
@when(parsers.re(rf"I post an external task that prefers only {USER}{RONA}"))
def post_task(world: World, user: str | None = None, rona: str | None = None) -> None:
    """The documented example task (its RONA timeout is 50 seconds unless the step says otherwise)."""
    world.post_task(world.task_for(user, **({"rona": int(rona)} if rona else {})))


@then("LUCS answers with the id of the new task")
def answers_task_id(world: World) -> None:
    """The id (schema-checked as a GUID) must name the task just posted."""
    task = world.task()
    assert_fields(task, {"Id": world.task_id, "ExternalTaskId": world.external_task_id}, what=f"task {world.task_id}")


@then("the task stays pending")
def task_pending(world: World) -> None:
    """Watched for the hold time: a real LUCS may hand a task out a moment after it was posted."""
    world.hold_task_pending()


@step(parsers.re(rf"the task is distributed to and accepted by {USER}(?: within (?P<seconds>\d+) seconds)?"))
def task_accepted(world: World, user: str | None = None, seconds: str | None = None) -> None:
    """Polls the task until the user holds it (and it is accepted), up to `seconds` or the wait deadline."""
    world.wait_task_accepted(user, float(seconds) if seconds else None)


@when(parsers.re(rf'I post an external task that prefers only the users "(?P<users>[^"]+)"{RONA}'))
def post_task_for_users(world: World, users: str, rona: str | None = None) -> None:
    """Preferred agents in order, comma-separated."""
    world.post_task(world.task_for(*[u.strip() for u in users.split(",")], **({"rona": int(rona)} if rona else {})))


@then(parsers.re(rf"the task is (?:still )?offered to {USER}"))
def task_offered(world: World, user: str | None = None) -> None:
    """Held by the agent but not yet accepted (State checked where its name is known)."""
    world.check_task_offered(user)


@when("I close the task")
def close_task(world: World) -> None:
    world.close_task()


@when("I try to post an external task with this body:")
def try_post_malformed(world: World, docstring: str) -> None:
    """Sent exactly as written; the body must really break the task schema."""
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
