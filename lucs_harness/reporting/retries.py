"""Retried scenarios in the reports: each scenario once, as its last try ended, with the earlier
tries kept where each format has a place for them.

- JUnit: pytest writes an empty `<testcase>` for every earlier try (pytest-rerunfailures reports a
  try's teardown); those are dropped, and the last one carries the tries as Maven Surefire's
  `<flakyFailure>` (it passed in the end) or `<rerunFailure>` (it failed every time).
- Allure: every try is a result of the same history id, which Allure shows as retries; a last
  try that passed after a failed one is marked flaky (`statusDetails.flaky`).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from _pytest.junitxml import mangle_test_address

from lucs_harness.reporting.allure_results import read_results


def junit_tries(path: Path, failed_tries: Mapping[str, list[str]]) -> None:
    """Fold each retried scenario's testcases (by pytest node id) into its last one."""
    if not failed_tries or not path.is_file():
        return
    tree = ET.parse(path)
    for suite in tree.getroot().iter("testsuite"):
        for nodeid, messages in failed_tries.items():
            *module, name = mangle_test_address(nodeid)
            cases = [
                c for c in suite.findall("testcase") if (c.get("classname"), c.get("name")) == (".".join(module), name)
            ]
            if not cases:
                continue
            *earlier, last = cases
            for case in earlier:
                suite.remove(case)
            kind = (
                "rerunFailure" if last.find("failure") is not None or last.find("error") is not None else "flakyFailure"
            )
            for message in messages:
                ET.SubElement(last, kind, message=_one_line(message)).text = message
    tree.write(path, encoding="utf-8", xml_declaration=True)


def allure_flaky(results: Path) -> int:
    """Mark flaky each last try that passed after a failed or broken one; how many were marked."""
    tries: dict[str, list[tuple[int, Path, dict[str, Any]]]] = {}
    for file, result in read_results(results):
        if isinstance(result.get("historyId"), str):
            start = result.get("start")
            tries.setdefault(result["historyId"], []).append((start if isinstance(start, int) else 0, file, result))
    marked = 0
    for group in tries.values():
        if len(group) < 2:
            continue
        *earlier, (_, file, last) = sorted(group, key=lambda entry: entry[0])
        if last.get("status") == "passed" and any(r.get("status") in ("failed", "broken") for _, _, r in earlier):
            details = last.get("statusDetails")
            last["statusDetails"] = {**(details if isinstance(details, dict) else {}), "flaky": True}
            file.write_text(json.dumps(last), encoding="utf-8")
            marked += 1
    return marked


def _one_line(message: str) -> str:
    """The message on one line, without xdist's `[gw0] linux -- Python …` header."""
    lines = [line.strip() for line in message.splitlines() if line.strip() and not line.startswith("[gw")]
    return " / ".join(lines)[:500]
