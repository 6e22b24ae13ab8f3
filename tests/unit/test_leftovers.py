"""An orphan's age comes from the harness's own clock, stamped in its ExternalTaskId: a server in
another time zone, or the mock's simulated clock, cannot make a running scenario's task look old."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from lucs_harness.client import LucsClient
from lucs_harness.config import LucsConfig
from lucs_harness.contract import default_contract
from lucs_harness.coordination.files import FileCoordination
from lucs_harness.leftovers import TASK_PREFIX, age_of, cancel_orphan_callbacks, harness_id, is_closed
from tests.unit.conftest import MockTarget


def test_a_fresh_harness_id_is_young_whatever_the_server_says_it_was_created() -> None:
    task = {"ExternalTaskId": harness_id(), "Created": "2001-01-01T00:00:00Z"}
    age = age_of(task, datetime.now(UTC))
    assert age is not None
    assert 0 <= age < 5


def test_an_id_stamped_an_hour_ago_is_an_hour_old() -> None:
    stamp = f"{int(time.time()) - 3600:08x}"
    age = age_of({"ExternalTaskId": f"{TASK_PREFIX}{stamp}-abcdef12"}, datetime.now(UTC))
    assert age is not None
    assert 3595 < age < 3605


def test_an_older_harness_id_falls_back_to_created() -> None:
    now = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
    assert age_of({"ExternalTaskId": f"{TASK_PREFIX}0123456789ab", "Created": "2026-01-01T00:00:00"}, now) == 3600
    assert age_of({"ExternalTaskId": f"{TASK_PREFIX}0123456789ab", "Created": "not a time"}, now) is None


def test_closed_tasks_are_not_orphans() -> None:
    assert is_closed({"State": "Closed"}, LucsConfig())
    assert not is_closed({"State": "Pending"}, LucsConfig())
    assert is_closed({"State": "Done"}, LucsConfig(task_states={"closed": "Done"}))


def test_old_pending_callbacks_of_the_harness_are_cancelled_and_young_ones_left(
    mock_target: MockTarget, tmp_path: Path
) -> None:
    mock_target.control.reset()
    client = LucsClient(LucsConfig(), mock_target.base_url)
    example = default_contract().example("callback-request.json")
    old = f"{TASK_PREFIX}{int(time.time()) - 3600:08x}-0000aaaa"
    for external in (old, harness_id(), "someone-elses"):
        client.send("create_callback", body=example | {"ExternalTaskId": external})
    config = LucsConfig(orphan_task_age=600, base_url=mock_target.base_url, journal_dir=str(tmp_path))
    found = cancel_orphan_callbacks(config, client, FileCoordination(config))
    assert found.unsettled == 0
    assert [line.split(" (")[0] for line in found.lines] == [
        f"cancelled: callback {old} that an earlier run left pending"
    ]
    pending = client.send("search_callbacks", body={"State": "Pending"}).response_body
    assert sorted(c["ExternalTaskId"] != old for c in pending) == [True, True]
