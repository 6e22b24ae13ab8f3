"""Allure labels from Gherkin tags: `@severity:critical`, `@story:blocking`, `@epic:...`,
`@owner:...` become labels (scenario tags override feature tags for single-valued keys), not
pytest markers. Plain tags stay markers and are listed by allure-pytest-bdd as tag labels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import allure
import pytest
from pytest_bdd.parser import Feature, Scenario

LABEL_KEYS = frozenset({"severity", "story", "epic", "feature", "suite", "owner", "layer", "component", "id"})
SINGLE_VALUED = frozenset({"severity", "owner", "suite", "layer"})
SEVERITIES = frozenset({"blocker", "critical", "normal", "minor", "trivial"})


def label_of(tag: str) -> tuple[str, str] | None:
    """(key, value) of a label tag such as `severity:critical`, else None."""
    key, sep, value = tag.partition(":")
    return (key, value) if sep and key in LABEL_KEYS and value else None


def labels_of(*tag_sets: set[str]) -> dict[str, list[str]]:
    """Labels from tag sets, later sets overriding earlier ones for single-valued keys."""
    labels: dict[str, list[str]] = {}
    for tags in tag_sets:
        for tag in sorted(tags):
            found = label_of(tag)
            if found is None:
                continue
            key, value = found
            if key == "severity" and value not in SEVERITIES:
                raise pytest.UsageError(
                    f"unknown severity {value!r} in tag @{tag}; known: {', '.join(sorted(SEVERITIES))}"
                )
            if key in SINGLE_VALUED:
                labels[key] = [value]
            elif value not in labels.setdefault(key, []):
                labels[key].append(value)
    return labels


@pytest.hookimpl(tryfirst=True)  # before pytest-bdd's own, whichever plugin was loaded first
def pytest_bdd_apply_tag(tag: str, function: Callable[..., Any]) -> bool | None:
    """Label tags are not markers (returning True stops pytest-bdd from making one)."""
    return True if label_of(tag) else None


@pytest.hookimpl(trylast=True)
def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Feature, scenario: Scenario) -> None:
    rule_tags = scenario.rule.tags if scenario.rule is not None else set()
    for key, values in labels_of(feature.tags, rule_tags, scenario.tags).items():
        allure.dynamic.label(key, *values)  # type: ignore[no-untyped-call]
