"""The mock's clock: simulated time the harness advances, so a 50 s RONA takes no real time."""

from __future__ import annotations

import threading
from bisect import bisect_left, insort
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

EPOCH = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
Entry = tuple[datetime, str, str]  # (when, tie-break among equal moments, owner)


class SimulatedClock:
    """Time that moves only when told to; starts at a fixed instant so runs are deterministic."""

    def __init__(self, start: datetime = EPOCH) -> None:
        self._start = start
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The current simulated instant (UTC)."""
        return self._now

    def advance(self, seconds: float) -> datetime:
        """Move time forward; negative steps are refused because deadlines never run backwards."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def reset(self) -> None:
        """Back to the start instant."""
        with self._lock:
            self._now = self._start


class Timeline:
    """Moments to come, in order, each owned by something that can change them: the next one is the
    first entry, not a scan of everything that waits (not thread-safe: its owner holds a lock)."""

    def __init__(self) -> None:
        self._entries: list[Entry] = []
        self._of: dict[str, list[Entry]] = {}

    def set(self, owner: str, moments: Iterable[datetime | None], tie: str) -> None:
        """`owner`'s moments from now on (None counts as none), replacing those it had."""
        for entry in self._of.pop(owner, ()):
            del self._entries[bisect_left(self._entries, entry)]
        entries = [(moment, tie, owner) for moment in moments if moment is not None]
        for entry in entries:
            insort(self._entries, entry)
        if entries:
            self._of[owner] = entries

    def first(self) -> Entry | None:
        """The earliest moment, its tie-break and its owner."""
        return self._entries[0] if self._entries else None

    def __len__(self) -> int:
        return len(self._entries)
