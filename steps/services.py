"""Steps about the services LUCS knows."""

from __future__ import annotations

from pytest_bdd import then, when

from lucs_harness.world import World


@when("I list the services")
def list_services(world: World) -> None:
    world.list_services()


@then("the configured service is among them")
def configured_service_listed(world: World) -> None:
    """By its GUID (`--lucs-service-id`): the Service DTO's other fields are not documented."""
    if world.services is None:
        raise AssertionError("no service list was fetched in this scenario")
    if all(s.get("Id") != world.config.service_id for s in world.services):
        listed = ", ".join(f"{s.get('Name')} ({s.get('Id')})" for s in world.services) or "none"
        raise AssertionError(f"service {world.config.service_id} is not listed (listed: {listed})")
