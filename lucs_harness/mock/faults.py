"""Fault modes: each breaks exactly one documented LUCS behaviour, to prove the suite notices.

This module names them (`Fault`, `DESCRIPTIONS`) and holds the switch of those on (`Faults`);
`faulty.py` makes them: one that breaks what LUCS does or reports in `FaultyLucs`, over the faithful
rules (`domain.Lucs`, which know none); one that breaks only how an answer is sent (its status, its
form: a field's type, a field missing, not JSON, too slow) in `WIRE`, around the HTTP handlers.
"""

from __future__ import annotations

import threading
from enum import StrEnum


class Fault(StrEnum):
    """A named misbehaviour; the value is the name used on the command line and control endpoint."""

    BLOCK_NO_FLAG = "block-no-flag"
    BLOCK_STAYS_SELECTABLE = "block-stays-selectable"
    BLOCK_WRONG_REASON = "block-wrong-reason"
    BLOCK_CHANGES_PRESENCE = "block-changes-presence"
    DISTRIBUTES_TO_BLOCKED = "distributes-to-blocked"
    UNBLOCK_NO_DISTRIBUTION = "unblock-no-distribution"
    ACCEPT_NO_REASON = "accept-no-reason"
    UNBLOCK_KEEPS_BLOCKED = "unblock-keeps-blocked"
    PRESENCE_RETURNS_BODY = "presence-returns-body"
    PRESENCE_WRONG_STATUS = "presence-wrong-status"
    PRESENCE_IGNORED = "presence-ignored"
    LIST_OMITS_USER = "list-omits-user"
    WRONG_TYPE = "wrong-type"
    MISSING_FIELD = "missing-field"
    LIST_500 = "list-500"
    NOT_JSON = "not-json"
    SLOW_RESPONSE = "slow-response"
    RONA_NEVER_FIRES = "rona-never-fires"
    SERVICES_OMIT_FIRST = "services-omit-first"
    TASKS_OMIT_NEWEST = "tasks-omit-newest"
    TASK_BY_EXTERNAL_ID_MISSING = "task-by-external-id-missing"
    CALLBACK_NO_DEFAULTS = "callback-no-defaults"
    CALLBACK_BY_EXTERNAL_ID_WRONG = "callback-by-external-id-wrong"
    CALLBACK_SEARCH_IGNORES_STATE = "callback-search-ignores-state"
    CALLBACK_SEARCH_IGNORES_PAGING = "callback-search-ignores-paging"
    CALLBACK_SEARCH_IGNORES_SORT_ORDER = "callback-search-ignores-sort-order"
    CALLBACK_CANCEL_KEEPS_PENDING = "callback-cancel-keeps-pending"
    CALLBACK_NEVER_QUEUED = "callback-never-queued"
    UNBLOCK_FAILS_ONCE = "unblock-fails-once"

    @property
    def description(self) -> str:
        """One line saying what the fault breaks."""
        return DESCRIPTIONS[self]


DESCRIPTIONS: dict[Fault, str] = {
    Fault.BLOCK_NO_FLAG: "block does not set IsBlockedByLuwareApi",
    Fault.BLOCK_STAYS_SELECTABLE: "block leaves IsSelectable true",
    Fault.BLOCK_WRONG_REASON: "block sets NotSelectableReason to 'Busy' instead of 'InAServiceTask'",
    Fault.BLOCK_CHANGES_PRESENCE: "block changes PresenceState to DoNotDisturb",
    Fault.DISTRIBUTES_TO_BLOCKED: "a task is distributed to a blocked user",
    Fault.UNBLOCK_NO_DISTRIBUTION: "unblock does not distribute the pending task",
    Fault.ACCEPT_NO_REASON: "an accepted task leaves NotSelectableReason null",
    Fault.UNBLOCK_KEEPS_BLOCKED: "unblock leaves the user blocked",
    Fault.PRESENCE_RETURNS_BODY: "setpresence answers 200 with a JSON body",
    Fault.PRESENCE_WRONG_STATUS: "setpresence answers 202 instead of 200",
    Fault.PRESENCE_IGNORED: "setpresence answers 200 but does not change the presence",
    Fault.LIST_OMITS_USER: "the service's user list omits the first seeded user",
    Fault.WRONG_TYPE: "user DTOs carry IsSelectable as a string",
    Fault.MISSING_FIELD: "user DTOs lack the required PresenceState field",
    Fault.LIST_500: "the users list answers 500 in the error envelope",
    Fault.NOT_JSON: "the users list answers an HTML page",
    Fault.SLOW_RESPONSE: "the users list answers after the client's read timeout",
    Fault.RONA_NEVER_FIRES: "an offer nobody answers never times out (no RONA)",
    Fault.SERVICES_OMIT_FIRST: "the services list omits the first seeded service",
    Fault.TASKS_OMIT_NEWEST: "the service's task list omits its newest task",
    Fault.TASK_BY_EXTERNAL_ID_MISSING: "GET tasks/{taskIdentifier} answers 404 for an ExternalTaskId",
    Fault.CALLBACK_NO_DEFAULTS: "a new callback lacks the documented defaults (MaxRetries 0, RetryType null, "
    "LeftInQueueTimeInSeconds 0)",
    Fault.CALLBACK_BY_EXTERNAL_ID_WRONG: "GET callbacks?externalTaskId= answers the oldest callback, whatever the id",
    Fault.CALLBACK_SEARCH_IGNORES_STATE: "the callback search ignores its State filter",
    Fault.CALLBACK_SEARCH_IGNORES_PAGING: "the callback search ignores Limit and Offset",
    Fault.CALLBACK_SEARCH_IGNORES_SORT_ORDER: "the callback search ignores SortOrder Descending",
    Fault.CALLBACK_CANCEL_KEEPS_PENDING: "cancel answers 200 but the callback stays Pending",
    Fault.CALLBACK_NEVER_QUEUED: "a due callback never leaves Pending on the mock clock",
    Fault.UNBLOCK_FAILS_ONCE: "the first unblock answers 503 and unblocks nobody (a transient failure: a retry passes)",
}


class UnknownFault(ValueError):
    """A fault name that is not in `Fault`."""


def parse_faults(names: list[str] | tuple[str, ...]) -> frozenset[Fault]:
    """Turn names into faults, naming the known ones when a name is wrong."""
    faults = set()
    for name in names:
        try:
            faults.add(Fault(name))
        except ValueError:
            known = ", ".join(f.value for f in Fault)
            raise UnknownFault(f"unknown fault {name!r}; known faults: {known}") from None
    return frozenset(faults)


class Faults:
    """The thread-safe set of faults active right now."""

    def __init__(self, active: frozenset[Fault] = frozenset()) -> None:
        self._active = active
        self._spent: set[Fault] = set()
        self._lock = threading.Lock()

    def __contains__(self, fault: Fault) -> bool:
        return fault in self._active

    @property
    def active(self) -> frozenset[Fault]:
        """The active faults."""
        return self._active

    def set(self, faults: frozenset[Fault]) -> None:
        """Replace the active faults (a transient one strikes once again)."""
        with self._lock:
            self._active = faults
            self._spent -= faults

    def strikes_once(self, fault: Fault) -> bool:
        """True the first time a transient fault is consulted while active, then never again."""
        with self._lock:
            if fault not in self._active or fault in self._spent:
                return False
            self._spent.add(fault)
            return True
