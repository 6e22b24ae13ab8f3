"""Mutation testing of the suite: run the features against the mock with one fault at a time and
check that the run fails at the step that checks the broken behaviour, naming what was wrong.

Used by the self-test (`tests/selftest/`) and by `scripts/mutation_score.py`; not shipped in the wheel.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pytest_bdd.scenario import make_python_name

from lucs_harness.mock.faults import Fault
from tests.support.suite import ROOT, child_env, suite_command

# short deadlines: a fault must fail fast, and the faithful mock reaches every state at once
FAST = ["--lucs-wait-timeout=0.3", "--lucs-read-timeout=0.5", "--lucs-poll-interval=0.02"]

BLOCK = "Blocking takes the user out of distribution without touching presence"
UNBLOCK = "Unblocking a blocked user makes them selectable again"
TASK = "A task for a blocked user waits, and is taken at once when the user is unblocked"
PRESENCE = "Setting the presence to Do-Not-Disturb"
BACKGROUND = "the target user is selectable in the service"
RONA = "An agent who never answers is set Away when the RONA timeout expires, and the task waits"
SERVICES = "The configured service is listed"
READ_TASK = "A posted task is read back by its TaskId and by its ExternalTaskId"
SERVICE_TASKS = "The service's tasks include the posted task"
NEW_CALLBACK = "A new callback is answered with the documented defaults filled"
READ_CALLBACK = "A callback is read back by the ExternalTaskId it was requested with"
BY_STATE = "A search by state finds only the callbacks in that state"
PAGE = "Limit and Offset give one page of the search"
DESCENDING = "A search sorted in descending order lists the callbacks latest first"
CANCEL = "A cancelled callback is no longer pending"
CALLBACK_CLOCK = "A due callback is queued, taken by an agent and done as the mock clock runs"


@dataclass(frozen=True)
class Kill:
    """Where a fault must be caught: the scenario, the step, and a pattern of the message."""

    scenario: str
    step: str
    message: str
    code: int = 1  # the whole run's exit code: a target that stops answering ends it as unreachable (10)


EXPECTED: dict[Fault, Kill] = {
    Fault.BLOCK_NO_FLAG: Kill(BLOCK, "the returned user has:", r"IsBlockedByLuwareApi: expected true, got false"),
    Fault.BLOCK_STAYS_SELECTABLE: Kill(BLOCK, "the returned user has:", r"IsSelectable: expected false, got true"),
    Fault.BLOCK_WRONG_REASON: Kill(BLOCK, "the returned user has:", r'NotSelectableReason: expected "InAServiceTask"'),
    Fault.BLOCK_CHANGES_PRESENCE: Kill(
        BLOCK, "the returned user's presence is unchanged", r'PresenceState: expected "Online", got "DoNotDisturb"'
    ),
    Fault.DISTRIBUTES_TO_BLOCKED: Kill(TASK, "the task stays pending", r"ReservedUserObject: expected null"),
    Fault.UNBLOCK_NO_DISTRIBUTION: Kill(
        TASK, "the task is distributed to and accepted by the target user", r"not reached within .*ReservedUserObject"
    ),
    Fault.ACCEPT_NO_REASON: Kill(
        TASK, "the target user as listed has:", r'NotSelectableReason: expected "InAnExternalTask", got null'
    ),
    Fault.UNBLOCK_KEEPS_BLOCKED: Kill(
        UNBLOCK, "the returned user has:", r"IsBlockedByLuwareApi: expected false, got true"
    ),
    Fault.PRESENCE_RETURNS_BODY: Kill(
        PRESENCE, 'I set the presence of the target user to "DoNotDisturb"', r"setpresence -> 200.*expected no body"
    ),
    Fault.PRESENCE_WRONG_STATUS: Kill(
        PRESENCE, 'I set the presence of the target user to "DoNotDisturb"', r"setpresence -> 202: expected status 200"
    ),
    Fault.PRESENCE_IGNORED: Kill(
        PRESENCE,
        'the target user\'s presence reads "DoNotDisturb"',
        r'PresenceState: expected "DoNotDisturb", got "Online"',
    ),
    Fault.LIST_OMITS_USER: Kill(BLOCK, BACKGROUND, r"sip:smoky\.cc@dev\.local is not in the users of service"),
    Fault.WRONG_TYPE: Kill(BLOCK, BACKGROUND, r'\$\[0\]\.IsSelectable: "(true|false)" is not of type "boolean"'),
    Fault.MISSING_FIELD: Kill(BLOCK, BACKGROUND, r'\$\[0\]: "PresenceState" is a required property'),
    Fault.LIST_500: Kill(BLOCK, BACKGROUND, r"/users -> 500: expected status 200.*NotInitialized"),
    Fault.NOT_JSON: Kill(BLOCK, BACKGROUND, r"/users -> 200: response is not JSON \(text/html"),
    Fault.SLOW_RESPONSE: Kill(BLOCK, BACKGROUND, r"/users -> no response: transport error .*Read timed out", 10),
    Fault.RONA_NEVER_FIRES: Kill(RONA, "the task stays pending", r'State: expected "Pending", got "Offered"'),
    Fault.SERVICES_OMIT_FIRST: Kill(
        SERVICES, "the configured service is among them", r"service 7830678b-\S+ is not listed"
    ),
    Fault.TASKS_OMIT_NEWEST: Kill(
        SERVICE_TASKS, "the service's tasks include the posted task", r"task \S+ \(lucs-harness-[\w-]+\) is not among"
    ),
    Fault.TASK_BY_EXTERNAL_ID_MISSING: Kill(
        READ_TASK, "I read the task by its ExternalTaskId", r"/tasks/lucs-harness-[\w-]+ -> 404: expected status 200"
    ),
    Fault.CALLBACK_NO_DEFAULTS: Kill(NEW_CALLBACK, "the new callback has:", r"MaxRetries: expected 3, got 0"),
    Fault.CALLBACK_BY_EXTERNAL_ID_WRONG: Kill(
        READ_CALLBACK, 'the callback read is "second"', r"the callback read \(expected 'second'\):.*Id: expected"
    ),
    Fault.CALLBACK_SEARCH_IGNORES_STATE: Kill(
        BY_STATE, 'the only callback found is "kept"', r'expected "kept"; got "kept", "dropped"'
    ),
    Fault.CALLBACK_SEARCH_IGNORES_PAGING: Kill(
        PAGE, 'the only callback found is "two"', r'expected "two"; got "one", "two", "three"'
    ),
    Fault.CALLBACK_SEARCH_IGNORES_SORT_ORDER: Kill(
        DESCENDING,
        'the callbacks found are, in this order: "three", "two", "one"',
        r'expected "three", "two", "one"; got "one", "two", "three"',
    ),
    Fault.CALLBACK_CANCEL_KEEPS_PENDING: Kill(
        CANCEL,
        'the callback "unwanted" is no longer among the pending callbacks',
        r"gone from the pending callbacks: not reached within .*pending: unwanted",
    ),
    Fault.CALLBACK_NEVER_QUEUED: Kill(
        CALLBACK_CLOCK, 'the callback "soon" is in state "InQueue"', r'State: expected "InQueue", got "Pending"'
    ),
    Fault.UNBLOCK_FAILS_ONCE: Kill(UNBLOCK, "I unblock the target user", r"/unblock -> 503: expected status 200"),
}


@dataclass(frozen=True)
class Failure:
    """One failed step of one scenario, as the Cucumber JSON report tells it."""

    scenario: str
    step: str
    message: str


@dataclass(frozen=True)
class Outcome:
    """One run of the suite: pytest's exit code and every failed step."""

    fault: Fault | None
    returncode: int
    failures: tuple[Failure, ...]
    output: str

    def kill(self) -> Failure | None:
        """The failure that proves the fault was caught where it must be, or None if it survived."""
        if self.fault is None or self.returncode not in (1, EXPECTED[self.fault].code):
            return None
        want = EXPECTED[self.fault]
        return next(
            (
                f
                for f in self.failures
                if f.scenario == want.scenario and f.step == want.step and re.search(want.message, f.message, re.S)
            ),
            None,
        )

    def caught(self) -> Failure | None:
        """In a whole run: the kill, or else a restore that failed with the expected message (a
        fault may first meet another scenario's undo; the run fails naming it all the same)."""
        if self.fault is None or self.returncode != 1:
            return self.kill()
        want = EXPECTED[self.fault]
        in_a_restore = (f for f in restore_failures(self.output) if re.search(want.message, f.message, re.S))
        return self.kill() or next(in_a_restore, None)


