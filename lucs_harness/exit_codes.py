"""The exit codes of a run, each with the words the summary line uses (docs/exit-codes.md lists them)."""

from __future__ import annotations

PASSED = 0
FAILED = 1
INTERRUPTED = 2
USAGE = 4
NOTHING_SELECTED = 5
UNREACHABLE = 10
CREDENTIALS_REFUSED = 11
REPORT_FAILED = 12
POOL_EXHAUSTED = 13
QUALITY_GATE_FAILED = 14
TARGET_NOT_READY = 15
UNDEFINED_STEPS = 16  # every failed scenario has a step no definition matches: the suite, not LUCS

MEANING = {
    PASSED: "all selected scenarios passed",
    FAILED: "some scenarios failed",
    INTERRUPTED: "interrupted",
    USAGE: "usage or configuration error",
    NOTHING_SELECTED: "no scenario selected",
    UNREACHABLE: "LUCS could not be reached",
    CREDENTIALS_REFUSED: "LUCS refused the credentials",
    REPORT_FAILED: "report could not be written",
    POOL_EXHAUSTED: "no agent of the pool was free",
    QUALITY_GATE_FAILED: "the quality gate failed",
    TARGET_NOT_READY: "target not ready",
    UNDEFINED_STEPS: "undefined steps",
}
# the words of a code that the counts qualify (`reporting.summary.judged`): exit 0 says all passed only
# when every selected scenario ran; a run where none ran did not pass (exit 5)
PASSED_BUT_SOME_NOT_RUN = "the scenarios that ran passed"
NONE_RAN = "no scenario ran"
NOTHING_TO_RUN = "nothing to run"  # a shard whose share is empty
# the early ends whose reports carry an error entry saying why (see reporting.verdict)
EARLY_ENDS = frozenset({INTERRUPTED, USAGE, UNREACHABLE, CREDENTIALS_REFUSED, POOL_EXHAUSTED, TARGET_NOT_READY})
