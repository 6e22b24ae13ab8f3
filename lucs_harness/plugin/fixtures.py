"""The fixtures every scenario stands on: configuration, target (embedded mock or a real LUCS),
client, leased agent, restore registry and the scenario's `world`. What they build is imported
when the first scenario asks for it: a run that starts none loads no client, store or report
attachment code."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lucs_harness.errors import CoordinationError, PoolExhausted
from lucs_harness.exit_codes import POOL_EXHAUSTED, UNREACHABLE, USAGE
from lucs_harness.plugin.session import (
    CONFIG_KEY,
    FAULTS_KEY,
    MOCK_SEED_KEY,
    RUN_KEY,
    WORLD_KEY,
    RunState,
    Target,
)
from lucs_harness.plugin.target import activate, announce, coordination, open_journal, prepare, repair_leftovers

if TYPE_CHECKING:
    from lucs_harness.client import Exchange, Listener, LucsClient
    from lucs_harness.config import LucsConfig
    from lucs_harness.coordination import RunJournal
    from lucs_harness.restore import RestoreRegistry
    from lucs_harness.world import World


@pytest.fixture(scope="session")
def lucs_config(pytestconfig: pytest.Config) -> LucsConfig:
    """The effective configuration."""
    return pytestconfig.stash[CONFIG_KEY]


@pytest.fixture(scope="session")
def lucs_target(lucs_config: LucsConfig, pytestconfig: pytest.Config) -> Iterator[Target]:
    """A real LUCS when a base URL is configured (checked and repaired first), else a mock started
    for this session (or worker). The first scenario to ask wakes the harness up."""
    activate(pytestconfig)
    if lucs_config.base_url is not None and not lucs_config.dry_run:
        prepare(pytestconfig)
        yield Target(lucs_config.base_url, None)
        return
    from lucs_harness.mock.control import MockControl  # the mock's code is loaded only where it runs
    from lucs_harness.mock.faults import parse_faults
    from lucs_harness.mock.seed import load_seed, shadow_seed
    from lucs_harness.mock.server import MockServer

    seed = pytestconfig.stash[MOCK_SEED_KEY] or load_seed()
    if lucs_config.dry_run:
        seed = shadow_seed(seed, lucs_config.service_id, lucs_config.agent_pool())
    mock = MockServer(seed=seed, faults=parse_faults(pytestconfig.stash[FAULTS_KEY])).start()
    yield Target(mock.base_url, MockControl(mock.base_url))
    mock.stop(wait=False)


@pytest.fixture(scope="session")
def lucs_client(lucs_config: LucsConfig, lucs_target: Target, pytestconfig: pytest.Config) -> Iterator[LucsClient]:
    """The session's client, logging (and attaching to Allure) every exchange, redacted."""
    from lucs_harness.client import LucsClient
    from lucs_harness.reporting.exchanges import allure_listener, logging_listener

    client = LucsClient(lucs_config, lucs_target.base_url)
    redactor = lucs_config.redactor()
    client.listeners.append(logging_listener(redactor))
    client.listeners.append(transport_watch(pytestconfig.stash[RUN_KEY], lucs_config.unreachable_after))
    if pytestconfig.getoption("allure_report_dir", None):
        client.listeners.append(allure_listener(redactor))
    if lucs_config.record and not lucs_config.dry_run:
        from lucs_harness.reporting.recording import recorder

        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        client.listeners.append(recorder(Path(lucs_config.record), redactor, worker))
    yield client
    client.close()


@pytest.fixture(scope="session")
def lucs_agent(
    lucs_config: LucsConfig, lucs_target: Target, lucs_client: LucsClient, pytestconfig: pytest.Config
) -> Iterator[str]:
    """The target user of this session (worker). Against a shared LUCS it is leased from the agent
    pool (through the coordination store), so parallel workers and runs never drive the same agent;
    while live runs lease them all, it waits (`lease_wait`). An agent got after a wait may have been
    held by a run that died meanwhile: what dead runs left is repaired before it is driven."""
    if lucs_target.control is not None:
        yield lucs_config.agent_pool()[0] if lucs_config.dry_run else lucs_config.user
        return
    from lucs_harness.coordination import lease_agent

    holder = os.environ.get("PYTEST_XDIST_WORKER", "main")
    run = pytestconfig.stash[RUN_KEY]
    said: list[str] = []

    def say(line: str) -> None:
        said.append(line)
        announce(pytestconfig, [f"lucs: {line}"])

    try:
        store = coordination(pytestconfig)
        lease = lease_agent(store, lucs_config.agent_pool(), holder, lucs_config.lease_wait, say)
        refusal = repair_leftovers(pytestconfig, lucs_client, store) if said else None
        if refusal is not None:  # ends the run (exit 4) as a store that cannot be used does
            raise CoordinationError(refusal, USAGE)
    except (PoolExhausted, CoordinationError) as error:
        code = error.code if isinstance(error, CoordinationError) else POOL_EXHAUSTED
        message = f"no agent free for {holder}: {error}" if code == POOL_EXHAUSTED else str(error)
        run.end(code, message)
        if "PYTEST_XDIST_WORKER" in os.environ:  # a worker cannot end the run: its scenarios fail, the code stays
            pytest.fail(message, pytrace=False)
        pytest.exit(message, returncode=code)
    yield lease.agent
    with suppress(CoordinationError):  # a lost store freed the lease already
        lease.release()


