"""The LUCS acceptance harness as a pytest plugin. A project opts in with `pytest_plugins =
["lucs_harness.plugin"]` in its root conftest (`lucs-acceptance` passes `-p lucs_harness.plugin`);
installed, the package registers nothing, so no other project's run changes. Its `.feature` files
then use the shipped step library (`lucs_harness.steps` in the wheel, `steps/` in a checkout).

Even opted in, the plugin is dormant until a scenario asks for the harness (its `world` or `lucs_*`
fixtures): a run of other tests makes no call, checks no target and takes no signal.
`-p no:lucs_harness.plugin` keeps it out of a run entirely.
"""

from __future__ import annotations

from importlib.util import find_spec

STEP_MODULES = ("users", "tasks", "presence", "responses", "clock", "callbacks", "services", "operations")
STEPS_PACKAGE = "lucs_harness.steps" if find_spec("lucs_harness.steps") else "steps"

pytest_plugins = [
    "lucs_harness.plugin.hooks",
    "lucs_harness.plugin.fixtures",
    "lucs_harness.plugin.allure_labels",
    "lucs_harness.plugin.tags",
    "lucs_harness.plugin.selection",
    "lucs_harness.plugin.undefined",
    "lucs_harness.plugin.shard",
    "lucs_harness.plugin.reruns",
    "lucs_harness.plugin.cucumber_xdist",
    "lucs_harness.plugin.report_writes",
    *(f"{STEPS_PACKAGE}.{module}" for module in STEP_MODULES),
]
