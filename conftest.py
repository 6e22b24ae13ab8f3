"""Wires the harness into pytest: the LUCS plugin (options, target, fixtures) and the step library."""

pytest_plugins = [
    "lucs_harness.pytest_plugin",
    "steps.users",
    "steps.tasks",
    "steps.presence",
    "steps.responses",
]
