"""Wires the harness into pytest: the LUCS plugin (options, target, fixtures) and the step library."""

pytest_plugins = [
    "lucs_harness.pytest_plugin",
    "lucs_harness.fixtures",
    "lucs_harness.reporting.allure_labels",
    "lucs_harness.reporting.cucumber_xdist",
    "steps.users",
    "steps.tasks",
    "steps.presence",
    "steps.responses",
    "steps.clock",
]
