"""The one table of LUCS operations. The configuration's path defaults and their validation, the
client, the mock's routes and its OpenAPI document are all read from here, so they cannot drift.

Adding an endpoint (`docs/architecture.md`, at most six files): a schema in `schemas/`, one row
here, a domain method of the operation's name in the mock (its handler is built from the row), a
step, a feature, a test. Paths not documented by LUCS stay configurable (`paths` in the
configuration); the ones here are the defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# sent again on a connection error: reads only (a DELETE that reached LUCS would answer 404 the second time)
RETRIED_METHODS = frozenset({"GET"})
PARAMETER = re.compile(r"{(\w+)}")

HARNESS_TASK_PREFIX = "lucs-harness-"  # the ExternalTaskId of every task and callback the harness creates
_GUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_HARNESS_ID = re.escape(HARNESS_TASK_PREFIX) + r"[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{6}"
_SIP = r"sip:[A-Za-z0-9._~+-]+@[A-Za-z0-9.-]+"
# what a journaled undo may put in each path parameter: ids as LUCS or the harness make them, never a
# path segment of its own (`..`, `/`, `%2e`); checked in full (`fullmatch`)
PARAMETER_PATTERNS: dict[str, re.Pattern[str]] = {
    "userId": re.compile(f"{_GUID}|{_SIP}"),
    "taskIdentifier": re.compile(f"{_GUID}|{_HARNESS_ID}"),
    "callbackId": re.compile(_GUID),
    "externalTaskId": re.compile(_HARNESS_ID),
    "serviceId": re.compile(_GUID),
}
PARAMETERS: dict[str, tuple[str, dict[str, Any]]] = {
    "serviceId": ("the service's GUID", {"type": "string", "format": "uuid"}),
    "userId": ("the user's GUID", {"type": "string", "format": "uuid"}),
    "taskIdentifier": ("the task's GUID or its ExternalTaskId", {"type": "string", "minLength": 1}),
    "callbackId": ("the callback's GUID", {"type": "string", "format": "uuid"}),
    "externalTaskId": ("the callback's ExternalTaskId", {"type": "string", "minLength": 1}),
}  # name: (description, JSON Schema) of every parameter a template names, as the OpenAPI document says
SIP_URI = re.compile(_SIP)
# the setpresence body an undo sends: {<presence field>: <presence name>} (the field is configurable)
PRESENCE_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
PRESENCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,39}")


def route_of(template: str) -> str:
    """The path a server routes on: a template's part before its query (`?name={name}`), if any."""
    return template.partition("?")[0]


def query_parameters(template: str) -> tuple[str, ...]:
    """The `{name}` parameters of a template's query: sent percent-encoded like path parameters."""
    return tuple(PARAMETER.findall(template.partition("?")[2]))


@dataclass(frozen=True)
class LookupRule:
    """A read an undo may make first, when what it acts on gets its id only from the change's answer:
    `operation`'s answer's `field` becomes the undo's parameter `param`."""

    operation: str
    field: str
    param: str


@dataclass(frozen=True)
class UndoRule:
    """What makes an operation an undo a later run may replay from a journal: the change it
    reverses, its body (None: no body; "presence": one presence field and name), the statuses that
    mean nothing is left to undo, the reads it may make first, and how it reads in messages
    (`{user}`, `{presence}` and the parameters fill it in). A parameter the change has no path
    parameter of its own for comes from a field of the change's body (`keys`: parameter, field)."""

    reverses: str
    describe: str
    body: str | None = None
    gone: tuple[int, ...] = ()
    lookups: tuple[LookupRule, ...] = ()
    keys: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Operation:
    """One documented function of the LUCS API."""

    name: str
    method: str
    path: str  # default template, may end in a query; `{name}` parameters are percent-encoded by the client
    summary: str
    request: str | None = None  # schema (file stem in `schemas/`) of the body sent, None = no body
    response: str | None = None  # schema of the body answered, None = no body
    success: tuple[int, ...] = (200,)  # the mock answers the first; a real LUCS may answer any
    errors: tuple[int, ...] = ()  # refusals in the error envelope (documented in the OpenAPI)
    undo: UndoRule | None = None  # None: no journal entry may name it (a later run never replays it)
    changes: bool | None = None  # changes the target's state; None: every method but GET does
    reaches: tuple[str, Any] | None = None  # the user field it sets: a user found so has nothing to undo

    @property
    def changes_state(self) -> bool:
        """Guarded: a scenario that sends it is tagged @changes-state and journals its undo first."""
        return self.method != "GET" if self.changes is None else self.changes

    @property
    def idempotent(self) -> bool:
        """Safe to send again when no connection could be made (the client retries these alone)."""
        return self.method in RETRIED_METHODS

    @property
    def route(self) -> str:
        """The path the mock routes and the OpenAPI document describes (the template without its query)."""
        return route_of(self.path)

    @property
    def status(self) -> int:
        """The status the mock answers on success."""
        return self.success[0]

    @property
    def parameters(self) -> tuple[str, ...]:
        """The `{name}` parameters of the default template, path and query."""
        return tuple(PARAMETER.findall(self.path))


