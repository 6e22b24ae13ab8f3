"""One scenario's world: the configured target, what the scenario has seen so far, and the
guarded state changes (each registered for restore before it is sent)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from lucs_harness.client import Exchange, LucsClient, UnexpectedStatus, task_id_of
from lucs_harness.config import LucsConfig
from lucs_harness.contract import capability_names
from lucs_harness.expectations import mismatches
from lucs_harness.journal import Lookup, Undo
from lucs_harness.leftovers import TASK_GONE, harness_id
from lucs_harness.readiness import READY, RESTORE_HINT, find_listed, held_by, problems
from lucs_harness.restore import RestoreRegistry
from lucs_harness.waits import holds_for, wait_until

TARGET = "target"
CALLBACK_GONE = (404,)  # documented: a callback cancelled already, or not found
CALLBACK_PENDING = "Pending"  # documented state name
CALLBACK_DUE_IN = timedelta(hours=1)  # the suite's callbacks are due later: nobody dials them before the restore
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"  # a well-formed GUID that names nothing
DEFAULT_RONA_SECONDS = 50  # the documented example task's; a scenario that relies on it says so
ANY_STATUS = range(100, 600)  # a negative scenario judges the answer itself


def describe_task(task: dict[str, Any]) -> str:
    """Who holds a task and in which state, for messages."""
    holder = (task.get("ReservedUserObject") or {}).get("SipUri")
    return f"State={task.get('State')!r}, ReservedUserObject.SipUri={holder!r}"


class Simulation(Protocol):
    """What a scenario may ask of a simulated LUCS (the embedded mock): nothing of the mock's own
    code is needed here, so nothing of it is loaded against a real target."""

    task_states: dict[str, str]

    def reset(self) -> dict[str, Any]: ...

    def state(self) -> dict[str, Any]: ...

    def advance(self, seconds: float) -> str: ...


@dataclass(repr=False)
class World:
    """The `world` fixture: what the steps of one scenario share, and the calls they make through it.

    A step of your own takes `world` and calls these methods; each says what it sends and what it
    asserts. Every call goes through `client.send`: the request body is checked against its JSON
    Schema before it is sent, the status must be the operation's success status (unless the method
    says it takes any answer), the response body is checked against its schema, and otherwise an
    `AssertionError` naming `METHOD URL -> status` fails the step. The call is kept as `last`,
    which `Then LUCS answers <status>` and the failure messages read.

    A method that changes the target registers its undo before it sends (undone after the
    scenario whatever its outcome, journaled for a later run should this one be killed); a change
    a step of your own makes through `client.send` registers its undo the same way, with
    `restore.register(...)` first. A `user` argument is a SIP URI or a GUID, or None for the
    configured target user (in a parallel run, the agent leased to this worker).

    Attributes:
        config: the run's configuration (`--lucs-*` options, `LUCS_*` variables, lucs.toml).
        client: the LUCS client: `client.send(operation, params, body, expect=statuses)` calls any
            operation of `lucs_harness.operations.OPERATIONS`, checked as above.
        restore: the scenario's undos: `restore.register(description, operation, params, body)`
            before a change, `restore.discard(undo)` when the change needs no undo after all.
        target_ref: the target user's SIP URI or GUID (the leased agent in a parallel run).
        control: the simulated LUCS the scenario runs against (the embedded mock, or a dry run's
            shadow): its clock and state; None against a real LUCS.
        listed: the service's users as last listed in this scenario (None: not listed yet).
        returned_user: the user the scenario's last block or unblock answered.
        last: the scenario's last call, an `Exchange`: method, url, status, request_body,
            response_body, response_text (None: no call yet).
        task_id: the TaskId LUCS answered for the scenario's task.
        external_task_id: the ExternalTaskId the scenario's task was posted with.
        read_task: the task as last read by `read_task_by`.
        service_tasks: the service's tasks as last listed by `list_service_tasks`.
        services: the services as last listed by `list_services`.
        callbacks: the scenario's callbacks as LUCS answered them, by the names the scenario gave.
        callback_requests: the same callbacks as they were sent, by name.
        read_callback: the callback as last read by `read_callback_of`.
        found_callbacks: the callbacks the last search found.
    """

    config: LucsConfig
    client: LucsClient
    restore: RestoreRegistry
    target_ref: str
    control: Simulation | None = None
    listed: list[dict[str, Any]] | None = None
    returned_user: dict[str, Any] | None = None
    last: Exchange | None = None
    task_id: str | None = None
    external_task_id: str | None = None
    _ids: dict[str, str] = field(default_factory=dict)
    _first_seen: dict[str, dict[str, Any]] = field(default_factory=dict)
    _close_undo: Undo | None = None
    read_task: dict[str, Any] | None = None
    service_tasks: list[dict[str, Any]] | None = None
    services: list[dict[str, Any]] | None = None
    callbacks: dict[str, dict[str, Any]] = field(default_factory=dict)  # by the scenario's name, as answered
    callback_requests: dict[str, dict[str, Any]] = field(default_factory=dict)  # by name, as sent
    read_callback: dict[str, Any] | None = None
    found_callbacks: list[dict[str, Any]] | None = None
    _cancel_undos: dict[str, Undo] = field(default_factory=dict)
    _caller_id: str = field(default_factory=harness_id)

    def __repr__(self) -> str:
        """Short, and free of credentials: reports list step arguments by their repr."""
        return f"World(target={self.target_ref!r}, last={self.last_call!r})"

    def task_states(self) -> dict[str, str] | None:
        """The task State names to assert: configured ones, else the simulation's own, else none
        (LUCS does not document them). Sends nothing."""
        return self.config.task_states or (self.control.task_states if self.control else None)

    # ---- users -----------------------------------------------------------------------------

    def ref(self, user: str | None) -> str:
        """A step's user reference: None or "target" mean the configured (or leased) target user.
        Sends nothing."""
        return self.target_ref if user in (None, TARGET) else str(user)

    def list_users(self) -> list[dict[str, Any]]:
        """GET the configured service's users (`list_users`, 200, user-list schema); kept as `listed`."""
        self.listed = self.client.list_users(self.config.service_id)
        return self.listed

    def find(self, users: list[dict[str, Any]], user: str | None) -> dict[str, Any] | None:
        """The user with that SIP URI or Id in a list, or None; sends nothing."""
        return find_listed(users, self.ref(user))

    def listed_user(self, user: str | None) -> dict[str, Any]:
        """GET the service's users (`list_users`) and return one; fail naming who was listed when
        absent. Notes the user's GUID and, the first time, the user as found (see `found_as`)."""
        found = self.in_list(self.list_users(), user)
        self._ids[self.ref(user)] = str(found["Id"])
        self._first_seen.setdefault(self.ref(user), found)
        return found

    def in_list(self, users: list[dict[str, Any]] | None, user: str | None) -> dict[str, Any]:
        """The user in a list fetched before (`None`: none was); fail naming who was listed when
        absent. Sends nothing."""
        if users is None:
            raise AssertionError("no user list was fetched in this scenario")
        found = self.find(users, user)
        if found is None:
            listed = ", ".join(str(u.get("SipUri")) for u in users) or "nobody"
            raise AssertionError(
                f"user {self.ref(user)} is not in the users of service {self.config.service_id} (listed: {listed})"
            )
        return found

    def require_ready(self, user: str | None) -> None:
        """Assert the user is selectable and not blocked (`not_ready` is empty); the failure lists
        why not and how to repair it."""
        problems = self.not_ready(user)
        if problems:
            raise AssertionError(
                f"precondition failed: {self.ref(user)} must be selectable and not blocked before the scenario:\n  "
                + "\n  ".join(problems)
            )

    def returned(self) -> dict[str, Any]:
        """The user the scenario's last block or unblock returned; fails when none did. Sends nothing."""
        if self.returned_user is None:
            raise AssertionError("no call in this scenario returned a user")
        return self.returned_user

    def try_on_unknown_user(self, operation: str) -> Exchange:
        """Send a user operation (`block_user`, `unblock_user`) for a well-formed GUID that names
        nobody, accepting any status: the next step judges `last`."""
        self.last = self.client.send(operation, {"userId": UNKNOWN_ID}, expect=ANY_STATUS)
        return self.last

    def found_as(self, user: str | None) -> dict[str, Any]:
        """The user as first listed in this scenario; lists the service's users now if not yet
        (call it before a change, or the change is what it notes)."""
        ref = self.ref(user)
        return self._first_seen[ref] if ref in self._first_seen else self.listed_user(user)

    def presence_before(self, user: str | None) -> str:
        """The presence the user had when the scenario first listed them; fails when they were not
        listed before the change. Sends nothing."""
        found = self._first_seen.get(self.ref(user))
        if found is None:
            raise AssertionError(f"the presence of {self.ref(user)} was not noted before the scenario changed anything")
        return str(found["PresenceState"])

    def user_id(self, user: str | None) -> str:
        """The GUID of a user reference, looked up in the service's list (GET `list_users`) once per
        scenario."""
        ref = self.ref(user)
        if ref not in self._ids:
            self.listed_user(user)
        return self._ids[ref]

    def sip(self, user: str | None) -> str:
        """The SIP URI of a user reference: as given, or looked up in the service's list (GET)."""
        ref = self.ref(user)
        return ref if ref.startswith("sip:") else str(self.listed_user(user)["SipUri"])

    def not_ready(self, user: str | None) -> list[str]:
        """Why a user cannot start the use case (empty when selectable and not blocked): what the
        list shows (GET `list_users`), the open tasks they hold (GET `service_tasks`, only when not
        ready), and the command that repairs an earlier run's leftovers. Asserts nothing."""
        found = self.listed_user(user)
        differ = mismatches(found, READY)
        if not differ:
            return []
        try:
            tasks = self.client.send("service_tasks", {"serviceId": self.config.service_id}).response_body
        except AssertionError as error:
            tasks, differ = [], [*differ, f"(the service's tasks could not be listed: {error})"]
        return [
            *differ,
            *problems(found, held_by(tasks, str(found.get("Id")), self.config)),
            f"to undo what an earlier run of this harness left: {RESTORE_HINT}",
        ]

    def wait_for_user(self, user: str | None, expected: dict[str, Any]) -> dict[str, Any]:
        """Poll the service's users (GET `list_users`) until the user shows every field of
        `expected` (values and JSON types equal), up to `wait_timeout`; fail naming the differences."""
        with self.client.polling():
            return wait_until(
                lambda: self.listed_user(user),
                lambda found: not mismatches(found, expected),
                timeout=self.config.wait_timeout,
                interval=self.config.poll_interval,
                expected=f"{self.ref(user)} as listed",
                describe=lambda found: "; ".join(mismatches(found, expected)),
            )

    # ---- guarded changes -------------------------------------------------------------------

    def block(self, user: str | None) -> dict[str, Any]:
        """POST `block_user` (200, user schema), having registered the unblock first (unless they
        were found blocked); the answer is kept as `returned_user`."""
        user_id, sip = self.user_id(user), self.sip(user)
        if not self.found_as(user)["IsBlockedByLuwareApi"]:
            self.restore.register(f"unblock {sip}", "unblock_user", {"userId": user_id})
        return self._user_call("block_user", user_id)

    def unblock(self, user: str | None) -> dict[str, Any]:
        """POST `unblock_user` (200, user schema); a user found blocked (by someone else) is blocked
        again afterwards. The answer is kept as `returned_user`."""
        user_id, sip = self.user_id(user), self.sip(user)
        if self.found_as(user)["IsBlockedByLuwareApi"]:
            self.restore.register(f"block {sip} again", "block_user", {"userId": user_id})
        return self._user_call("unblock_user", user_id)

    def _user_call(self, operation: str, user_id: str) -> dict[str, Any]:
        self.last = self.client.send(operation, {"userId": user_id})
        self.returned_user = self.last.response_body
        return self.returned_user

    @property
    def last_call(self) -> str:
        """`METHOD URL -> status` of the scenario's last call, for messages."""
        return self.last.what if self.last else "no call yet"

    def set_presence(self, user: str | None, presence: str, *, expect_error: bool = False) -> Exchange:
        """POST `set_presence` with `{presence_field: presence}`, having registered setting it back
        to what it was before the scenario; expects 200 with no body, or any status with
        `expect_error` (the next step judges `last`)."""
        user_id, sip = self.user_id(user), self.sip(user)
        before = str(self.found_as(user)["PresenceState"])
        self.restore.register(
            f"set presence of {sip} back to {before}",
            "set_presence",
            {"userId": user_id},
            {self.config.presence_field: before},
        )
        self.last = self.client.set_presence(user_id, presence, expect=ANY_STATUS if expect_error else None)
        return self.last

    def task_for(self, *users: str | None, rona: int = DEFAULT_RONA_SECONDS) -> dict[str, Any]:
        """The body of the documented test task, preferring only `users` (in order; none: the
        target user), with a fresh ExternalTaskId and a RONA timeout of `rona` seconds. Sends
        nothing but the lookup of SIP URIs not given."""
        sips = [self.sip(user) for user in users or (None,)]
        return {
            "ExternalTaskId": harness_id(),
            "Service": self.config.service_id,
            "Caller": f"Get me {sips[0]} now!",
            "PreferredAgents": sips,
            "ConsiderPreferredAgentsOnly": True,
            "Required": dict.fromkeys(capability_names(), True),
            "DistributeToAgent": True,
            "DistributeToAgentRONATimeoutInSeconds": rona,
        }

    def post_task(self, task: dict[str, Any]) -> str:
        """POST `create_task` with `task` (task-request schema; the answer: task-id schema), having
        registered closing it when `close_tasks` is on; returns the TaskId, kept as `task_id`
        (and the ExternalTaskId as `external_task_id`)."""
        external = str(task["ExternalTaskId"])
        undo = None
        if self.config.close_tasks:
            by_id = self.config.close_by == "TaskId"  # known only from the answer: found by the ExternalTaskId
            lookup = Lookup("get_task", {"taskIdentifier": external}, "Id", "taskIdentifier") if by_id else None
            undo = self.restore.register(
                f"close task {external}", "close_task", {"taskIdentifier": external}, gone=TASK_GONE, lookup=lookup
            )
        try:
            self.last = self.client.send("create_task", body=task)
        except UnexpectedStatus:
            if undo is not None:
                self._forget_if_refused(undo, self.client.last_exchange)  # a 5xx may have created it
            raise
        self._close_undo = undo
        self.task_id, self.external_task_id = task_id_of(self.last.response_body), external
        if not self.config.close_tasks:
            self.restore.failures.append(f"task {self.task_id} ({external}) left open: close_tasks is off")
        return self.task_id

    def send_raw_task(self, text: str) -> Exchange:
        """POST `create_task` with a body exactly as written and accept any status: for negative
        scenarios. Asserts first that the body really breaks the task schema (or is not JSON), or
        the scenario would prove nothing."""
        try:
            body = json.loads(text)
        except ValueError:
            pass  # not JSON at all: malformed by definition
        else:
            if not self.client.contract.check("task-request.json", body).violations:
                raise AssertionError(
                    "this body is a valid task request; a malformed-body scenario needs an invalid one"
                )
        self.last = self.client.send("create_task", body=text, expect=ANY_STATUS, raw=True)
        return self.last

    def hold_task_pending(self) -> dict[str, Any]:
        """Poll the task (GET `get_task`) for the hold time and fail the first time someone holds
        it (or its State is not the pending one, where that name is known): a real LUCS may hand a
        task out a moment after it was posted."""
        expected: dict[str, Any] = {"ReservedUserObject": None}
        states = self.task_states()
        if states and "pending" in states:
            expected["State"] = states["pending"]
        with self.client.polling():
            return holds_for(
                self.task,
                lambda task: not mismatches(task, expected),
                duration=self.config.effective_hold_time(),
                interval=self.config.poll_interval,
                expected=f"task {self.task_id} pending (nobody selectable may hold it)",
                describe=lambda task: "; ".join(mismatches(task, expected)),
            )

    def wait_task_accepted(self, user: str | None, seconds: float | None = None) -> dict[str, Any]:
        """Poll the task (GET `get_task`) until the user holds it (accepted, where the state's name
        is known), up to `seconds` or `wait_timeout`; fail with who holds it in which State."""
        user_id = self.user_id(user)
        states = self.task_states()
        accepted = states.get("accepted") if states else None

        def done(task: dict[str, Any]) -> bool:
            holder = task.get("ReservedUserObject") or {}
            return holder.get("Id") == user_id and (accepted is None or task.get("State") == accepted)

        with self.client.polling():
            return wait_until(
                self.task,
                done,
                timeout=self.config.wait_timeout if seconds is None else seconds,
                interval=self.config.poll_interval,
                expected=f"task {self.task_id} held by {self.ref(user)}"
                + (f" in state {accepted!r}" if accepted else ""),
                describe=describe_task,
            )

    def check_task_offered(self, user: str | None) -> None:
        """GET the task once and assert the user holds it but has not accepted it yet (State
        checked where its name is known)."""
        task = self.task()
        holder = (task.get("ReservedUserObject") or {}).get("SipUri")
        states = self.task_states()
        offered = states.get("offered") if states else None
        if holder != self.sip(user) or (offered and task.get("State") != offered):
            raise AssertionError(
                f"task {self.task_id}: expected offered to {self.sip(user)}; got {describe_task(task)}"
            )

    def close_task(self) -> Exchange:
        """Send `close_task` for the scenario's task (by TaskId or ExternalTaskId, as `close_by`
        says; 204 or 200); closed, it no longer needs closing afterwards."""
        if self.task_id is None:
            raise AssertionError("no task was posted in this scenario")
        identifier = self.config.close_identifier(self.task_id, str(self.external_task_id))
        self.last = self.client.send("close_task", {"taskIdentifier": identifier})
        self.closed_elsewhere()
        return self.last

    def closed_elsewhere(self) -> None:
        """The scenario's task was closed by a call of the caller's own: no close is needed
        afterwards. Sends nothing."""
        if self._close_undo is not None:
            self.restore.discard(self._close_undo)
            self._close_undo = None

    def task(self) -> dict[str, Any]:
        """GET the scenario's task by its TaskId (`get_task`, 200, task schema); fails when none was posted."""
        if self.task_id is None:
            raise AssertionError("no task was posted in this scenario")
        return self.client.get_task(self.task_id)

    def read_task_by(self, key: str) -> dict[str, Any]:
        """GET the scenario's task (`get_task`) by the TaskId LUCS answered or by the ExternalTaskId
        it was posted with (`key`); kept as `read_task`."""
        identifiers = {"TaskId": self.task_id, "ExternalTaskId": self.external_task_id}
        identifier = identifiers[key]
        if identifier is None:
            raise AssertionError("no task was posted in this scenario")
        self.last = self.client.send("get_task", {"taskIdentifier": identifier})
        self.read_task = self.last.response_body
        return self.read_task

    def list_service_tasks(self) -> list[dict[str, Any]]:
        """GET the configured service's tasks (`service_tasks`, 200, task-list schema); kept as `service_tasks`."""
        self.last = self.client.send("service_tasks", {"serviceId": self.config.service_id})
        self.service_tasks = self.last.response_body
        return self.service_tasks

    # ---- services --------------------------------------------------------------------------

    def list_services(self) -> list[dict[str, Any]]:
        """GET the services (`list_services`, 200, service-list schema); kept as `services`."""
        self.last = self.client.send("list_services")
        self.services = self.last.response_body
        return self.services

    # ---- callbacks -------------------------------------------------------------------------

    def callback_for(self, *, due_now: bool = False, **fields: Any) -> dict[str, Any]:
        """A callback to the target user for the configured service, with a fresh ExternalTaskId and
        the scenario's CallerId (so a search can find this scenario's callbacks alone), due in an
        hour unless `due_now`; `fields` replace or add fields. Sends nothing but a lookup of the
        target user's SIP URI when it was given as a GUID."""
        body: dict[str, Any] = {
            "Target": self.sip(None),
            "SecondsBetweenRetries": 0,
            "Priority": "Normal",
            "ServiceId": self.config.service_id,
            "ExternalTaskId": harness_id(),
            "CallerId": self._caller_id,
            "Description": "requested by the LUCS acceptance harness",
        }
        if not due_now:
            body["DueDate"] = (self._target_now() + CALLBACK_DUE_IN).isoformat().replace("+00:00", "Z")
        return body | fields

    def _target_now(self) -> datetime:
        """The target's time: the embedded mock's simulated clock, else this machine's (a dry run
        prints what a real run would send)."""
        if self.control is None or not self.config.is_mock:
            return datetime.now(UTC)
        return datetime.fromisoformat(str(self.control.state()["now"]))

    def request_callback(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST `create_callback` with `body` (callback-request schema; the answer: callback
        schema), having registered its cancel first; the scenario calls it `name` (`callbacks`)."""
        undo = self._register_cancel(body)
        try:
            self.last = self.client.send("create_callback", body=body)
        except UnexpectedStatus:
            self._forget_if_refused(undo, self.client.last_exchange)
            raise
        self.callback_requests[name], self.callbacks[name] = body, self.last.response_body
        self._cancel_undos[name] = undo
        return self.callbacks[name]

    def try_request_callback(self, body: dict[str, Any]) -> Exchange:
        """POST `create_callback` with `body` unchecked and accept any status: for negative
        scenarios. Its cancel is registered all the same, in case LUCS takes what it should refuse."""
        undo = self._register_cancel(body)
        self.last = self.client.send("create_callback", body=body, expect=ANY_STATUS, check_request=False)
        self._forget_if_refused(undo, self.last)
        return self.last

    def _register_cancel(self, body: dict[str, Any]) -> Undo:
        """The undo of a callback request, on disk before it is sent. LUCS answers the callback's
        GUID only once it exists, so the undo finds it by the ExternalTaskId sent, then cancels it."""
        external = str(body["ExternalTaskId"])
        return self.restore.register(
            f"cancel callback {external}",
            "cancel_callback",
            {},
            gone=CALLBACK_GONE,
            lookup=Lookup("get_callback", {"externalTaskId": external}, "Id", "callbackId"),
        )

    def _forget_if_refused(self, undo: Undo, exchange: Exchange | None) -> None:
        """A 4xx created nothing, nor did a 307 or 308 (go elsewhere, not followed); after a 5xx, no
        answer or a 302/303 (the usual answer to a POST that was done) it may exist: the undo stays."""
        if exchange is not None and (400 <= (exchange.status or 0) < 500 or exchange.status in (307, 308)):
            self.restore.discard(undo)

    def requested(self, name: str) -> dict[str, Any]:
        """The callback the scenario calls `name`, as LUCS answered it; fails when there is none.
        Sends nothing."""
        if name not in self.callbacks:
            raise AssertionError(f"no callback {name!r} was requested in this scenario")
        return self.callbacks[name]

    @property
    def newest_callback(self) -> dict[str, Any]:
        """The callback requested last, as LUCS answered it; fails when none was. Sends nothing."""
        if not self.callbacks:
            raise AssertionError("no callback was requested in this scenario")
        return list(self.callbacks.values())[-1]

    def read_callback_of(self, name: str) -> dict[str, Any]:
        """GET a callback (`get_callback`, callback schema) by the ExternalTaskId it was requested
        with; kept as `read_callback`."""
        self.requested(name)
        external = str(self.callback_requests[name]["ExternalTaskId"])
        self.last = self.client.send("get_callback", {"externalTaskId": external})
        self.read_callback = self.last.response_body
        return self.read_callback

    def search_callbacks(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """POST `search_callbacks` with `query` (callback-search schema; the answer: callback-list
        schema); kept as `found_callbacks`."""
        self.last = self.client.send("search_callbacks", body=query)
        self.found_callbacks = self.last.response_body
        return self.found_callbacks

    def search_own_callbacks(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """`search_callbacks` among the callbacks this scenario requested (`query` with its CallerId)."""
        return self.search_callbacks(query | {"CallerId": self._caller_id})

    def callback_names(self, callbacks: list[dict[str, Any]]) -> list[str]:
        """The scenario's names of callbacks, in their order; another's as its ExternalTaskId.
        Sends nothing."""
        names = {str(answer["Id"]): name for name, answer in self.callbacks.items()}
        return [names.get(str(c.get("Id")), f"another ({c.get('ExternalTaskId')})") for c in callbacks]

    def cancel_callback(self, name: str) -> Exchange:
        """POST `cancel_callback` for the callback the scenario calls `name` (200 or 204, no body);
        cancelled, it no longer needs cancelling afterwards."""
        self.last = self.client.send("cancel_callback", {"callbackId": str(self.requested(name)["Id"])})
        undo = self._cancel_undos.pop(name, None)
        if undo is not None:
            self.restore.discard(undo)
        return self.last

    def try_cancel_callback(self, callback_id: str) -> Exchange:
        """POST `cancel_callback` by GUID and accept any status: for refusals (the next step judges `last`)."""
        self.last = self.client.send("cancel_callback", {"callbackId": callback_id}, expect=ANY_STATUS)
        return self.last

    def wait_until_not_pending(self, name: str) -> None:
        """Poll this scenario's pending callbacks (`search_callbacks`) until `name` is not among
        them, up to `wait_timeout`; fail naming those still pending."""
        callback_id = self.requested(name)["Id"]
        with self.client.polling():
            wait_until(
                lambda: self.search_own_callbacks({"State": CALLBACK_PENDING}),
                lambda found: all(c.get("Id") != callback_id for c in found),
                timeout=self.config.wait_timeout,
                interval=self.config.poll_interval,
                expected=f"callback {name!r} gone from the pending callbacks",
                describe=lambda found: "pending: " + (", ".join(self.callback_names(found)) or "none"),
            )
