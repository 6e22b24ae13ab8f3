"""What every facet of a scenario's world shares: the run's configuration, the LUCS client, the
scenario's undos, the target user, the simulated LUCS (if any) and the scenario's last call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from lucs_harness.config import LucsConfig
from lucs_harness.journal import Undo
from lucs_harness.restore import RestoreRegistry

if TYPE_CHECKING:
    from lucs_harness.client import Exchange, LucsClient

TARGET = "target"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"  # a well-formed GUID that names nothing
ANY_STATUS = range(100, 600)  # a negative scenario judges the answer itself


class Simulation(Protocol):
    """What a scenario may ask of a simulated LUCS (the embedded mock): nothing of the mock's own
    code is needed here, so nothing of it is loaded against a real target."""

    task_states: dict[str, str]

    def reset(self) -> dict[str, Any]: ...

    def state(self) -> dict[str, Any]: ...

    def advance(self, seconds: float) -> str: ...


@dataclass(repr=False)
class Core:
    """The scenario's shared state, held by every facet (`World` documents each attribute)."""

    config: LucsConfig
    client: LucsClient
    restore: RestoreRegistry
    target_ref: str
    control: Simulation | None = None
    last: Exchange | None = None

    def __repr__(self) -> str:
        """Short, and free of credentials (the configuration holds them)."""
        return f"Core(target={self.target_ref!r}, last={self.last_call!r})"

    @property
    def last_call(self) -> str:
        """`METHOD URL -> status` of the scenario's last call, for messages."""
        return self.last.what if self.last else "no call yet"

    def ref(self, user: str | None) -> str:
        """A step's user reference: None or "target" mean the configured (or leased) target user."""
        return self.target_ref if user in (None, TARGET) else str(user)

    def send(self, operation: str, params: dict[str, str] | None = None, body: Any = None, **options: Any) -> Exchange:
        """`client.send(...)`, the exchange kept as `last` (the evidence `Then LUCS answers` judges)."""
        self.last = self.client.send(operation, params, body, **options)
        return self.last

    def forget_if_refused(self, undo: Undo, exchange: Exchange | None) -> None:
        """A 4xx created nothing, nor did a 307 or 308 (go elsewhere, not followed); after a 5xx, no
        answer or a 302/303 (the usual answer to a POST that was done) it may exist: the undo stays."""
        if exchange is not None and (400 <= (exchange.status or 0) < 500 or exchange.status in (307, 308)):
            self.restore.discard(undo)
