"""The suite catches a broken LUCS: every fault mode fails the run at the step that checks the
broken behaviour, with a message naming the field or status; the faithful mock passes."""

from __future__ import annotations

import pytest

from lucs_harness.mock.faults import Fault
from tests.support.mutation import EXPECTED, Outcome, only, run_batch

pytestmark = [pytest.mark.selftest, pytest.mark.xdist_group("selftest")]


@pytest.fixture(scope="session")
def outcomes() -> dict[Fault | None, Outcome]:
    """The faithful run and one run per fault (only the scenario that must kill it), in one batch."""
    jobs: list[tuple[Fault | None, list[str]]] = [(None, []), *((f, only(EXPECTED[f].scenario)) for f in Fault)]
    return {outcome.fault: outcome for outcome in run_batch(jobs)}


def test_every_fault_has_an_expected_kill() -> None:
    assert set(EXPECTED) == set(Fault)


def test_the_faithful_mock_passes(outcomes: dict[Fault | None, Outcome]) -> None:
    outcome = outcomes[None]
    assert outcome.returncode == 0, outcome.output[-3000:]
    assert outcome.failures == ()


@pytest.mark.parametrize("fault", list(Fault), ids=[f.value for f in Fault])
def test_the_fault_is_killed_at_the_right_step(fault: Fault, outcomes: dict[Fault | None, Outcome]) -> None:
    """Only the scenario that must kill the fault runs: the faithful run above proves it passes."""
    want = EXPECTED[fault]
    outcome = outcomes[fault]
    seen = "\n".join(f"  {f.scenario} / {f.step}: {f.message[:300]}" for f in outcome.failures) or "  no failed step"
    assert outcome.kill() is not None, (
        f"fault {fault.value} ({fault.description}) survived: expected a failure in "
        f"{want.scenario!r} at {want.step!r} matching {want.message!r}; exit code {outcome.returncode}; "
        f"failed steps:\n{seen}"
    )


def test_a_whole_run_counts_a_fault_its_restore_met_and_only_with_the_expected_message() -> None:
    """`make mutation` runs the whole suite: a fault that first meets another scenario's undo is
    caught there (a teardown error naming it); an unrelated restore failure is not its kill."""
    restore = (
        "_ ERROR at teardown of test_blocking_takes_the_user _\n"
        "LUCS state not restored:\n"
        "  unblock sip:a@b: UnexpectedStatus: POST http://x/unblock -> {status}: expected status 200\n"
    )
    met = Outcome(Fault.UNBLOCK_FAILS_ONCE, 1, (), restore.format(status=503))
    assert met.kill() is None
    caught = met.caught()
    assert caught is not None
    assert caught.step == "(its restore)"
    assert Outcome(Fault.UNBLOCK_FAILS_ONCE, 1, (), restore.format(status=500)).caught() is None
    assert Outcome(Fault.UNBLOCK_FAILS_ONCE, 0, (), restore.format(status=503)).caught() is None
