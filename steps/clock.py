"""Steps that move the mock's simulated clock (scenarios tagged @mock-only)."""

from __future__ import annotations

from pytest_bdd import parsers, when

from lucs_harness.errors import ExpectationFailed
from lucs_harness.world import World


@when(parsers.re(r"(?P<seconds>\d+(?:\.\d+)?) (?:more )?seconds? pass(?:es)? on the mock clock"))
def time_passes(world: World, seconds: str) -> None:
    """RONA timeouts and late answers fire as the clock moves; no real time passes."""
    if world.control is None:
        raise ExpectationFailed("this step needs the mock's simulated clock; tag the scenario @mock-only")
    world.control.advance(float(seconds))
