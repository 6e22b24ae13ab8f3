"""This repository's acceptance project. The harness (options, fixtures, the step library) is the
pytest plugin `lucs_harness.plugin`: a project opts in here, in its root conftest, and the plugin
is active in its runs alone (installed, it changes no other project's). A project's own steps and
hooks go here too, as in any pytest-bdd project."""

pytest_plugins = ["lucs_harness.plugin"]
