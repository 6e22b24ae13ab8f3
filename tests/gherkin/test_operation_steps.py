"""Operation steps send nothing they must not: an unknown operation (named with the closest), a change
in a scenario without @changes-state, a change the operations table cannot undo are refused before
any request; a change's undo is registered before the change is sent, and sent after the scenario.
Small projects run in process against the embedded mock, every call logged with the undos pending
at that moment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.gherkin.project import BINDING, INI, line_of, run

pytest_plugins = ["pytester"]

CONFTEST = """
import json
from pathlib import Path

import pytest

pytest_plugins = ["lucs_harness.plugin"]


@pytest.fixture(autouse=True)
def _log_calls(monkeypatch, lucs_client, restore):
    # set up after `restore`, torn down before it: the undos sent after the scenario are logged too
    send = lucs_client.send

    def logged(operation, *args, **kwargs):
        pending = [undo.operation for undo in restore.pending]
        with Path(__file__).with_name("sent.jsonl").open("a") as log:
            log.write(json.dumps({"operation": operation, "pending": pending}) + "\\n")
        return send(operation, *args, **kwargs)

    monkeypatch.setattr(lucs_client, "send", logged)
"""
HARNESS_ID = "lucs-harness-00000000-00000000-000000"  # a well-formed id of the harness's that names nothing


def project(folder: Path, feature: str) -> None:
    """A project of one feature with the harness and the call log."""
    (folder / "pytest.ini").write_text(INI)
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "test_features.py").write_text(BINDING)
    (folder / "features").mkdir()
    (folder / "features" / "calls.feature").write_text(feature)


def sent(folder: Path) -> list[dict[str, Any]]:
    """Every call the run sent, in order, with the undos pending when it was sent."""
    log = folder / "sent.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_an_unknown_operation_fails_naming_the_closest_and_sends_nothing(pytester: pytest.Pytester) -> None:
    feature = (
        'Feature: Calls\n\n  @changes-state\n  Scenario: Misspelt\n    When I call "blok_user" for the target user\n'
    )
    project(pytester.path, feature)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert f'failed at line {line_of(feature, "blok_user")}: When I call "blok_user" for the target user' in text
    assert 'unknown operation "blok_user" (did you mean "block_user" or "unblock_user"?)' in text
    assert "the operations table has: list_services, list_users," in text
    assert sent(pytester.path) == []


@pytest.mark.parametrize(
    ("step", "refusal"),
    [
        (
            f'When I call "close_task" with the parameters:\n      | parameter | value |\n'
            f"      | taskIdentifier | {HARNESS_ID} |",
            "close_task has no undo in the operations table: a call that cannot be undone is not sent",
        ),
        (
            'When I try to call "cancel_callback" with the parameters:\n      | parameter | value |\n'
            "      | callbackId | 00000000-0000-4000-8000-000000000000 |",
            "cancel_callback has no undo in the operations table: a call that cannot be undone is not sent",
        ),
    ],
    ids=["close_task", "cancel_callback"],
)
def test_a_change_without_an_undo_in_the_table_is_refused_and_not_sent(
    pytester: pytest.Pytester, step: str, refusal: str
) -> None:
    project(pytester.path, f"Feature: Calls\n\n  @changes-state\n  Scenario: Not undoable\n    {step}\n")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    assert refusal in result.stdout.str()
    assert sent(pytester.path) == []


def test_a_change_in_a_scenario_without_the_changes_state_tag_is_refused_and_not_sent(
    pytester: pytest.Pytester,
) -> None:
    feature = """\
Feature: Calls

  Scenario: Untagged
    When I call "block_user" for the target user

  @smoke
  Scenario: Tagged otherwise
    When I call "create_callback" with:
      \"\"\"
      {"Target": "{{target user}}", "ServiceId": "{{configured service}}", "Priority": "Low",
       "SecondsBetweenRetries": 0}
      \"\"\"

  Scenario: A read needs no tag
    When I call "list_services"
    Then the status is 200
"""
    project(pytester.path, feature)
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=2)
    text = result.stdout.str()
    for change in ("block_user", "create_callback"):
        assert f"{change} changes the target: tag the scenario @changes-state" in text
    assert "unless --lucs-allow-changes is given); not sent" in text
    assert [call["operation"] for call in sent(pytester.path)] == ["list_services"]


def test_a_feature_tagged_changes_state_tags_its_scenarios(pytester: pytest.Pytester) -> None:
    feature = (
        '@changes-state\nFeature: Calls\n\n  Scenario: Blocked\n    When I call "block_user" for the target user\n'
    )
    project(pytester.path, feature)
    run(pytester).assert_outcomes(passed=1)
    assert "block_user" in [call["operation"] for call in sent(pytester.path)]


def test_the_undo_is_registered_before_the_change_is_sent_and_sent_after_the_scenario(
    pytester: pytest.Pytester,
) -> None:
    feature = """\
Feature: Calls

  @changes-state
  Scenario: Blocked, a callback requested, an unblocked user unblocked
    When I call "block_user" for the target user
    And I call "create_callback" with:
      | field                 | value                  |
      | Target                | {{target user}}        |
      | ServiceId             | {{configured service}} |
      | Priority              | "Low"                  |
      | SecondsBetweenRetries | 0                      |
      | DueDate               | "2099-01-01T09:00:00Z" |
    And I call "unblock_user" for the user "sip:smoky.aa@dev.local"
"""
    project(pytester.path, feature)
    run(pytester).assert_outcomes(passed=1)
    calls = [(call["operation"], call["pending"]) for call in sent(pytester.path)]
    changes = [(operation, pending) for operation, pending in calls if operation != "list_users"]
    assert changes == [
        ("block_user", ["unblock_user"]),
        ("create_callback", ["unblock_user", "cancel_callback"]),
        ("unblock_user", ["unblock_user", "cancel_callback"]),  # found unblocked: nothing to undo
        ("get_callback", []),  # after the scenario, newest first: the callback's lookup, its cancel ...
        ("cancel_callback", []),
        ("unblock_user", []),  # ... and the unblock; the unblocked user is not blocked again
    ]


def test_a_change_refused_by_lucs_leaves_no_undo(pytester: pytest.Pytester) -> None:
    feature = """\
Feature: Calls

  @changes-state
  Scenario: A callback to nobody
    When I try to call "create_callback" with:
      | field                 | value                  |
      | Target                | nobody                 |
      | ServiceId             | {{configured service}} |
      | Priority              | "Low"                  |
      | SecondsBetweenRetries | 0                      |
    Then the status is 400
    And the response matches the schema "Error"
"""
    project(pytester.path, feature)
    run(pytester).assert_outcomes(passed=1)
    assert sent(pytester.path) == [{"operation": "create_callback", "pending": ["cancel_callback"]}]  # none after


def test_a_user_change_outside_the_configured_service_is_refused_and_not_sent(pytester: pytest.Pytester) -> None:
    feature = """\
Feature: Calls

  @changes-state
  Scenario: An unknown user
    When I try to call "block_user" with the parameters:
      | parameter | value                                |
      | userId    | 00000000-0000-4000-8000-000000000000 |
"""
    project(pytester.path, feature)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    assert "what their undo would set back is unknown; not sent" in result.stdout.str()
    assert [call["operation"] for call in sent(pytester.path)] == ["list_users"]
