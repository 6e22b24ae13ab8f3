"""The one line a run ends with: the scenarios counted as junit.xml tells them (each scenario once;
those that did not run by why), the exit code and what it means, and the reports written.
`LUCS acceptance: 13 passed (1 flaky), 1 failed, 2 not run: mock-only -> exit 1 (some scenarios
failed); reports: ...`"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from lucs_harness.exit_codes import (
    MEANING,
    NONE_RAN,
    NOTHING_SELECTED,
    NOTHING_TO_RUN,
    PASSED,
    PASSED_BUT_SOME_NOT_RUN,
)
from lucs_harness.reporting.verdict import (
    DRY_RUN,
    FLAKY,
    LIST_SEPARATOR,
    NOT_RESTORED,
    RUN_CLASS,
)

REASON_CHARS = 70  # of a reason why scenarios did not run, in the summary line


@dataclass(frozen=True)
class Tally:
    """Scenario counts as the JUnit XML tells them, each scenario once: pytest writes a second test
    case for a scenario whose steps failed and whose restore errored too. The run's own verdict
    entry is not a scenario; a scenario skipped or never reached is not run, counted by why."""

    passed: int
    failed: int  # steps failed, or setup or restore errored (pytest's failed and errors, once each)
    not_run: dict[str, int]  # why -> how many
    properties: dict[str, str]
    errors: int = 0  # of the failed, those with an error outside their steps: pytest counts them apart
    read: bool = True  # False: no JUnit report to count from (it could not be written), counts unknown

    @classmethod
    def of(cls, junit: Path) -> Tally:
        try:
            root = ET.parse(junit).getroot() if junit.is_file() else None
        except (ET.ParseError, OSError):
            root = None
        if root is None:
            return cls(0, 0, {}, {}, read=False)
        scenarios: dict[tuple[str, str], list[ET.Element]] = {}
        for case in root.iter("testcase"):
            if case.get("classname") != RUN_CLASS and case.get("name"):
                scenarios.setdefault((case.get("classname", ""), case.get("name", "")), []).append(case)
        passed = failed = errors = 0
        not_run: dict[str, int] = {}
        for cases in scenarios.values():
            errored = any(case.find("error") is not None for case in cases)
            skips = [skip for case in cases if (skip := case.find("skipped")) is not None]
            if errored or any(case.find("failure") is not None for case in cases):
                failed, errors = failed + 1, errors + errored
            elif skips:
                why = not_run_reason(skips[0])
                not_run[why] = not_run.get(why, 0) + 1
            else:
                passed += 1
        properties = {p.get("name", ""): p.get("value", "") for p in root.iter("property")}
        return cls(passed, failed, not_run, properties, errors)

    @property
    def flaky(self) -> int:
        """Of the passed, how many passed only on a retry (`--lucs-reruns`)."""
        names = self.properties.get(FLAKY)
        return len(names.split(LIST_SEPARATOR)) if names else 0

    @property
    def ran(self) -> int:
        return self.passed + self.failed

    @property
    def skipped(self) -> int:
        return sum(self.not_run.values())


def not_run_reason(skipped: ET.Element) -> str:
    """Why a scenario did not run, in a few words: the skip's reason on one line, cut short."""
    why = " ".join((skipped.get("message") or "skipped").split())
    return why if len(why) <= REASON_CHARS else f"{why[: REASON_CHARS - 1]}…"


def _shown(path: Path) -> str:
    return str(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)


def judged(code: int, tally: Tally) -> tuple[int, str | None]:
    """The run's code and, where the code alone would mislead, its meaning: a pass needs a scenario
    that ran and passed (every one skipped is exit 5), and says so when some did not run."""
    if code != PASSED or tally.failed or not tally.read:
        return code, None
    if tally.passed == 0:
        return (NOTHING_SELECTED, NONE_RAN) if tally.skipped else (PASSED, NOTHING_TO_RUN)
    return code, PASSED_BUT_SOME_NOT_RUN if tally.skipped else None


def summary_line(
    code: int, tally: Tally, written: dict[str, Path | None], *, known: int = 0, meaning: str | None = None
) -> str:
    """`LUCS acceptance: 12 passed (1 flaky), 2 failed (1 error), 8 not run: mock-only (…) -> exit 1 (some
    scenarios failed); reports: …`"""
    paths_text = ", ".join(f"{name} {_shown(path)}" for name, path in written.items() if path and path.exists())
    dry = "DRY RUN, nothing sent: " if DRY_RUN in tally.properties else ""
    not_restored = "; LUCS STATE NOT RESTORED (see above)" if NOT_RESTORED in tally.properties else ""
    flaky = f" ({tally.flaky} flaky)" if tally.flaky else ""
    notes = [f"{tally.errors} error{'s' * (tally.errors != 1)}"] if tally.errors else []
    notes += [f"{known} known"] if known else []
    failed_notes = f" ({', '.join(notes)})" if notes else ""
    not_run = "".join(f", {count} not run: {why}" for why, count in sorted(tally.not_run.items(), key=_most_first))
    counts = f"{tally.passed} passed{flaky}, {tally.failed} failed{failed_notes}{not_run}"
    if not tally.read:
        counts = "scenario counts unknown (no JUnit report to count from)"
    verdict = f"exit {code} ({meaning or MEANING.get(code, 'error')}){not_restored}"
    return f"LUCS acceptance: {dry}{counts} -> {verdict}; reports: {paths_text or 'none'}"


def _most_first(group: tuple[str, int]) -> tuple[int, str]:
    return -group[1], group[0]