def transport_watch(run: RunState, limit: int) -> Listener:
    """A listener that ends the run as unreachable after `limit` transport errors in a row: once
    LUCS stops answering, every later scenario would only wait out its timeouts."""
    streak = 0

    def listen(exchange: Exchange) -> None:
        nonlocal streak
        streak = streak + 1 if exchange.status is None or exchange.transport_error else 0
        if streak >= limit and run.session is not None:
            reason = f"LUCS stopped answering: {streak} transport errors in a row, the last {exchange.what}"
            run.end(UNREACHABLE, reason)
            run.session.shouldstop = reason

    return listen


@pytest.fixture(scope="session")
def lucs_journal(
    lucs_config: LucsConfig, lucs_target: Target, pytestconfig: pytest.Config
) -> Iterator[RunJournal | None]:
    """This process's restore journal against a real LUCS (none on the mock: it dies with the run)."""
    if lucs_target.control is not None or lucs_config.base_url is None:
        yield None
        return
    journal = open_journal(pytestconfig)
    yield journal
    with suppress(CoordinationError, OSError):  # what it could not cross out stays open for a later run
        journal.close()


@pytest.fixture
def restore(
    request: pytest.FixtureRequest,
    lucs_config: LucsConfig,
    lucs_client: LucsClient,
    lucs_agent: str,
    lucs_journal: RunJournal | None,
) -> Iterator[RestoreRegistry]:
    """This scenario's undo list, run at teardown whatever the outcome (also after Ctrl-C, SIGTERM
    or SIGHUP), within the restore deadline; an undo that fails is an error of the scenario, is
    listed at the end of the run, and leaves the agent to no later scenario of this process."""
    from lucs_harness.readiness import LeftChanged
    from lucs_harness.restore import RestoreRegistry, performer

    run = request.config.stash[RUN_KEY]
    registry = RestoreRegistry(performer(lucs_client), lucs_journal)
    run.live.append(registry)
    yield registry
    try:
        failed = registry.restore_all(deadline=time.monotonic() + lucs_config.restore_timeout)
    finally:
        run.live.remove(registry)
        run.not_restored.extend(registry.failures)  # the failed undos, and tasks left open on purpose
        _stop_when_store_lost(run)
    if failed:
        run.left_changed = run.left_changed or LeftChanged(lucs_agent, request.node.name)
        pytest.fail("LUCS state not restored:\n  " + "\n  ".join(failed), pytrace=False)


def _stop_when_store_lost(run: RunState) -> None:
    """A coordination store lost mid-run: the leases are gone with its session, so no scenario may
    start; the undos it could not mark stay open in it for a later run (exit 10)."""
    lost = run.coordination.lost() if run.coordination is not None else None
    if lost is not None and run.session is not None:
        run.end(UNREACHABLE, lost)
        run.session.shouldstop = lost


@pytest.fixture
def world(
    request: pytest.FixtureRequest,
    lucs_config: LucsConfig,
    lucs_target: Target,
    lucs_client: LucsClient,
    lucs_agent: str,
    restore: RestoreRegistry,
) -> Iterator[World]:
    """A fresh scenario world; on the mock, the mock's state is reset to the seed first. In a dry
    run, the world's requests go to the shadow mock and are recorded for the summary. On a real
    LUCS, not after a failed undo left the agent changed: the scenario is not run."""
    from lucs_harness.world import World

    left_changed = request.config.stash[RUN_KEY].left_changed
    if left_changed is not None and lucs_target.control is None:
        left_changed.not_run.append(request.node.name)
        pytest.skip(left_changed.reason())
    if lucs_target.control is not None:
        lucs_target.control.reset()
    lucs_client.last_exchange = None  # what an earlier scenario sent is not this one's evidence
    world = World(
        config=lucs_config, client=lucs_client, restore=restore, target_ref=lucs_agent, control=lucs_target.control
    )
    request.node.stash[WORLD_KEY] = world
    if not lucs_config.dry_run:
        yield world
        return
    assert lucs_target.control is not None
    from lucs_harness.dry_run import DryRunPlan

    users = lucs_target.control.state()["users"]
    plan = DryRunPlan(lucs_config, {u["Id"]: u["SipUri"] for u in users})
    lucs_client.listeners.append(plan.record)
    yield world
    restore.restore_all()  # now, so the plan shows the undo requests too
    lucs_client.listeners.remove(plan.record)
    request.config.stash[RUN_KEY].dry_run.append((request.node.name, plan.lines))
