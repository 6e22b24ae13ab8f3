"""Expected field values from Gherkin data tables, and comparisons that say what differed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from lucs_harness.errors import ExpectationFailed

MISSING = object()


def cell_value(text: str) -> Any:
    """A table cell as a JSON literal (true, false, null, 3, "x") or, failing that, plain text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def expected_fields(datatable: Sequence[Sequence[str]]) -> dict[str, Any]:
    """A `| field | value |` table (header row first) as a dict of expected values."""
    if not datatable or [c.strip().lower() for c in datatable[0]] != ["field", "value"]:
        raise ValueError("the data table needs a header row '| field | value |'")
    rows = datatable[1:]
    if not rows:
        raise ValueError("the data table lists no fields to check")
    return {row[0].strip(): cell_value(row[1].strip()) for row in rows}


def mismatches(actual: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """One line per field whose value (or JSON type) differs; booleans never equal 0 or 1."""
    lines = []
    for name, want in expected.items():
        got = actual.get(name, MISSING)
        if got is MISSING:
            lines.append(f"{name}: missing (expected {json.dumps(want)})")
        elif type(got) is not type(want) or got != want:
            lines.append(f"{name}: expected {json.dumps(want)}, got {json.dumps(got)}")
    return lines


def assert_fields(actual: dict[str, Any], expected: dict[str, Any], *, what: str) -> None:
    """Fail naming every differing field of `what`."""
    problems = mismatches(actual, expected)
    if problems:
        raise ExpectationFailed(f"{what}:\n  " + "\n  ".join(problems))
