"""Across CI runners, as docs/ci.md tells users: `lucs-acceptance --lucs-shard I/N` on each runner,
then `lucs-acceptance merge` of their reports folders, makes the report of one run, each scenario
once; against a real LUCS each shard drives only its own slice of the agent pool."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from lucs_harness.reporting.verdict import RUN_CLASS
from tests.realtarget.support import TARGET_ENV, acceptance, mock_thread
from tests.support.suite import ROOT, child_env, suite_command

SHARDS = 3
POOL = "sip:smoky.cc@dev.local,sip:smoky.dd@dev.local"
TIMEOUT = 120
SHARED_RUNS = pytest.mark.xdist_group("shards")  # the tests of the `sharded` runs: on one worker, run once
ALLURE = ROOT / "node_modules" / ".bin" / "allure"


@dataclass(frozen=True)
class ShardedRun:
    """One unsharded run of the suite, and the same suite run as three shards after it."""

    whole: Path
    shards: list[Path]
    outputs: list[str]


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    output, _ = process.communicate(timeout=TIMEOUT)
    return process.returncode, output


def cases(reports: Path) -> list[tuple[str, str]]:
    """The scenarios a reports folder's junit.xml holds (not the run's own early-end entry)."""
    root = ET.parse(reports / "junit.xml").getroot()
    found = [(case.get("classname", ""), case.get("name", "")) for case in root.iter("testcase")]
    return [key for key in found if key[0] != RUN_CLASS]


def scenarios(reports: Path) -> list[tuple[str, str, int]]:
    """The scenarios a reports folder's cucumber.json holds: feature file, name, line."""
    features = json.loads((reports / "cucumber.json").read_text())
    return [(f["uri"], e["name"], e["line"]) for f in features for e in f["elements"]]


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> ShardedRun:
    """The whole suite once (which records the durations in the cache), then three shards of it at
    once, as three CI runners would, balancing by those durations."""
    root = tmp_path_factory.mktemp("sharded")
    cache = ["-o", f"cache_dir={root / 'cache'}"]  # not the checkout's cache: other runs write theirs
    code, output = finish(acceptance("--reports-dir", str(root / "whole"), "--no-html", "--", *cache))
    assert code == 0, output[-3000:]
    runs = [
        acceptance("--lucs-shard", f"{i}/{SHARDS}", "--reports-dir", str(root / f"shard{i}"), "--no-html", "--", *cache)
        for i in range(1, SHARDS + 1)
    ]
    outputs = []
    for run in runs:
        code, output = finish(run)
        assert code == 0, output[-3000:]
        outputs.append(output)
    return ShardedRun(root / "whole", [root / f"shard{i}" for i in range(1, SHARDS + 1)], outputs)


@SHARED_RUNS
def test_three_shards_then_merge_hold_exactly_the_scenarios_of_one_run(sharded: ShardedRun, tmp_path: Path) -> None:
    merged = tmp_path / "merged"
    code, output = finish(acceptance("merge", *map(str, sharded.shards), "--reports-dir", str(merged), "--no-html"))
    assert code == 0, output
    one_run = cases(sharded.whole)
    assert len(one_run) > SHARDS
    assert Counter(cases(merged)) == Counter(one_run)  # each once: none lost, none twice
    assert Counter(scenarios(merged)) == Counter(scenarios(sharded.whole))
    assert len({uri for uri, _, _ in scenarios(merged)}) == len(json.loads((merged / "cucumber.json").read_text()))
    shares = [set(cases(shard)) for shard in sharded.shards]
    assert all(shares), [len(share) for share in shares]  # no shard empty
    assert sum(map(len, shares)) == len(one_run)
    for i, shard_output in enumerate(sharded.outputs, start=1):
        assert f"lucs: shard {i}/{SHARDS}: {len(shares[i - 1])} of the {len(one_run)} selected" in shard_output
        assert "balanced by recorded durations" in shard_output
    assert f"LUCS acceptance: {len(one_run)} passed, 0 failed -> exit 0 (all selected scenarios passed)" in output
    properties = {p.get("name"): p.get("value") for p in ET.parse(merged / "junit.xml").getroot().iter("property")}
    assert properties["lucs.shards"] == "1/3 | 2/3 | 3/3"


