"""What LUCS does, as a thread-safe state machine with no HTTP in it.

Users belong to services and have a presence; the Luware API can block them; external tasks wait
in a queue and are distributed to selectable agents, who accept, answer late, decline or never
answer (RONA). The documented transitions (`docs/lucs-api.md`) are the contract:

- block: `IsBlockedByLuwareApi` true, `NotSelectableReason` "InAServiceTask", not selectable,
  presence untouched;
- a task whose only preferred agents are unselectable stays pending;
- unblock: the pending task is distributed at once and accepted, so the agent shows
  `NotSelectableReason` "InAnExternalTask" and is not selectable, presence still Online;
- RONA: an agent who declines or misses an offer goes Away and is skipped until that is reset;
  the task moves to the next agent or waits;
- a callback is answered with the documented defaults, Pending until it is due, then In Queue,
  Processing and Terminated on the clock (`QUEUE_SECONDS`, `CALL_SECONDS`: the mock's choice, no
  agent is reserved for it); cancelled, it is Terminated and a second cancel finds nothing (404).

Time is a `SimulatedClock`. These are the faithful rules: they know no fault. `mock/faulty.py`
breaks them on purpose from outside (`FaultyLucs`): an operation's input or answer altered, an
effect added or undone after it, and, where a fault acts inside a rule, one of the few methods
marked "Extension point" below overridden.
"""

from __future__ import annotations

import copy
import threading
import uuid
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import chain
from typing import Any

from lucs_harness.contract import capability_names, default_contract
from lucs_harness.mock.clock import Entry, SimulatedClock, Timeline
from lucs_harness.mock.seed import Seed, starting_dto

PRESENCES = ("Online", "Busy", "DoNotDisturb", "BeRightBack", "Away", "Offline")
CAPABILITIES = capability_names()
BLOCKED_REASON = "InAServiceTask"
TASK_REASON = "InAnExternalTask"
NOT_READY_REASON = "NotReady"
PRESENCE_REASON = "PresenceNotAvailable"
HELD_REASON = "Held"  # the mock's cause for a seed user held unselectable: answered as the seed's reason
PENDING, OFFERED, ACCEPTED, CLOSED = "Pending", "Offered", "Accepted", "Closed"
TASK_STATES = (PENDING, OFFERED, ACCEPTED, CLOSED)  # a task's states (undocumented names: `state_names` may rename)
EARLIEST, LATEST = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
SERVICE_SETTINGS = ("SipUri", "DirectionType")  # the mock's own data of a service, not in the listed DTO
INBOUND_OUTBOUND = "InboundOutbound"  # the Direction Type callbacks need (documented precondition)

# callbacks: "In Queue" is spelled InQueue (its JSON spelling is not documented)
QUEUED, PROCESSING, TERMINATED = "InQueue", "Processing", "Terminated"
QUEUE_SECONDS = 10.0  # In Queue until an agent accepts (the mock's choice)
CALL_SECONDS = 60.0  # Processing: the dial-out and the call (the mock's choice)
CALLBACK_NEXT: dict[str, tuple[str, float | None]] = {
    PENDING: (QUEUED, QUEUE_SECONDS),
    QUEUED: (PROCESSING, CALL_SECONDS),
    PROCESSING: (TERMINATED, None),
}  # state -> (the next state, how long that one lasts)
CALLBACK_CREATOR = "Luware.API"
CALLBACK_DEFAULTS: dict[str, Any] = {
    "MaxRetries": 3,
    "RetryType": "SingleSession",
    "RetryCount": 0,
    "LeftInQueueTimeInSeconds": 3600,
}
CALLBACK_GIVEN = ("MaxRetries",)  # the defaults a request may give instead
ECHOED = (
    "Target", "AlternativeTarget", "IncomingServiceSipUri", "Priority", "ContextUrl", "Supervisor", "Description",
    "ExternalTaskId", "CallerId",
)  # fmt: skip
SEARCHED_EXACTLY = ("Target", "ServiceId", "State", "AppPoolId", "ExternalTaskId", "CallerId")
CALLBACK_FIELDS = tuple(default_contract().schemas["callback.json"]["properties"])  # what OrderBy may name
QueueKey = tuple[str | None, str, frozenset[str]]  # (the one agent's SIP or None for any, service, capabilities)


