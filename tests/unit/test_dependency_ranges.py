"""The dependency ranges in pyproject.toml are as wide as proven and proven at both ends: every runtime
dependency has a floor, an upper bound only with the reason beside it, the lock lies inside the ranges,
docs/dependencies.md names each, and the CI workflow that runs `make deps-lowest` and `make deps-newest`
does so on the oldest supported Python and a newer one, pinned, read-only and with a time limit."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.support.docs import page
from tests.support.suite import ROOT

PYPROJECT_TEXT = (ROOT / "pyproject.toml").read_text()
PYPROJECT = tomllib.loads(PYPROJECT_TEXT)
PROJECT = PYPROJECT["project"]
SHIPPED_EXTRAS = ("html", "coordination")  # what a team installs; dev is the checkout's
WORKFLOW = ROOT / ".github" / "workflows" / "dependencies.yml"
EXAMPLE = ROOT / "ci" / "github-actions.yml"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w.-]+)*@[0-9a-f]{40}$")
MAKEFILE = (ROOT / "Makefile").read_text()
QUOTED = re.compile(r'^\s*"([^"]+)",')  # a requirement on its own line of pyproject.toml


def shipped() -> list[Requirement]:
    """The runtime dependencies and those of the extras a team installs."""
    texts = [
        *PROJECT["dependencies"],
        *(text for extra in SHIPPED_EXTRAS for text in PROJECT["optional-dependencies"][extra]),
    ]
    return [Requirement(text) for text in texts]


def floor(requirement: Requirement) -> Version:
    [lower] = [Version(spec.version) for spec in requirement.specifier if spec.operator == ">="]
    return lower


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[normalized(name)] = Version(version.strip())
    return pins


def workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


def make_targets() -> set[str]:
    """The Makefile's targets, those of static pattern rules (`a b: x-%:`) included."""
    targets: set[str] = set()
    for rule in re.findall(r"^([a-z][a-z -]*):", MAKEFILE, re.M):
        targets.update(rule.split())
    return targets


def test_every_shipped_dependency_has_a_floor_and_an_upper_bound_only_with_its_reason() -> None:
    texts = {
        *PROJECT["dependencies"],
        *(text for extra in SHIPPED_EXTRAS for text in PROJECT["optional-dependencies"][extra]),
    }
    for requirement in shipped():
        floor(requirement)  # exactly one lower bound
    quoted = [(match[1], line) for line in PYPROJECT_TEXT.splitlines() if (match := QUOTED.match(line))]
    lines = [(text, line) for text, line in quoted if text in texts]
    assert len(lines) == len(texts)
    for text, line in lines:
        requirement = Requirement(text)
        if any(spec.operator in ("<", "<=", "==", "~=", "!=") for spec in requirement.specifier):
            assert "#" in line, f"{requirement}: an upper bound needs its known incompatibility beside it"


def test_the_lock_lies_inside_the_ranges_and_pytest_minversion_is_its_floor() -> None:
    pins = lock()
    for requirement in shipped():
        assert pins[normalized(requirement.name)] in requirement.specifier, requirement
    [pytest_requirement] = [r for r in shipped() if r.name == "pytest"]
    assert Version(PYPROJECT["tool"]["pytest"]["ini_options"]["minversion"]) == floor(pytest_requirement)


def test_the_dependencies_page_names_every_shipped_dependency_and_how_the_ranges_are_proven() -> None:
    text = page("dependencies.md")
    for requirement in shipped():
        assert re.search(rf"\b{re.escape(requirement.name)}\b", text, re.I), requirement.name
    assert "make deps-lowest" in text
    assert "make deps-newest" in text
    assert ".github/workflows/dependencies.yml" in text


def test_the_workflow_runs_both_ends_on_the_oldest_supported_python_and_a_newer_one() -> None:
    [job] = workflow()["jobs"].values()
    matrix = job["strategy"]["matrix"]
    assert set(matrix["resolution"]) == {"lowest", "newest"}
    pythons = [Version(str(version)) for version in matrix["python"]]
    assert SpecifierSet(PROJECT["requires-python"]) == SpecifierSet(f">={min(pythons)}")  # the oldest supported
    assert max(pythons) > min(pythons)
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert any("make deps-${{ matrix.resolution }}" in run for run in runs)
    assert {f"deps-{resolution}" for resolution in matrix["resolution"]} <= make_targets()


def test_the_workflow_is_read_only_time_limited_and_pinned_like_the_example() -> None:
    data = workflow()
    assert data["permissions"] == {"contents": "read"}
    example_pins = dict(re.findall(r"uses:\s*([\w./-]+)@([0-9a-f]{40})", EXAMPLE.read_text()))
    for job in data["jobs"].values():
        assert "permissions" not in job  # nothing beyond the workflow's
        assert 0 < job["timeout-minutes"] <= 30
        for step in job["steps"]:
            if "uses" in step:
                assert PINNED.match(step["uses"]), step["uses"]
                action, commit = step["uses"].split("@")
                assert example_pins.get(action, commit) == commit  # one release per action across the files
    lines = re.findall(r"uses:\s*(\S+)(.*)", WORKFLOW.read_text())
    assert lines
    for ref, rest in lines:
        assert re.match(r"\s+# v\d+(\.\d+)*\b", rest), ref
