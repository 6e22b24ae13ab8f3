"""Calibration (`doctor --lucs-allow-changes`): one round on the target user, as the suite would
make it, every change registered for undo first (in the restore journal too, so an interrupted
doctor leaves nothing a later run cannot repair) and undone at the end.

It finds what cannot be seen without a change: the setpresence body field (a presence set and
read back, then set back), the task State names (a task posted while the user is blocked, watched
while pending, then distributed by the unblock and accepted), and the call that closes a task (the
plausible ones tried in turn until the task reads closed or gone).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lucs_harness.client import Exchange
from lucs_harness.config import LucsConfig
from lucs_harness.coordination import Coordination, open_store
from lucs_harness.doctor.findings import Diagnosis
from lucs_harness.doctor.probes import client_for, find_user
from lucs_harness.errors import CoordinationError, LucsError
from lucs_harness.leftovers import TASK_GONE
from lucs_harness.operations import OPERATIONS
from lucs_harness.restore import RestoreRegistry, performer
from lucs_harness.world import ANY_STATUS, World

PRESENCE_FIELDS = ("Presence", "PresenceState", "State")
ACCEPTED_REASON = "InAnExternalTask"  # documented: the reason of a user who took an external task
TASK_ROUTE = "/v1.0/tasks/{taskIdentifier}"
# the plausible close calls, most likely first: (method and path, the identifier it takes)
CLOSE_CALLS = (
    (f"DELETE {TASK_ROUTE}", "TaskId"),
    (f"DELETE {TASK_ROUTE}", "ExternalTaskId"),
    (f"POST {TASK_ROUTE}/close", "TaskId"),
    (f"POST {TASK_ROUTE}/close", "ExternalTaskId"),
    (f"POST {TASK_ROUTE}/cancel", "TaskId"),
    (f"POST {TASK_ROUTE}/cancel", "ExternalTaskId"),
)


@contextmanager
def guarded(config: LucsConfig, store: Coordination, diagnosis: Diagnosis) -> Iterator[World]:
    """A world whose changes are journaled (in the runs' store) and undone on the way out, whatever
    happens inside."""
    assert config.base_url is not None
    client = client_for(config)
    journal = store.journal()
    registry = RestoreRegistry(performer(client), journal)
    try:
        yield World(config=config, client=client, restore=registry, target_ref=config.user)
    finally:
        failed = registry.restore_all(deadline=time.monotonic() + config.restore_timeout)
        for line in [*failed, *registry.failures]:
            diagnosis.add("fail", "restore", line)
        journal.close()
        store.close()
        client.close()


def calibrate(config: LucsConfig, diagnosis: Diagnosis) -> None:
    """The calibration round; the target user must be ready (selectable, not blocked) first."""
    try:
        store = open_store(config)
    except CoordinationError as error:
        diagnosis.add("fail", "calibrate", str(error))
        return
    with guarded(config, store, diagnosis) as world:
        before = world.users.fetch(None)
        not_ready = world.users.fetch_why_not_ready(None)
        if not_ready:
            diagnosis.add("fail", "calibrate", f"{config.user} is not ready: {'; '.join(not_ready)}")
            return
        try:
            presence_field(world, before, diagnosis)
            task_round(world, diagnosis)
        except LucsError as error:
            diagnosis.add("fail", "calibrate", str(error).splitlines()[0])
    after = _read_user(config)
    keys = ("IsBlockedByLuwareApi", "PresenceState", "IsSelectable")
    same = after is not None and all(after.get(k) == before.get(k) for k in keys)
    shown = ", ".join(f"{k} {before.get(k)}" for k in keys)
    if same:
        diagnosis.add("ok", "restored", f"{config.user} is as found: {shown}")
    else:
        now = ", ".join(f"{k} {(after or {}).get(k)}" for k in keys)
        diagnosis.add("fail", "restored", f"{config.user} was {shown}; now {now}")


def _read_user(config: LucsConfig) -> dict[str, Any] | None:
    client = client_for(config)
    try:
        return find_user(client.list_users(config.service_id), config.user)
    except LucsError:
        return None
    finally:
        client.close()


def presence_field(world: World, before: dict[str, Any], diagnosis: Diagnosis) -> None:
    """Set the presence with each plausible body field until one changes it; set it back."""
    config, client = world.config, world.client
    user_id, was = str(before["Id"]), str(before["PresenceState"])
    wanted = "Away" if was == "DoNotDisturb" else "DoNotDisturb"
    candidates = dict.fromkeys(
        ([config.presence_field] if "presence_field" in config.given else []) + list(PRESENCE_FIELDS)
    )
    tried = []
    for field in candidates:
        undo = world.restore.register(
            f"set presence of {config.user} back to {was}", "set_presence", {"userId": user_id}, {field: was}
        )
        sent = client.send("set_presence", {"userId": user_id}, {field: wanted}, expect=ANY_STATUS, check_request=False)
        now = _presence_after(world, sent, was)
        if now == was:
            world.restore.discard(undo)
            tried.append(f"{field} -> {sent.status}")
            continue
        client.send("set_presence", {"userId": user_id}, {field: was}, check_request=False)
        world.restore.discard(undo)
        diagnosis.add("ok", "presence", f"the setpresence body field is {field!r}: {sent.what}, presence then {now!r}")
        diagnosis.value(
            "presence_field", field, "discovered", f"{sent.what} with {{{field!r}: {wanted!r}}}; read back {now!r}"
        )
        return
    diagnosis.add("fail", "presence", f"no body field changed the presence ({'; '.join(tried)})")


def _presence_after(world: World, sent: Exchange, was: str) -> str:
    """The presence once it differs from `was`, or `was` at the deadline (at once after a refusal:
    a presence a server refused does not change later)."""
    accepted = sent.status is not None and 200 <= sent.status < 300
    deadline = time.monotonic() + (world.config.wait_timeout if accepted else 0)
    with world.client.polling():
        while True:
            now = str(world.users.fetch(None)["PresenceState"])
            if now != was or time.monotonic() >= deadline:
                return now
            time.sleep(world.config.poll_interval)


def task_round(world: World, diagnosis: Diagnosis) -> None:
    """Block, post a task only the target user may take, unblock, watch it; then find the close call."""
    config = world.config
    world.users.block(None)
    task_id = world.tasks.post_for(None)
    external = str(world.tasks.external_task_id)
    pending = world.tasks.fetch()
    seen = [str(pending.get("State"))]
    if pending.get("ReservedUserObject") is not None:
        diagnosis.add("fail", "task", f"task {task_id} went to someone while its only agent was blocked")
    world.users.unblock(None)
    accepted = _watch_until_accepted(world, seen)
    if accepted is None:
        diagnosis.add(
            "fail", "task", f"task {task_id} was not accepted within {config.wait_timeout:g} s; States seen: {seen}"
        )
        return
    states = {"pending": seen[0], "accepted": accepted}
    between = [s for s in seen[1:] if s not in states.values()]
    if between:
        states["offered"] = between[0]
    closed = close_call(world, task_id, external, accepted, diagnosis)
    if closed is not None:
        states["closed"] = closed
    diagnosis.add(
        "ok", "states", f"task States seen: {' -> '.join(dict.fromkeys(seen))}" + (f" -> {closed}" if closed else "")
    )
    diagnosis.value(
        "task_states",
        states,
        "discovered",
        f"GET {config.path('get_task')} while pending, after the unblock, after the close",
    )


def _watch_until_accepted(world: World, seen: list[str]) -> str | None:
    """Poll the task and the user until the user has taken it; every State seen on the way."""
    deadline = time.monotonic() + world.config.wait_timeout
    with world.client.polling():
        while time.monotonic() < deadline:
            task = world.tasks.fetch()
            if str(task.get("State")) != seen[-1]:
                seen.append(str(task.get("State")))
            user = world.users.fetch(None)
            if task.get("ReservedUserObject") is not None and user.get("NotSelectableReason") == ACCEPTED_REASON:
                return str(task.get("State"))
            time.sleep(world.config.poll_interval)
    return None


def close_call(world: World, task_id: str, external: str, accepted: str, diagnosis: Diagnosis) -> str | None:
    """Try the plausible close calls until the task reads closed (or gone); its closed State name."""
    config = world.config
    configured = (f"{config.method('close_task')} {config.path('close_task')}", config.close_by)
    tried = []
    for route, by in dict.fromkeys([configured, *CLOSE_CALLS]):
        candidate = config.replaced(paths={**config.paths, "close_task": route}, close_by=by)
        identifier = candidate.close_identifier(task_id, external)
        client = client_for(candidate)
        try:
            sent = client.send("close_task", {"taskIdentifier": identifier}, expect=ANY_STATUS)
        finally:
            client.close()
        state = _state_after_close(world, sent, accepted)
        if state is None or state == accepted:
            tried.append(f"{route} by {by} -> {sent.status}")
            continue
        world.tasks.closed_elsewhere()
        default = f"{OPERATIONS['close_task'].method} {OPERATIONS['close_task'].path}"
        evidence = f"{sent.what}; the task then {'gone' if state == 'gone' else f'in State {state!r}'}"
        diagnosis.add("ok", "close", f"a task is closed by {route} with its {by}: {evidence}")
        diagnosis.value("close_by", by, "discovered", evidence)
        if route != default:
            diagnosis.value("paths.close_task", route, "discovered", evidence)
        return None if state == "gone" else state
    diagnosis.add("fail", "close", f"no call closed task {task_id} ({'; '.join(tried)}); it stays open")
    diagnosis.value("close_tasks", False, "discovered", "; ".join(tried))
    return None


def _state_after_close(world: World, sent: Exchange, accepted: str) -> str | None:
    """After a close call that succeeded: `gone`, or the task's State once it leaves `accepted` (or
    `accepted` still, at the deadline); None when the call did not succeed."""
    if sent.status is None or not 200 <= sent.status < 300:
        return None
    deadline = time.monotonic() + world.config.wait_timeout
    with world.client.polling():
        while True:
            read = world.client.send("get_task", {"taskIdentifier": str(world.tasks.task_id)}, expect=ANY_STATUS)
            if read.status in TASK_GONE:
                return "gone"
            body = read.response_body if isinstance(read.response_body, dict) else {}
            state = str(body.get("State"))
            if state != accepted or time.monotonic() > deadline:
                return state
            time.sleep(world.config.poll_interval)
