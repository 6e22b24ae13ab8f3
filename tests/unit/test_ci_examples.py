"""The CI examples under `ci/` work as written: what they run exists and is accepted, the files
they keep are the ones the wrapper writes, and their images need no Node.js of their own."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from lucs_harness.reporting.options import DEFAULT_HISTORY
from lucs_harness.reporting.publish import CUCUMBER, HTML, JUNIT, RESULTS
from lucs_harness.reporting.quality_gate import load_known_issues
from tests.support.suite import ROOT, run_wrapper

EXAMPLES = sorted((ROOT / "ci").glob("*.yml"))
MAKE_TARGETS = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.M))
SHARD_VARIABLES = {"$CI_NODE_INDEX": "1", "$CI_NODE_TOTAL": "3"}


def acceptance_arguments(text: str) -> list[str]:
    """The ARGS of every `make acceptance` in an example, commented-out jobs included."""
    return re.findall(r'make acceptance ARGS="([^"]*)"', text)


def test_there_are_examples_for_gitlab_and_github_and_the_readme_points_to_them() -> None:
    assert {path.name for path in EXAMPLES} == {"gitlab-ci.yml", "github-actions.yml"}
    readme = (ROOT / "README.md").read_text()
    for path in EXAMPLES:
        assert f"ci/{path.name}" in readme
        yaml.safe_load(path.read_text())  # valid YAML


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_an_example_runs_only_what_exists_and_keeps_what_the_wrapper_writes(example: Path) -> None:
    text = example.read_text()
    assert {target for target in re.findall(r"\bmake (\w[\w-]*)", text)} <= MAKE_TARGETS
    kept = set(re.findall(r"reports/(?:merged/)?([\w.-]+\b)(?!/?-)", text)) - {"merged"}
    assert kept <= {JUNIT, HTML, CUCUMBER, RESULTS}, kept
    assert {JUNIT, HTML} <= kept
    assert str(Path(DEFAULT_HISTORY).parent) in text  # the history is cached between pipelines
    assert not re.search(r"apt(-get)? install[^\n]*node|setup-node", text)  # Node.js comes from PyPI
    for version in re.findall(r"python(?:-version:\s*\"|:)(3\.\d+)", text):
        assert tuple(map(int, version.split("."))) >= (3, 11)


@pytest.mark.parametrize(
    "arguments",
    sorted({args for example in EXAMPLES for args in acceptance_arguments(example.read_text())}),
)
def test_the_documented_arguments_are_accepted(tmp_path: Path, arguments: str) -> None:
    for variable, value in SHARD_VARIABLES.items():
        arguments = arguments.replace(variable, value)
    args = [arg for arg in shlex.split(arguments) if not arg.startswith("--reports-dir")]
    done = run_wrapper(f"--reports-dir={tmp_path}", "--no-html", "--no-history", *args, "--collect-only", "-q")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_the_known_issues_example_is_a_valid_file() -> None:
    assert load_known_issues(ROOT / "ci" / "known-issues.toml") == []
