"""The restore registry: every state change is registered *before* it is made and undone after
the scenario, in reverse order, whatever the scenario's outcome. What cannot be undone is kept
for the end-of-run report."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Undo:
    """One registered change and how to reverse it."""

    description: str
    action: Callable[[], Any]


@dataclass
class RestoreRegistry:
    """A scenario's pending undos and the run's failures to restore."""

    pending: list[Undo] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, description: str, action: Callable[[], Any]) -> Undo:
        """Remember how to undo a change that is about to be made."""
        undo = Undo(description, action)
        with self._lock:
            self.pending.append(undo)
        return undo

    def discard(self, undo: Undo) -> None:
        """Forget an undo whose change turned out not to need reversing."""
        with self._lock:
            if undo in self.pending:
                self.pending.remove(undo)

    def restore_all(self) -> list[str]:
        """Run every pending undo, newest first; return (and keep) the ones that failed."""
        with self._lock:
            todo, self.pending = list(reversed(self.pending)), []
        failed = []
        for undo in todo:
            try:
                undo.action()
            except Exception as error:  # noqa: BLE001 - every undo must get its chance
                failed.append(f"{undo.description}: {type(error).__name__}: {error}")
        with self._lock:
            self.failures += failed
        return failed
