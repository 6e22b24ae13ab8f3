"""The users facet of a scenario's world: listing, readiness, block and unblock, presence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lucs_harness.errors import ExpectationFailed, LucsError
from lucs_harness.expectations import mismatches
from lucs_harness.readiness import READY, RESTORE_HINT, find_listed, held_by, problems
from lucs_harness.waits import wait_until
from lucs_harness.world.core import ANY_STATUS, UNKNOWN_ID, Core

if TYPE_CHECKING:
    from lucs_harness.client import Exchange


@dataclass(repr=False)
class Users:
    """The service's users as the scenario saw them, and the changes made to them.

    A `user` argument is a SIP URI or a GUID, or None for the configured target user (in a parallel
    run, the agent leased to this worker).

    Attributes:
        listed: the service's users as last listed in this scenario (None: not listed yet).
        returned: the user the scenario's last block or unblock answered (None: none yet).
    """

    _core: Core
    listed: list[dict[str, Any]] | None = None
    returned: dict[str, Any] | None = None
    _ids: dict[str, str] = field(default_factory=dict)
    _first_seen: dict[str, dict[str, Any]] = field(default_factory=dict)

    # ---- what the scenario holds (sends nothing) -------------------------------------------

    def as_listed(self, user: str | None) -> dict[str, Any]:
        """The user in the list last fetched (`listed`); fails when none was, or naming who was
        listed when the user is absent. Sends nothing."""
        if self.listed is None:
            raise ExpectationFailed("no user list was fetched in this scenario")
        found = find_listed(self.listed, self._core.ref(user))
        if found is None:
            listed = ", ".join(str(u.get("SipUri")) for u in self.listed) or "nobody"
            raise ExpectationFailed(
                f"user {self._core.ref(user)} is not in the users of service {self._core.config.service_id} "
                f"(listed: {listed})"
            )
        return found

    def as_returned(self) -> dict[str, Any]:
        """The user the scenario's last block or unblock returned (`returned`); fails when none did.
        Sends nothing."""
        if self.returned is None:
            raise ExpectationFailed("no call in this scenario returned a user")
        return self.returned

    def presence_before(self, user: str | None) -> str:
        """The presence the user had when the scenario first listed them; fails when they were not
        listed before the change. Sends nothing."""
        found = self._first_seen.get(self._core.ref(user))
        if found is None:
            raise ExpectationFailed(
                f"the presence of {self._core.ref(user)} was not noted before the scenario changed anything"
            )
        return str(found["PresenceState"])

    # ---- reads -----------------------------------------------------------------------------

    def list_all(self) -> list[dict[str, Any]]:
        """GET the configured service's users (`list_users`, 200, user-list schema); kept as `listed`."""
        self.listed = self._core.client.list_users(self._core.config.service_id)
        return self.listed

    def fetch(self, user: str | None) -> dict[str, Any]:
        """GET the service's users (`list_all`) and return one (`as_listed`). Notes the user's GUID and,
        the first time, the user as found (see `fetch_as_found`)."""
        self.list_all()
        found = self.as_listed(user)
        self._ids[self._core.ref(user)] = str(found["Id"])
        self._first_seen.setdefault(self._core.ref(user), found)
        return found

    def fetch_as_found(self, user: str | None) -> dict[str, Any]:
        """The user as first listed in this scenario; GETs the service's users now if not yet (call
        it before a change, or the change is what it notes)."""
        ref = self._core.ref(user)
        return self._first_seen[ref] if ref in self._first_seen else self.fetch(user)

    def fetch_id(self, user: str | None) -> str:
        """The GUID of a user reference, looked up in the service's list (GET `list_users`) once per
        scenario."""
        ref = self._core.ref(user)
        if ref not in self._ids:
            self.fetch(user)
        return self._ids[ref]

    def fetch_sip(self, user: str | None) -> str:
        """The SIP URI of a user reference: as given, or looked up in the service's list (GET)."""
        ref = self._core.ref(user)
        return ref if ref.startswith("sip:") else str(self.fetch(user)["SipUri"])

    def fetch_why_not_ready(self, user: str | None) -> list[str]:
        """Why a user cannot start the use case (empty when selectable and not blocked): what the
        list shows (GET `list_users`), the open tasks they hold (GET `service_tasks`, only when not
        ready), and the command that repairs an earlier run's leftovers. Asserts nothing."""
        found = self.fetch(user)
        differ = mismatches(found, READY)
        if not differ:
            return []
        config = self._core.config
        try:
            tasks = self._core.client.send("service_tasks", {"serviceId": config.service_id}).response_body
        except LucsError as error:
            tasks, differ = [], [*differ, f"(the service's tasks could not be listed: {error})"]
        return [
            *differ,
            *problems(found, held_by(tasks, str(found.get("Id")), config)),
            f"to undo what an earlier run of this harness left: {RESTORE_HINT}",
        ]

    def require_ready(self, user: str | None) -> None:
        """Assert the user is selectable and not blocked (`fetch_why_not_ready` is empty); the
        failure lists why not and how to repair it."""
        found = self.fetch_why_not_ready(user)
        if found:
            raise ExpectationFailed(
                f"precondition failed: {self._core.ref(user)} must be selectable and not blocked before the "
                "scenario:\n  " + "\n  ".join(found)
            )

    def wait_for(self, user: str | None, expected: dict[str, Any]) -> dict[str, Any]:
        """Poll the service's users (GET `list_users`) until the user shows every field of
        `expected` (values and JSON types equal), up to `wait_timeout`; fail naming the differences."""
        with self._core.client.polling():
            return wait_until(
                lambda: self.fetch(user),
                lambda found: not mismatches(found, expected),
                timeout=self._core.config.wait_timeout,
                interval=self._core.config.poll_interval,
                expected=f"{self._core.ref(user)} as listed",
                describe=lambda found: "; ".join(mismatches(found, expected)),
            )

    # ---- guarded changes -------------------------------------------------------------------

    def block(self, user: str | None) -> dict[str, Any]:
        """POST `block_user` (200, user schema), having registered the unblock first (unless they
        were found blocked); the answer is kept as `returned`."""
        user_id, sip = self.fetch_id(user), self.fetch_sip(user)
        if not self.fetch_as_found(user)["IsBlockedByLuwareApi"]:
            self._core.restore.register(f"unblock {sip}", "unblock_user", {"userId": user_id}, sip=sip)
        return self._user_call("block_user", user_id)

    def unblock(self, user: str | None) -> dict[str, Any]:
        """POST `unblock_user` (200, user schema); a user found blocked (by someone else) is blocked
        again afterwards. The answer is kept as `returned`."""
        user_id, sip = self.fetch_id(user), self.fetch_sip(user)
        if self.fetch_as_found(user)["IsBlockedByLuwareApi"]:
            self._core.restore.register(f"block {sip} again", "block_user", {"userId": user_id}, sip=sip)
        return self._user_call("unblock_user", user_id)

    def _user_call(self, operation: str, user_id: str) -> dict[str, Any]:
        self.returned = self._core.send(operation, {"userId": user_id}).response_body
        return self.returned

    def try_on_unknown(self, operation: str) -> Exchange:
        """Send a user operation (`block_user`, `unblock_user`) for a well-formed GUID that names
        nobody, accepting any status: the next step judges `last`."""
        return self._core.send(operation, {"userId": UNKNOWN_ID}, expect=ANY_STATUS)

    def set_presence(self, user: str | None, presence: str, *, expect_error: bool = False) -> Exchange:
        """POST `set_presence` with `{presence_field: presence}`, having registered setting it back
        to what it was before the scenario; expects 200 with no body, or any status with
        `expect_error` (the next step judges `last`)."""
        user_id, sip = self.fetch_id(user), self.fetch_sip(user)
        before = str(self.fetch_as_found(user)["PresenceState"])
        self._core.restore.register(
            f"set presence of {sip} back to {before}",
            "set_presence",
            {"userId": user_id},
            {self._core.config.presence_field: before},
            sip=sip,
        )
        expect = ANY_STATUS if expect_error else None
        self._core.last = self._core.client.set_presence(user_id, presence, expect=expect)
        return self._core.last
