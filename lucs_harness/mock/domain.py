"""What LUCS does, as a thread-safe state machine with no HTTP in it.

Users belong to services and have a presence; the Luware API can block them; external tasks wait
in a queue and are distributed to selectable agents, who accept, answer late, decline or never
answer (RONA). The documented transitions (`../shared/lucs/api.md`) are the contract:

- block: `IsBlockedByLuwareApi` true, `NotSelectableReason` "InAServiceTask", not selectable,
  presence untouched;
- a task whose only preferred agents are unselectable stays pending;
- unblock: the pending task is distributed at once and accepted, so the agent shows
  `NotSelectableReason` "InAnExternalTask" and is not selectable, presence still Online;
- RONA: an agent who declines or misses an offer goes Away and is skipped until that is reset;
  the task moves to the next agent or waits.

Time is a `SimulatedClock`; every fault mode is one check against `Faults`.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lucs_harness.contract import capability_names
from lucs_harness.mock.clock import SimulatedClock
from lucs_harness.mock.faults import Fault, Faults
from lucs_harness.mock.seed import Seed

PRESENCES = ("Online", "Busy", "DoNotDisturb", "BeRightBack", "Away", "Offline")
CAPABILITIES = capability_names()
BLOCKED_REASON = "InAServiceTask"
TASK_REASON = "InAnExternalTask"
NOT_READY_REASON = "NotReady"
PRESENCE_REASON = "PresenceNotAvailable"
PENDING, OFFERED, ACCEPTED, CLOSED = "Pending", "Offered", "Accepted", "Closed"


class DomainError(Exception):
    """A refused request; the HTTP layer turns it into the LUCS error envelope."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _after(moment: datetime, seconds: float) -> datetime | None:
    """`moment` plus `seconds`, or None past the end of the calendar (a deadline that never comes)."""
    try:
        return moment + timedelta(seconds=seconds)
    except OverflowError:
        return None


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as LUCS writes date-times."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


@dataclass
class Agent:
    """One user's changing state beside the static part of the DTO."""

    dto: dict[str, Any]
    services: tuple[str, ...]
    presence: str
    answer: str
    answer_seconds: float
    order: int
    blocked: bool = False
    not_ready_reason: str | None = None
    task_id: str | None = None

    @property
    def id(self) -> str:
        return str(self.dto["Id"])

    @property
    def sip(self) -> str:
        return str(self.dto["SipUri"])


@dataclass
class Task:
    """An external task and where it stands in distribution."""

    id: str
    request: dict[str, Any]
    created: datetime
    state: str = PENDING
    agent_id: str | None = None
    connected: datetime | None = None
    answer_at: datetime | None = None
    rona_at: datetime | None = None
    history: list[str] = field(default_factory=list)

    @property
    def external_id(self) -> str:
        return str(self.request["ExternalTaskId"])

    @property
    def rona_seconds(self) -> float:
        return float(self.request.get("DistributeToAgentRONATimeoutInSeconds") or 30)