RESTORE_ERROR = re.compile(r"ERROR at teardown of (\S+) _+\nLUCS state not restored:\n((?:  .*\n?)+)")


def restore_failures(output: str) -> list[Failure]:
    """The restores that failed, as pytest's output names them (a teardown error of the test)."""
    return [Failure(test, "(its restore)", message.strip()) for test, message in RESTORE_ERROR.findall(output)]


def failures_of(cucumber: list[dict[str, object]]) -> tuple[Failure, ...]:
    """The failed steps in a pytest-bdd Cucumber JSON report."""
    found = []
    for feature in cucumber:
        for scenario in feature.get("elements", []):  # type: ignore[attr-defined]
            for step in scenario.get("steps", []):
                result = step.get("result", {})
                if result.get("status") == "failed":
                    found.append(Failure(scenario["name"], step["name"], result.get("error_message", "")))
    return tuple(found)


def only(scenario: str) -> list[str]:
    """pytest options that select one scenario (by the test name pytest-bdd gives it)."""
    return ["-k", "test_" + make_python_name(scenario)]


def run_batch(jobs: list[tuple[Fault | None, list[str]]]) -> list[Outcome]:
    """Run the feature suite once per job (a fault, or None, and extra pytest arguments), all in one
    child process (`tests.support.fault_batch`), against the embedded mock with that fault active."""
    with tempfile.TemporaryDirectory() as folder:
        jobs_file, out_file = Path(folder) / "jobs.json", Path(folder) / "outcomes.json"
        listed = [{"fault": fault.value if fault else None, "args": [*FAST, *extra]} for fault, extra in jobs]
        jobs_file.write_text(json.dumps(listed))
        command = [sys.executable, "-m", "tests.support.fault_batch", str(jobs_file), str(out_file)]
        done = subprocess.run(
            command, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=600, check=False
        )
        if done.returncode != 0 or not out_file.is_file():
            raise RuntimeError(f"the fault batch failed ({done.returncode}): {(done.stdout + done.stderr)[-3000:]}")
        results = json.loads(out_file.read_text())
    return [
        Outcome(fault, result["returncode"], failures_of(result["cucumber"]), result["output"])
        for (fault, _), result in zip(jobs, results, strict=True)
    ]


def run_suite(fault: Fault | None, extra: list[str] | None = None) -> Outcome:
    """Run the feature suite in a subprocess against the embedded mock with `fault` active."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "cucumber.json"
        command = suite_command("-q", "-p", "no:xdist", *FAST, f"--cucumberjson={report}", *(extra or []))
        if fault is not None:
            command.append(f"--lucs-mock-fault={fault.value}")
        done = subprocess.run(
            command, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=120, check=False
        )
        cucumber = json.loads(report.read_text()) if report.is_file() else []
    return Outcome(fault, done.returncode, failures_of(cucumber), done.stdout + done.stderr)