class DomainError(Exception):
    """A refused request. Its kind (the subclass) says why, for the HTTP layer to choose a status;
    `code` and `message` are what LUCS's error envelope carries."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class NotFound(DomainError):
    """What the request names does not exist, or no longer in a state it can be acted on."""


class Conflict(DomainError):
    """The request clashes with the state: a second open task of an ExternalTaskId, a second close."""


class Invalid(DomainError):
    """The request itself is wrong: an unknown presence, a bad date-time, argument or combination."""


def _after(moment: datetime, seconds: float) -> datetime | None:
    """`moment` plus `seconds`, or None past the end of the calendar (a deadline that never comes)."""
    try:
        return moment + timedelta(seconds=seconds)
    except OverflowError:
        return None


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as LUCS writes date-times."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def moment_of(text: str | None, name: str) -> datetime | None:
    """An RFC 3339 date-time (the schema checked its form) in UTC. What Python cannot hold is read as
    the nearest instant it can: a leap second as the second before it, year 0 or an offset past
    either end of the calendar as the calendar's first or last instant."""
    if text is None:
        return None
    normal = text.upper()
    if normal.startswith("0000"):
        return EARLIEST
    if normal[17:19] == "60":  # YYYY-MM-DDTHH:MM:SS
        normal = normal[:17] + "59" + normal[19:]
    try:
        moment = datetime.fromisoformat(normal)
    except ValueError:
        raise Invalid("InvalidArgument", f"{name} {text!r} is not an RFC 3339 date-time") from None
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        return EARLIEST if moment.year == 1 else LATEST


@dataclass(eq=False)
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
    # as a capture of a real LUCS showed the agent, where the mock's rules would show it otherwise:
    held: bool = False  # not selectable for a reason the mock does not model (a duty profile, say)
    held_reason: str | None = None  # that reason's name
    also_available: frozenset[str] = frozenset()  # presences the agent is selectable in besides Online
    reason_names: dict[str, str] = field(default_factory=dict)  # a mock reason -> the name the capture showed

    @property
    def id(self) -> str:
        return str(self.dto["Id"])

    @property
    def sip(self) -> str:
        return str(self.dto["SipUri"])

    @property
    def capabilities(self) -> frozenset[str]:
        """The capabilities the agent has (read each time: the DTO is the one place they live)."""
        return frozenset(c for c in CAPABILITIES if self.dto["Capabilities"].get(c, False))


@dataclass
class Task:
    """An external task and where it stands in distribution."""

    id: str
    request: dict[str, Any]
    created: datetime
    seq: int  # its place in the queue: tasks are distributed in the order they were created
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

    @property
    def service(self) -> str:
        return str(self.request["Service"])

    @property
    def required(self) -> frozenset[str]:
        return frozenset(c for c in CAPABILITIES if (self.request.get("Required") or {}).get(c))

    @property
    def preferred_only(self) -> bool:
        return bool(self.request.get("PreferredAgents") and self.request.get("ConsiderPreferredAgentsOnly"))

    @property
    def queue_keys(self) -> list[QueueKey]:
        """The queues the task waits in while pending: its preferred agents' own when only they
        count, else its service's; both by the capabilities it requires."""
        if self.preferred_only:
            return [(sip, self.service, self.required) for sip in dict.fromkeys(self.request["PreferredAgents"])]
        return [(None, self.service, self.required)]


class Waiting:
    """The pending tasks in queues by who may take them, each in queue order: the earliest task an
    agent may take is the first of a few queues, not a scan of every pending task."""

    def __init__(self) -> None:
        self._queues: dict[QueueKey, list[int]] = {}
        self._required: dict[tuple[str | None, str], set[frozenset[str]]] = {}

    def add(self, task: Task) -> None:
        for key in task.queue_keys:
            insort(self._queues.setdefault(key, []), task.seq)
            self._required.setdefault(key[:2], set()).add(key[2])

    def discard(self, task: Task) -> None:
        for key in task.queue_keys:
            queue = self._queues[key]
            del queue[bisect_left(queue, task.seq)]
            if not queue:
                del self._queues[key]
                self._required[key[:2]].discard(key[2])

    def first_for(self, agent: Agent) -> int | None:
        """The earliest pending task (its `seq`) of a service of the agent's, for anyone or for this
        agent alone, requiring no capability the agent lacks."""
        capabilities = agent.capabilities
        return min(
            (
                self._queues[(who, service, required)][0]
                for service in agent.services
                for who in (None, agent.sip)
                for required in self._required.get((who, service), ())
                if required <= capabilities
            ),
            default=None,
        )


