"""The suite catches a broken LUCS: every fault mode fails the run at the step that checks the
broken behaviour, with a message naming the field or status; the faithful mock passes."""

from __future__ import annotations

import pytest

from lucs_harness.mock.faults import Fault
from tests.support.mutation import EXPECTED, only, run_suite

pytestmark = pytest.mark.selftest


def test_every_fault_has_an_expected_kill() -> None:
    assert set(EXPECTED) == set(Fault)


def test_the_faithful_mock_passes() -> None:
    outcome = run_suite(None)
    assert outcome.returncode == 0, outcome.output[-3000:]
    assert outcome.failures == ()


@pytest.mark.parametrize("fault", list(Fault), ids=[f.value for f in Fault])
def test_the_fault_is_killed_at_the_right_step(fault: Fault) -> None:
    """Only the scenario that must kill the fault runs: the faithful run above proves it passes."""
    want = EXPECTED[fault]
    outcome = run_suite(fault, only(want.scenario))
    seen = "\n".join(f"  {f.scenario} / {f.step}: {f.message[:300]}" for f in outcome.failures) or "  no failed step"
    assert outcome.kill() is not None, (
        f"fault {fault.value} ({fault.description}) survived: expected a failure in "
        f"{want.scenario!r} at {want.step!r} matching {want.message!r}; exit code {outcome.returncode}; "
        f"failed steps:\n{seen}"
    )