class Lucs:
    """The mock LUCS's whole state; every public method is atomic under one lock."""

    def __init__(self, seed: Seed, clock: SimulatedClock | None = None, faults: Faults | None = None) -> None:
        self.seed = seed
        self.clock = clock or SimulatedClock()
        self.faults = faults or Faults()
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Back to the seed: every scenario starts from the same world."""
        with self._lock:
            self.clock.reset()
            self.services = {s["Id"]: dict(s) for s in self.seed.services}
            self.agents: dict[str, Agent] = {}
            for order, user in enumerate(self.seed.users):
                behaviour = user.get("Behaviour", {})
                dto = copy.deepcopy(self.seed.template) | {
                    k: v for k, v in user.items() if k not in ("Services", "Behaviour", "PresenceState")
                }
                local = dto["SipUri"].removeprefix("sip:")
                for key, value in (("Sam", local.split("@")[0]), ("Upn", local), ("Email", local), ("Sid", None)):
                    dto.setdefault(key, value)
                agent = Agent(
                    dto=dto,
                    services=tuple(user["Services"]),
                    presence=user.get("PresenceState", "Online"),
                    answer=behaviour.get("Answer", "accept"),
                    answer_seconds=float(behaviour.get("Seconds", 0)),
                    order=order,
                    not_ready_reason=user.get("NotReadyReason"),
                )
                self.agents[agent.id] = agent
            self.tasks: dict[str, Task] = {}

    # ---- reading -------------------------------------------------------------------------

    def services_list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(s) for s in self.services.values()]

    def users_of(self, service_id: str) -> list[dict[str, Any]]:
        """The service's users as DTOs (all of them, selectable or not)."""
        with self._lock:
            self._service(service_id)
            members = [a for a in self.agents.values() if service_id in a.services]
            if Fault.LIST_OMITS_USER in self.faults:
                first = self.seed.users[0]["Id"]
                members = [a for a in members if a.id != first]
            return [self._dto(a) for a in members]

    def user(self, user_id: str) -> dict[str, Any]:
        with self._lock:
            return self._dto(self._agent(user_id))

    def task(self, identifier: str) -> dict[str, Any]:
        """A task by its GUID or its ExternalTaskId (the newest such task)."""
        with self._lock:
            return self._task_dto(self._task(identifier))

    def tasks_of(self, service_id: str) -> list[dict[str, Any]]:
        with self._lock:
            self._service(service_id)
            return [self._task_dto(t) for t in self.tasks.values() if t.request["Service"] == service_id]

    def snapshot(self) -> dict[str, Any]:
        """The raw state, for the mock-only control endpoint and tests."""
        with self._lock:
            return {
                "now": iso_utc(self.clock.now()),
                "faults": sorted(f.value for f in self.faults.active),
                "users": [
                    {
                        "Id": a.id,
                        "SipUri": a.sip,
                        "PresenceState": a.presence,
                        "Blocked": a.blocked,
                        "TaskId": a.task_id,
                        "Selectable": self._selectable(a),
                    }
                    for a in self.agents.values()
                ],
                "tasks": [
                    {
                        "Id": t.id,
                        "ExternalTaskId": t.external_id,
                        "State": t.state,
                        "AgentId": t.agent_id,
                        "History": list(t.history),
                    }
                    for t in self.tasks.values()
                ],
            }

    # ---- changing --------------------------------------------------------------------------

    def block(self, user_id: str) -> dict[str, Any]:
        with self._lock:
            agent = self._agent(user_id)
            agent.blocked = True
            if Fault.BLOCK_CHANGES_PRESENCE in self.faults:
                agent.presence = "DoNotDisturb"
            return self._dto(agent)

    def unblock(self, user_id: str) -> dict[str, Any]:
        with self._lock:
            agent = self._agent(user_id)
            if Fault.UNBLOCK_KEEPS_BLOCKED not in self.faults:
                agent.blocked = False
            if Fault.UNBLOCK_NO_DISTRIBUTION not in self.faults:
                self._distribute()
            return self._dto(agent)

    def set_presence(self, user_id: str, presence: str) -> None:
        with self._lock:
            agent = self._agent(user_id)
            if presence not in PRESENCES:
                raise DomainError(
                    400, "InvalidPresence", f"unknown presence {presence!r}; known: {', '.join(PRESENCES)}"
                )
            if Fault.PRESENCE_IGNORED not in self.faults:
                agent.presence = presence
            self._distribute()

    def create_task(self, request: dict[str, Any]) -> str:
        """Queue a task (the body already passed the schema) and distribute at once."""
        with self._lock:
            self._service(request["Service"])
            if any(t.external_id == request["ExternalTaskId"] and t.state != CLOSED for t in self.tasks.values()):
                raise DomainError(
                    409, "Conflict", f"an open task with ExternalTaskId {request['ExternalTaskId']!r} exists"
                )
            task = Task(id=str(uuid.uuid4()), request=copy.deepcopy(request), created=self.clock.now())
            self.tasks[task.id] = task
            task.history.append(f"{iso_utc(task.created)} created")
            self._distribute()
            return task.id

    def close_task(self, identifier: str) -> None:
        with self._lock:
            task = self._task(identifier)
            if task.state == CLOSED:
                raise DomainError(409, "Conflict", f"task {identifier} is already closed")
            self._release(task)
            task.state = CLOSED
            task.history.append(f"{iso_utc(self.clock.now())} closed")
            self._distribute()

    def advance(self, seconds: float) -> datetime:
        """Move simulated time, firing due answers and RONA timeouts in time order."""
        with self._lock:
            target = _after(self.clock.now(), seconds)
            if target is None:
                raise DomainError(400, "InvalidArgument", f"the clock cannot advance {seconds} seconds")
            while True:
                due = sorted(
                    (moment, task.id)
                    for task in self.tasks.values()
                    if task.state == OFFERED
                    for moment in (task.answer_at, task.rona_at)
                    if moment is not None and moment <= target
                )
                if not due:
                    break
                moment, task_id = due[0]
                self.clock.advance((moment - self.clock.now()).total_seconds())
                self._fire(self.tasks[task_id])
            self.clock.advance((target - self.clock.now()).total_seconds())
            return self.clock.now()

    # ---- rules -----------------------------------------------------------------------------

    def _presence_allows(self, agent: Agent) -> bool:
        if agent.presence == "Online":
            return True
        return agent.presence == "Busy" and bool(agent.dto.get("IsBusySelectable"))

    def _selectable(self, agent: Agent, *, for_distribution: bool = False) -> bool:
        ignore_block = for_distribution and Fault.DISTRIBUTES_TO_BLOCKED in self.faults
        return (
            (ignore_block or not agent.blocked)
            and agent.task_id is None
            and agent.not_ready_reason is None
            and self._presence_allows(agent)
        )

    def _reason(self, agent: Agent) -> str | None:
        if agent.blocked:
            return "Busy" if Fault.BLOCK_WRONG_REASON in self.faults else BLOCKED_REASON
        if agent.task_id is not None:
            return None if Fault.ACCEPT_NO_REASON in self.faults else TASK_REASON
        if agent.not_ready_reason is not None:
            return NOT_READY_REASON
        return None if self._presence_allows(agent) else PRESENCE_REASON

    def _dto(self, agent: Agent) -> dict[str, Any]:
        selectable = self._selectable(agent)
        if agent.blocked and Fault.BLOCK_STAYS_SELECTABLE in self.faults:
            selectable = True
        # shallow: only top-level keys change, and every caller serialises the DTO at once
        dto = agent.dto | {
            "IsBlockedByLuwareApi": agent.blocked and Fault.BLOCK_NO_FLAG not in self.faults,
            "NotReadyReason": agent.not_ready_reason,
            "NotSelectableReason": self._reason(agent),
            "IsSelectable": selectable,
            "PresenceState": agent.presence,
        }
        if Fault.WRONG_TYPE in self.faults:
            dto["IsSelectable"] = str(selectable).lower()
        if Fault.MISSING_FIELD in self.faults:
            del dto["PresenceState"]
        return dto

    def _task_dto(self, task: Task) -> dict[str, Any]:
        agent = self.agents.get(task.agent_id) if task.agent_id else None
        reserved = None
        if agent is not None:
            reserved = {
                "Id": agent.id,
                "DisplayName": f"{agent.dto['FirstName']} {agent.dto['LastName']}",
                "OrganizationUnitName": None,
                "SipUri": agent.sip,
                "UserPrincipalName": agent.dto.get("Upn"),
                "SecurityIdentifier": agent.dto.get("Sid"),
                "SamAccountName": agent.dto.get("Sam"),
                "AgentProfileName": agent.dto.get("CurrentProfile"),
                "ResponsibleSinceLevel": 0,
                "SelectionAlgorithm": "PreferredAgents"
                if agent.sip in task.request.get("PreferredAgents", [])
                else "Service",
            }
        return {
            "Id": task.id,
            "ExternalTaskId": task.external_id,
            "Type": "External",
            "State": task.state,
            "CustomerIdentifier": task.request.get("Caller"),
            "Created": iso_utc(task.created),
            "QueueStarted": iso_utc(task.created),
            "Connected": iso_utc(task.connected),
            "InitialModalityType": "ExternalTask",
            "OriginType": "LuwareApi",
            "OriginTypeCustom": None,
            "ContextParameters": [],
            "ReservedUserObject": reserved,
        }

    def _candidates(self, task: Task) -> Iterable[Agent]:
        service = task.request["Service"]
        required = task.request.get("Required") or {}
        preferred = list(task.request.get("PreferredAgents") or [])
        by_sip = {a.sip: a for a in self.agents.values()}
        ordered = [by_sip[sip] for sip in preferred if sip in by_sip]
        if not (preferred and task.request.get("ConsiderPreferredAgentsOnly")):
            ordered += sorted((a for a in self.agents.values() if a not in ordered), key=lambda a: a.order)
        for agent in ordered:
            capable = all(agent.dto["Capabilities"].get(c, False) for c in CAPABILITIES if required.get(c))
            if service in agent.services and capable and self._selectable(agent, for_distribution=True):
                yield agent

    def _distribute(self) -> None:
        for task in sorted(self.tasks.values(), key=lambda t: t.created):
            if task.state != PENDING:
                continue
            agent = next(iter(self._candidates(task)), None)
            if agent is None:
                continue
            now = self.clock.now()
            rona_at, answer_at = _after(now, task.rona_seconds), _after(now, agent.answer_seconds)
            if Fault.RONA_NEVER_FIRES in self.faults:
                rona_at = None
            task.state, task.agent_id, task.rona_at = OFFERED, agent.id, rona_at
            agent.task_id = task.id
            task.history.append(f"{iso_utc(now)} offered to {agent.sip}")
            if agent.answer == "accept":
                self._accept(task)
            elif agent.answer == "decline":
                self._rona(task, agent, "declined")
            elif agent.answer == "after":
                task.answer_at = answer_at

    def _fire(self, task: Task) -> None:
        agent = self.agents[str(task.agent_id)]
        now = self.clock.now()
        if (
            task.answer_at is not None
            and task.answer_at <= now
            and (task.rona_at is None or task.answer_at < task.rona_at)
        ):
            self._accept(task)
        else:
            self._rona(task, agent, "missed")
        self._distribute()

    def _accept(self, task: Task) -> None:
        now = self.clock.now()
        task.state, task.connected, task.answer_at, task.rona_at = ACCEPTED, now, None, None
        task.history.append(f"{iso_utc(now)} accepted by {self.agents[str(task.agent_id)].sip}")

    def _rona(self, task: Task, agent: Agent, how: str) -> None:
        """Redirect on no answer: the agent goes Away, the task goes back to the queue."""
        task.history.append(f"{iso_utc(self.clock.now())} {how} by {agent.sip}: RONA, agent set Away")
        agent.presence = "Away"
        self._release(task)
        task.state = PENDING
        self._distribute()

    def _release(self, task: Task) -> None:
        if task.agent_id is not None:
            agent = self.agents[task.agent_id]
            if agent.task_id == task.id:
                agent.task_id = None
        task.agent_id, task.answer_at, task.rona_at = None, None, None

    def _agent(self, user_id: str) -> Agent:
        agent = self.agents.get(user_id)
        if agent is None:
            raise DomainError(404, "UserNotFound", f"no user with id {user_id!r}")
        return agent

    def _service(self, service_id: str) -> dict[str, Any]:
        service = self.services.get(service_id)
        if service is None:
            raise DomainError(404, "ServiceNotFound", f"no service with id {service_id!r}")
        return service

    def _task(self, identifier: str) -> Task:
        task = self.tasks.get(identifier)
        if task is None:
            # the open one first, else the newest (ids can be reused once a task is closed)
            matches = sorted(
                (t for t in reversed(self.tasks.values()) if t.external_id == identifier),
                key=lambda t: t.state == CLOSED,
            )
            task = matches[0] if matches else None
        if task is None:
            raise DomainError(404, "TaskNotFound", f"no task with id or ExternalTaskId {identifier!r}")
        return task
