"""The mock's faults made: the faithful LUCS (`domain.Lucs`) broken on purpose, one documented
behaviour per fault (`faults.Fault`), while that fault is on (`Faults`, switchable at run time).

Every fault is made in one of two places, and only there:

- `FaultyLucs`, for what LUCS does or reports: a `Lucs` whose overrides alter an operation from
  outside (its input, its answer, an effect added after it or undone, with distribution held
  meanwhile where the effect counts for it) or, where the fault acts inside a rule, one of the
  rules' extension points (`_offerable`, `_rona_deadline`, `_next_callback_step`,
  `_task_by_external_id`). With no fault on, each override is the rule it overrides.
- `WIRE`, for how an answer is sent (its status, its form, its timing): each such fault wraps the
  HTTP handlers of the operations it breaks (`Wire.wrap`, used by `app.create_app`).

A new fault: its name and description in `faults.py`, its making here, and the scenario that kills
it in `tests/support/mutation.py` (the self-test and `make mutation` prove it is caught).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from lucs_harness.mock.clock import Entry, SimulatedClock
from lucs_harness.mock.domain import CALLBACK_GIVEN, TASK_STATES, Agent, Lucs, Task
from lucs_harness.mock.faults import Fault, Faults
from lucs_harness.mock.seed import Seed

UNFILLED_DEFAULTS: dict[str, Any] = {"MaxRetries": 0, "RetryType": None, "RetryCount": 0, "LeftInQueueTimeInSeconds": 0}
USER_FIELD_FAULTS = frozenset(
    {Fault.BLOCK_NO_FLAG, Fault.BLOCK_STAYS_SELECTABLE, Fault.BLOCK_WRONG_REASON, Fault.ACCEPT_NO_REASON}
)  # the faults that break a field of the user DTOs answered
SEARCH_IGNORES: dict[Fault, tuple[str, ...]] = {
    Fault.CALLBACK_SEARCH_IGNORES_STATE: ("State",),
    Fault.CALLBACK_SEARCH_IGNORES_PAGING: ("Limit", "Offset"),
    Fault.CALLBACK_SEARCH_IGNORES_SORT_ORDER: ("SortOrder",),
}  # fault -> the fields of a callback search it drops


class FaultyLucs(Lucs):
    """The mock as served: `Lucs` with the faults of `faults` that are on (none: the faithful rules)."""

    def __init__(
        self,
        seed: Seed,
        clock: SimulatedClock | None = None,
        faults: Faults | None = None,
        state_names: tuple[str, ...] = TASK_STATES,
    ) -> None:
        self.faults = faults or Faults()
        self._held = False  # an operation runs with distribution held (`_distribution_held`)
        super().__init__(seed, clock, state_names=state_names)

    def reset(self) -> None:
        with self._lock:
            super().reset()
            self._faults_seen = self.faults.active

    # ---- answers altered -------------------------------------------------------------------

    def list_services(self) -> list[dict[str, Any]]:
        services = super().list_services()
        return services[1:] if Fault.SERVICES_OMIT_FIRST in self.faults else services

    def list_users(self, service_id: str) -> list[dict[str, Any]]:
        with self._lock:
            users = self._with_broken_fields(super().list_users(service_id))
        if Fault.LIST_OMITS_USER in self.faults:
            first = self.seed.users[0]["Id"]
            return [user for user in users if user["Id"] != first]
        return users

    def user(self, user_id: str) -> dict[str, Any]:
        with self._lock:
            return self._with_broken_fields([super().user(user_id)])[0]

    def service_tasks(self, service_id: str) -> list[dict[str, Any]]:
        tasks = super().service_tasks(service_id)
        return tasks[:-1] if Fault.TASKS_OMIT_NEWEST in self.faults else tasks

    def get_callback(self, external_id: str) -> dict[str, Any]:
        with self._lock:
            if Fault.CALLBACK_BY_EXTERNAL_ID_WRONG in self.faults and self.callbacks.all:
                return dict(next(iter(self.callbacks.all.values())).dto)  # the oldest, whatever the id
            return super().get_callback(external_id)

    def _with_broken_fields(self, users: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """User DTOs (new dicts) with the faults that break their fields, as their agents stand now
        (the caller holds the lock): a blocked agent's flag, selectability or reason; the reason of one in a task."""
        if not self.faults.active & USER_FIELD_FAULTS:
            return users
        for user in users:
            agent = self.agents[str(user["Id"])]
            if agent.blocked:
                if Fault.BLOCK_NO_FLAG in self.faults:
                    user["IsBlockedByLuwareApi"] = False
                if Fault.BLOCK_STAYS_SELECTABLE in self.faults:
                    user["IsSelectable"] = True
                if Fault.BLOCK_WRONG_REASON in self.faults:
                    user["NotSelectableReason"] = "Busy"
            elif agent.task_id is not None and Fault.ACCEPT_NO_REASON in self.faults:
                user["NotSelectableReason"] = None
        return users

    # ---- input altered ---------------------------------------------------------------------

    def search_callbacks(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        ignored = {name for fault, names in SEARCH_IGNORES.items() if fault in self.faults for name in names}
        return super().search_callbacks({name: value for name, value in query.items() if name not in ignored})

    # ---- effects added or undone -----------------------------------------------------------

    def block_user(self, user_id: str) -> dict[str, Any]:
        with self._lock:
            answer = super().block_user(user_id)
            if Fault.BLOCK_CHANGES_PRESENCE in self.faults:
                self.agents[user_id].presence = "DoNotDisturb"
                answer = super().user(user_id)
            return self._with_broken_fields([answer])[0]

    def unblock_user(self, user_id: str) -> dict[str, Any]:
        keeps, waits = Fault.UNBLOCK_KEEPS_BLOCKED in self.faults, Fault.UNBLOCK_NO_DISTRIBUTION in self.faults
        if not (keeps or waits):
            with self._lock:
                return self._with_broken_fields([super().unblock_user(user_id)])[0]
        with self._lock:
            blocked = self._agent(user_id).blocked
            with self._distribution_held():
                super().unblock_user(user_id)
            agent = self.agents[user_id]
            if keeps:
                agent.blocked = blocked
            if not waits:  # else the agent waits, woken, for the next distribution
                self._distribute()
            return self._with_broken_fields([super().user(user_id)])[0]

    def set_presence(self, user_id: str, presence: str) -> None:
        if Fault.PRESENCE_IGNORED not in self.faults:
            return super().set_presence(user_id, presence)
        with self._lock:
            before = self._agent(user_id).presence
            with self._distribution_held():
                super().set_presence(user_id, presence)  # refuses an unknown presence
            self.agents[user_id].presence = before
            self._distribute()

    def create_callback(self, request: dict[str, Any]) -> dict[str, Any]:
        if Fault.CALLBACK_NO_DEFAULTS not in self.faults:
            return super().create_callback(request)
        with self._lock:
            dto = self.callbacks.all[super().create_callback(request)["Id"]].dto
            given = {name for name in CALLBACK_GIVEN if request.get(name) is not None}
            dto.update({name: value for name, value in UNFILLED_DEFAULTS.items() if name not in given})
            return dict(dto)

    def cancel_callback(self, callback_id: str) -> None:
        with self._lock:
            callback = self.callbacks.all.get(callback_id)
            if Fault.CALLBACK_CANCEL_KEEPS_PENDING not in self.faults or callback is None:
                return super().cancel_callback(callback_id)
            state, next_at = callback.dto["State"], callback.next_at
            super().cancel_callback(callback_id)  # refuses one already done
            self.callbacks.set_state(callback, state, next_at)

    # ---- the rules' extension points -------------------------------------------------------

    def _offerable(self, agent: Agent) -> bool:
        if Fault.DISTRIBUTES_TO_BLOCKED in self.faults:
            return self._available(agent)
        return super()._offerable(agent)

    def _rona_deadline(self, task: Task, offered: datetime) -> datetime | None:
        return None if Fault.RONA_NEVER_FIRES in self.faults else super()._rona_deadline(task, offered)

    def _next_callback_step(self) -> Entry | None:
        return None if Fault.CALLBACK_NEVER_QUEUED in self.faults else super()._next_callback_step()

    def _task_by_external_id(self, external_id: str) -> Task | None:
        return None if Fault.TASK_BY_EXTERNAL_ID_MISSING in self.faults else super()._task_by_external_id(external_id)

    # ---- distribution ----------------------------------------------------------------------

    def _distribute(self) -> None:
        """As the rules distribute, unless held; faults switched since the last distribution may
        change who can take a task (`distributes-to-blocked`), so every pending task is looked at anew."""
        if self._held:
            return
        if self.faults.active != self._faults_seen:
            self._faults_seen = self.faults.active
            self._rules_changed()
        super()._distribute()

    @contextmanager
    def _distribution_held(self) -> Iterator[None]:
        """No task is offered while an operation runs (its caller holds the lock), so a fault can
        alter the operation's effect before distribution sees it."""
        self._held = True
        try:
            yield
        finally:
            self._held = False


# ---- on the wire ---------------------------------------------------------------------------------

Handler = Callable[[Request], Awaitable[Response]]
WireFault = Callable[["Wire", Request, Handler], Awaitable[Response]]  # (the wire, the request, the rest)
SLOW_SECONDS = 12.0  # beyond the client's default read timeout (10 s)


def _json(content: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


def _envelope(status: int, code: str, message: str) -> Response:
    return _json({"Error": {"Code": code, "Message": message}}, status)


def _users(answer: Response, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Response:
    """A user DTO, or a list of them, each changed."""
    content = orjson.loads(answer.body)
    changed = [change(user) for user in content] if isinstance(content, list) else change(content)
    return _json(changed, answer.status_code)


async def _slow(wire: Wire, request: Request, rest: Handler) -> Response:
    await asyncio.sleep(SLOW_SECONDS)
    return await rest(request)


async def _status_500(wire: Wire, request: Request, rest: Handler) -> Response:
    return _envelope(500, "NotInitialized", "the service is not initialized")


async def _html(wire: Wire, request: Request, rest: Handler) -> Response:
    await rest(request)
    return Response("<html><body>Runtime Error</body></html>", media_type="text/html")


async def _fails_once(wire: Wire, request: Request, rest: Handler) -> Response:
    if wire.faults.strikes_once(Fault.UNBLOCK_FAILS_ONCE):
        return _envelope(503, "ServiceUnavailable", "the service is temporarily unavailable")
    return await rest(request)


async def _selectable_as_string(wire: Wire, request: Request, rest: Handler) -> Response:
    return _users(await rest(request), lambda user: user | {"IsSelectable": str(user["IsSelectable"]).lower()})


async def _no_presence_state(wire: Wire, request: Request, rest: Handler) -> Response:
    return _users(await rest(request), lambda user: {k: v for k, v in user.items() if k != "PresenceState"})


async def _presence_echoed(wire: Wire, request: Request, rest: Handler) -> Response:
    await rest(request)
    return _json({wire.presence_field: request.state.body[wire.presence_field]})


async def _status_202(wire: Wire, request: Request, rest: Handler) -> Response:
    answer = await rest(request)
    answer.status_code = 202
    return answer


USER_ANSWERS = frozenset({"list_users", "block_user", "unblock_user"})  # the operations answering user DTOs
WIRE: dict[Fault, tuple[frozenset[str], WireFault]] = {
    Fault.SLOW_RESPONSE: (frozenset({"list_users"}), _slow),
    Fault.LIST_500: (frozenset({"list_users"}), _status_500),
    Fault.NOT_JSON: (frozenset({"list_users"}), _html),
    Fault.UNBLOCK_FAILS_ONCE: (frozenset({"unblock_user"}), _fails_once),
    Fault.WRONG_TYPE: (USER_ANSWERS, _selectable_as_string),
    Fault.MISSING_FIELD: (USER_ANSWERS, _no_presence_state),
    Fault.PRESENCE_RETURNS_BODY: (frozenset({"set_presence"}), _presence_echoed),
    Fault.PRESENCE_WRONG_STATUS: (frozenset({"set_presence"}), _status_202),
}  # fault -> the operations it breaks and how; in this order, each wraps those after it (first: outermost)


class Wire:
    """The faults on the wire of one app: `faults` the switch, `presence_field` the setpresence
    body's field (`Conventions.presence_field`), which `presence-returns-body` echoes."""

    def __init__(self, faults: Faults, presence_field: str) -> None:
        self.faults, self.presence_field = faults, presence_field

    def wrap(self, operation: str, handler: Handler) -> Handler:
        """`handler` of `operation` wrapped, at each request, by the faults on that break it."""
        breaking = [(fault, wrap) for fault, (operations, wrap) in WIRE.items() if operation in operations]
        if not breaking:
            return handler

        async def run(request: Request) -> Response:
            if not self.faults.active:
                return await handler(request)
            return await self._through([wrap for fault, wrap in breaking if fault in self.faults], request, handler)

        return run

    async def _through(self, wraps: list[WireFault], request: Request, handler: Handler) -> Response:
        if not wraps:
            return await handler(request)
        return await wraps[0](self, request, lambda inner: self._through(wraps[1:], inner, handler))
