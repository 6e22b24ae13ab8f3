"""Scenario selection as Cucumber users write it: `--lucs-tags "@smoke and not @negative"`
(`--tags` through `lucs-acceptance`; Cucumber tag expressions, label tags such as
`@severity:critical` included), and any Gherkin tag usable as a pytest marker (`-m`) without
registering it first, `--strict-markers` notwithstanding."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from cucumber_tag_expressions import TagExpressionError, parse
from pytest_bdd.scenario import scenario_wrapper_template_registry

from lucs_harness.plugin.allure_labels import label_of

TAG = re.compile(r"(?<!\S)@([^\s@#]+)")
SKIPPED_FOLDERS = frozenset({".git", ".venv", "node_modules", "__pycache__", "reports"})


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("lucs").addoption(
        "--lucs-tags",
        default=None,
        metavar="EXPRESSION",
        help='run the scenarios whose Gherkin tags match, e.g. --lucs-tags="@smoke and not @negative" (with "=": '
        "pytest reads an argument that starts with @ as a file of arguments; lucs-acceptance takes --tags too)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register every plain tag of the project's feature files as a marker."""
    for tag in sorted(feature_tags(Path(str(config.rootpath)))):
        if not label_of(tag):
            config.addinivalue_line("markers", f"{tag}: a Gherkin tag")


def feature_tags(root: Path) -> set[str]:
    """The tags written in the `.feature` files under `root` (line by line; comments ignored)."""
    tags: set[str] = set()
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED_FOLDERS]
        for name in files:
            if name.endswith(".feature"):
                for line in (Path(folder) / name).read_text(encoding="utf-8", errors="replace").splitlines():
                    if line.lstrip().startswith("@"):
                        tags.update(TAG.findall(line.split("#", 1)[0]))
    return tags


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    expression = config.getoption("--lucs-tags")
    if not expression:
        return
    try:
        matches = parse(expression)
    except TagExpressionError as error:
        raise pytest.UsageError(f"--lucs-tags {expression!r}: {error}") from None
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        (keep if matches({f"@{tag}" for tag in tags_of(item)}) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def tags_of(item: pytest.Item) -> set[str]:
    """The Gherkin tags of a scenario item (its feature's and rule's included); none for other tests."""
    template = scenario_wrapper_template_registry.get(getattr(item, "function", None))  # type: ignore[arg-type]
    if template is None:
        return set()
    rule = template.rule.tags if template.rule is not None else set()
    return template.tags | template.feature.tags | rule
