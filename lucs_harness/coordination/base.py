"""The interface both coordination stores implement, and what they share: this process's run
token, the lease wait, and the store's errors."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Protocol

from lucs_harness.errors import CoordinationError, JournalKeyError, PoolExhausted
from lucs_harness.exit_codes import USAGE
from lucs_harness.journal import Seal, Undo
from lucs_harness.journal_key import journal_seal

if TYPE_CHECKING:
    from lucs_harness.config import LucsConfig

# this process's run: stamped into every task and callback it creates (`leftovers.harness_id`), so
# a later run can ask the store whether the run that made one is still alive
RUN_TOKEN = uuid.uuid4().hex[:8]
LEASE_POLL = 0.05  # seconds between two looks at a pool whose agents are all leased


def store_seal(config: LucsConfig) -> Seal:
    """The target's journal seal; a key that cannot be had ends the run as a configuration error."""
    try:
        return journal_seal(config)
    except JournalKeyError as error:
        raise CoordinationError(str(error), USAGE) from None


class Lease(Protocol):
    agent: str

    def release(self) -> None: ...


class RunJournal(Protocol):
    """A process's restore journal: an undo is stored before its change is sent."""

    def add(self, undo: Undo) -> None: ...

    def cross_out(self, undo: Undo) -> None: ...

    def close(self) -> None: ...


class Leftover(Protocol):
    """A dead run's open undos, claimed by this process while it replays them; what of its journal
    was rejected (kept aside, each a printable line saying what was wrong), and notes."""

    undos: list[Undo]
    rejected: list[str]
    notes: list[str]

    @property
    def name(self) -> str:
        """Which run left it, for messages."""
        ...

    def cross_out(self, undo: Undo) -> None: ...

    def release(self, *, finished: bool) -> None: ...


class Coordination(Protocol):
    """Where the runs against one target (base URL and service) meet."""

    where: str  # for messages: "files on this machine (...)" or the store's URL without its password
    token: str  # this run's, stamped into what it creates (`RUN_TOKEN` but in tests)

    def try_lease(self, agent: str, holder: str) -> Lease | None:
        """The agent's lease, or None at once when a live run holds it."""
        ...

    def is_leased(self, agent: str) -> bool:
        """True when a live run holds the agent's lease right now (this process holds none)."""
        ...

    def journal(self) -> RunJournal: ...

    def leftovers(self) -> Iterator[Leftover]:
        """The open undos of runs that are no longer alive, each claimed while it is replayed."""
        ...

    def run_alive(self, token: str) -> bool | None:
        """Whether the run with this token is alive; None when the store cannot tell."""
        ...

    def lost(self) -> str | None:
        """Why the store can no longer be used mid-run (None while it can)."""
        ...

    def close(self) -> None: ...


def lease_agent(
    store: Coordination,
    pool: list[str],
    holder: str,
    wait: float,
    say: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
) -> Lease:
    """The first free agent of the pool; while live runs hold them all, wait up to `wait` seconds,
    saying once when the wait starts and once when it ends. `PoolExhausted` past it."""
    started = clock()
    waiting = False
    while True:
        for agent in pool:
            lease = store.try_lease(agent, holder)
            if lease is not None:
                if waiting:
                    say(f"lease wait over: {agent} free after {clock() - started:.1f} s")
                return lease
        left = started + wait - clock()
        if left <= 0:
            raise PoolExhausted(
                f"all {len(pool)} agent(s) of the pool stayed leased by other live runs for {wait:g} s "
                f"(--lucs-lease-wait): {', '.join(pool)}; add agents (--lucs-agents) or run fewer at once"
            )
        if not waiting:
            say(
                f"all {len(pool)} agent(s) of the pool are leased by other live runs ({store.where}); "
                f"waiting up to {wait:g} s for one (--lucs-lease-wait)"
            )
            waiting = True
        time.sleep(min(LEASE_POLL, left))
