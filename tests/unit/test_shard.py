"""`--lucs-shard I/N`: the split is the same on every runner, balanced, and by recorded durations
where there are some; against a real LUCS each shard drives only its own slice of the agent pool."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from lucs_harness.cli import joined
from lucs_harness.config import LucsConfig
from lucs_harness.errors import ShardError
from lucs_harness.sharding import Shard, assign, parse_shard, select, slice_pool, unit_weights, valid_durations

NODEIDS = [f"tests/acceptance/test_features.py::test_{i:02d}" for i in range(40)]
REAL = "https://lucs.example.com"
POOL = [f"sip:agent{i}@corp.example" for i in range(1, 8)]


@pytest.mark.parametrize(("text", "shard"), [("1/1", Shard(1, 1)), ("2/3", Shard(2, 3)), (" 3 / 3 ", Shard(3, 3))])
def test_a_shard_is_written_i_of_n(text: str, shard: Shard) -> None:
    assert parse_shard(text) == shard
    assert str(shard) == text.replace(" ", "")


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "1/0", "a/b", "/", "1/3/5", "-1/3", ""])
def test_a_bad_shard_is_one_line_that_says_what_is_expected(text: str) -> None:
    with pytest.raises(ShardError, match=r"expected I/N with 1 <= I <= N, e\.g\. 2/3") as error:
        parse_shard(text)
    assert "\n" not in str(error.value)


def test_without_durations_the_split_is_the_same_whatever_the_order_and_sizes_differ_by_one_at_most() -> None:
    weights = dict.fromkeys(NODEIDS, 1.0)
    shuffled = dict.fromkeys(random.Random(7).sample(NODEIDS, len(NODEIDS)), 1.0)
    for total in (1, 2, 3, 7, 40, 41):
        shares = assign(weights, total)
        assert shares == assign(shuffled, total)
        assert sorted(key for share in shares for key in share) == sorted(NODEIDS)  # each once
        assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_recorded_durations_balance_the_work_longest_first() -> None:
    shares = assign({"a": 10.0, "b": 6.0, "c": 5.0, "d": 4.0, "e": 1.0}, 2)
    assert shares == [["a", "d"], ["b", "c", "e"]]  # 14 s and 12 s, where counting would give 3 and 2 anyway


def test_one_long_scenario_gets_a_shard_of_its_own() -> None:
    weights = {"slow": 30.0} | dict.fromkeys(NODEIDS[:12], 1.0)
    shares = assign(weights, 3)
    assert shares[0] == ["slow"]
    assert [len(share) for share in shares[1:]] == [6, 6]


def test_equal_durations_still_spread_the_count() -> None:
    shares = assign(dict.fromkeys(NODEIDS[:9], 0.0), 3)
    assert [len(share) for share in shares] == [3, 3, 3]


def test_a_test_without_a_duration_counts_as_the_mean_of_those_known() -> None:
    units = {"a": ["a"], "b": ["b"], "new": ["new"], "group": ["g1", "g2"]}
    weights = unit_weights(units, {"a": 1.0, "b": 3.0, "g1": 2.0})
    assert weights == {"a": 1.0, "b": 3.0, "new": 2.0, "group": 4.0}
    assert unit_weights({"x": ["x"], "y": ["y"]}, {}) == {"x": 1.0, "y": 1.0}


def test_only_usable_durations_are_read() -> None:
    data = {"a": 1.5, "b": 2, "c": -1, "d": "3", "e": float("nan"), "f": True, "g": None}
    assert valid_durations(data) == {"a": 1.5, "b": 2.0}
    assert valid_durations(["a"]) == {}


@dataclass
class FakeMark:
    args: tuple[str, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeItem:
    """What `select` reads of a pytest item."""

    nodeid: str
    group: str | None = None

    def get_closest_marker(self, name: str) -> FakeMark | None:
        return FakeMark((self.group,)) if name == "xdist_group" and self.group else None


def items(*fakes: FakeItem) -> list[pytest.Item]:
    return cast(list[pytest.Item], list(fakes))


def test_the_shards_of_one_selection_hold_each_item_once_in_collection_order() -> None:
    collected = items(*(FakeItem(nodeid) for nodeid in reversed(NODEIDS)))
    shares = [select(collected, Shard(i, 3), {}) for i in (1, 2, 3)]
    assert sorted(item.nodeid for share in shares for item in share) == sorted(NODEIDS)
    for share in shares:
        assert share == [item for item in collected if item in share]
        assert len(share) in (13, 14)


def test_outline_examples_may_part_but_an_xdist_group_stays_together() -> None:
    examples = [FakeItem(f"t.py::test_outline[{i}]") for i in range(6)]
    grouped = [FakeItem(f"t.py::test_g{i}", group="reports") for i in range(2)]
    collected = items(*examples, *grouped)
    shares = [{item.nodeid for item in select(collected, Shard(i, 2), {})} for i in (1, 2)]
    assert all(share & {e.nodeid for e in examples} for share in shares)  # one outline, on both shards
    together = [share for share in shares if share & {g.nodeid for g in grouped}]
    assert len(together) == 1
    assert together[0] >= {g.nodeid for g in grouped}


def real(agents: list[str], **more: Any) -> LucsConfig:
    return LucsConfig(base_url=REAL, agents=agents, **more)


def test_each_shard_drives_its_own_slice_of_the_pool_and_together_all_of_it() -> None:
    slices = [slice_pool(real(POOL), Shard(i, 3)).agents for i in (1, 2, 3)]
    assert slices == [POOL[0::3], POOL[1::3], POOL[2::3]]
    assert sorted(agent for agents in slices for agent in agents) == sorted(POOL)
    assert slice_pool(real(POOL), Shard(2, 3)).agent_pool() == POOL[1::3]  # what the lease takes from


def test_the_embedded_mock_and_a_single_shard_keep_the_whole_pool() -> None:
    assert slice_pool(LucsConfig(agents=POOL[:2]), Shard(3, 3)).agents == POOL[:2]
    assert slice_pool(real(POOL), Shard(1, 1)).agents == POOL


def test_the_target_user_alone_is_a_pool_of_one() -> None:
    lucs = LucsConfig(base_url=REAL, user=POOL[0])
    assert slice_pool(lucs, Shard(1, 1)).agent_pool() == [POOL[0]]
    with pytest.raises(ShardError, match=r"need at least 2 agents, one slice each, but the agent pool has 1"):
        slice_pool(lucs, Shard(1, 2))


def test_a_pool_smaller_than_the_shards_is_refused_in_one_line() -> None:
    with pytest.raises(ShardError) as error:
        slice_pool(real(POOL[:2]), Shard(1, 3))
    message = str(error.value)
    assert message.startswith("--lucs-shard 1/3: 3 runners against a real LUCS need at least 3 agents")
    assert POOL[0] in message
    assert "--lucs-agents" in message
    assert "\n" not in message


def test_the_slice_must_hold_an_agent_for_every_xdist_worker_of_the_shard() -> None:
    mine = slice_pool(real(POOL), Shard(3, 3))  # agents 3 and 6
    assert mine.pool_problem(2, "3/3") is None
    assert mine.pool_problem(None, "3/3") is None
    assert "3 xdist workers need 3 agents, but this shard's slice of the agent pool (3/3) has 2" in str(
        mine.pool_problem(3, "3/3")
    )
    assert LucsConfig().pool_problem(8, "3/3") is None  # each shard's embedded mock has the seed's users


def test_the_wrapper_joins_the_shard_options_to_their_values() -> None:
    """pytest would take a separate `2/3` or durations file for a test path while it settles its root."""
    assert joined(["--lucs-shard", "2/3", "--lucs-durations", "d.json", "-q"]) == [
        "--lucs-shard=2/3", "--lucs-durations=d.json", "-q",
    ]  # fmt: skip
