"""Binds every feature file under `features/` to pytest (the step library comes with the plugin)."""

from pytest_bdd import scenarios

scenarios(".")
