"""The tasks facet of a scenario's world: the external task it posts, watches, reads and closes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lucs_harness.contract import capability_names
from lucs_harness.errors import ExpectationFailed, UnexpectedStatus
from lucs_harness.expectations import mismatches
from lucs_harness.journal import Lookup, Undo
from lucs_harness.leftovers import TASK_GONE, harness_id
from lucs_harness.waits import holds_for, wait_until
from lucs_harness.world.core import ANY_STATUS, Core
from lucs_harness.world.users import Users

if TYPE_CHECKING:
    from lucs_harness.client import Exchange

DEFAULT_RONA_SECONDS = 50  # the documented example task's; a scenario that relies on it says so
NO_TASK = "no task was posted in this scenario"


def describe_task(task: dict[str, Any]) -> str:
    """Who holds a task and in which state, for messages."""
    holder = (task.get("ReservedUserObject") or {}).get("SipUri")
    return f"State={task.get('State')!r}, ReservedUserObject.SipUri={holder!r}"


@dataclass(repr=False)
class Tasks:
    """The scenario's external task (one at a time), and the service's tasks.

    Attributes:
        task_id: the TaskId LUCS answered for the scenario's task (None: none posted).
        external_task_id: the ExternalTaskId the scenario's task was posted with.
        read: the task as last read by `read_by` (None: not read yet).
        listed: the service's tasks as last listed by `list_all` (None: not listed yet).
    """

    _core: Core
    _users: Users
    task_id: str | None = None
    external_task_id: str | None = None
    read: dict[str, Any] | None = None
    listed: list[dict[str, Any]] | None = None
    _close_undo: Undo | None = None

    # ---- what the scenario holds (sends nothing) -------------------------------------------

    def as_read(self) -> dict[str, Any]:
        """The task as last read by `read_by` (`read`); fails when none was. Sends nothing."""
        if self.read is None:
            raise ExpectationFailed("no task was read in this scenario")
        return self.read

    def as_listed(self) -> list[dict[str, Any]]:
        """The service's tasks as last listed by `list_all` (`listed`); fails when they were not.
        Sends nothing."""
        if self.listed is None:
            raise ExpectationFailed("the service's tasks were not listed in this scenario")
        return self.listed

    def states(self) -> dict[str, str] | None:
        """The task State names to assert: configured, else the simulation's own, else none (LUCS
        documents none). Sends nothing."""
        return self._core.config.task_states or (self._core.control.task_states if self._core.control else None)

    def body_for(self, *sips: str, rona: int = DEFAULT_RONA_SECONDS) -> dict[str, Any]:
        """The body of the documented test task, preferring only the users of these SIP URIs (in
        order), with a fresh ExternalTaskId and a RONA timeout of `rona` seconds. Sends nothing."""
        return {
            "ExternalTaskId": harness_id(),
            "Service": self._core.config.service_id,
            "Caller": f"Get me {sips[0]} now!",
            "PreferredAgents": list(sips),
            "ConsiderPreferredAgentsOnly": True,
            "Required": dict.fromkeys(capability_names(), True),
            "DistributeToAgent": True,
            "DistributeToAgentRONATimeoutInSeconds": rona,
        }

    def closed_elsewhere(self) -> None:
        """The scenario's task was closed by a call of the caller's own: no close is needed
        afterwards. Sends nothing."""
        if self._close_undo is not None:
            self._core.restore.discard(self._close_undo)
            self._close_undo = None

    # ---- calls -----------------------------------------------------------------------------

    def post_for(self, *users: str | None, rona: int = DEFAULT_RONA_SECONDS) -> str:
        """`post` the documented test task (`body_for`) preferring only `users` (none: the target
        user), their SIP URIs looked up (GET `list_users`) where given as GUIDs; returns the TaskId."""
        return self.post(self.body_for(*(self._users.fetch_sip(user) for user in users or (None,)), rona=rona))

    def post(self, task: dict[str, Any]) -> str:
        """POST `create_task` with `task` (task-request schema; the answer: task-id schema), having
        registered closing it when `close_tasks` is on; returns the TaskId, kept as `task_id`
        (and the ExternalTaskId as `external_task_id`)."""
        from lucs_harness.client import task_id_of  # here: the step library loads no HTTP client at start-up

        external = str(task["ExternalTaskId"])
        undo = self._register_close(external)
        try:
            answer = self._core.send("create_task", body=task)
        except UnexpectedStatus:
            if undo is not None:
                self._core.forget_if_refused(undo, self._core.client.last_exchange)  # a 5xx may have created it
            raise
        self._close_undo = undo
        self.task_id, self.external_task_id = task_id_of(answer.response_body), external
        if not self._core.config.close_tasks:
            self._core.restore.failures.append(f"task {self.task_id} ({external}) left open: close_tasks is off")
        return self.task_id

    def _register_close(self, external: str) -> Undo | None:
        """The close of a task about to be posted, on disk before it is sent (none when `close_tasks`
        is off). A close by TaskId, known only from the answer, finds it by the ExternalTaskId."""
        config = self._core.config
        if not config.close_tasks:
            return None
        by_id = config.close_by == "TaskId"
        lookup = Lookup("get_task", {"taskIdentifier": external}, "Id", "taskIdentifier") if by_id else None
        return self._core.restore.register(
            f"close task {external}", "close_task", {"taskIdentifier": external}, gone=TASK_GONE, lookup=lookup
        )

    def try_post_raw(self, text: str) -> Exchange:
        """POST `create_task` with a body exactly as written, unchecked, and accept any status: for
        negative scenarios (the next step judges `last`)."""
        return self._core.send("create_task", body=text, expect=ANY_STATUS, raw=True)

    def fetch(self) -> dict[str, Any]:
        """GET the scenario's task by its TaskId (`get_task`, 200, task schema); fails when none was posted."""
        if self.task_id is None:
            raise ExpectationFailed(NO_TASK)
        return self._core.client.get_task(self.task_id)

    def hold_pending(self) -> dict[str, Any]:
        """Poll the task (GET `get_task`) for the hold time and fail the first time someone holds
        it (or its State is not the pending one, where that name is known): a real LUCS may hand a
        task out a moment after it was posted."""
        expected: dict[str, Any] = {"ReservedUserObject": None}
        states = self.states()
        if states and "pending" in states:
            expected["State"] = states["pending"]
        with self._core.client.polling():
            return holds_for(
                self.fetch,
                lambda task: not mismatches(task, expected),
                duration=self._core.config.effective_hold_time(),
                interval=self._core.config.poll_interval,
                expected=f"task {self.task_id} pending (nobody selectable may hold it)",
                describe=lambda task: "; ".join(mismatches(task, expected)),
            )

    def wait_accepted(self, user: str | None, seconds: float | None = None) -> dict[str, Any]:
        """Poll the task (GET `get_task`) until the user holds it (accepted, where the state's name
        is known), up to `seconds` or `wait_timeout`; fail with who holds it in which State."""
        user_id = self._users.fetch_id(user)
        states = self.states()
        accepted = states.get("accepted") if states else None

        def done(task: dict[str, Any]) -> bool:
            holder = task.get("ReservedUserObject") or {}
            return holder.get("Id") == user_id and (accepted is None or task.get("State") == accepted)

        with self._core.client.polling():
            return wait_until(
                self.fetch,
                done,
                timeout=self._core.config.wait_timeout if seconds is None else seconds,
                interval=self._core.config.poll_interval,
                expected=f"task {self.task_id} held by {self._core.ref(user)}"
                + (f" in state {accepted!r}" if accepted else ""),
                describe=describe_task,
            )

    def check_offered(self, user: str | None) -> None:
        """GET the task once and assert the user holds it but has not accepted it yet (State
        checked where its name is known)."""
        task = self.fetch()
        holder = (task.get("ReservedUserObject") or {}).get("SipUri")
        states = self.states()
        offered = states.get("offered") if states else None
        if holder != self._users.fetch_sip(user) or (offered and task.get("State") != offered):
            raise ExpectationFailed(
                f"task {self.task_id}: expected offered to {self._users.fetch_sip(user)}; got {describe_task(task)}"
            )

    def close(self) -> Exchange:
        """Send `close_task` for the scenario's task (by TaskId or ExternalTaskId, as `close_by`
        says; 204 or 200); closed, it no longer needs closing afterwards."""
        if self.task_id is None:
            raise ExpectationFailed(NO_TASK)
        identifier = self._core.config.close_identifier(self.task_id, str(self.external_task_id))
        sent = self._core.send("close_task", {"taskIdentifier": identifier})
        self.closed_elsewhere()
        return sent

    def read_by(self, key: str) -> dict[str, Any]:
        """GET the scenario's task (`get_task`) by the TaskId LUCS answered or by the ExternalTaskId
        it was posted with (`key`); kept as `read`."""
        identifier = {"TaskId": self.task_id, "ExternalTaskId": self.external_task_id}[key]
        if identifier is None:
            raise ExpectationFailed(NO_TASK)
        self.read = self._core.send("get_task", {"taskIdentifier": identifier}).response_body
        return self.read

    def list_all(self) -> list[dict[str, Any]]:
        """GET the configured service's tasks (`service_tasks`, 200, task-list schema); kept as `listed`."""
        self.listed = self._core.send("service_tasks", {"serviceId": self._core.config.service_id}).response_body
        return self.listed
