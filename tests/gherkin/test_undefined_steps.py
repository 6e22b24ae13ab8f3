"""Undefined steps as behave treats them: the scenario fails before its first step, names every
undefined step by feature file and line with the closest defined steps and a definition to paste,
and a run whose every failure is one ends with exit 16; a dry run lists them all first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lucs_harness.exit_codes import FAILED, UNDEFINED_STEPS
from lucs_harness.undefined import function_name, parameterised, snippet
from tests.gherkin.project import line_of, make_project, ran, run
from tests.support.suite import run_wrapper

pytest_plugins = ["pytester"]

UNBLOCK = """\
Feature: Control Users

  Scenario: Unblocking a blocked user makes them selectable again
    Given "blocked" is noted
    When I unblok the target user
    Then the task is distributed to and accepted by the target user within five seconds
    And "checked" is noted
"""

NOTED = """\
Feature: Notes

  Scenario: Everything is noted
    Given "first" is noted
    Then "second" is noted

  Scenario: Something is noted, then blocked wrongly
    Given "third" is noted
    Then I blok the target user
"""


def test_a_scenario_with_undefined_steps_fails_before_its_first_step_naming_each(pytester: pytest.Pytester) -> None:
    make_project(pytester.path, {"users": UNBLOCK})
    result = run(pytester)
    assert ran(pytester.path) == []  # not even the defined step before the undefined one: nothing was sent
    result.assert_outcomes(failed=1)
    assert result.ret == UNDEFINED_STEPS
    text = result.stdout.str()
    scenario = line_of(UNBLOCK, "Scenario:")
    assert f"features/users.feature:{scenario}: Scenario: Unblocking a blocked user makes them selectable again" in text
    assert "not started: 2 undefined steps; none of its steps ran, nothing was sent" in text
    for words in ("When I unblok the target user", "Then the task is distributed"):
        assert f"features/users.feature:{line_of(UNBLOCK, words)}: {words}" in text
    failure = text[text.index("FAILURES") :]
    assert "StepDefinitionNotFoundError" not in failure  # not pytest-bdd's message
    assert str(pytester.path) not in failure  # nor its absolute paths


def test_did_you_mean_names_the_closest_defined_steps_and_a_definition_to_paste(pytester: pytest.Pytester) -> None:
    make_project(pytester.path, {"users": UNBLOCK})
    lines = [line.strip() for line in run(pytester).stdout.lines]
    at = lines.index(f"features/users.feature:{line_of(UNBLOCK, 'I unblok')}: When I unblok the target user")
    unblock = lines.index("did you mean:", at)
    assert lines[unblock + 1] == "When I unblock the target user"  # the closest first, as QA reads the catalogue
    assert len([line for line in lines[unblock + 1 : unblock + 4] if line.startswith(("Given", "When", "Then"))]) == 3
    paste = lines.index("a step definition to paste:", unblock)
    assert lines[paste + 1 : paste + 4] == [
        '@when(parsers.parse("I unblok the target user"))',
        "def i_unblok_the_target_user(world: World) -> None:",
        "raise NotImplementedError",
    ]
    assert "* the task is distributed to and accepted by the target user[ within <seconds> seconds]" in lines


def test_a_step_defined_under_another_keyword_is_named_so(pytester: pytest.Pytester) -> None:
    keyword = "Feature: Keywords\n\n  Scenario: Blocked as a Then\n    Then I block the target user\n"
    make_project(pytester.path, {"notes": NOTED, "keywords": keyword})
    result = run(pytester)
    result.stdout.fnmatch_lines(["*features/notes.feature:9: Then I blok the target user", "*did you mean:*"])
    result.stdout.fnmatch_lines(
        ["*features/keywords.feature:4: Then I block the target user", "*defined as a When step*"]
    )
    assert ran(pytester.path) == ["first", "second"]  # the other scenario ran, and this one did not start


def test_a_run_with_a_failure_of_lucs_too_ends_1(pytester: pytest.Pytester) -> None:
    wrong = '\n  Scenario: LUCS answers wrongly\n    Given "fourth" is noted\n    Then LUCS is found wrong\n'
    make_project(pytester.path, {"users": UNBLOCK, "notes": NOTED + wrong})
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=3)
    assert result.ret == FAILED  # a LUCS defect is not hidden behind a suite's typo


def test_a_dry_run_lists_every_undefined_step_of_the_selection_once_before_any_scenario(
    pytester: pytest.Pytester,
) -> None:
    again = UNBLOCK.replace("Unblocking a blocked user", "Unblocking again").replace(
        "Feature: Control Users", "Feature: More"
    )
    make_project(pytester.path, {"users": UNBLOCK, "notes": NOTED, "more": again})
    result = run(pytester, "--lucs-dry-run")
    text = result.stdout.str()
    section = text.index("LUCS DRY RUN: 3 undefined steps; the scenarios that use one will not start")
    assert section < text.index("test_features.py ")  # before the first scenario ran
    listed = text[section : text.index("test_features.py ")]
    [unblock] = [line for line in listed.splitlines() if ": When I unblok the target user (also at " in line]
    assert sorted(re.findall(r"features/\w+\.feature:\d+", unblock)) == [
        "features/more.feature:5",
        "features/users.feature:5",
    ]
    assert "feature:6: Then the task is distributed to and accepted by the target user within five seconds" in listed
    assert "features/notes.feature:9: Then I blok the target user" in listed
    assert listed.count('@when(parsers.parse("I unblok the target user"))') == 1
    assert result.ret == UNDEFINED_STEPS


def test_the_wrapper_ends_with_exit_16_and_says_why(tmp_path: Path) -> None:
    make_project(tmp_path, {"users": UNBLOCK, "notes": NOTED.split("\n  Scenario: Something")[0]})
    done = run_wrapper("--no-html", "--reports-dir", "reports", cwd=tmp_path)
    assert done.returncode == UNDEFINED_STEPS, done.stdout + done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    assert summary.startswith("LUCS acceptance: 1 passed, 1 failed -> exit 16 (undefined steps)"), summary


@pytest.mark.parametrize(
    ("text", "pattern", "parameters"),
    [
        ("I unblok the target user", "I unblok the target user", []),
        ('I set the presence to "Away" for 5 seconds', 'I set the presence to "{text}" for {number:d} seconds',
         ["text: str", "number: int"]),
        ('"a" and "b" after 2.5 s, not 3rd', '"{text}" and "{text2}" after {number:f} s, not 3rd',
         ["text: str", "text2: str", "number: float"]),
        ("a {brace} stays", "a {{brace}} stays", []),
    ],
)  # fmt: skip
def test_quoted_strings_and_numbers_become_parameters(text: str, pattern: str, parameters: list[str]) -> None:
    assert parameterised(text) == (pattern, parameters)


def test_a_snippet_takes_the_world_and_the_table_or_text_of_its_step() -> None:
    lines = snippet("then", 'the user "x" has:', datatable=True)
    assert lines == (
        "@then(parsers.parse('the user \"{text}\" has:'))",
        "def the_user_has(world: World, text: str, datatable: list[list[str]]) -> None:",
        "    raise NotImplementedError",
    )
    assert function_name("5 seconds pass") == "step_5_seconds_pass"
    assert len(function_name("word " * 40)) <= 60


def test_a_scenario_with_an_undefined_step_is_not_retried(pytester: pytest.Pytester) -> None:
    """No retry can define a step: `--lucs-reruns` leaves such a scenario failed at once."""
    make_project(pytester.path, {"users": UNBLOCK})
    result = run(pytester, "--lucs-reruns=2")
    result.assert_outcomes(failed=1)
    assert "rerun" not in result.parseoutcomes()
    assert result.ret == UNDEFINED_STEPS
