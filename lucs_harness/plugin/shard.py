"""`--lucs-shard I/N`: one of N CI runners (GitLab `parallel:`, a GitHub matrix) runs its share of
the selected scenarios and, against a real LUCS, drives only its own slice of the agent pool;
`lucs-acceptance merge` (`lucs_harness.reporting.merge`) makes one report of the N shares.

Which scenario goes where is decided by each runner alone, with no coordination, so it must come
out the same on every machine: the scenarios left after `--tags`, `-m` and `-k` are taken in
node-id order (never collection order), and each goes, longest first, to the shard with the least
work so far (then the fewest scenarios, then the lowest index). Work is the duration the scenario
took in an earlier run (setup, call and teardown), kept in pytest's cache under `lucs/durations`,
or read from `--lucs-durations FILE` (the same JSON: node id -> seconds); a scenario without one
counts as the mean of those known, and without any durations every scenario counts alike, which
makes a round-robin over the sorted node ids (shard sizes differ by at most one). Only an
unsharded run records durations: a sharded one reads them and never writes, so shards run one
after another on one machine still split the same numbers. Examples of one Scenario Outline may
land on different shards; tests sharing an `xdist_group` stay together.

Agents: the agent pool (`LucsConfig.agent_pool()`: `agents`, else the target user alone) is what
the session's lease (`lucs_harness.plugin.fixtures.lucs_agent`) takes an agent from, and against a
real LUCS the leased agent is the target user every scenario drives (`world.target_ref`); the
configured `user` is only the pool's fallback. So the slice is applied once, to the configuration
itself: after the harness's own `pytest_configure` stored it, shard I/N replaces `agents` with
`agent_pool()[I-1::N]`, and everything downstream (the lease, the xdist pool-size check repeated
here for the slice, a dry run's shadow mock and the agent it names) sees the slice only; `user`
is left alone. Disjoint slices need no lock shared between runners. A pool of fewer than N agents
(the target user alone, when no agents are listed) is refused (exit 4). Against the embedded mock
(no base URL) every shard starts a mock of its own and drives the target user, so nothing is
sliced.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lucs_harness.config import LucsConfig
from lucs_harness.exit_codes import USAGE
from lucs_harness.plugin.session import CONFIG_KEY, RUN_KEY
from lucs_harness.reporting.verdict import SHARD as SHARD_PROPERTY
from lucs_harness.reporting.verdict import ReportPaths, annotate

DURATIONS_KEY = "lucs/durations"  # pytest cache key: node id -> seconds
SHARD_PATTERN = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")
SHARD_KEY = pytest.StashKey["Shard"]()
DURATIONS_STASH = pytest.StashKey[dict[str, float]]()
TALLY_KEY = pytest.StashKey[tuple[int, int]]()  # (kept by this shard, selected before sharding)
TALLY_OUTPUT = "lucs_shard_tally"  # an xdist worker's tally, sent to the controller, which collects nothing


class ShardError(ValueError):
    """A shard option or agent pool that cannot work; the message is one line."""


@dataclass(frozen=True)
class Shard:
    """Share `index` (1-based) of `total`."""

    index: int
    total: int

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


def parse_shard(text: str) -> Shard:
    """`"2/3"` as `Shard(2, 3)`; anything else is a `ShardError` that says what is expected."""
    match = SHARD_PATTERN.fullmatch(text)
    index, total = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if not 1 <= index <= total:
        raise ShardError(
            f"--lucs-shard {text!r}: expected I/N with 1 <= I <= N, e.g. 2/3 (CI: $CI_NODE_INDEX/$CI_NODE_TOTAL)"
        )
    return Shard(index, total)


def assign(weights: Mapping[str, float], total: int) -> list[list[str]]:
    """Split the keys of `weights` into `total` shares: heaviest first (ties by key), each to the
    share with the least weight so far, then the fewest keys, then the lowest index. Deterministic
    for the same weights, whatever order they came in."""
    loads = [(0.0, 0, index) for index in range(total)]
    shares: list[list[str]] = [[] for _ in range(total)]
    for key in sorted(weights, key=lambda k: (-weights[k], k)):
        load, count, index = min(loads)
        shares[index].append(key)
        loads[index] = (load + weights[key], count + 1, index)
    return shares


def unit_of(item: pytest.Item) -> str:
    """What must stay on one shard: its `xdist_group`, else the test itself."""
    group = item.get_closest_marker("xdist_group")
    if group is not None:
        name = group.args[0] if group.args else group.kwargs.get("name", "default")
        return f"xdist_group:{name}"
    return item.nodeid


def unit_weights(units: Mapping[str, Sequence[str]], durations: Mapping[str, float]) -> dict[str, float]:
    """Each unit's recorded work; a test without a duration counts as the mean of those known
    (1.0 when none is: then every test counts alike)."""
    known = [durations[nodeid] for nodeids in units.values() for nodeid in nodeids if nodeid in durations]
    fallback = math.fsum(known) / len(known) if known else 1.0
    return {key: math.fsum(durations.get(nodeid, fallback) for nodeid in nodeids) for key, nodeids in units.items()}


def select(items: Sequence[pytest.Item], shard: Shard, durations: Mapping[str, float]) -> list[pytest.Item]:
    """The items shard `shard` runs, in their collection order."""
    units: dict[str, list[str]] = {}
    for item in items:
        units.setdefault(unit_of(item), []).append(item.nodeid)
    mine = set(assign(unit_weights(units, durations), shard.total)[shard.index - 1])
    return [item for item in items if unit_of(item) in mine]


def valid_durations(data: Any) -> dict[str, float]:
    """The usable entries of a durations mapping (node id -> finite seconds >= 0); anything else is dropped."""
    if not isinstance(data, dict):
        return {}
    return {
        str(key): float(value)
        for key, value in data.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
    }


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


def slice_pool(lucs: LucsConfig, shard: Shard) -> LucsConfig:
    """The configuration shard `shard` runs with: against a real LUCS, its own slice of the agent
    pool (no two runners drive the same agent); on the embedded mock, unchanged."""
    pool = lucs.agent_pool()
    if lucs.base_url is None or shard.total == 1:
        return lucs
    if len(pool) < shard.total:
        raise ShardError(
            f"--lucs-shard {shard}: {shard.total} runners against a real LUCS need at least {shard.total} agents, "
            f"one slice each, but the agent pool has {len(pool)} ({', '.join(pool)}); list more with --lucs-agents"
        )
    return lucs.model_copy(update={"agents": pool[shard.index - 1 :: shard.total]})


def check_workers(lucs: LucsConfig, shard: Shard, workers: object) -> None:
    """Every xdist worker of this shard needs an agent of the shard's slice."""
    pool = lucs.agent_pool()
    if lucs.base_url is not None and isinstance(workers, int) and workers > len(pool):
        raise ShardError(
            f"--lucs-shard {shard}: {workers} xdist workers need {workers} agents, but this shard's slice of the "
            f"agent pool has {len(pool)} ({', '.join(pool)}); list more with --lucs-agents or run fewer workers"
        )


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