TASK_GONE = (404, 409, 410)  # closing a task that is closed already: nothing left to undo
CALLBACK_GONE = (404,)  # documented: a callback cancelled already, or not found


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation("list_services", "GET", "/v1.0/services", "List the services", response="service-list"),
        Operation(
            "list_users", "GET", "/v1.0/services/{serviceId}/users", "List a service's users",
            response="user-list", errors=(404,),
        ),
        Operation(
            "service_tasks", "GET", "/v1.0/services/{serviceId}/tasks", "List a service's tasks",
            response="task-list", errors=(404,),
        ),
        Operation(
            "block_user", "POST", "/v1.0/users/{userId}/block", "Block a user (takes them out of distribution)",
            response="user", errors=(404,), undo=UndoRule("unblock_user", "block {user} again"),
            reaches=("IsBlockedByLuwareApi", True),
        ),
        Operation(
            "unblock_user", "POST", "/v1.0/users/{userId}/unblock", "Unblock a user (pending tasks may go to them)",
            response="user", errors=(404,), undo=UndoRule("block_user", "unblock {user}"),
            reaches=("IsBlockedByLuwareApi", False),
        ),
        Operation(
            "set_presence", "POST", "/v1.0/users/{userId}/setpresence",
            "Set a user's presence; answers 200 with no body", request="presence-request", errors=(400, 404),
            undo=UndoRule("set_presence", "set presence of {user} back to {presence}", body="presence"),
        ),
        Operation(
            "create_task", "POST", "/v1.0/tasks", "Post an external task; answers the new task's id",
            request="task-request", response="task-id", errors=(400, 404, 409),
        ),
        Operation(
            "get_task", "GET", "/v1.0/tasks/{taskIdentifier}", "A task by its GUID or its ExternalTaskId",
            response="task", errors=(404,),
        ),
        Operation(
            "close_task", "DELETE", "/v1.0/tasks/{taskIdentifier}", "Close a task (assumed: not documented)",
            success=(204, 200), errors=(404, 409),
            undo=UndoRule(
                "create_task", "close task {taskIdentifier}", gone=TASK_GONE,
                lookups=(LookupRule("get_task", "Id", "taskIdentifier"),),  # close_by TaskId: by its ExternalTaskId
                keys=(("taskIdentifier", "ExternalTaskId"),),
            ),
        ),
        Operation(
            "create_callback", "POST", "/v1.0/callbacks", "Request a callback; answers it with the defaults filled",
            request="callback-request", response="callback", errors=(400, 404),
        ),
        Operation(
            "get_callback", "GET", "/v1.0/callbacks?externalTaskId={externalTaskId}",
            "A callback by its ExternalTaskId", response="callback", errors=(400, 404),
        ),
        Operation(
            "search_callbacks", "POST", "/v1.0/callbacks/search", "Search the callbacks; an empty body finds all",
            request="callback-search", response="callback-list", errors=(400,), changes=False,
        ),
        Operation(
            "cancel_callback", "POST", "/v1.0/callbacks/{callbackId}/cancel",
            "Cancel a callback by its GUID (assumed path; answers with no body)", success=(200, 204), errors=(404,),
            undo=UndoRule(
                "create_callback", "cancel callback {externalTaskId}", gone=CALLBACK_GONE,
                lookups=(LookupRule("get_callback", "Id", "callbackId"),),  # its GUID comes with the answer
                keys=(("externalTaskId", "ExternalTaskId"),),
            ),
        ),
    )
}  # fmt: skip

DEFAULT_PATHS: dict[str, str] = {name: op.path for name, op in OPERATIONS.items()}
