"""The step definitions a scenario can use, found as pytest-bdd finds one when it runs a step (the
step fixtures visible to the scenario's node: its module, the conftests above it, the plugins),
but for every step of the scenario before the first one runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_bdd.compat import get_fixture_names, getfixturedefs
from pytest_bdd.parser import Scenario, ScenarioTemplate, Step
from pytest_bdd.scenario import scenario_wrapper_template_registry
from pytest_bdd.steps import StepFunctionContext, step_function_context_registry

from lucs_harness.catalogue import readable
from lucs_harness.undefined import KnownStep, UndefinedStep, closest, snippet

EXAMPLE = "_pytest_bdd_example"  # pytest-bdd's parameter of an outline's example
# per node whose fixtures a scenario sees (its parent): the step definitions visible there
VISIBLE_KEY = pytest.StashKey[dict[str, list[StepFunctionContext]]]()


def template_of(item: pytest.Item) -> ScenarioTemplate | None:
    """The Gherkin scenario behind a test item; None for any other test."""
    return scenario_wrapper_template_registry.get(getattr(item, "function", None))  # type: ignore[arg-type]


def scenario_of(item: pytest.Item) -> Scenario | None:
    """The scenario as the item runs it: an outline's steps with its example's values."""
    template = template_of(item)
    if template is None:
        return None
    callspec = getattr(item, "callspec", None)
    return template.render(callspec.params.get(EXAMPLE, {}) if callspec is not None else {})


def visible(item: pytest.Item) -> list[StepFunctionContext]:
    """The step definitions the item's scenario may use (pytest decides what each node sees)."""
    parent = item.parent if item.parent is not None else item
    cache = item.config.stash.setdefault(VISIBLE_KEY, {})
    if parent.nodeid not in cache:
        manager = item.session._fixturemanager
        found: dict[int, StepFunctionContext] = {}
        for name in get_fixture_names(manager):
            for fixturedef in getfixturedefs(manager, name, parent) or ():
                context = step_function_context_registry.get(fixturedef.func)
                if context is not None:
                    found.setdefault(id(context), context)
        cache[parent.nodeid] = list(found.values())
    return cache[parent.nodeid]


def matches(context: StepFunctionContext, step: Step, *, any_type: bool = False) -> bool:
    """pytest-bdd's own test: the keyword's type (unless `any_type`), then the parser."""
    typed = any_type or context.type is None or context.type == step.type
    return typed and bool(context.parser.is_matching(step.name))


def undefined_steps(item: pytest.Item) -> list[UndefinedStep]:
    """Every step of the item's scenario that no visible definition matches, described."""
    scenario = scenario_of(item)
    if scenario is None:
        return []
    known = visible(item)
    missing = [step for step in scenario.steps if not any(matches(context, step) for context in known)]
    where = feature_path(item.config, scenario.feature.filename)
    return [describe(step, known, f"{where}:{step.line_number}") for step in missing]


def describe(step: Step, known: list[StepFunctionContext], where: str) -> UndefinedStep:
    """The step with the closest defined ones, the keywords it is defined under, and a snippet."""
    readable_known = {KnownStep(context.type or "*", readable(context.parser.name)) for context in known}
    other_types = sorted({c.type for c in known if c.type and matches(c, step, any_type=True)})
    table, docstring = step.datatable is not None, step.docstring is not None
    return UndefinedStep(
        where=where,
        keyword=step.keyword.strip(),
        type=step.type,
        text=step.name,
        suggestions=closest(step.name, readable_known),
        defined_as=tuple(other_types),
        snippet=snippet(step.type, step.name, datatable=table, docstring=docstring),
    )


def feature_path(config: pytest.Config, filename: str) -> str:
    """A feature file as the README writes it: relative to the project root where it lies inside."""
    path, root = Path(filename), Path(str(config.rootpath))
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
