"""Every exit has a report: when a run ends early (interrupted, configuration refused, LUCS
unreachable, credentials refused, no free agent) JUnit, Cucumber JSON and Allure results each get
an error entry that says why, written or added after pytest's own reports. A CI gate that reads
junit.xml sees the reason instead of a missing file, every selected scenario (those the run never
reached skipped as not run) and no test case without a name (pytest's JUnit writer leaves one for
a scenario whose setup passed when the run ended inside it)."""

from __future__ import annotations

import json
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from lucs_harness.reporting.faults import ALLURE, CUCUMBER, JUNIT, ReportFaults, write_whole

if TYPE_CHECKING:  # the wrapper imports this module, and needs no pytest of its own
    import pytest

RUN_NAME = "LUCS acceptance run"
RUN_CLASS = "lucs_harness.run"
# the run's facts as JUnit properties (the same names in Allure's environment), read by the summary and the merge
NOT_RESTORED = "lucs.not_restored"  # the changes the run could not undo
DRY_RUN = "lucs.dry_run"
FLAKY = "lucs.flaky"  # the scenarios that passed on a retry
SHARD = "lucs.shard"  # which share of a sharded run a report holds ("2/3")
LIST_SEPARATOR = " | "
NOT_RUN_TYPE = "lucs.not_run"  # the `<skipped type>` of a selected scenario the run never reached
ENDED_EARLY = "the run ended early"
T = TypeVar("T")


@dataclass(frozen=True)
class ReportPaths:
    """Where this run's machine-readable reports go (None when not asked for)."""

    junit: Path | None = None
    cucumber: Path | None = None
    allure: Path | None = None

    @classmethod
    def of(cls, config: pytest.Config) -> ReportPaths:
        def path(option: str) -> Path | None:
            value = config.getoption(option, None)
            return Path(value) if value else None

        return cls(path("xmlpath"), path("cucumber_json_path"), path("allure_report_dir"))

    def all(self) -> Iterator[Path]:
        yield from (p for p in (self.junit, self.cucumber, self.allure) if p is not None)


def annotate(
    paths: ReportPaths,
    verdict: tuple[int, str] | None,
    properties: Mapping[str, str],
    selected: Sequence[tuple[str, str]] = (),
    faults: ReportFaults | None = None,
) -> None:
    """Add the run's verdict (exit code, reason) as an error entry, and `properties` to the JUnit
    file; each of the `selected` scenarios (classname, name) without a test case there gets one,
    skipped as not run; a test case without a name goes. With `faults`, a report that is broken
    already is left alone, and one that cannot be rewritten breaks instead of the caller."""
    attempt = faults.attempt if faults is not None else _at_once
    junit, cucumber, allure = paths.junit, paths.cucumber, paths.allure
    if junit is not None and (verdict is not None or properties or selected):
        attempt(JUNIT, junit, lambda: _junit(junit, verdict, properties, selected))
    if verdict is None:
        return
    if cucumber is not None:
        attempt(CUCUMBER, cucumber, lambda: _cucumber(cucumber, *verdict))
    if allure is not None:
        attempt(ALLURE, allure, lambda: _allure(allure, *verdict))


def _at_once(name: str, path: Path | None, write: Callable[[], T]) -> T:
    """A write whose failure is the caller's to handle."""
    return write()


def _message(code: int, reason: str) -> str:
    return f"exit {code}: {reason or 'the run ended early'}"


def junit_name(nodeid: str, prefix: str | None = None) -> tuple[str, str]:
    """The classname and name pytest's JUnit writer gives the test `nodeid` (`--junit-prefix` too)."""
    from _pytest.junitxml import mangle_test_address  # here: the wrapper imports this module without pytest

    *module, name = mangle_test_address(nodeid)
    return ".".join([prefix, *module] if prefix else module), name


def _junit(
    path: Path, verdict: tuple[int, str] | None, properties: Mapping[str, str], selected: Sequence[tuple[str, str]]
) -> None:
    try:
        root = ET.parse(path).getroot() if path.is_file() else ET.Element("testsuites")
    except ET.ParseError:
        root = ET.Element("testsuites")  # cut short while written: replaced by one that says why
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    if suite is None:
        suite = ET.SubElement(root, "testsuite", name="pytest", tests="0", errors="0", failures="0", skipped="0")
    for case in suite.findall("testcase"):
        if not case.get("name"):
            suite.remove(case)
    _not_run(suite, selected)
    if properties:
        holder = suite.find("properties")
        if holder is None:
            holder = ET.Element("properties")
            suite.insert(0, holder)
        for name, value in properties.items():
            ET.SubElement(holder, "property", name=name, value=value)
    if verdict is not None:
        case = ET.SubElement(suite, "testcase", classname=RUN_CLASS, name="run", time="0")
        ET.SubElement(case, "error", message=_message(*verdict)).text = _message(*verdict)
        _count(suite, ("tests", "errors"), 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_whole(path, ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _not_run(suite: ET.Element, selected: Sequence[tuple[str, str]]) -> None:
    """A skipped test case for each selected scenario the run never reached: the report holds the
    whole selection, and the summary line counts them as not run."""
    present = {(case.get("classname"), case.get("name")) for case in suite.iter("testcase")}
    missing = [(classname, name) for classname, name in selected if (classname, name) not in present]
    for classname, name in missing:
        case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
        ET.SubElement(case, "skipped", type=NOT_RUN_TYPE, message=ENDED_EARLY)
    _count(suite, ("tests", "skipped"), len(missing))


def _count(suite: ET.Element, counters: tuple[str, ...], more: int) -> None:
    for counter in counters:
        suite.set(counter, str(int(suite.get(counter, "0")) + more))


def _cucumber(path: Path, code: int, reason: str) -> None:
    try:
        features: list[Any] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    except ValueError:
        features = []
    step = {
        "keyword": "Given ",
        "name": "the run ends",
        "line": 1,
        "match": {"location": RUN_CLASS},
        "result": {"status": "failed", "duration": 0, "error_message": _message(code, reason)},
    }
    scenario = {"id": "run;run", "keyword": "Scenario", "name": "run", "line": 1, "type": "scenario", "steps": [step]}
    features.append(
        {"id": "run", "uri": RUN_CLASS, "keyword": "Feature", "name": RUN_NAME, "line": 1, "elements": [scenario]}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_whole(path, json.dumps(features, indent=2).encode("utf-8"))


def _allure(folder: Path, code: int, reason: str) -> None:
    now = int(time.time() * 1000)
    result = {
        "uuid": str(uuid.uuid4()),
        "historyId": RUN_CLASS,
        "name": RUN_NAME,
        "fullName": RUN_CLASS,
        "status": "broken",
        "statusDetails": {"message": _message(code, reason)},
        "stage": "finished",
        "start": now,
        "stop": now,
        "labels": [{"name": "suite", "value": RUN_NAME}, {"name": "severity", "value": "blocker"}],
    }
    folder.mkdir(parents=True, exist_ok=True)
    write_whole(folder / f"{result['uuid']}-result.json", json.dumps(result).encode("utf-8"))
