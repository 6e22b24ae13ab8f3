"""Steps about the services LUCS knows."""

from __future__ import annotations

from pytest_bdd import then, when

from lucs_harness.errors import ExpectationFailed
from lucs_harness.world import World


@when("I list the services")
def list_services(world: World) -> None:
    world.services.list_all()


@then("the configured service is among them")
def configured_service_listed(world: World) -> None:
    """By its GUID (`--lucs-service-id`): the Service DTO's other fields are not documented."""
    services = world.services.as_listed()
    if all(s.get("Id") != world.config.service_id for s in services):
        listed = ", ".join(f"{s.get('Name')} ({s.get('Id')})" for s in services) or "none"
        raise ExpectationFailed(f"service {world.config.service_id} is not listed (listed: {listed})")
