"""The restore registry: every state change is registered *before* it is made and undone after
the scenario, in reverse order, whatever the scenario's outcome. Against a real LUCS each undo is
also in the restore journal first, so what this process cannot undo a later run can. What cannot
be undone is kept for the end-of-run report."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lucs_harness.coordination.base import RunJournal
from lucs_harness.errors import JournalUnwritable, LucsError, Rejected, RunInterrupted
from lucs_harness.journal import Lookup, Undo, printable
from lucs_harness.operations import OPERATIONS, PARAMETER_PATTERNS, SIP_URI
from lucs_harness.reporting.faults import why

if TYPE_CHECKING:
    from lucs_harness.client import LucsClient

Perform = Callable[[Undo, float | None], Any]  # the undo, and the seconds left to the deadline
KEPT = "kept in the restore journal for the next run"
DEADLINE = "the restore deadline (restore_timeout)"  # what an undo's failure names when it passes
CUT_SHORT = "cut short by a second interrupt"


def performer(client: LucsClient) -> Perform:
    """Undo by sending the recorded call; a status of the undo's `gone` counts as undone. An undo
    with a lookup reads first what it acts on (both calls within the seconds left)."""

    def perform(undo: Undo, seconds_left: float | None) -> None:
        deadline = None if seconds_left is None else time.monotonic() + seconds_left
        params = undo.params
        if undo.lookup is not None:
            found = _look_up(client, undo.lookup, undo.gone, seconds_left)
            if found is None:
                return
            params = params | {undo.lookup.param: found}
        success = OPERATIONS[undo.operation].success
        with client.within(None if deadline is None else deadline - time.monotonic(), DEADLINE):
            client.send(undo.operation, params, undo.body, expect=(*success, *undo.gone), check_request=False)

    return perform


def _look_up(client: LucsClient, lookup: Lookup, gone: tuple[int, ...], seconds_left: float | None) -> str | None:
    """The value the undo needs, or None when the read answers one of `gone` (nothing to undo)."""
    success = OPERATIONS[lookup.operation].success
    with client.within(seconds_left, DEADLINE):
        found = client.send(lookup.operation, lookup.params, expect=(*success, *gone))
    if found.status in gone:
        return None
    body = found.response_body
    if not isinstance(body, dict) or body.get(lookup.field) is None:
        raise LucsError(f"{found.what}: the answer names no {lookup.field} to undo with")
    value = str(body[lookup.field])
    pattern = PARAMETER_PATTERNS.get(lookup.param)
    if pattern is not None and not pattern.fullmatch(value):  # an answer is no more trusted than a journal
        raise LucsError(f"{found.what}: {lookup.field} {printable(value, 60)!r} is not an id {lookup.param} takes")
    return value


@dataclass
class RestoreRegistry:
    """A scenario's pending undos and the run's failures to restore."""

    perform: Perform
    journal: RunJournal | None = None
    pending: list[Undo] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    cut_short: bool = False  # a second stop request came before the restore began: undo nothing, journal all
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def register(
        self,
        description: str,
        operation: str,
        params: dict[str, str],
        body: Any = None,
        gone: tuple[int, ...] = (),
        lookup: Lookup | None = None,
        sip: str | None = None,
    ) -> Undo:
        """Remember (on disk, where there is a journal) how to undo a change that is about to be made;
        `sip` names the user it acts on in a later run's messages. A journal refuses (`Rejected`)
        what a later run would not replay: the change must then not be made."""
        named = sip if sip is not None and SIP_URI.fullmatch(sip) else None  # a label a journal would refuse: none
        undo = Undo(description, operation, params, body, gone, lookup=lookup, sip=named)
        with self._lock:  # in memory first: a stop between the two leaves no entry on disk unaccounted for
            self.pending.append(undo)
        if self.journal is not None:
            try:
                self.journal.add(undo)
            except Rejected:
                self._forget(undo)
                raise
            except OSError as error:
                self._forget(undo)  # nothing is sent, so there is nothing to undo
                where = getattr(self.journal, "path", None)
                raise JournalUnwritable(
                    f"change not sent: its undo ({description}) could not be written to the restore journal"
                    f"{f' {where}' if where else ''}: {why(error)}"
                ) from None
        return undo

    def _forget(self, undo: Undo) -> None:
        with self._lock:
            if undo in self.pending:
                self.pending.remove(undo)

    def discard(self, undo: Undo) -> None:
        """Forget an undo whose change turned out not to need reversing."""
        self._forget(undo)
        self._cross_out(undo)

    def _cross_out(self, undo: Undo) -> None:
        """Mark an undo done (or not needed) in the journal. Should that fail (a full disk, a lost
        store), the undo still happened: the entry stays open, a later run repeats it harmlessly
        (its `gone` statuses count as undone), and the remaining undos go on."""
        if self.journal is not None:
            with suppress(Exception):
                self.journal.cross_out(undo)

    def restore_all(self, deadline: float | None = None) -> list[str]:
        """Run every pending undo, newest first, until `deadline` (time.monotonic); return (and
        keep) the ones that failed. Cut short by an interrupt, what is left stays journaled."""
        with self._lock:
            todo, self.pending = list(reversed(self.pending)), []
        failed: list[str] = []
        kept = f"; {KEPT}" if self.journal is not None else ""
        done = 0
        try:
            for undo in todo:
                if self.cut_short:
                    failed += [f"{u.description}: {CUT_SHORT}{kept}" for u in todo[done:]]
                    break
                if deadline is not None and time.monotonic() > deadline:
                    late = "not attempted, the restore deadline passed"
                    failed += [f"{u.description}: {late}{kept}" for u in todo[done:]]
                    break
                try:
                    self.perform(undo, None if deadline is None else deadline - time.monotonic())
                except Exception as error:  # noqa: BLE001 - every undo must get its chance
                    failed.append(f"{undo.description}: {type(error).__name__}: {error}{kept}")
                else:
                    self._cross_out(undo)
                done += 1
        except BaseException as stop:
            failed += [f"{u.description}: {stopped_by(stop)}{kept}" for u in todo[done:]]
            raise
        finally:
            with self._lock:
                self.failures += failed
        return failed


def stopped_by(stop: BaseException) -> str:
    """Why the undos after `stop` were not attempted: a second interrupt where it was one (the run
    was told to stop), else what was raised, so no other fault passes for an interrupt."""
    if isinstance(stop, RunInterrupted | KeyboardInterrupt):
        return CUT_SHORT
    return f"not attempted, the restore was stopped by {type(stop).__name__}: {stop}"
