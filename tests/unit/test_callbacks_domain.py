"""Callbacks on the mock, without HTTP and over it, and the restore that cancels them: the documented
defaults, service resolution, reading by ExternalTaskId, search, cancel, and the states on the clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from lucs_harness.client import Exchange, LucsClient
from lucs_harness.config import LucsConfig
from lucs_harness.contract import default_contract
from lucs_harness.coordination.files import Journal, read_journal
from lucs_harness.journal import Lookup, Seal, Undo
from lucs_harness.leftovers import harness_id
from lucs_harness.mock.domain import CALL_SECONDS, QUEUE_SECONDS, DomainError, Invalid, Lucs, NotFound
from lucs_harness.mock.faults import Fault, Faults
from lucs_harness.mock.faulty import FaultyLucs
from lucs_harness.mock.seed import load_seed
from lucs_harness.plugin.session import Target
from lucs_harness.restore import RestoreRegistry, performer
from lucs_harness.world import World

SERVICE = "7830678b-03b1-4e71-af33-a3987142519f"
INBOUND_ONLY = "sip:smoky.ins@dev.local"  # the seed's second service: Direction Type Inbound
UNKNOWN = "00000000-0000-4000-8000-000000000000"
UNDO = Undo(
    "cancel callback x",
    "cancel_callback",
    gone=(404,),
    lookup=Lookup("get_callback", {"externalTaskId": "x"}, "Id", "callbackId"),
)


@pytest.fixture
def lucs() -> Lucs:
    return Lucs(load_seed())


def documented(**changes: Any) -> dict[str, Any]:
    """The documented example request (by ServiceSip), changed."""
    body: dict[str, Any] = default_contract().example("callback-request.json")
    return body | changes


def states(lucs: Lucs, *external_ids: str) -> list[str]:
    return [lucs.get_callback(external)["State"] for external in external_ids]


def refused(kind: type[DomainError], call: Any, *args: Any) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args)
    assert type(caught.value) is kind, caught.value.message
    return caught.value


def test_a_new_callback_has_the_documented_defaults_and_fits_the_schema(lucs: Lucs) -> None:
    callback = lucs.create_callback(documented())
    assert default_contract().check("callback.json", callback).violations == ()
    assert {k: callback[k] for k in ("State", "Creator", "MaxRetries", "RetryType", "RetryCount")} == {
        "State": "Pending",
        "Creator": "Luware.API",
        "MaxRetries": 3,
        "RetryType": "SingleSession",
        "RetryCount": 0,
    }
    assert callback["LeftInQueueTimeInSeconds"] == 3600
    assert (callback["ServiceId"], callback["ServiceSip"]) == (SERVICE, None)  # the SIP address resolved
    assert callback["DueDate"] == "2026-01-01T08:00:00Z"  # due at once: the clock's start
    assert all(callback[k] is None for k in ("InitiatingSessionId", "Initiator", "Description", "ExternalTaskId"))
    assert default_contract().check("callback-list.json", lucs.search_callbacks({})).violations == ()


def test_given_fields_are_kept_and_integral_numbers_come_back_as_integers(lucs: Lucs) -> None:
    callback = lucs.create_callback(
        documented(MaxRetries=5.0, SecondsBetweenRetries=30.0, DueDate="2026-01-01T10:00:00+01:00", CallerId="c")
    )
    assert (callback["MaxRetries"], callback["SecondsBetweenRetries"], callback["CallerId"]) == (5, 30, "c")
    assert type(callback["MaxRetries"]) is int
    assert callback["DueDate"] == "2026-01-01T09:00:00Z"


def test_the_service_is_found_by_id_first_and_must_take_callbacks(lucs: Lucs) -> None:
    by_id = lucs.create_callback(documented(ServiceSip=INBOUND_ONLY, ServiceId=SERVICE))
    assert by_id["ServiceId"] == SERVICE
    inbound_only = refused(Invalid, lucs.create_callback, documented(ServiceSip=INBOUND_ONLY))
    assert inbound_only.code == "ServiceNotInboundOutbound"
    refused(NotFound, lucs.create_callback, documented(ServiceSip="sip:nobody@dev.local"))
    refused(NotFound, lucs.create_callback, documented(ServiceSip=None, ServiceId=UNKNOWN))
    refused(Invalid, lucs.create_callback, documented(ServiceSip=None))


def test_a_callback_is_read_by_its_external_task_id_the_open_one_first(lucs: Lucs) -> None:
    first = lucs.create_callback(documented(ExternalTaskId="x"))
    second = lucs.create_callback(documented(ExternalTaskId="x"))
    assert lucs.get_callback("x")["Id"] == second["Id"]
    lucs.cancel_callback(second["Id"])
    assert lucs.get_callback("x")["Id"] == first["Id"]
    refused(NotFound, lucs.get_callback, "nothing")


def test_search_filters_orders_and_pages(lucs: Lucs) -> None:
    ids = [lucs.create_callback(documented(ExternalTaskId=n, CallerId="me"))["Id"] for n in ("a", "b", "c")]
    lucs.create_callback(documented(ExternalTaskId="d", CallerId="someone else"))
    lucs.cancel_callback(ids[0])

    def found(**query: Any) -> list[str]:
        return [c["ExternalTaskId"] for c in lucs.search_callbacks(query)]

    assert found() == ["a", "b", "c", "d"]
    assert found(CallerId="me", State="Pending") == ["b", "c"]
    assert found(CallerId="me", SortOrder="Descending") == ["c", "b", "a"]
    assert found(CallerId="me", Offset=1, Limit=1) == ["b"]
    assert found(CallerId="me", Offset=1.0, Limit=0) == []
    assert found(ExternalTaskId="d", ServiceId=SERVICE) == ["d"]
    assert found(ServiceSip="SIP:smoky.car@dev.local", Target="sip:smoky.qq@dev.local", State="Terminated") == ["a"]
    assert found(ServiceSip=INBOUND_ONLY) == []
    assert found(StartDate="2026-01-01T08:00:00Z", EndDate="2026-01-01T08:00:00Z") == ["a", "b", "c", "d"]
    assert found(StartDate="2026-01-01T08:00:01Z") == []
    assert found(OrderBy="ExternalTaskId", SortOrder="Descending", Limit=2) == ["d", "c"]
    refused(Invalid, lucs.search_callbacks, {"OrderBy": "externaltaskid"})  # field names as the DTO spells them


@pytest.mark.parametrize(
    ("text", "read_as"),
    [
        ("2026-06-30T23:59:60Z", "2026-06-30T23:59:59Z"),  # a leap second: the second before it
        ("0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),  # year 0: the calendar's first instant
        ("0001-01-01T00:00:00+23:59", "0001-01-01T00:00:00Z"),
        ("9999-12-31T23:59:59-23:59", "9999-12-31T23:59:59.999999Z"),
        ("2026-01-01t08:00:00.123456789z", "2026-01-01T08:00:00.123456Z"),
    ],
)
def test_every_rfc_3339_date_time_is_read_as_the_nearest_instant_python_holds(
    lucs: Lucs, text: str, read_as: str
) -> None:
    assert lucs.create_callback(documented(DueDate=text))["DueDate"] == read_as
    assert len(lucs.search_callbacks({"StartDate": text, "EndDate": text})) == 1


def test_a_cancelled_callback_is_terminated_and_cannot_be_cancelled_again(lucs: Lucs) -> None:
    callback = lucs.create_callback(documented(ExternalTaskId="x"))
    lucs.cancel_callback(callback["Id"])
    assert states(lucs, "x") == ["Terminated"]
    assert lucs.search_callbacks({"State": "Pending"}) == []
    assert refused(NotFound, lucs.cancel_callback, callback["Id"]).code == "CallbackNotFound"
    refused(NotFound, lucs.cancel_callback, UNKNOWN)
    lucs.advance(3600)
    assert states(lucs, "x") == ["Terminated"]


def test_a_due_callback_is_queued_then_processed_then_terminated_on_the_clock(lucs: Lucs) -> None:
    lucs.create_callback(documented(ExternalTaskId="now"))
    lucs.create_callback(documented(ExternalTaskId="later", DueDate="2026-01-01T08:00:30Z"))
    assert states(lucs, "now", "later") == ["Pending", "Pending"]
    lucs.advance(1)
    assert states(lucs, "now", "later") == ["InQueue", "Pending"]
    lucs.advance(QUEUE_SECONDS - 1)
    assert states(lucs, "now", "later") == ["Processing", "Pending"]
    lucs.advance(20)
    assert states(lucs, "now", "later") == ["Processing", "InQueue"]
    lucs.advance(CALL_SECONDS)
    assert states(lucs, "now", "later") == ["Terminated", "Processing"]
    history = next(c for c in lucs.snapshot()["callbacks"] if c["ExternalTaskId"] == "now")["History"]
    assert [line.split(" ", 1)[1] for line in history] == [
        "requested, due 2026-01-01T08:00:00Z",
        "InQueue",
        "Processing",
        "Terminated",
    ]


def test_a_callback_due_before_now_is_queued_at_the_next_tick_and_time_never_runs_back(lucs: Lucs) -> None:
    lucs.advance(100)
    lucs.create_callback(documented(ExternalTaskId="late", DueDate="2026-01-01T08:00:00Z"))
    lucs.advance(0)
    assert states(lucs, "late") == ["InQueue"]
    assert lucs.snapshot()["now"] == "2026-01-01T08:01:40Z"


def _defaults_missing(lucs: Lucs) -> bool:
    return bool(lucs.create_callback(documented())["MaxRetries"] == 0)


def _never_queued(lucs: Lucs) -> bool:
    lucs.create_callback(documented())
    lucs.advance(100)
    return bool(lucs.search_callbacks({})[0]["State"] == "Pending")


def _still_pending_after_cancel(lucs: Lucs) -> bool:
    lucs.cancel_callback(lucs.create_callback(documented())["Id"])
    return len(lucs.search_callbacks({"State": "Pending"})) == 1


@pytest.mark.parametrize(
    ("fault", "broken"),
    [
        (Fault.CALLBACK_NO_DEFAULTS, _defaults_missing),
        (Fault.CALLBACK_NEVER_QUEUED, _never_queued),
        (Fault.CALLBACK_CANCEL_KEEPS_PENDING, _still_pending_after_cancel),
    ],
)
def test_each_callback_fault_breaks_its_behaviour_and_only_with_it(fault: Fault, broken: Any) -> None:
    assert broken(FaultyLucs(load_seed(), faults=Faults(frozenset({fault}))))
    assert not broken(Lucs(load_seed()))


# ---- over HTTP, and the restore that cancels a callback it knows only by its ExternalTaskId ----


def test_the_http_layer_refuses_bad_callback_calls_in_the_envelope(mock_target: Target) -> None:
    assert mock_target.control is not None
    mock_target.control.reset()
    base = mock_target.base_url
    with requests.Session() as http:
        calls = [
            http.get(f"{base}/v1.0/callbacks", timeout=5),
            http.get(f"{base}/v1.0/callbacks?externalTaskId=", timeout=5),
            http.post(f"{base}/v1.0/callbacks", json=documented(Priority="Urgent"), timeout=5),
            http.post(f"{base}/v1.0/callbacks", json=documented(Description="d" * 151), timeout=5),
            http.post(f"{base}/v1.0/callbacks/search", json={"SortOrder": "Sideways"}, timeout=5),
            http.post(f"{base}/v1.0/callbacks/{UNKNOWN}/cancel", timeout=5),
            http.post(f"{base}/v1.0/callbacks/not-a-guid/cancel", timeout=5),
            http.get(f"{base}/v1.0/callbacks?externalTaskId=nothing", timeout=5),
        ]
    assert [r.status_code for r in calls] == [400, 400, 400, 400, 400, 404, 404, 404]
    assert all(set(r.json()["Error"]) == {"Code", "Message"} for r in calls)


def test_the_restore_finds_the_callback_by_its_external_task_id_and_cancels_it(mock_target: Target) -> None:
    assert mock_target.control is not None
    mock_target.control.reset()
    client = LucsClient(LucsConfig(), mock_target.base_url)
    seen: list[Exchange] = []
    client.listeners.append(seen.append)
    client.send("create_callback", body=documented(ExternalTaskId="x"))
    performer(client)(UNDO, 5.0)
    assert [c["State"] for c in mock_target.control.state()["callbacks"]] == ["Terminated"]
    performer(client)(UNDO, 5.0)  # cancelled already: the cancel's 404 means nothing is left to undo
    mock_target.control.reset()
    del seen[:]
    performer(client)(UNDO, 5.0)  # never created: the lookup's 404 means the same, and nothing is cancelled
    assert [(e.operation, e.status) for e in seen] == [("get_callback", 404)]


def test_a_lookup_survives_the_journal(tmp_path: Path) -> None:
    seal = Seal(b"k" * 32, "0123456789abcdef")
    journal = Journal(tmp_path, seal)
    external = harness_id()
    undo = Undo(
        "cancel",
        "cancel_callback",
        gone=(404,),
        lookup=Lookup("get_callback", {"externalTaskId": external}, "Id", "callbackId"),
    )
    journal.add(undo)
    [read] = read_journal(journal.path, seal).undos
    assert (read.lookup, read.gone, read.description) == (undo.lookup, undo.gone, f"cancel callback {external}")
    journal.close()


def test_the_world_registers_a_cancel_for_every_callback_request_and_keeps_only_what_exists(
    mock_target: Target,
) -> None:
    assert mock_target.control is not None
    mock_target.control.reset()
    client = LucsClient(LucsConfig(), mock_target.base_url)
    registry = RestoreRegistry(performer(client))
    world = World(LucsConfig(), client, registry, "sip:smoky.cc@dev.local", control=mock_target.control)
    callbacks, target = world.callbacks, world.target_ref
    callbacks.try_request(callbacks.body_for(target, Priority="Urgent"))  # refused: nothing to cancel
    assert registry.pending == []
    callbacks.request("cancelled")
    callbacks.cancel("cancelled")  # cancelled by the scenario: nothing left to cancel
    assert registry.pending == []
    callbacks.try_request(callbacks.body_for(target, Description="taken although a try"))
    callbacks.request("kept")
    assert [u.description.split(" ")[:2] for u in registry.pending] == [["cancel", "callback"]] * 2
    assert registry.restore_all() == []
    assert [c["State"] for c in mock_target.control.state()["callbacks"]] == ["Terminated"] * 3
