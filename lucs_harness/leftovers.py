"""What an earlier run left on a real LUCS, repaired before this run starts (and on demand by
`lucs-acceptance restore`): the undos of dead runs' journals, then open tasks and pending callbacks
the harness created (their ExternalTaskId starts with `TASK_PREFIX` and carries their creation
time and the run that made them). One whose run the coordination store knows is closed at once
when that run is dead and never touched while it lives; for the others (a run that used files on
another machine, a CI container thrown away with its journal) only age tells: they are closed
once older than `orphan_task_age`."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lucs_harness.config import LucsConfig
from lucs_harness.coordination import RUN_TOKEN, Coordination, Leftover
from lucs_harness.errors import CredentialsRefused, ExchangeTimeout, LucsError, TransportError, UnexpectedStatus
from lucs_harness.journal import Undo, printable
from lucs_harness.operations import HARNESS_TASK_PREFIX, OPERATIONS
from lucs_harness.operations import TASK_GONE as TASK_GONE
from lucs_harness.restore import Perform, performer

if TYPE_CHECKING:
    from lucs_harness.client import LucsClient

TASK_PREFIX = HARNESS_TASK_PREFIX
PROGRESS_EVERY = 100  # undos between two progress lines of a long replay
LINE_LIMIT = 400  # characters of one finding shown
_STAMPED = re.compile(re.escape(TASK_PREFIX) + r"([0-9a-f]{8})-")
_RUN = re.compile(re.escape(TASK_PREFIX) + r"[0-9a-f]{8}-([0-9a-f]{8})-[0-9a-f]{6}$")


def harness_id() -> str:
    """A fresh ExternalTaskId of the harness: the prefix, the creation time (hex Unix seconds, by
    this machine's clock, so an orphan's age never depends on the server's clock or time zone, or
    on the mock's simulated one), this process's run token and a random part."""
    return f"{TASK_PREFIX}{int(time.time()):08x}-{RUN_TOKEN}-{uuid.uuid4().hex[:6]}"


def run_of(external_task_id: str) -> str | None:
    """The run token in a harness id (None in an older harness's ids)."""
    found = _RUN.match(external_task_id)
    return found.group(1) if found else None


CLOSED_STATES = frozenset({"closed", "terminated", "completed", "finished", "cancelled", "canceled"})
REPAIR_COMMAND = "lucs-acceptance restore"  # with the run's target options
GONE_FOR_GOOD = "dropped from the journal: retrying cannot help"


@dataclass
class Findings:
    """What a repair found, a line each (printable: what a journal or a server says forges no
    output line), how many of those are still to be done, and how many journal entries were
    rejected (kept aside, never replayed)."""

    lines: list[str] = field(default_factory=list)
    unsettled: int = 0
    rejected: int = 0

    def settled(self, line: str) -> None:
        self.lines.append(printable(line, LINE_LIMIT))

    def left(self, line: str) -> None:
        self.settled(line)
        self.unsettled += 1

    def reject(self, line: str) -> None:
        self.settled(line)
        self.rejected += 1

    def extend(self, other: Findings) -> None:
        self.lines += other.lines
        self.unsettled += other.unsettled
        self.rejected += other.rejected

    def refusal(self) -> str | None:
        """Why the run ends before any scenario (exit 4), or None: a journal held entries that no
        run holding this target's key wrote, or that are no undo the harness replays."""
        if not self.rejected:
            return None
        entries = "entry" if self.rejected == 1 else "entries"
        return (
            f"the restore journal held {self.rejected} {entries} this run must not replay (listed above: kept "
            "aside, none of it sent); the usual cause is another journal key (changed credentials or "
            "LUCS_JOURNAL_KEY, another machine), else someone wrote to the journal"
        )


def repair(
    config: LucsConfig,
    client: LucsClient,
    store: Coordination,
    stop: Callable[[], bool] = lambda: False,
    say: Callable[[str], None] = lambda line: None,
) -> Findings:
    """Undo what dead runs journaled for this target, then close the harness's orphan tasks and
    cancel its orphan callbacks. `stop` says when to give up (a second Ctrl-C); `say` shows the
    progress of a long replay."""
    assert config.base_url is not None
    found = Findings()
    if replay_journals(config, client, store, found, stop, say) and not stop():
        found.extend(close_orphan_tasks(config, client, store))
        found.extend(cancel_orphan_callbacks(config, client, store))
    return found


def replay_journals(
    config: LucsConfig,
    client: LucsClient,
    store: Coordination,
    found: Findings,
    stop: Callable[[], bool],
    say: Callable[[str], None],
) -> bool:
    """Replay the open undos of dead runs' journals, each run's within `restore_timeout`, and
    report what was rejected in them. False when one is kept for later (stopped, out of time, an
    undo that may pass later): the rest waits for the next run."""
    perform = performer(client)
    for leftover in store.leftovers():
        for reason in leftover.rejected:
            found.reject(f"rejected from {leftover.name}: {reason}")
        for note in leftover.notes:
            found.settled(f"{leftover.name}: {note}")
        finished = replay(leftover, perform, found, Budget(config.restore_timeout, stop, say))
        leftover.release(finished=finished)
        if not finished:
            return False
    return True


@dataclass(frozen=True)
class Budget:
    """What bounds one dead run's replay: its seconds, the stop request, where progress goes."""

    seconds: float
    stop: Callable[[], bool]
    say: Callable[[str], None]


def replay(leftover: Leftover, perform: Perform, found: Findings, budget: Budget) -> bool:
    """Undo a dead run's open undos, newest first, within the budget; True when none is left."""
    todo = list(reversed(leftover.undos))
    deadline = time.monotonic() + budget.seconds
    if len(todo) > PROGRESS_EVERY:
        budget.say(f"replaying {len(todo)} undos left by {leftover.name} (within {budget.seconds:g} s)")
    for count, undo in enumerate(todo):
        if budget.stop():
            return False
        if count and count % PROGRESS_EVERY == 0 and time.monotonic() < deadline:
            budget.say(f"replayed {count} of {len(todo)} undos left by {leftover.name}")
        outcome = LATE if time.monotonic() >= deadline else undo_one(leftover, undo, perform, deadline, found)
        if outcome == LATE:
            tried = count + 1 if found.lines and found.lines[-1].startswith(CUT_OFF) else count
            found.left(
                f"not attempted: {len(todo) - tried} undo(s) left by {leftover.name}: the replay took its "
                f"{budget.seconds:g} s (restore_timeout); kept for the next run"
            )
            return False
        if outcome == KEEP:
            return False
    return True


CUT_OFF = "not undone, cut off by the replay's deadline, kept for the next run: "
DONE, KEEP, LATE = "done", "keep", "late"  # an undo of a dead run: crossed out, kept (may pass later), out of time


def undo_one(leftover: Leftover, undo: Undo, perform: Perform, deadline: float, found: Findings) -> str:
    """One undo of a dead run: DONE (crossed out), KEEP (it may pass later: keep the rest), or LATE
    (cut off by the replay's deadline: it and those after it are not attempted, and stay open)."""
    try:
        perform(undo, deadline - time.monotonic())
    except ExchangeTimeout as error:
        if time.monotonic() >= deadline:
            found.left(f"{CUT_OFF}{undo.description}: {error}")
            return LATE
        raise
    except LucsError as error:  # every failure of a call: a status, a body, no answer
        if may_pass_later(error):
            found.left(f"not undone, kept for the next run: {undo.description}: {error}")
            return KEEP
        found.left(f"could not undo {undo.description}: {error}; {GONE_FOR_GOOD}")
    else:
        found.settled(f"undone: {undo.description} (left by {leftover.name})")
    with suppress(OSError):  # a full disk: the entry stays open, a later run repeats it harmlessly
        leftover.cross_out(undo)
    return DONE


def orphaned(external_task_id: str, age: float | None, config: LucsConfig, store: Coordination) -> str | None:
    """Why a harness task or callback is an orphan to close now (None: leave it alone): its run is
    dead by the store, else it is older than `orphan_task_age`."""
    run = run_of(external_task_id)
    alive = store.run_alive(run) if run is not None else None
    if alive is not None:
        return None if alive else f"its run {run} is over"
    if age is None or age < config.orphan_task_age:
        return None
    return f"{age:.0f} s old"


def may_pass_later(error: LucsError) -> bool:
    """True for a failure a later try may not meet (no answer, refused credentials, a server error
    or a busy one); False for a refusal that will stand (a 4xx: the thing is gone, say)."""
    if isinstance(error, TransportError | CredentialsRefused):
        return True
    if not isinstance(error, UnexpectedStatus) or error.status is None:
        return False  # an answer that is not what LUCS documents (a body where none belongs): it will not change
    return not 400 <= error.status < 500 or error.status in (408, 429)


def is_closed(task: dict[str, Any], config: LucsConfig) -> bool:
    """True for a task in a final state (the configured `closed` name, else the usual ones)."""
    state = str(task.get("State") or "").lower()
    configured = (config.task_states or {}).get("closed")
    return state == configured.lower() if configured else state in CLOSED_STATES


def harness_tasks(config: LucsConfig, client: LucsClient) -> list[dict[str, Any]]:
    """The service's open tasks that this harness created."""
    tasks = client.send("service_tasks", {"serviceId": config.service_id}).response_body
    return [
        task
        for task in tasks if isinstance(tasks, list)
        if isinstance(task, dict)
        and str(task.get("ExternalTaskId") or "").startswith(TASK_PREFIX)
        and not is_closed(task, config)
    ]  # fmt: skip


def age_of(task: dict[str, Any], now: datetime) -> float | None:
    """Seconds since the task was created: by the time stamped in its ExternalTaskId, else by its
    `Created` (an id of an older harness); None when neither can be read."""
    stamped = _STAMPED.match(str(task.get("ExternalTaskId") or ""))
    if stamped:
        return now.timestamp() - int(stamped.group(1), 16)
    try:
        created = datetime.fromisoformat(str(task.get("Created")))
    except ValueError:
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return (now - created).total_seconds()


def close_orphan_tasks(config: LucsConfig, client: LucsClient, store: Coordination) -> Findings:
    """Close the harness's open tasks that are orphans (see `orphaned`); name the others, which may
    belong to a run that is still going."""
    found = Findings()
    if not config.close_tasks:
        return found
    try:
        tasks = harness_tasks(config, client)
    except LucsError as error:
        found.left(f"could not look for tasks an earlier run left open: {error}")
        return found
    now = datetime.now(UTC)
    for task in tasks:
        external = str(task["ExternalTaskId"])
        identifier = config.close_identifier(task.get("Id"), external)
        why = orphaned(external, age_of(task, now), config, store)
        if why is None:
            found.settled(f"left alone: task {external} is open, and its run may still be going")
            continue
        try:
            client.send(
                "close_task", {"taskIdentifier": identifier}, expect=(*OPERATIONS["close_task"].success, *TASK_GONE)
            )
        except LucsError as error:
            found.left(f"could not close task {external} that an earlier run left open: {error}")
        else:
            found.settled(f"closed: task {external} that an earlier run left open ({why})")
    return found


def cancel_orphan_callbacks(config: LucsConfig, client: LucsClient, store: Coordination) -> Findings:
    """Cancel the harness's pending callbacks that are orphans (see `orphaned`), so a run killed
    where its journal was lost leaves none to be dialled."""
    found = Findings()
    try:
        pending = client.send("search_callbacks", body={"State": "Pending"}).response_body
    except LucsError as error:
        found.left(f"could not look for callbacks an earlier run left pending: {error}")
        return found
    now = datetime.now(UTC)
    for callback in pending if isinstance(pending, list) else []:
        external = str(callback.get("ExternalTaskId") or "") if isinstance(callback, dict) else ""
        if not _STAMPED.match(external):
            continue
        why = orphaned(external, age_of({"ExternalTaskId": external}, now), config, store)
        if why is None:
            continue
        try:
            client.send("cancel_callback", {"callbackId": str(callback.get("Id"))}, expect=(200, 204, 404))
        except LucsError as error:
            found.left(f"could not cancel callback {external} that an earlier run left pending: {error}")
        else:
            found.settled(f"cancelled: callback {external} that an earlier run left pending ({why})")
    return found
