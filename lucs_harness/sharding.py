"""How `--lucs-shard I/N` splits a run: which scenarios a share runs, and which slice of the
agent pool it drives (the plugin's hooks are `lucs_harness.plugin.shard`).

Which scenario goes where is decided by each runner alone, with no coordination, so it must come
out the same on every machine: the scenarios left after `--lucs-tags`, `-m` and `-k` are taken in
node-id order (never collection order), and each goes, longest first, to the shard with the least
work so far (then the fewest scenarios, then the lowest index). Work is the duration the scenario
took in an earlier run (setup, call and teardown), kept in pytest's cache under `lucs/durations`,
or read from `--lucs-durations FILE` (the same JSON: node id -> seconds); a scenario without one
counts as the mean of those known, and without any durations every scenario counts alike, which
makes a round-robin over the sorted node ids (shard sizes differ by at most one). Examples of one
Scenario Outline may land on different shards; tests sharing an `xdist_group` stay together.

Agents: against a real LUCS shard I/N drives `agent_pool()[I-1::N]` only. The slice is applied
once, where the configuration is made (`lucs_harness.plugin.hooks`), so everything downstream (the
pool-size check, the lease, a dry run's shadow mock) sees the slice only; `user` is left alone.
A pool of fewer than N agents is refused (exit 4). Against the embedded mock nothing is sliced.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from lucs_harness.config import LucsConfig
from lucs_harness.errors import ShardError

DURATIONS_KEY = "lucs/durations"  # pytest cache key: node id -> seconds
SHARD_PATTERN = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


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
    return lucs.replaced(agents=pool[shard.index - 1 :: shard.total])


def sharded(config: pytest.Config, lucs: LucsConfig) -> tuple[Shard | None, LucsConfig]:
    """The shard this run is (`--lucs-shard` or LUCS_SHARD), if any, and the configuration it runs
    with; a shard that cannot be is a `ShardError`."""
    text = config.getoption("--lucs-shard") or os.environ.get("LUCS_SHARD") or None
    if text is None:
        return None, lucs
    shard = parse_shard(text)
    return shard, slice_pool(lucs, shard)