@SHARED_RUNS
@pytest.mark.skipif(not ALLURE.is_file(), reason="Allure 3 is not installed (npm ci)")
def test_the_merge_writes_one_html_report_of_every_shard(sharded: ShardedRun, tmp_path: Path) -> None:
    merged = tmp_path / "merged"
    merge = ["merge", *map(str, sharded.shards), "--reports-dir", str(merged), f"--history={tmp_path / 'h.jsonl'}"]
    code, output = finish(acceptance(*merge))
    assert code == 0, output
    assert (merged / "report.html").is_file()
    summary = json.loads((merged / "allure-summary.json").read_text())
    assert summary["stats"]["total"] == len(cases(sharded.whole))


def real_shard(index: int, total: int, base: str, leases: Path) -> subprocess.Popen[str]:
    """Shard `index`/`total` of the suite against the LUCS at `base`, as its own runner would."""
    args = ["-q", f"--lucs-shard={index}/{total}", "--lucs-base-url", base, "--lucs-allow-changes"]
    args += ["--lucs-agents", POOL, "--lucs-lease-dir", str(leases)]
    env = child_env(**TARGET_ENV)
    return subprocess.Popen(
        suite_command(*args), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_shards_against_one_real_lucs_each_drive_only_their_slice_of_the_pool(tmp_path: Path) -> None:
    """Two runners with no lock in common (a lease folder each) against one LUCS: each leases only
    its own agent, so no agent is ever driven by both."""
    with mock_thread() as base:
        runs = [real_shard(i, 2, base, tmp_path / f"leases{i}") for i in (1, 2)]
        for run in runs:
            code, output = finish(run)
            assert code == 0, output[-3000:]
            assert " passed" in output
    for i, agent in enumerate(POOL.split(","), start=1):
        events = [json.loads(line) for line in (tmp_path / f"leases{i}" / "leases.log").read_text().splitlines()]
        assert {event["agent"] for event in events} == {agent}


def test_a_pool_smaller_than_the_shards_is_refused_before_anything_runs(tmp_path: Path) -> None:
    real = ["--lucs-base-url", "http://127.0.0.1:9", "--lucs-agents", POOL]
    code, output = finish(acceptance("--lucs-shard=1/3", *real, "--reports-dir", str(tmp_path), "--no-html"))
    assert code == 4, output[-3000:]
    assert "3 runners against a real LUCS need at least 3 agents, one slice each, but the agent pool has 2" in output
    assert "Traceback" not in output
    junit = ET.parse(tmp_path / "junit.xml").getroot()
    verdicts = [c for c in junit.iter("testcase") if c.get("classname") == RUN_CLASS]
    assert "need at least 3 agents" in ET.tostring(verdicts[0], encoding="unicode")


@pytest.mark.parametrize("workers", [["-p", "no:xdist"], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_shard_that_draws_nothing_from_the_selection_passes(tmp_path: Path, workers: list[str]) -> None:
    """Two scenarios selected, three runners: the third has nothing to do, and its CI job must not
    fail with pytest's "no tests collected" (5), with or without xdist workers."""
    selected = ["-k", "listed_as_selectable or blocking_takes"]
    run = acceptance("--lucs-shard", f"{SHARDS}/{SHARDS}", "--reports-dir", str(tmp_path), "--no-html", "--",
                     *workers, *selected)  # fmt: skip
    code, output = finish(run)
    assert code == 0, output[-3000:]
    assert "LUCS acceptance: 0 passed, 0 failed -> exit 0 (nothing to run)" in output
