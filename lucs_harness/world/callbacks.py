"""The callbacks facet of a scenario's world: the callbacks it requests (by the names the scenario
gives them), reads back, searches and cancels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from lucs_harness.errors import ExpectationFailed, UnexpectedStatus
from lucs_harness.journal import Lookup, Undo
from lucs_harness.leftovers import harness_id
from lucs_harness.operations import CALLBACK_GONE
from lucs_harness.waits import wait_until
from lucs_harness.world.core import ANY_STATUS, Core
from lucs_harness.world.users import Users

if TYPE_CHECKING:
    from lucs_harness.client import Exchange

CALLBACK_PENDING = "Pending"  # documented state name
CALLBACK_DUE_IN = timedelta(hours=1)  # the suite's callbacks are due later: nobody dials them before the restore


@dataclass(repr=False)
class Callbacks:
    """The scenario's callbacks, each to the target user for the configured service, by the names
    the scenario gives them ("first", "unwanted").

    Attributes:
        answered: the scenario's callbacks as LUCS answered them, by name, in the order requested.
        sent: the same callbacks as they were sent, by name.
        read: the callback as last read by `fetch` (None: none read yet).
        found: the callbacks the last search found (None: no search yet).
    """

    _core: Core
    _users: Users
    answered: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    read: dict[str, Any] | None = None
    found: list[dict[str, Any]] | None = None
    _cancel_undos: dict[str, Undo] = field(default_factory=dict)
    _caller_id: str = field(default_factory=harness_id)

    # ---- what the scenario holds (sends nothing) -------------------------------------------

    def as_answered(self, name: str) -> dict[str, Any]:
        """The callback the scenario calls `name`, as LUCS answered it; fails when there is none.
        Sends nothing."""
        if name not in self.answered:
            raise ExpectationFailed(f"no callback {name!r} was requested in this scenario")
        return self.answered[name]

    def newest(self) -> dict[str, Any]:
        """The callback requested last, as LUCS answered it; fails when none was. Sends nothing."""
        if not self.answered:
            raise ExpectationFailed("no callback was requested in this scenario")
        return list(self.answered.values())[-1]

    def external_id_of(self, name: str) -> str:
        """The ExternalTaskId the callback the scenario calls `name` was requested with; fails when
        there is none. Sends nothing."""
        self.as_answered(name)
        return str(self.sent[name]["ExternalTaskId"])

    def as_read(self) -> dict[str, Any]:
        """The callback as last read by `fetch` (`read`); fails when none was. Sends nothing."""
        if self.read is None:
            raise ExpectationFailed("no callback was read in this scenario")
        return self.read

    def as_found(self) -> list[dict[str, Any]]:
        """The callbacks the last search found (`found`); fails when there was no search. Sends
        nothing."""
        if self.found is None:
            raise ExpectationFailed("no callback search was made in this scenario")
        return self.found

    def names_of(self, callbacks: list[dict[str, Any]]) -> list[str]:
        """The scenario's names of callbacks, in their order; another's as its ExternalTaskId.
        Sends nothing."""
        names = {str(answer["Id"]): name for name, answer in self.answered.items()}
        return [names.get(str(c.get("Id")), f"another ({c.get('ExternalTaskId')})") for c in callbacks]

    def body_for(self, target: str, *, due_now: bool = False, **fields: Any) -> dict[str, Any]:
        """A callback to `target` (a SIP URI) for the configured service, with a fresh ExternalTaskId
        and the scenario's CallerId (so a search can find this scenario's callbacks alone), due in an
        hour unless `due_now`; `fields` replace or add fields. Sends nothing to LUCS (on the mock, the
        due date is read from its clock)."""
        body: dict[str, Any] = {
            "Target": target,
            "SecondsBetweenRetries": 0,
            "Priority": "Normal",
            "ServiceId": self._core.config.service_id,
            "ExternalTaskId": harness_id(),
            "CallerId": self._caller_id,
            "Description": "requested by the LUCS acceptance harness",
        }
        if not due_now:
            body["DueDate"] = (self._target_now() + CALLBACK_DUE_IN).isoformat().replace("+00:00", "Z")
        return body | fields

    def _target_now(self) -> datetime:
        """The target's time: the embedded mock's simulated clock, else this machine's (a dry run
        prints what a real run would send)."""
        control = self._core.control
        if control is None or not self._core.config.is_mock:
            return datetime.now(UTC)
        return datetime.fromisoformat(str(control.state()["now"]))

    # ---- calls -----------------------------------------------------------------------------

    def request(self, name: str, *, due_now: bool = False, **fields: Any) -> dict[str, Any]:
        """POST `create_callback` with `body_for` the target user (its SIP URI looked up, GET
        `list_users`, when given as a GUID), having registered its cancel first; the answer
        (callback schema) is kept as `answered[name]`, the body as `sent[name]`."""
        body = self.body_for(self._users.fetch_sip(None), due_now=due_now, **fields)
        undo = self._register_cancel(body)
        try:
            answer = self._core.send("create_callback", body=body)
        except UnexpectedStatus:
            self._core.forget_if_refused(undo, self._core.client.last_exchange)
            raise
        self.sent[name], self.answered[name] = body, answer.response_body
        self._cancel_undos[name] = undo
        return self.answered[name]

    def try_request(self, body: dict[str, Any]) -> Exchange:
        """POST `create_callback` with `body` unchecked and accept any status: for negative
        scenarios. Its cancel is registered all the same, in case LUCS takes what it should refuse."""
        undo = self._register_cancel(body)
        sent = self._core.send("create_callback", body=body, expect=ANY_STATUS, check_request=False)
        self._core.forget_if_refused(undo, sent)
        return sent

    def _register_cancel(self, body: dict[str, Any]) -> Undo:
        """The undo of a callback request, on disk before it is sent. LUCS answers the callback's
        GUID only once it exists, so the undo finds it by the ExternalTaskId sent, then cancels it."""
        external = str(body["ExternalTaskId"])
        return self._core.restore.register(
            f"cancel callback {external}",
            "cancel_callback",
            {},
            gone=CALLBACK_GONE,
            lookup=Lookup("get_callback", {"externalTaskId": external}, "Id", "callbackId"),
        )

    def fetch(self, name: str) -> dict[str, Any]:
        """GET a callback (`get_callback`, callback schema) by the ExternalTaskId it was requested
        with; kept as `read`."""
        self.read = self._core.send("get_callback", {"externalTaskId": self.external_id_of(name)}).response_body
        return self.read

    def search(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """POST `search_callbacks` with `query` (callback-search schema; the answer: callback-list
        schema); kept as `found`."""
        self.found = self._core.send("search_callbacks", body=query).response_body
        return self.found

    def search_own(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """`search` among the callbacks this scenario requested (`query` with its CallerId)."""
        return self.search(query | {"CallerId": self._caller_id})

    def cancel(self, name: str) -> Exchange:
        """POST `cancel_callback` for the callback the scenario calls `name` (200 or 204, no body);
        cancelled, it no longer needs cancelling afterwards."""
        sent = self._core.send("cancel_callback", {"callbackId": str(self.as_answered(name)["Id"])})
        undo = self._cancel_undos.pop(name, None)
        if undo is not None:
            self._core.restore.discard(undo)
        return sent

    def try_cancel(self, callback_id: str) -> Exchange:
        """POST `cancel_callback` by GUID and accept any status: for refusals (the next step judges `last`)."""
        return self._core.send("cancel_callback", {"callbackId": callback_id}, expect=ANY_STATUS)

    def wait_until_not_pending(self, name: str) -> None:
        """Poll this scenario's pending callbacks (`search_own`) until `name` is not among them, up
        to `wait_timeout`; fail naming those still pending."""
        callback_id = self.as_answered(name)["Id"]
        with self._core.client.polling():
            wait_until(
                lambda: self.search_own({"State": CALLBACK_PENDING}),
                lambda found: all(c.get("Id") != callback_id for c in found),
                timeout=self._core.config.wait_timeout,
                interval=self._core.config.poll_interval,
                expected=f"callback {name!r} gone from the pending callbacks",
                describe=lambda found: "pending: " + (", ".join(self.names_of(found)) or "none"),
            )
