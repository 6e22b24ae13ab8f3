"""Selection as Cucumber users write it: `--lucs-name REGEX` on the Gherkin title, and
`x.feature:LINE` (a Scenario line or any line inside it; an example row is that example), beside
`--lucs-tags` and `-m`; a name or line that selects nothing ends the run with exit 5 and says what
was asked and the closest scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

from lucs_harness.cli import joined
from lucs_harness.exit_codes import NOTHING_SELECTED, PASSED, USAGE
from lucs_harness.plugin.selection import closest_titles
from tests.gherkin.project import line_of, make_project, ran, run
from tests.support.suite import run_wrapper

pytest_plugins = ["pytester"]

FEATURE = """\
@notes
Feature: Notes

  Background:
    Given "background" is noted

  @first
  Scenario: Do-Not-Disturb is noted
    When I note "dnd"

  Scenario: A table is noted
    When I note "table"
    Then "table checked" is noted

  Scenario Outline: An example is noted: <what>
    When I note "<what>"

    Examples:
      | what |
      | one  |
      | two  |

  Rule: Later

    Scenario: Last is noted
      When I note "last"
"""
FILE = "features/notes.feature"


def scenarios_ran(folder: Path) -> list[str]:
    """What the selected scenarios noted, the Background's note left out."""
    return [note for note in ran(folder) if note != "background"]


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    make_project(pytester.path, {"notes": FEATURE})
    return pytester


@pytest.mark.parametrize(
    ("names", "noted"),
    [
        (["Do-Not-Disturb"], ["dnd"]),
        (["^An example is noted: two$"], ["two"]),  # an outline's title with its example's values
        (["example is noted: <what>"], ["one", "two"]),  # or as written
        (["Do-Not", "Last"], ["dnd", "last"]),  # names are or-ed
    ],
)
def test_a_name_selects_the_scenarios_whose_gherkin_title_it_finds(
    project: pytest.Pytester, names: list[str], noted: list[str]
) -> None:
    result = run(project, *(f"--lucs-name={name}" for name in names))
    assert result.ret == PASSED
    assert scenarios_ran(project.path) == noted


@pytest.mark.parametrize(
    ("words", "noted"),
    [
        ("Scenario: A table is noted", ["table", "table checked"]),  # the Scenario line
        ('Then "table checked" is noted', ["table", "table checked"]),  # a line inside
        ("@first", ["dnd"]),  # its tags
        ("Scenario: Last is noted", ["last"]),  # inside a Rule
        ("| two  |", ["two"]),  # an example row: that example
        ("Examples:", ["one", "two"]),  # any other line of an outline: every example
    ],
)
def test_a_line_selects_the_scenario_around_it(project: pytest.Pytester, words: str, noted: list[str]) -> None:
    result = run(project, f"--lucs-line={FILE}:{line_of(FEATURE, words)}")
    assert result.ret == PASSED
    assert scenarios_ran(project.path) == noted


def test_two_lines_at_once_and_with_other_selections(project: pytest.Pytester) -> None:
    dnd, last = line_of(FEATURE, "Do-Not-Disturb"), line_of(FEATURE, "Last is noted")
    result = run(project, f"--lucs-line={FILE}:{dnd}:{last}", "--lucs-line", f"{FILE}:{line_of(FEATURE, '| one')}")
    assert scenarios_ran(project.path) == ["dnd", "one", "last"]
    (project.path / "ran.log").unlink()
    result = run(project, f"--lucs-line={FILE}:{dnd}:{last}", "-m", "first", "--lucs-name=noted")  # and-ed
    result.assert_outcomes(passed=1, deselected=4)
    assert scenarios_ran(project.path) == ["dnd"]


def test_a_name_that_selects_nothing_ends_5_with_the_closest_titles(project: pytest.Pytester) -> None:
    result = run(project, "--lucs-name=Do Not Disturb")
    assert result.ret == NOTHING_SELECTED
    result.stdout.fnmatch_lines(
        ["*exit 5*no scenario title matches --lucs-name 'Do Not Disturb'; closest: \"Do-Not-Disturb is noted\""]
    )
    assert scenarios_ran(project.path) == []


@pytest.mark.parametrize("words", ["Feature: Notes", 'Given "background" is noted', "Rule: Later"])
def test_a_line_in_no_scenario_ends_5_with_the_nearest_scenarios(project: pytest.Pytester, words: str) -> None:
    line = line_of(FEATURE, words)
    result = run(project, f"--lucs-line={FILE}:{line}", f"--lucs-line={FILE}:{line_of(FEATURE, 'Last is')}")
    assert result.ret == NOTHING_SELECTED  # the other line asked for a scenario: a typo still stops the run
    result.stdout.fnmatch_lines([f"*{FILE}:{line} is in no scenario; nearest: line *"])
    assert scenarios_ran(project.path) == []


@pytest.mark.parametrize(
    ("query", "closest"),
    [
        ("Do Not Disturb", ["Setting the presence to Do-Not-Disturb"]),  # words, whatever the punctuation
        ("blokking", ["Blocking an unknown user is refused", "Unblocking a blocked user makes them selectable again"]),
        ("zzz", ["A callback for a service that does not take callbacks is refused"]),  # one, however unlike
    ],
)
def test_the_closest_titles_are_those_nearly_as_alike_as_the_best(query: str, closest: list[str]) -> None:
    titles = [
        "Setting the presence to Do-Not-Disturb",
        "Blocking an unknown user is refused",
        "Unblocking a blocked user makes them selectable again",
        "A callback for a service that does not take callbacks is refused",
    ]
    assert closest_titles(query, titles) == closest


def test_a_line_of_no_file_or_past_the_end(project: pytest.Pytester) -> None:
    assert run(project, "--lucs-line=features/none.feature:3").ret == USAGE
    assert run(project, f"--lucs-line={FILE}").ret == USAGE
    result = run(project, f"--lucs-line={FILE}:{len(FEATURE.splitlines()) + 1}")
    assert result.ret == NOTHING_SELECTED


def test_the_wrapper_takes_feature_lines_as_cucumber_does(tmp_path: Path) -> None:
    make_project(tmp_path, {"notes": FEATURE})
    dnd, two = line_of(FEATURE, "Do-Not-Disturb"), line_of(FEATURE, "| two")
    done = run_wrapper("--no-html", "--reports-dir", "reports", f"{FILE}:{dnd}", f"{FILE}:{two}", cwd=tmp_path)
    assert done.returncode == PASSED, done.stdout + done.stderr
    assert scenarios_ran(tmp_path) == ["dnd", "two"]
    assert "LUCS acceptance: 2 passed, 0 failed -> exit 0" in done.stdout


def test_the_wrapper_joins_names_and_turns_feature_lines_into_options() -> None:
    assert joined(["--name", "Do-Not-Disturb", "features/x.feature:82", "-q"]) == [
        "--lucs-name=Do-Not-Disturb", "--lucs-line=features/x.feature:82", "-q",
    ]  # fmt: skip
    assert joined(["features/x.feature:3:9", "tests", "--lucs-line", "y.feature:4"]) == [
        "--lucs-line=features/x.feature:3:9", "tests", "--lucs-line=y.feature:4",
    ]  # fmt: skip