def sharded(config: pytest.Config, lucs: LucsConfig) -> tuple[Shard | None, LucsConfig]:
    """The shard this run is (`--lucs-shard` or LUCS_SHARD), if any, and the configuration it runs
    with; a shard that cannot be is a `ShardError`."""
    text = config.getoption("--lucs-shard") or os.environ.get("LUCS_SHARD") or None
    if text is None:
        return None, lucs
    shard = parse_shard(text)
    return shard, slice_pool(lucs, shard)


@pytest.hookimpl(trylast=True)  # after the harness's own pytest_configure stored the configuration
def pytest_configure(config: pytest.Config) -> None:
    try:
        shard, lucs = sharded(config, config.stash[CONFIG_KEY])
        if shard is None:
            if not hasattr(config, "workerinput"):
                config.pluginmanager.register(DurationRecorder(config), "lucs-durations-recorder")
            return
        if not hasattr(config, "workerinput"):
            check_workers(lucs, shard, config.getoption("numprocesses", None))
        config.stash[DURATIONS_STASH] = read_durations(config)
    except ShardError as error:
        config.stash[RUN_KEY].end(USAGE, str(error))
        raise pytest.UsageError(str(error)) from None
    config.stash[SHARD_KEY], config.stash[CONFIG_KEY] = shard, lucs


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
    if shard is not None and not hasattr(config, "workerinput"):
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
