"""The faults are made apart from the rules: `domain.Lucs` knows none, `faulty.py` makes each one,
and only a `FaultyLucs` can have one switched on. (That each fault breaks its behaviour and the
suite catches it is the self-test's part, `tests/selftest/`.)"""

from __future__ import annotations

import inspect
from typing import Any

from lucs_harness.mock import domain, faulty
from lucs_harness.mock.app import create_app
from lucs_harness.mock.domain import Lucs
from lucs_harness.mock.faults import Fault
from lucs_harness.mock.faulty import WIRE, FaultyLucs
from lucs_harness.mock.seed import load_seed
from lucs_harness.mock.server import MockServer
from lucs_harness.operations import OPERATIONS
from tests.support.asgi import call


def test_the_rules_know_no_fault() -> None:
    source = inspect.getsource(domain)
    assert "Fault." not in source
    assert "self.faults" not in source


def test_every_fault_is_made_in_the_fault_layer() -> None:
    source = inspect.getsource(faulty)
    assert [f.value for f in Fault if f"Fault.{f.name}" not in source] == []


def test_the_wire_faults_break_operations_of_the_table() -> None:
    assert {name for operations, _ in WIRE.values() for name in operations} <= set(OPERATIONS)


def test_the_served_mock_is_the_fault_layer_over_the_rules() -> None:
    served = MockServer(faults=frozenset({Fault.BLOCK_NO_FLAG})).lucs
    assert isinstance(served, FaultyLucs)
    assert served.faults.active == {Fault.BLOCK_NO_FLAG}


def test_with_no_fault_on_the_fault_layer_answers_as_the_rules() -> None:
    faithful, served = Lucs(load_seed()), FaultyLucs(load_seed())
    for lucs in (faithful, served):
        user = str(lucs.seed.users[0]["Id"])
        lucs.block_user(user)
        lucs.unblock_user(user)
        lucs.set_presence(user, "Away")
    assert served.snapshot() == faithful.snapshot()
    assert served.list_services() == faithful.list_services()


def _put_faults(app: Any, names: list[str]) -> tuple[int, Any]:
    """PUT /_mock/faults straight to the ASGI app: its status and JSON answer."""
    status, _, answer = call(app, "PUT", "/_mock/faults", names)
    return status, answer


def test_a_faithful_mock_served_refuses_to_switch_a_fault_on() -> None:
    app = create_app(Lucs(load_seed()))
    status, answer = _put_faults(app, ["block-no-flag"])
    assert status == 400
    assert "faithful" in answer["Error"]["Message"]
    assert _put_faults(app, []) == (200, [])
    assert _put_faults(create_app(FaultyLucs(load_seed())), ["block-no-flag"]) == (200, ["block-no-flag"])
