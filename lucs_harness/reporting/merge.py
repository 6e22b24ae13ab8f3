"""`lucs-acceptance merge DIR… [--reports-dir OUT] [report options]`: one report from the reports
folders of the N shards of a run (`--lucs-shard I/N`, one per CI runner), as if one runner had run
them all: the Allure results side by side (the run-level `environment.properties` merged key by
key, `categories.json` once), one JUnit file with every test case (the shards' early-end entries
kept, so a shard that stopped is not lost), one Cucumber JSON with each feature once, holding its
scenarios from every shard, then the HTML (with the history's trend), the quality gate and the
summary line, as after a run (`publish.finish`, the same report options).

The exit code is that of a run: 0 only when no shard has a failure or an error, else the highest
code a shard's early-end entry names (2, 4, 10, 11, 13), else 1. A merge whose shards do not add up
(a test case in two shards, shards of different splits, a share missing or given twice) says so and
exits 4 at least: the shards did not split one selection the same way.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from lucs_harness.errors import GateError, MergeError, ReportsFolderError
from lucs_harness.exit_codes import FAILED, INTERRUPTED, PASSED, USAGE
from lucs_harness.reporting.allure_results import ENVIRONMENT
from lucs_harness.reporting.options import Publishing, add_report_options, publishing
from lucs_harness.reporting.publish import CUCUMBER, JUNIT, RESULTS, finish, prepare
from lucs_harness.reporting.verdict import LIST_SEPARATOR, NOT_RESTORED, RUN_CLASS
from lucs_harness.reporting.verdict import SHARD as SHARD_PROPERTY

PROG = "lucs-acceptance merge"
MERGED_SHARDS = "lucs.shards"  # the merged report's list of the shares it holds
PER_TEST = re.compile(r"-(result|container|attachment)(\.|$)")  # Allure's uuid-named files
EXIT_IN_VERDICT = re.compile(r"\bexit (\d+):")
NOTHING = "nothing"  # how the run's environment says "no such thing happened"
SHOWN_PROBLEMS = 10  # of the reasons the shards do not add up, on the terminal


@dataclass
class ShardReports:
    """What one shard's reports folder holds, read."""

    folder: Path
    cases: list[ET.Element]
    properties: list[tuple[str, str]]
    features: list[dict[str, Any]]
    code: int = PASSED
    shard: str | None = None
    time: float = 0.0
    timestamps: list[str] = field(default_factory=list)


def read_shard(folder: Path) -> ShardReports:
    """A shard's JUnit and Cucumber reports; a folder without a JUnit file is no shard's."""
    if not folder.is_dir():
        raise MergeError(f"{folder}: no such folder")
    junit = folder / JUNIT
    if not junit.is_file():
        raise MergeError(f"{folder}: holds no {JUNIT}; give the --reports-dir of each shard's lucs-acceptance run")
    try:
        root = ET.parse(junit).getroot()
    except ET.ParseError as error:
        raise MergeError(f"{junit}: not JUnit XML: {error}") from None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    cases = [case for suite in suites for case in suite.findall("testcase")]
    properties = [(p.get("name", ""), p.get("value", "")) for p in root.iter("property")]
    shard = ShardReports(folder, cases, properties, read_cucumber(folder / CUCUMBER))
    shard.code = shard_code(cases)
    shard.shard = next((value for name, value in properties if name == SHARD_PROPERTY), None)
    shard.time = sum(float(suite.get("time", "0") or 0) for suite in suites)
    shard.timestamps = [stamp for suite in suites if (stamp := suite.get("timestamp"))]
    return shard


