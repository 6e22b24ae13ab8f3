"""Binds every feature file under `features/` to pytest (the step library comes from conftest)."""

from pytest_bdd import scenarios

scenarios(".")
