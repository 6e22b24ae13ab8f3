"""The mock's faults made: the faithful LUCS (`domain.Lucs`) broken on purpose, one documented
behaviour per fault (`faults.Fault`), while that fault is on (`Faults`, switchable at run time).

`FaultyLucs` makes those of what LUCS does or reports: a `Lucs` whose overrides alter an operation
from outside (its input, its answer, an effect added after it or undone, with distribution held
meanwhile where the effect counts for it) or, where the fault acts inside a rule, one of the rules'
extension points (`_offerable`, `_rona_deadline`, `_next_callback_step`, `_task_by_external_id`,
`_dto`). With no fault on, each override is the rule it overrides. (The faults of how an answer is
sent, its status, form or timing, are the HTTP layer's, `app.py`.)

A new fault: its name and description in `faults.py`, its making here, and the scenario that kills
it in `tests/support/mutation.py` (the self-test and `make mutation` prove it is caught).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from lucs_harness.mock.clock import Entry, SimulatedClock
from lucs_harness.mock.domain import CALLBACK_GIVEN, TASK_STATES, Agent, Lucs, Task
from lucs_harness.mock.faults import Fault, Faults
from lucs_harness.mock.seed import Seed

UNFILLED_DEFAULTS: dict[str, Any] = {"MaxRetries": 0, "RetryType": None, "RetryCount": 0, "LeftInQueueTimeInSeconds": 0}
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

    def services_list(self) -> list[dict[str, Any]]:
        services = super().services_list()
        return services[1:] if Fault.SERVICES_OMIT_FIRST in self.faults else services

    def users_of(self, service_id: str) -> list[dict[str, Any]]:
        users = super().users_of(service_id)
        if Fault.LIST_OMITS_USER in self.faults:
            first = self.seed.users[0]["Id"]
            return [user for user in users if user["Id"] != first]
        return users

    def tasks_of(self, service_id: str) -> list[dict[str, Any]]:
        tasks = super().tasks_of(service_id)
        return tasks[:-1] if Fault.TASKS_OMIT_NEWEST in self.faults else tasks

    def callback(self, external_id: str) -> dict[str, Any]:
        with self._lock:
            if Fault.CALLBACK_BY_EXTERNAL_ID_WRONG in self.faults and self.callbacks:
                return dict(next(iter(self.callbacks.values())).dto)  # the oldest, whatever the id
            return super().callback(external_id)

    def _dto(self, agent: Agent) -> dict[str, Any]:
        dto = super()._dto(agent)
        if not self.faults.active:
            return dto
        if agent.blocked:
            if Fault.BLOCK_NO_FLAG in self.faults:
                dto["IsBlockedByLuwareApi"] = False
            if Fault.BLOCK_STAYS_SELECTABLE in self.faults:
                dto["IsSelectable"] = True
            if Fault.BLOCK_WRONG_REASON in self.faults:
                dto["NotSelectableReason"] = "Busy"
        elif agent.task_id is not None and Fault.ACCEPT_NO_REASON in self.faults:
            dto["NotSelectableReason"] = None
        return dto

    # ---- input altered ---------------------------------------------------------------------

    def search_callbacks(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        ignored = {name for fault, names in SEARCH_IGNORES.items() if fault in self.faults for name in names}
        return super().search_callbacks({name: value for name, value in query.items() if name not in ignored})

    # ---- effects added or undone -----------------------------------------------------------

    def block(self, user_id: str) -> dict[str, Any]:
        with self._lock:
            answer = super().block(user_id)
            if Fault.BLOCK_CHANGES_PRESENCE not in self.faults:
                return answer
            agent = self.agents[user_id]
            agent.presence = "DoNotDisturb"
            return self._dto(agent)

    def unblock(self, user_id: str) -> dict[str, Any]:
        keeps, waits = Fault.UNBLOCK_KEEPS_BLOCKED in self.faults, Fault.UNBLOCK_NO_DISTRIBUTION in self.faults
        if not (keeps or waits):
            return super().unblock(user_id)
        with self._lock:
            blocked = self._agent(user_id).blocked
            with self._distribution_held():
                super().unblock(user_id)
            agent = self.agents[user_id]
            if keeps:
                agent.blocked = blocked
            if not waits:  # else the agent waits, woken, for the next distribution
                self._distribute()
            return self._dto(agent)

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
            dto = self.callbacks[super().create_callback(request)["Id"]].dto
            given = {name for name in CALLBACK_GIVEN if request.get(name) is not None}
            dto.update({name: value for name, value in UNFILLED_DEFAULTS.items() if name not in given})
            return dict(dto)

    def cancel_callback(self, callback_id: str) -> None:
        with self._lock:
            callback = self.callbacks.get(callback_id)
            if Fault.CALLBACK_CANCEL_KEEPS_PENDING not in self.faults or callback is None:
                return super().cancel_callback(callback_id)
            state, next_at = callback.dto["State"], callback.next_at
            super().cancel_callback(callback_id)  # refuses one already done
            self._set_callback_state(callback, state, next_at)

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
