"""Is the target ready for the use case? One scenario's precondition (`world.users.require_ready`) and the
check of the whole pool before a run against a real LUCS share what is judged here: an agent left
blocked, not Online, not selectable or holding open tasks would fail every scenario with the same
finding, so the run names it once, with its repair, and starts nothing (exit 15). And an agent that a
failed undo left changed mid-run is not driven again by that process (`LeftChanged`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lucs_harness.config import LucsConfig
from lucs_harness.errors import LucsError
from lucs_harness.leftovers import REPAIR_COMMAND, TASK_PREFIX, is_closed

if TYPE_CHECKING:
    from lucs_harness.client import LucsClient

READY = {"IsSelectable": True, "IsBlockedByLuwareApi": False}  # what the use case starts from
ONLINE = "Online"
BLOCKED = "blocked through the LUCS API (by an earlier run, or by another system)"
RESTORE_HINT = f"`{REPAIR_COMMAND}` with this run's options"
LOST = "another system blocked it, or a run whose journal was lost"


def find_listed(users: list[Any], ref: str) -> dict[str, Any] | None:
    """The user with that SIP URI or Id in a list, or None."""
    return next((u for u in users if isinstance(u, dict) and ref in (u.get("SipUri"), u.get("Id"))), None)


def held_by(tasks: Any, user_id: str, config: LucsConfig) -> list[dict[str, Any]]:
    """The open tasks of a service's task list that the user holds."""
    return [
        task
        for task in tasks if isinstance(tasks, list)
        if isinstance(task, dict) and not is_closed(task, config)
        and (task.get("ReservedUserObject") or {}).get("Id") == user_id
    ]  # fmt: skip


def by_harness(task: dict[str, Any]) -> bool:
    return str(task.get("ExternalTaskId") or "").startswith(TASK_PREFIX)


def task_line(task: dict[str, Any]) -> str:
    """An open task a user holds, saying whether this harness created it."""
    made = ", created by this harness" if by_harness(task) else ""
    external, state = task.get("ExternalTaskId"), task.get("State")
    return f"holds open task {task.get('Id')} (ExternalTaskId {external!r}, State {state!r}{made})"


def problems(user: dict[str, Any], held: list[dict[str, Any]]) -> list[str]:
    """What keeps a listed user from starting the use case, one line each (empty: ready)."""
    found = [BLOCKED] if user.get("IsBlockedByLuwareApi") else []
    if user.get("PresenceState") != ONLINE:
        found.append(f"presence is {user.get('PresenceState')!r}, not {ONLINE!r}")
    if user.get("IsSelectable") is not True:
        found.append(f"not selectable: NotSelectableReason is {user.get('NotSelectableReason')!r}")
    return found + [task_line(task) for task in held]


def repairs(user: dict[str, Any], held: list[dict[str, Any]], config: LucsConfig, *, journal_left: bool) -> list[str]:
    """How to make a user ready again: the restore command where a journal of this harness still
    holds undos, else what to do in LUCS by hand."""
    steps = [f"fix what the repair above could not undo, then {RESTORE_HINT}"] if journal_left else []
    if user.get("IsBlockedByLuwareApi"):
        lost = "" if journal_left else f": no restore journal of this harness undoes it ({LOST})"
        steps.append(f"unblock it in LUCS{lost}")
    if user.get("PresenceState") != ONLINE:
        steps.append(f"set its presence to {ONLINE} in LUCS")
    for task in held:
        if by_harness(task):
            age = f"{config.orphan_task_age:g} s"
            steps.append(f"close task {task.get('Id')} in LUCS (`{REPAIR_COMMAND}` closes it once it is {age} old)")
        else:
            steps.append(f"close task {task.get('Id')} in LUCS (another system's)")
    if not steps and user.get("IsSelectable") is not True:
        steps.append("make it selectable in LUCS")
    return steps


@dataclass(frozen=True)
class NotReady:
    """One agent of the pool that cannot start the use case: what is wrong, and the repair."""

    agent: str
    wrong: list[str]
    repair: list[str]

    def lines(self) -> list[str]:
        return [f"  {self.agent}: {'; '.join(self.wrong)}", f"    repair: {'; '.join(self.repair)}"]


def check_pool(
    config: LucsConfig, client: LucsClient, is_leased: Callable[[str], bool], *, journal_left: bool
) -> list[NotReady]:
    """The agents of the pool no live run holds that cannot start the use case now. A list that
    cannot be read is left to the scenarios to report, as the preflight does."""
    free = [agent for agent in config.agent_pool() if not is_leased(agent)]
    if not free:
        return []
    try:
        users = client.list_users(config.service_id)
        tasks = client.send("service_tasks", {"serviceId": config.service_id}).response_body
    except LucsError:
        return []
    return [finding for agent in free if (finding := _judge(agent, users, tasks, config, journal_left)) is not None]


def _judge(agent: str, users: Any, tasks: Any, config: LucsConfig, journal_left: bool) -> NotReady | None:
    user = find_listed(users if isinstance(users, list) else [], agent)
    if user is None:
        unlisted = f"not among the users of service {config.service_id}"
        return NotReady(agent, [unlisted], ["check --lucs-agents (or --lucs-user) and --lucs-service-id"])
    held = held_by(tasks, str(user.get("Id")), config)
    wrong = problems(user, held)
    return NotReady(agent, wrong, repairs(user, held, config, journal_left=journal_left)) if wrong else None


def headline(found: list[NotReady]) -> str:
    return f"target not ready: {len(found)} agent(s) of the pool cannot start the use case"


def report(found: list[NotReady]) -> tuple[str, list[str]]:
    """The run's one finding: a line for the reports, and the block the terminal shows."""
    details = "; ".join(f"{f.agent}: {', '.join(f.wrong)} (repair: {'; '.join(f.repair)})" for f in found)
    block = [f"lucs: {headline(found)}; no scenario was run", *(line for f in found for line in f.lines())]
    return f"{headline(found)}: {details}", block


@dataclass
class LeftChanged:
    """This process's agent, left changed by a failed undo: the later scenarios on it are not run,
    since each would fail its precondition (or pass on an agent that is not as it should be)."""

    agent: str
    scenario: str
    not_run: list[str] = field(default_factory=list)

    def reason(self) -> str:
        return f"not run: agent {self.agent} was left changed by the failed undo of scenario {self.scenario}"

    def finding(self) -> str:
        """One line for the end of the run, beside the failed undos themselves."""
        return (
            f"{len(self.not_run)} later scenario(s) not run: agent {self.agent} was left changed by the failed "
            f"undo of scenario {self.scenario}: fix what made it fail, then {RESTORE_HINT} retries it from the "
            "restore journal"
        )