def read_cucumber(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    try:
        features = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise MergeError(f"{path}: not JSON: {error}") from None
    if not isinstance(features, list):
        raise MergeError(f"{path}: not a Cucumber JSON list of features")
    return [feature for feature in features if isinstance(feature, dict)]


def shard_code(cases: Sequence[ET.Element]) -> int:
    """A shard's exit code as its JUnit tells it: the highest early-end code its own entries name,
    else 1 for any failure or error, else 0."""
    early = [
        int(match.group(1))
        for case in cases
        if case.get("classname") == RUN_CLASS
        for error in case.findall("error")
        if (match := EXIT_IN_VERDICT.search(error.get("message", "")))
    ]
    if early:
        return max(early)
    failed = any(case.find("failure") is not None or case.find("error") is not None for case in cases)
    return FAILED if failed else PASSED


def mismatches(shards: Sequence[ShardReports]) -> list[str]:
    """Why the shards do not add up to one run: a test in two shards, different splits, a share
    missing or given twice."""
    problems: list[str] = []
    seen: dict[tuple[str, str], Path] = {}
    for shard in shards:
        for case in shard.cases:
            key = (case.get("classname", ""), case.get("name", ""))
            if key[0] == RUN_CLASS:
                continue
            if key in seen and seen[key] != shard.folder:
                problems.append(f"{key[0]}::{key[1]} is in {seen[key]} and in {shard.folder}")
            seen.setdefault(key, shard.folder)
    labelled = [shard.shard for shard in shards if shard.shard]
    totals = sorted({label.split("/")[-1] for label in labelled})
    if len(totals) > 1:
        problems.append(f"the shards come from different splits: {', '.join(labelled)}")
    twice = sorted({label for label in labelled if labelled.count(label) > 1})
    problems += [f"shard {label} is given more than once" for label in twice]
    if len(totals) == 1 and len(labelled) == len(shards) and totals[0].isdigit():
        missing = [f"{i}/{totals[0]}" for i in range(1, int(totals[0]) + 1) if f"{i}/{totals[0]}" not in labelled]
        problems += [f"no report of shard {label}" for label in missing]
    return problems


def combine(values: Sequence[str]) -> str:
    """Several shards' values of one property as one: each distinct value once; what one shard had
    nothing to say about ("nothing: …") gives way to what another says."""
    distinct = list(dict.fromkeys(values))
    said = [value for value in distinct if not value.startswith(NOTHING)]
    return LIST_SEPARATOR.join(said or distinct)


def merged_properties(shards: Sequence[ShardReports]) -> dict[str, str]:
    by_name: dict[str, list[str]] = {}
    for shard in shards:
        for name, value in shard.properties:
            by_name.setdefault(MERGED_SHARDS if name == SHARD_PROPERTY else name, []).append(value)
    return {name: combine(values) for name, values in by_name.items()}


def write_junit(shards: Sequence[ShardReports], path: Path) -> None:
    """One `<testsuite>` with every shard's test cases, counts recounted, times summed."""
    cases = [case for shard in shards for case in shard.cases]
    stamps = sorted(stamp for shard in shards for stamp in shard.timestamps)
    root = ET.Element("testsuites", name="pytest tests")
    counts = {
        "errors": sum(case.find("error") is not None for case in cases),
        "failures": sum(case.find("failure") is not None for case in cases),
        "skipped": sum(case.find("skipped") is not None for case in cases),
        "tests": len(cases),
    }
    suite = ET.SubElement(root, "testsuite", {"name": "pytest", **{k: str(v) for k, v in counts.items()}})
    suite.set("time", f"{sum(shard.time for shard in shards):.3f}")
    if stamps:
        suite.set("timestamp", stamps[0])
    properties = merged_properties(shards)
    if properties:
        holder = ET.SubElement(suite, "properties")
        for name, value in properties.items():
            ET.SubElement(holder, "property", name=name, value=value)
    suite.extend(cases)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def merged_features(shards: Sequence[ShardReports]) -> list[dict[str, Any]]:
    """Each feature once (by its file), with the scenarios of every shard in the file's order."""
    features: dict[str, dict[str, Any]] = {}
    for shard in shards:
        for feature in shard.features:
            key = str(feature.get("uri") or feature.get("id") or feature.get("name"))
            if key not in features:
                features[key] = {**feature, "elements": []}
            features[key]["elements"].extend(feature.get("elements") or [])
    for feature in features.values():
        feature["elements"].sort(key=lambda element: element.get("line", 0) if isinstance(element, dict) else 0)
    return list(features.values())


def copy_results(shards: Sequence[ShardReports], target: Path) -> None:
    """Every shard's Allure results into `target`: per-test files (uuid-named) all, the run-level
    files once, `environment.properties` merged key by key."""
    target.mkdir(parents=True, exist_ok=True)
    environment: dict[str, list[str]] = {}
    for shard in shards:
        folder = shard.folder / RESULTS
        for source in sorted(folder.iterdir()) if folder.is_dir() else ():
            if source.name == ENVIRONMENT:
                for key, value in read_properties(source).items():
                    environment.setdefault(key, []).append(value)
            elif source.is_file():
                copy_once(source, target / source.name)
    labels = [shard.shard for shard in shards if shard.shard]
    if labels:
        environment[MERGED_SHARDS] = labels  # the report's environment panel names the shares it holds
    if environment:
        lines = "".join(f"{key}={combine(values)}\n" for key, values in environment.items())
        (target / ENVIRONMENT).write_text(lines, encoding="utf-8")


def copy_once(source: Path, destination: Path) -> None:
    """A run-level file (categories.json) is kept from the first shard; two different per-test
    files of one name would be one result given twice."""
    if not destination.exists():
        shutil.copyfile(source, destination)
    elif PER_TEST.search(source.name) and destination.read_bytes() != source.read_bytes():
        raise MergeError(f"{source}: another shard holds a different file of that name")


def read_properties(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if "=" in line)
    return {key: value for key, value in pairs}


def check_folders(inputs: Sequence[Path], reports: Path) -> None:
    """The output is none of the inputs, and no input is given twice."""
    resolved = [folder.resolve() for folder in inputs]
    if reports.resolve() in resolved:
        raise MergeError(f"--reports-dir {reports} is one of the shard folders; choose another")
    twice = sorted({str(folder) for folder in resolved if resolved.count(folder) > 1})
    if twice:
        raise MergeError(f"shard folder given more than once: {', '.join(twice)}")


def merge(inputs: Sequence[Path], publishing: Publishing) -> int:
    """Merge the shards' reports folders `inputs` into one, then `finish` it as a run's."""
    reports = publishing.reports.resolve()
    try:
        check_folders(inputs, reports)
        shards = [read_shard(folder) for folder in inputs]
        issues = publishing.known_issues()
        prepare(reports)
        copy_results(shards, reports / RESULTS)
    except (MergeError, GateError, ReportsFolderError, OSError) as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return USAGE
    write_junit(shards, reports / JUNIT)
    (reports / CUCUMBER).write_text(json.dumps(merged_features(shards), indent=2), encoding="utf-8")
    code = max(shard.code for shard in shards)
    problems = mismatches(shards)
    for problem in problems[:SHOWN_PROBLEMS]:
        print(f"{PROG}: {problem}", file=sys.stderr)
    if len(problems) > SHOWN_PROBLEMS:
        print(f"{PROG}: … and {len(problems) - SHOWN_PROBLEMS} more", file=sys.stderr)
    if problems:
        code = max(code, USAGE)
    not_restored = merged_properties(shards).get(NOT_RESTORED)
    if not_restored:  # what the summary line points to
        print("\n  ".join(["LUCS STATE NOT RESTORED", *not_restored.split(LIST_SEPARATOR)]))
    return finish(reports, code, publishing, issues)


class _Parser(argparse.ArgumentParser):
    """Usage errors as the harness's exit 4, not argparse's 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"{PROG}: {message}", file=sys.stderr)
        raise SystemExit(USAGE)


def parser() -> argparse.ArgumentParser:
    cli = _Parser(prog=PROG, description="Merge the reports of the shards of one run (--lucs-shard I/N) into one.")
    cli.add_argument("shards", nargs="+", type=Path, metavar="DIR", help="a shard's reports folder (its --reports-dir)")
    add_report_options(cli)
    return cli


def main(argv: Sequence[str]) -> int:
    """`lucs-acceptance merge ARGS`; a stop request (Ctrl-C, SIGTERM) ends it with exit 2."""
    try:
        args = parser().parse_args(list(argv))
        return merge(args.shards, publishing(args))
    except GateError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return USAGE
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: stopped", file=sys.stderr)
        return INTERRUPTED
