"""Schemathesis, run as a user runs it, finds nothing in either of the mock's documents.

Every check and every phase (examples, coverage, fuzzing, stateful along the document's links):
the `schemathesis run` CLI in a child process, seeded and with few examples per operation so the
run is the same every time and short, against a fresh mock of each test's own (fuzzing the control
document switches faults on, which must reach no other test). The command is the campaign's
(`benchmarks/schemathesis_campaign.py`), which `make benchmark` runs unseeded and larger.
"""

from __future__ import annotations

import pytest

from benchmarks.schemathesis_campaign import PHASES, run
from lucs_harness.mock.auth import OPENAPI_PATH
from lucs_harness.mock.openapi import CONTROL_OPENAPI_PATH
from lucs_harness.mock.server import MockServer

pytestmark = pytest.mark.slow  # waits out deadlines or runs child processes: make test, not make check

SEED = 20260101
MAX_EXAMPLES = 10
TIMEOUT = 120.0  # seconds; a run takes a few


@pytest.mark.parametrize(
    ("path", "phases"),
    [
        (OPENAPI_PATH, PHASES),
        (CONTROL_OPENAPI_PATH, ("coverage", "fuzzing")),  # it has no examples and no links to follow
    ],
    ids=["lucs", "control"],
)
def test_schemathesis_with_every_check_and_phase_finds_nothing(path: str, phases: tuple[str, ...]) -> None:
    with MockServer() as mock:
        outcome = run(mock.base_url + path, MAX_EXAMPLES, SEED, TIMEOUT)
    assert outcome.clean, f"{outcome.summary()}\n{outcome.output}"
    assert [phase for phase in phases if outcome.phases[phase] != "success"] == [], outcome.summary()
    assert "failure" not in outcome.phases.values(), outcome.summary()
