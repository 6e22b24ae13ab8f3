"""Data-table cells keep JSON types; every failure kind lands in its Allure category, and only there."""

from __future__ import annotations

import json
import re

import pytest

from lucs_harness.expectations import assert_fields, cell_value, expected_fields, mismatches
from lucs_harness.reporting.allure_results import CATEGORIES_FILE


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("null", None), ("3", 3), ('"InAServiceTask"', "InAServiceTask"), ("Online", "Online")],
)
def test_cells_are_json_literals_or_plain_text(text: str, value: object) -> None:
    assert cell_value(text) == value
    assert type(cell_value(text)) is type(value)


def test_a_table_needs_its_header_and_a_row() -> None:
    assert expected_fields([["field", "value"], ["IsSelectable", "false"]]) == {"IsSelectable": False}
    with pytest.raises(ValueError, match="header row"):
        expected_fields([["IsSelectable", "false"]])
    with pytest.raises(ValueError, match="no fields"):
        expected_fields([["field", "value"]])


def test_types_must_match_exactly() -> None:
    assert mismatches({"IsSelectable": "true"}, {"IsSelectable": True}) == ['IsSelectable: expected true, got "true"']
    assert mismatches({"Count": 1}, {"Count": True}) == ["Count: expected true, got 1"]
    assert mismatches({}, {"PresenceState": "Online"}) == ['PresenceState: missing (expected "Online")']
    with pytest.raises(AssertionError, match="the user:\n  IsSelectable"):
        assert_fields({"IsSelectable": True}, {"IsSelectable": False}, what="the user")


MESSAGES = {
    "Schema violation": "schema violation (user-list.json) in response of GET /x -> 200:\n  $[0].IsSelectable: ...",
    "Unexpected status": "GET http://h/v1.0/services/s/users -> 500: expected status 200; body: '...'",
    "State not reached in time": "task 1 held by sip:a@b: not reached within 10 s (waited 10.01 s, 200 polls)",
    "Transport error": "GET http://h/x -> no response: transport error after 3000 ms: ConnectTimeout: ...",
    "Redirect refused": "POST http://h/v1.0/tasks -> 307: redirect refused: Location http://evil/v1.0/tasks not "
    "followed: allow_redirects is 'never': credentials and bodies go to the configured origin only",
}


def test_each_failure_kind_falls_into_exactly_its_category() -> None:
    categories = json.loads(CATEGORIES_FILE.read_text())
    for kind, message in MESSAGES.items():
        matched = [c["name"] for c in categories if re.fullmatch(c["messageRegex"], message)]
        assert matched == [kind], (kind, matched)
    assert not [c for c in categories if re.fullmatch(c["messageRegex"], "AssertionError: 1 != 2")]
