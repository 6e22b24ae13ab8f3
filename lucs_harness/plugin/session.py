"""What one pytest run shares between the hooks and the fixtures: stash keys, the run's state
and the target. It names the client's side (restore, coordination) as types only: a run loads
that code when a scenario first needs the harness, not at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from lucs_harness.config import LucsConfig
from lucs_harness.interrupts import Interrupts
from lucs_harness.reporting.faults import ReportFaults
from lucs_harness.sharding import Shard
from lucs_harness.world import World

if TYPE_CHECKING:
    from lucs_harness.coordination import Coordination
    from lucs_harness.readiness import LeftChanged
    from lucs_harness.restore import RestoreRegistry
    from lucs_harness.world import Simulation

PID_DIR_KEY = "lucs_pid_dir"  # where xdist workers that take relayed stop requests leave their pid
CONFIG_KEY = pytest.StashKey[LucsConfig]()
RUN_KEY = pytest.StashKey["RunState"]()
FAULTS_KEY = pytest.StashKey[list[str]]()  # --lucs-mock-fault names, checked when given
MOCK_SEED_KEY = pytest.StashKey[Any]()  # the mock's seed from --lucs-mock-data (None: the built-in one)
WORLD_KEY = pytest.StashKey[World]()
SHARD_KEY = pytest.StashKey[Shard | None]()  # this run's share (--lucs-shard), None when unsharded


def is_worker(config: pytest.Config) -> bool:
    """True in a pytest-xdist worker: the controller alone prepares the target and writes the run's
    reports; a worker hands its findings over."""
    return hasattr(config, "workerinput")


@dataclass
class RunState:
    """What the whole run keeps: restore registries still open, what could not be restored, what
    an earlier run left and this one repaired, and why the run ended early."""

    live: list[RestoreRegistry] = field(default_factory=list)
    not_restored: list[str] = field(default_factory=list)
    flaky: list[str] = field(default_factory=list)  # scenarios that passed on a retry
    failed_tries: dict[str, list[str]] = field(default_factory=dict)  # node id -> how each retried try failed
    repaired: list[str] = field(default_factory=list)
    unrepaired: int = 0  # of those lines, how many are still to be done
    exit_code: int | None = None  # a reason to end with a code of the harness's own
    reason: str | None = None  # why, in one line, for the reports
    dry_run: list[tuple[str, list[str]]] = field(default_factory=list)
    selected: list[str] = field(default_factory=list)  # node ids of the scenarios the run was to run
    interrupts: Interrupts = field(default_factory=Interrupts)
    coordination: Coordination | None = None  # the store of leases and journals (opened once per process)
    session: pytest.Session | None = None
    active: bool = False  # a scenario needed the harness: signals are taken over
    prepared: bool = False  # the real target was checked and repaired (once per process)
    left_changed: LeftChanged | None = None  # this process's agent, after an undo of it failed
    reports: ReportFaults = field(default_factory=ReportFaults)  # the reports it could not write whole

    def end(self, code: int, reason: str) -> None:
        """End the run with a code of the harness's own; the first reason given is kept."""
        if self.exit_code is None:
            self.exit_code, self.reason = code, reason


@dataclass
class Target:
    """Where the suite sends requests, and the mock's control client when it is the mock."""

    base_url: str
    control: Simulation | None