@dataclass
class Callback:
    """A callback: its DTO (State included) and when its state next changes on the clock."""

    dto: dict[str, Any]
    due: datetime
    order: int
    next_at: datetime | None
    history: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.dto["Id"])

    @property
    def open(self) -> bool:
        """Not done yet: it can still be cancelled."""
        return bool(self.dto["State"] != TERMINATED)


class Callbacks:
    """The callbacks requested and their rules: the documented defaults, reading by ExternalTaskId,
    search, cancel, and their states on the clock. Indexed by ExternalTaskId, by State and on a
    timeline; not thread-safe (`Lucs` holds its lock around every call)."""

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock
        self.all: dict[str, Callback] = {}  # by Id, oldest first
        self._of: dict[Any, list[Callback]] = {}  # ExternalTaskId -> callbacks, oldest first
        self._in: dict[str, dict[str, Callback]] = {}  # State -> callbacks
        self._times = Timeline()

    def create(self, request: dict[str, Any], service_id: str) -> Callback:
        """A new callback of the service (the body already passed the schema): the documented
        defaults filled, ServiceSip answered as null, Pending until it is due."""
        now = self.clock.now()
        due = moment_of(request.get("DueDate"), "DueDate") or now
        given = {name: int(request[name]) for name in CALLBACK_GIVEN if request.get(name) is not None}
        dto = {
            "Id": str(uuid.uuid4()),
            **{name: request.get(name) for name in ECHOED},
            "SecondsBetweenRetries": int(request["SecondsBetweenRetries"]),
            **CALLBACK_DEFAULTS,
            **given,
            "ServiceId": service_id,
            "ServiceSip": None,
            "DueDate": iso_utc(due),
            "Creator": CALLBACK_CREATOR,
            "State": PENDING,
            "InitiatingSessionId": None,
            "Initiator": None,
            "AppPoolId": None,
        }
        callback = Callback(dto, due, len(self.all), next_at=due)
        callback.history.append(f"{iso_utc(now)} requested, due {iso_utc(due)}")
        self.all[callback.id] = callback
        self._of.setdefault(dto["ExternalTaskId"], []).append(callback)
        self.set_state(callback, PENDING, due)
        return callback

    def of(self, external_id: str) -> Callback:
        """The callback of an ExternalTaskId: the open one first, else the newest (ids can be reused)."""
        matches = self._of.get(external_id, [])
        if not matches:
            raise NotFound("CallbackNotFound", f"no callback with ExternalTaskId {external_id!r}")
        return next((c for c in reversed(matches) if c.open), matches[-1])

    def search(self, query: dict[str, Any], services_at: Callable[[str], list[dict[str, Any]]]) -> list[Callback]:
        """The callbacks matching every filter given (absent or null: any), ordered, then paged;
        `services_at` finds the services of a SIP address."""
        start, end = moment_of(query.get("StartDate"), "StartDate"), moment_of(query.get("EndDate"), "EndDate")
        found = [
            c
            for c in self._searched(query)
            if self._matches(c, query, services_at)
            and (start is None or c.due >= start)
            and (end is None or c.due <= end)
        ]
        return self._page(self._ordered(found, query), query)

    def cancel(self, callback_id: str) -> None:
        """Cancel a callback that is not done; a second cancel, like an unknown id, finds nothing."""
        callback = self.all.get(callback_id)
        if callback is None or not callback.open:
            raise NotFound("CallbackNotFound", f"no open callback with id {callback_id!r} (unknown, cancelled or done)")
        callback.history.append(f"{iso_utc(self.clock.now())} cancelled")
        self.set_state(callback, TERMINATED, None)

    def next_step(self) -> Entry | None:
        """When a callback's state next changes on the clock, and which one."""
        return self._times.first()

    def step(self, callback: Callback) -> None:
        """A callback's next state: queued once due, then taken by an agent, then done."""
        state, lasts = CALLBACK_NEXT[callback.dto["State"]]
        now = self.clock.now()
        self.set_state(callback, state, None if lasts is None else _after(now, lasts))
        callback.history.append(f"{iso_utc(now)} {state}")

    def set_state(self, callback: Callback, state: str, next_at: datetime | None) -> None:
        """Every change of a callback's state and next step, so the indexes follow."""
        self._in.get(callback.dto["State"], {}).pop(callback.id, None)
        callback.dto["State"], callback.next_at = state, next_at
        self._in.setdefault(state, {})[callback.id] = callback
        self._times.set(callback.id, (next_at,), f"{callback.order:012d}")

    def _searched(self, query: dict[str, Any]) -> Iterable[Callback]:
        """The callbacks a search needs to look at: those of the ExternalTaskId or the State asked for
        (the indexed filters), else all."""
        external, state = query.get("ExternalTaskId"), query.get("State")
        if isinstance(external, str):
            return self._of.get(external, [])
        if isinstance(state, str):
            return self._in.get(state, {}).values()
        return self.all.values()

    @staticmethod
    def _matches(callback: Callback, query: dict[str, Any], services_at: Callable[[str], list[dict[str, Any]]]) -> bool:
        if any(query.get(name) is not None and callback.dto.get(name) != query[name] for name in SEARCHED_EXACTLY):
            return False
        sip = query.get("ServiceSip")
        return sip is None or callback.dto["ServiceId"] in {s["Id"] for s in services_at(sip)}

    @staticmethod
    def _ordered(found: list[Callback], query: dict[str, Any]) -> list[Callback]:
        """By OrderBy (a CallbackDto field, DueDate when absent; nulls first), ties in the order made."""
        name = query.get("OrderBy") or "DueDate"
        if name not in CALLBACK_FIELDS:
            known = ", ".join(CALLBACK_FIELDS)
            raise Invalid("InvalidArgument", f"OrderBy {name!r} names no callback field; known: {known}")
        descending = query.get("SortOrder") == "Descending"

        def key(callback: Callback) -> tuple[bool, Any, int]:
            value = callback.due if name == "DueDate" else callback.dto.get(name)
            return (value is not None, 0 if value is None else value, callback.order)

        return sorted(found, key=key, reverse=descending)

    @staticmethod
    def _page(ordered: list[Callback], query: dict[str, Any]) -> list[Callback]:
        # JSON Schema counts 2.0 as an integer: the schema let it through, so it is read as one
        offset, limit = int(query.get("Offset") or 0), query.get("Limit")
        return ordered[offset:] if limit is None else ordered[offset : offset + int(limit)]


