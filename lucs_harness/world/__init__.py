"""One scenario's world: the configured target, what the scenario has seen so far, and the
guarded state changes (each registered for restore before it is sent), in four facets (users,
tasks, callbacks, services) around a small shared core."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lucs_harness.config import LucsConfig
from lucs_harness.journal import Undo
from lucs_harness.restore import RestoreRegistry
from lucs_harness.world.callbacks import Callbacks
from lucs_harness.world.core import ANY_STATUS, TARGET, UNKNOWN_ID, Core, Simulation
from lucs_harness.world.services import Services
from lucs_harness.world.tasks import DEFAULT_RONA_SECONDS, Tasks
from lucs_harness.world.users import Users

if TYPE_CHECKING:
    from lucs_harness.client import Exchange, LucsClient

__all__ = ["ANY_STATUS", "DEFAULT_RONA_SECONDS", "TARGET", "UNKNOWN_ID", "Simulation", "World"]


class World:
    """The `world` fixture: what the steps of one scenario share, and the calls they make through it.

    A step of your own takes `world` and calls the methods of its facets (`world.users`,
    `world.tasks`, `world.callbacks`, `world.services`); each says what it sends and what it
    asserts. A method that sends is named for what it does (`list_all`, `fetch...`, `block`,
    `post`, `search`, `wait...`, `try...`); an accessor (`as_...`, `presence_before`, `newest`)
    sends nothing: it reads what the scenario holds already and fails, saying so, when that was
    not fetched. Every call goes through `client.send`: the request body is checked against its
    JSON Schema before it is sent, the status must be the operation's success status (unless the
    method says it takes any answer), the response body is checked against its schema, and
    otherwise an `AssertionError` naming `METHOD URL -> status` fails the step. The call is kept as
    `last`, which `Then LUCS answers <status>` and the failure messages read.

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
        last: the scenario's last call through a facet, an `Exchange`: method, url, status,
            request_body, response_body, response_text (None: no call yet).
        users: the service's users: listing, readiness, block and unblock, presence.
        tasks: the scenario's external task: posting, watching, reading, closing; the service's tasks.
        callbacks: the scenario's callbacks by name: requesting, reading, searching, cancelling.
        services: the services LUCS lists.
    """

    users: Users
    tasks: Tasks
    callbacks: Callbacks
    services: Services

    def __init__(
        self,
        config: LucsConfig,
        client: LucsClient,
        restore: RestoreRegistry,
        target_ref: str,
        control: Simulation | None = None,
    ) -> None:
        self._core = core = Core(config, client, restore, target_ref, control)
        self.users = Users(core)
        self.tasks = Tasks(core, self.users)
        self.callbacks = Callbacks(core, self.users)
        self.services = Services(core)

    def __repr__(self) -> str:
        """Short, and free of credentials: reports list step arguments by their repr."""
        return f"World(target={self.target_ref!r}, last={self.last_call!r})"

    @property
    def config(self) -> LucsConfig:
        return self._core.config

    @property
    def client(self) -> LucsClient:
        return self._core.client

    @property
    def restore(self) -> RestoreRegistry:
        return self._core.restore

    @property
    def target_ref(self) -> str:
        return self._core.target_ref

    @property
    def control(self) -> Simulation | None:
        return self._core.control

    @property
    def last(self) -> Exchange | None:
        return self._core.last

    @property
    def last_call(self) -> str:
        """`METHOD URL -> status` of the scenario's last call, for messages."""
        return self._core.last_call

    def send(self, operation: str, params: dict[str, str] | None = None, body: Any = None, **options: Any) -> Exchange:
        """Sends: any operation of the table, checked as every call is, kept as `last` (the operation
        steps call the table by name through it)."""
        return self._core.send(operation, params, body, **options)

    def forget_if_refused(self, undo: Undo, exchange: Exchange | None) -> None:
        """Drop `undo` when `exchange` shows its change was not made (a 4xx, a 307 or 308)."""
        self._core.forget_if_refused(undo, exchange)

    def ref(self, user: str | None) -> str:
        """A step's user reference: None or "target" mean the configured (or leased) target user.
        Sends nothing."""
        return self._core.ref(user)
