"""`--lucs-shard I/N`: one of N CI runners (GitLab `parallel:`, a GitHub matrix) runs its share of
the selected scenarios (`lucs_harness.sharding` says how they are split and which agents a share
drives); `lucs-acceptance merge` (`lucs_harness.reporting.merge`) makes one report of the N shares.
Only an unsharded run records durations: a sharded one reads them and never writes, so shards run
one after another on one machine still split the same numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lucs_harness.errors import ShardError
from lucs_harness.exit_codes import USAGE
from lucs_harness.plugin.session import CONFIG_KEY, RUN_KEY, SHARD_KEY, is_worker
from lucs_harness.reporting.verdict import SHARD as SHARD_PROPERTY
from lucs_harness.reporting.verdict import ReportPaths, annotate
from lucs_harness.sharding import DURATIONS_KEY, select, valid_durations

DURATIONS_STASH = pytest.StashKey[dict[str, float]]()
TALLY_KEY = pytest.StashKey[tuple[int, int]]()  # (kept by this shard, selected before sharding)
TALLY_OUTPUT = "lucs_shard_tally"  # an xdist worker's tally, sent to the controller, which collects nothing


def read_durations(config: pytest.Config) -> dict[str, float]:
    """`--lucs-durations FILE` if given, else what the last unsharded run left in the cache."""
    file = config.getoption("--lucs-durations")
    if file:
        try:
            return valid_durations(json.loads(Path(file).read_text(encoding="utf-8")))
        except (OSError, ValueError) as error:
            raise ShardError(f"--lucs-durations {file}: cannot read a JSON object of durations: {error}") from None
    cache = getattr(config, "cache", None)
    return valid_durations(cache.get(DURATIONS_KEY, {})) if cache is not None else {}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lucs")
    group.addoption(
        "--lucs-shard",
        default=None,
        metavar="I/N",
        help="run share I of N of the selected scenarios (one CI runner of N), driving only slice I of the "
        "agent pool; also LUCS_SHARD",
    )
    group.addoption(
        "--lucs-durations",
        default=None,
        metavar="FILE",
        help="JSON of node id -> seconds that --lucs-shard balances by (default: the pytest cache's lucs/durations)",
    )


@pytest.hookimpl(trylast=True)  # after the harness's own pytest_configure made the (sliced) configuration
def pytest_configure(config: pytest.Config) -> None:
    if config.stash.get(SHARD_KEY, None) is None:
        if not is_worker(config):
            config.pluginmanager.register(DurationRecorder(config), "lucs-durations-recorder")
        return
    try:
        config.stash[DURATIONS_STASH] = read_durations(config)
    except ShardError as error:
        config.stash[RUN_KEY].end(USAGE, str(error))
        raise pytest.UsageError(str(error)) from None


@pytest.hookimpl(trylast=True)  # after --tags, -m and -k: the shares split what is left
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    shard = config.stash.get(SHARD_KEY, None)
    if shard is None:
        return
    durations = config.stash[DURATIONS_STASH]
    keep = select(items, shard, durations)
    config.stash[TALLY_KEY] = (len(keep), len(items))
    if hasattr(config, "workeroutput"):
        config.workeroutput[TALLY_OUTPUT] = [len(keep), len(items)]
    kept = {id(item) for item in keep}
    drop = [item for item in items if id(item) not in kept]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_collectionfinish(config: pytest.Config) -> str | None:
    shard, tally = config.stash.get(SHARD_KEY, None), config.stash.get(TALLY_KEY, None)
    if shard is None or tally is None:
        return None
    how = "by recorded durations" if config.stash[DURATIONS_STASH] else "by count (no recorded durations)"
    return f"lucs: shard {shard}: {tally[0]} of the {tally[1]} selected tests, balanced {how}"


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """The controller's tally under `-n`: what its workers kept (each collected the same selection)."""
    tally = getattr(node, "workeroutput", {}).get(TALLY_OUTPUT)
    if tally is not None:
        kept, selected = node.config.stash.get(TALLY_KEY, (0, 0))
        node.config.stash[TALLY_KEY] = (max(kept, tally[0]), max(selected, tally[1]))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A shard that drew nothing from a non-empty selection did its share: exit 0, not pytest's
    "no tests collected" (5), which would fail its CI job."""
    tally = session.config.stash.get(TALLY_KEY, None)
    if tally is not None and tally[0] == 0 < tally[1] and session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK


def pytest_unconfigure(config: pytest.Config) -> None:
    """Say in junit.xml which share it holds, for the merge to check that the shares add up."""
    shard = config.stash.get(SHARD_KEY, None)
    if shard is not None and not is_worker(config):
        annotate(ReportPaths.of(config), None, {SHARD_PROPERTY: str(shard)})


class DurationRecorder:
    """Keeps, for an unsharded run's controller, how long each test took (setup + call + teardown),
    and adds it to the cache at the end for later sharded runs to balance by."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.seconds: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Setup starts a try afresh: a scenario retried (`--lucs-reruns`) counts as its last try."""
        before = 0.0 if report.when == "setup" else self.seconds.get(report.nodeid, 0.0)
        self.seconds[report.nodeid] = before + report.duration

    def pytest_sessionfinish(self) -> None:
        cache = getattr(self.config, "cache", None)
        lucs = self.config.stash.get(CONFIG_KEY, None)
        if cache is None or not self.seconds or (lucs is not None and lucs.dry_run):
            return  # a dry run's timings say nothing about the real one
        recorded = valid_durations(cache.get(DURATIONS_KEY, {}))
        cache.set(DURATIONS_KEY, recorded | {nodeid: round(s, 3) for nodeid, s in sorted(self.seconds.items())})