class Lucs:
    """The mock LUCS's whole state under the faithful rules; every public method is atomic under one lock."""

    def __init__(
        self,
        seed: Seed,
        clock: SimulatedClock | None = None,
        state_names: tuple[str, ...] = TASK_STATES,
    ) -> None:
        """`state_names` are the task State names answered, in the order of `TASK_STATES` (LUCS
        documents none, so an installation may use others; only the names change). A `Lucs` has no
        fault: `mock.faulty.FaultyLucs` is the mock as served, faults switchable at run time."""
        self.seed = seed
        self.clock = clock or SimulatedClock()
        if len(state_names) != len(TASK_STATES):
            raise ValueError(f"expected {len(TASK_STATES)} task State names, got {state_names!r}")
        self.state_names = tuple(state_names)
        self._wire = dict(zip(TASK_STATES, state_names, strict=True))
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
                agent = Agent(
                    dto=starting_dto(self.seed.template, user),
                    services=tuple(user["Services"]),
                    presence=user.get("PresenceState", "Online"),
                    answer=behaviour.get("Answer", "accept"),
                    answer_seconds=float(behaviour.get("Seconds", 0)),
                    order=order,
                    blocked=user.get("IsBlockedByLuwareApi") is True,
                    not_ready_reason=user.get("NotReadyReason"),
                )
                self._as_seeded(agent, user)
                self.agents[agent.id] = agent
            self._index_agents()
            self.tasks: dict[str, Task] = {}
            self._in_order: list[Task] = []  # by `seq`
            self._of_service: dict[str, list[Task]] = {}
            self._open: dict[str, Task] = {}  # ExternalTaskId -> its open task (there is at most one)
            self._newest: dict[str, Task] = {}  # ExternalTaskId -> its newest task
            self._waiting = Waiting()
            self._woken: set[str] = set()  # agents changed since the last distribution
            self._fresh: set[int] = set()  # tasks queued since the last distribution
            self._task_times = Timeline()
            self.callbacks = Callbacks(self.clock)

    def _as_seeded(self, agent: Agent, user: dict[str, Any]) -> None:
        """A seed user's `IsSelectable` and `NotSelectableReason` (a capture of a real LUCS shows
        them) kept where the mock's rules alone would show the agent otherwise: unselectable for a
        reason the mock does not model (held until reset), selectable in a presence the mock would
        exclude, or unselectable for the mock's reason under another name."""
        selectable, reason = user.get("IsSelectable"), user.get("NotSelectableReason")
        if selectable is True and not self._presence_allows(agent):
            agent.also_available = frozenset({agent.presence})
        cause = self._cause(agent)
        if selectable is False and cause is None:
            agent.held, agent.held_reason = True, reason
        elif selectable is False and cause is not None and reason is not None and reason != cause:
            agent.reason_names = {cause: reason}

    def _index_agents(self) -> None:
        """The static lookups of users and services: by SIP address and by service, in seed order."""
        self._by_sip = {a.sip: a for a in self.agents.values()}
        self._members: dict[str, list[Agent]] = {}
        for agent in self.agents.values():
            for service in dict.fromkeys(agent.services):
                self._members.setdefault(service, []).append(agent)
        self._services_by_sip: dict[str, list[dict[str, Any]]] = {}
        for settings in self.services.values():
            self._services_by_sip.setdefault(str(settings.get("SipUri", "")).lower(), []).append(settings)

    # ---- reading -------------------------------------------------------------------------

    def list_services(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{k: v for k, v in s.items() if k not in SERVICE_SETTINGS} for s in self.services.values()]

    def list_users(self, service_id: str) -> list[dict[str, Any]]:
        """The service's users as DTOs (all of them, selectable or not)."""
        with self._lock:
            self._service(service_id)
            return [self._dto(a) for a in self._members.get(service_id, [])]

    def user(self, user_id: str) -> dict[str, Any]:
        with self._lock:
            return self._dto(self._agent(user_id))

    def get_task(self, identifier: str) -> dict[str, Any]:
        """A task by its GUID or its ExternalTaskId (the newest such task)."""
        with self._lock:
            return self._task_dto(self._task(identifier))

    def service_tasks(self, service_id: str) -> list[dict[str, Any]]:
        with self._lock:
            self._service(service_id)
            return [self._task_dto(t) for t in self._of_service.get(service_id, [])]

    def snapshot(self) -> dict[str, Any]:
        """The raw state, for the mock-only control endpoint and tests."""
        with self._lock:
            return {
                "now": iso_utc(self.clock.now()),
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
                        "State": self._wire[t.state],
                        "AgentId": t.agent_id,
                        "History": list(t.history),
                    }
                    for t in self.tasks.values()
                ],
                "callbacks": [
                    {
                        "Id": c.id,
                        "ExternalTaskId": c.dto["ExternalTaskId"],
                        "State": c.dto["State"],
                        "History": list(c.history),
                    }
                    for c in self.callbacks.all.values()
                ],
            }

    # ---- changing --------------------------------------------------------------------------

    def block_user(self, user_id: str) -> dict[str, Any]:
        with self._lock:
            agent = self._agent(user_id)
            agent.blocked = True
            return self._dto(agent)

    def unblock_user(self, user_id: str) -> dict[str, Any]:
        with self._lock:
            agent = self._agent(user_id)
            agent.blocked = False
            self._woken.add(agent.id)
            self._distribute()
            return self._dto(agent)

    def set_presence(self, user_id: str, presence: str) -> None:
        with self._lock:
            agent = self._agent(user_id)
            if presence not in PRESENCES:
                raise Invalid("InvalidPresence", f"unknown presence {presence!r}; known: {', '.join(PRESENCES)}")
            agent.presence = presence
            self._woken.add(agent.id)
            self._distribute()

    def create_task(self, request: dict[str, Any]) -> str:
        """Queue a task (the body already passed the schema) and distribute at once."""
        with self._lock:
            self._service(request["Service"])
            if request["ExternalTaskId"] in self._open:
                raise Conflict("Conflict", f"an open task with ExternalTaskId {request['ExternalTaskId']!r} exists")
            task = Task(str(uuid.uuid4()), copy.deepcopy(request), self.clock.now(), seq=len(self._in_order))
            self._add(task)
            task.history.append(f"{iso_utc(task.created)} created")
            self._distribute()
            return task.id

    def close_task(self, identifier: str, *, by_id: bool = False) -> None:
        """Close a task by its GUID or ExternalTaskId (`by_id`: its GUID only)."""
        with self._lock:
            task = self._task_by_id(identifier) if by_id else self._task(identifier)
            if task.state == CLOSED:
                raise Conflict("Conflict", f"task {identifier} is already closed")
            self._release(task)
            self._set_state(task, CLOSED)
            task.history.append(f"{iso_utc(self.clock.now())} closed")
            self._distribute()

    def advance(self, seconds: float) -> datetime:
        """Move simulated time, firing due answers, RONA timeouts and callback steps in time order."""
        with self._lock:
            target = _after(self.clock.now(), seconds)
            if target is None:
                raise Invalid("InvalidArgument", f"the clock cannot advance {seconds} seconds")
            while (event := self._next_event(target)) is not None:
                moment, fire = event
                # a callback may have been due before now (a DueDate in the past): time never runs back
                self.clock.advance(max(0.0, (moment - self.clock.now()).total_seconds()))
                fire()
            self.clock.advance((target - self.clock.now()).total_seconds())
            return self.clock.now()

    # ---- callbacks (their rules: `Callbacks`) ------------------------------------------------

    def create_callback(self, request: dict[str, Any]) -> dict[str, Any]:
        """A new callback (`Callbacks.create`) of its service, resolved to a ServiceId."""
        with self._lock:
            return dict(self.callbacks.create(request, self._callback_service(request)["Id"]).dto)

    def get_callback(self, external_id: str) -> dict[str, Any]:
        with self._lock:
            return dict(self.callbacks.of(external_id).dto)

    def search_callbacks(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(c.dto) for c in self.callbacks.search(query, self._services_at)]

    def cancel_callback(self, callback_id: str) -> None:
        with self._lock:
            self.callbacks.cancel(callback_id)

    def _callback_service(self, request: dict[str, Any]) -> dict[str, Any]:
        """The service by ServiceId, else by ServiceSip (documented: used only without a valid
        ServiceId); it must take callbacks (documented precondition: Direction Type InboundOutbound)."""
        service_id, sip = request.get("ServiceId"), request.get("ServiceSip")
        service = self.services.get(service_id) if service_id else None
        if service is None and sip:
            service = next(iter(self._services_at(sip)), None)
        if service is None:
            if not (service_id or sip):
                raise Invalid("InvalidArgument", "a callback needs a ServiceId or a ServiceSip")
            raise NotFound("ServiceNotFound", f"no service with id {service_id!r} or SIP address {sip!r}")
        direction = service.get("DirectionType", INBOUND_OUTBOUND)
        if direction != INBOUND_OUTBOUND:
            raise Invalid(
                "ServiceNotInboundOutbound",
                f"service {service['Name']!r} has Direction Type {direction!r}; callbacks need {INBOUND_OUTBOUND!r}",
            )
        return service

    def _services_at(self, sip: str) -> list[dict[str, Any]]:
        return self._services_by_sip.get(sip.lower(), [])

    def _next_event(self, target: datetime) -> tuple[datetime, Callable[[], None]] | None:
        """The earliest answer, RONA timeout or callback step due by `target` (tasks first on a tie)."""
        events: list[tuple[datetime, int, str, Callable[[], None]]] = []
        if (task := self._task_times.first()) is not None:
            events.append((task[0], 0, task[1], partial(self._fire, self.tasks[task[2]])))
        if (callback := self._next_callback_step()) is not None:
            events.append((callback[0], 1, callback[1], partial(self.callbacks.step, self.callbacks.all[callback[2]])))
        events = [event for event in events if event[0] <= target]
        if not events:
            return None
        moment, _, _, fire = min(events, key=lambda event: event[:3])
        return moment, fire

    def _next_callback_step(self) -> Entry | None:
        """Extension point: when a callback's state next changes on the clock, and which one."""
        return self.callbacks.next_step()

    # ---- rules -----------------------------------------------------------------------------

    def _presence_allows(self, agent: Agent) -> bool:
        if agent.presence == "Online" or agent.presence in agent.also_available:
            return True
        return agent.presence == "Busy" and bool(agent.dto.get("IsBusySelectable"))

    def _selectable(self, agent: Agent) -> bool:
        return not agent.blocked and self._available(agent)

    def _available(self, agent: Agent) -> bool:
        """Selectable but for a block: no task, not held, ready, in a presence that allows it."""
        return (
            agent.task_id is None and not agent.held and agent.not_ready_reason is None and self._presence_allows(agent)
        )

    def _offerable(self, agent: Agent) -> bool:
        """Extension point: whether distribution may offer the agent a task (when it is selectable)."""
        return self._selectable(agent)

    def _cause(self, agent: Agent) -> str | None:
        """Why the agent is not selectable, as the mock names it."""
        if agent.blocked:
            return BLOCKED_REASON
        if agent.task_id is not None:
            return TASK_REASON
        if agent.held:
            return HELD_REASON
        if agent.not_ready_reason is not None:
            return NOT_READY_REASON
        return None if self._presence_allows(agent) else PRESENCE_REASON

    def _reason(self, agent: Agent) -> str | None:
        """The `NotSelectableReason` answered: the cause's name (as the seed showed it)."""
        cause = self._cause(agent)
        if cause == HELD_REASON:
            return agent.held_reason
        return None if cause is None else agent.reason_names.get(cause, cause)

    def _dto(self, agent: Agent) -> dict[str, Any]:
        """The user DTO answered (a new dict: its top-level keys may be changed)."""
        # shallow: only top-level keys change, and every caller serialises the DTO at once
        return agent.dto | {
            "IsBlockedByLuwareApi": agent.blocked,
            "NotReadyReason": agent.not_ready_reason,
            "NotSelectableReason": self._reason(agent),
            "IsSelectable": self._selectable(agent),
            "PresenceState": agent.presence,
        }

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
            "State": self._wire[task.state],
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

    def _candidates(self, task: Task, pool: Iterable[Agent]) -> Iterator[Agent]:
        """The agents who may take `task` now, in the order they are asked: its preferred agents as
        listed, then, unless only they count, those of `pool` (in seed order)."""
        preferred = [self._by_sip[sip] for sip in task.request.get("PreferredAgents") or [] if sip in self._by_sip]
        asked = set(preferred)
        rest = () if task.preferred_only else (a for a in pool if a not in asked)
        service, required = task.service, task.required
        for agent in chain(preferred, rest):
            capable = required <= agent.capabilities
            if service in agent.services and capable and self._offerable(agent):
                yield agent

    def _distribute(self) -> None:
        """Offer tasks until none can be: each time the earliest pending task with a selectable
        candidate goes to its first candidate, as if every pending task were checked in queue order
        after every change. A pending task gains a candidate only when it is new to the queue
        (`_fresh`, checked against every agent) or an agent changed (`_woken`, checked against the
        queues it may take from), so only those are looked at (`_rules_changed`: every pending task)."""
        while (offer := self._next_offer()) is not None:
            self._offer(*offer)
        self._woken.clear()
        self._fresh.clear()

    def _next_offer(self) -> tuple[Task, Agent] | None:
        """The earliest pending task with a candidate, and its first candidate."""
        woken = sorted(
            (a for a in map(self.agents.__getitem__, self._woken) if self._offerable(a)),
            key=lambda a: a.order,
        )
        self._woken = {a.id for a in woken}
        firsts = [self._first_fresh(), *(self._waiting.first_for(a) for a in woken)]
        seq = min((s for s in firsts if s is not None), default=None)
        if seq is None:
            return None
        task = self._in_order[seq]
        # a task queued before the last change had no candidate then: only a changed agent can be one now
        pool = self._members.get(task.service, []) if seq in self._fresh else woken
        return task, next(self._candidates(task, pool))

    def _rules_changed(self) -> None:
        """Who may take a task changed without any agent changing (`mock/faulty.py` switched a fault):
        every pending task is looked at anew at the next distribution, as if new to the queue."""
        self._fresh = {t.seq for t in self._in_order if t.state == PENDING}

    def _first_fresh(self) -> int | None:
        """The earliest task new to the queue that has a candidate; those before it have none, and
        will not gain one until an agent changes, so they are no longer new."""
        for seq in sorted(self._fresh):
            task = self._in_order[seq]
            if next(self._candidates(task, self._members.get(task.service, [])), None) is not None:
                return seq
            self._fresh.discard(seq)
        return None

    def _offer(self, task: Task, agent: Agent) -> None:
        now = self.clock.now()
        rona_at, answer_at = self._rona_deadline(task, now), _after(now, agent.answer_seconds)
        self._set_state(task, OFFERED)
        task.agent_id, task.rona_at = agent.id, rona_at
        agent.task_id = task.id
        task.history.append(f"{iso_utc(now)} offered to {agent.sip}")
        if agent.answer == "accept":
            self._accept(task)
        elif agent.answer == "decline":
            self._rona(task, agent, "declined")
        elif agent.answer == "after":
            task.answer_at = answer_at
        self._schedule(task)

    def _rona_deadline(self, task: Task, offered: datetime) -> datetime | None:
        """Extension point: when an offer made at `offered` times out unanswered (None: never)."""
        return _after(offered, task.rona_seconds)

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
        self._set_state(task, ACCEPTED)
        task.connected, task.answer_at, task.rona_at = now, None, None
        self._schedule(task)
        task.history.append(f"{iso_utc(now)} accepted by {self.agents[str(task.agent_id)].sip}")

    def _rona(self, task: Task, agent: Agent, how: str) -> None:
        """Redirect on no answer: the agent goes Away, the task goes back to the queue (the caller
        distributes)."""
        task.history.append(f"{iso_utc(self.clock.now())} {how} by {agent.sip}: RONA, agent set Away")
        agent.presence = "Away"
        self._release(task)
        self._set_state(task, PENDING)

    def _release(self, task: Task) -> None:
        if task.agent_id is not None:
            agent = self.agents[task.agent_id]
            if agent.task_id == task.id:
                agent.task_id = None
                self._woken.add(agent.id)
        task.agent_id, task.answer_at, task.rona_at = None, None, None
        self._schedule(task)

    # ---- indexes ---------------------------------------------------------------------------

    def _add(self, task: Task) -> None:
        """A new (pending) task into every index."""
        self.tasks[task.id] = task
        self._in_order.append(task)
        self._of_service.setdefault(task.service, []).append(task)
        self._open[task.external_id] = self._newest[task.external_id] = task
        self._waiting.add(task)
        self._fresh.add(task.seq)

    def _set_state(self, task: Task, state: str) -> None:
        """Every change of a task's state, so the queues and the open tasks follow it."""
        if task.state == PENDING:
            self._waiting.discard(task)
            self._fresh.discard(task.seq)
        if state == PENDING:
            self._waiting.add(task)
            self._fresh.add(task.seq)
        if state == CLOSED and self._open.get(task.external_id) is task:
            del self._open[task.external_id]
        task.state = state

    def _schedule(self, task: Task) -> None:
        """The task's answer and RONA timeout on the timeline while it is offered."""
        self._task_times.set(task.id, (task.answer_at, task.rona_at) if task.state == OFFERED else (), task.id)

    def _agent(self, user_id: str) -> Agent:
        agent = self.agents.get(user_id)
        if agent is None:
            raise NotFound("UserNotFound", f"no user with id {user_id!r}")
        return agent

    def _service(self, service_id: str) -> dict[str, Any]:
        service = self.services.get(service_id)
        if service is None:
            raise NotFound("ServiceNotFound", f"no service with id {service_id!r}")
        return service

    def _task_by_id(self, identifier: str) -> Task:
        task = self.tasks.get(identifier)
        if task is None:
            raise NotFound("TaskNotFound", f"no task with id {identifier!r}")
        return task

    def _task(self, identifier: str) -> Task:
        task = self.tasks.get(identifier) or self._task_by_external_id(identifier)
        if task is None:
            raise NotFound("TaskNotFound", f"no task with id or ExternalTaskId {identifier!r}")
        return task

    def _task_by_external_id(self, external_id: str) -> Task | None:
        """Extension point: the task of an ExternalTaskId, the open one first, else the newest (ids
        can be reused once a task is closed)."""
        return self._open.get(external_id) or self._newest.get(external_id)
