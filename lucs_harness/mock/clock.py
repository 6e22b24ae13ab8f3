"""The mock's clock: simulated time the harness advances, so a 50 s RONA takes no real time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

EPOCH = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


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
