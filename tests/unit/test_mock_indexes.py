"""The mock's indexes give what the scans they replaced gave, on random operations.

`Scanning` is the mock as it was before the indexes: every distribution walks every task in queue
order and asks every agent, every clock event is searched among all tasks and callbacks, every
lookup scans; `FaultyScanning` is it with the fault layer over it, as `FaultyLucs` is over `Lucs`.
Both run the same random operations (users blocked, unblocked, set to any presence,
tasks with random preferred agents, capabilities and services created and closed, the clock moved,
faults switched on and off, callbacks created, cancelled and searched) with the same ids, and must
agree on every answer and every state.
"""

from __future__ import annotations

import copy
import itertools
import random
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest

from lucs_harness.mock import domain
from lucs_harness.mock.clock import Entry
from lucs_harness.mock.domain import (
    CAPABILITIES,
    CLOSED,
    OFFERED,
    PENDING,
    PRESENCES,
    Agent,
    DomainError,
    Lucs,
    NotFound,
    Task,
)
from lucs_harness.mock.faults import Fault, Faults
from lucs_harness.mock.faulty import FaultyLucs
from lucs_harness.mock.seed import Seed, load_seed

SEEDS = range(40)
STEPS = 120
BASE = load_seed()
SERVICES = [str(s["Id"]) for s in BASE.services]
SWITCHED = (Fault.DISTRIBUTES_TO_BLOCKED, Fault.UNBLOCK_NO_DISTRIBUTION, Fault.RONA_NEVER_FIRES)
ANSWERS = ({"Answer": "accept"}, {"Answer": "after", "Seconds": 5}, {"Answer": "decline"}, {"Answer": "never"})


class Scanning(Lucs):
    """The mock with every index bypassed by the scan it replaced."""

    def _distribute(self) -> None:
        for task in sorted(self.tasks.values(), key=lambda t: t.created):
            if task.state == PENDING and (agent := next(self._scanned_candidates(task), None)) is not None:
                self._offer(task, agent)

    def _scanned_candidates(self, task: Task) -> Iterator[Agent]:
        by_sip = {a.sip: a for a in self.agents.values()}
        preferred = list(task.request.get("PreferredAgents") or [])
        ordered = [by_sip[sip] for sip in preferred if sip in by_sip]
        if not task.preferred_only:
            ordered += sorted((a for a in self.agents.values() if a not in ordered), key=lambda a: a.order)
        required = task.request.get("Required") or {}
        for agent in ordered:
            capable = all(agent.dto["Capabilities"].get(c, False) for c in CAPABILITIES if required.get(c))
            if task.service in agent.services and capable and self._offerable(agent):
                yield agent

    def _rona(self, task: Task, agent: Agent, how: str) -> None:
        super()._rona(task, agent, how)
        self._distribute()

    def _next_event(self, target: datetime) -> tuple[datetime, Callable[[], None]] | None:
        events: list[tuple[datetime, int, str, Callable[[], None]]] = [
            (moment, 0, task.id, partial(self._fire, task))
            for task in self.tasks.values()
            if task.state == OFFERED
            for moment in (task.answer_at, task.rona_at)
            if moment is not None and moment <= target
        ]
        if (step := self._next_callback_step()) is not None and step[0] <= target:
            events.append((step[0], 1, step[1], partial(self.callbacks.step, self.callbacks.all[step[2]])))
        if not events:
            return None
        moment, _, _, fire = min(events, key=lambda event: event[:3])
        return moment, fire

    def _next_callback_step(self) -> Entry | None:
        steps = [(c.next_at, f"{c.order:012d}", c.id) for c in self.callbacks.all.values() if c.next_at is not None]
        return min(steps, default=None)

    def _task_by_external_id(self, external_id: str) -> Task | None:
        by_age = (t for t in reversed(self.tasks.values()) if t.external_id == external_id)
        return next(iter(sorted(by_age, key=lambda t: t.state == CLOSED)), None)

    def get_callback(self, external_id: str) -> dict[str, Any]:
        by_age = (c for c in reversed(self.callbacks.all.values()) if c.dto["ExternalTaskId"] == external_id)
        found = next(iter(sorted(by_age, key=lambda c: not c.open)), None)
        if found is None:
            raise NotFound("CallbackNotFound", f"no callback with ExternalTaskId {external_id!r}")
        return dict(found.dto)

    def reset(self) -> None:
        super().reset()
        self.callbacks = ScanningCallbacks(self.clock)


class ScanningCallbacks(domain.Callbacks):
    """The callbacks with every search looking at all of them."""

    def _searched(self, query: dict[str, Any]) -> Iterable[domain.Callback]:
        return self.all.values()


class FaultyScanning(FaultyLucs, Scanning):
    """The fault layer over the scanning mock."""


def busy_seed(rng: random.Random) -> Seed:
    """The default seed and a dozen more agents, of random services, capabilities, presences and ways to answer."""
    users = list(copy.deepcopy(BASE.users))
    for n in range(12):
        users.append(
            {
                "Id": f"00000000-0000-4000-8000-{n:012d}",
                "SipUri": f"sip:agent{n}@dev.local",
                "FirstName": "Agent",
                "LastName": str(n),
                "Services": rng.sample(SERVICES, rng.randint(1, 2)),
                "PresenceState": rng.choice(PRESENCES),
                "Capabilities": {c: rng.random() < 0.7 for c in CAPABILITIES},
                "Behaviour": rng.choice(ANSWERS),
            }
        )
    return Seed(services=BASE.services, users=tuple(users), template=BASE.template)


class Ids:
    """uuid4 for the mock, counting from zero again for each model so both name things alike."""

    def __init__(self) -> None:
        self.count = itertools.count()

    def uuid4(self) -> uuid.UUID:
        return uuid.UUID(int=next(self.count))


def random_task(rng: random.Random, sips: list[str], n: int) -> dict[str, Any]:
    return {
        "ExternalTaskId": f"ext-{rng.randint(0, 15)}",
        "Service": rng.choice(SERVICES),
        "PreferredAgents": rng.sample(sips, rng.randint(0, 3)),
        "ConsiderPreferredAgentsOnly": rng.random() < 0.5,
        "Required": {c: True for c in CAPABILITIES if rng.random() < 0.15},
        "DistributeToAgentRONATimeoutInSeconds": rng.choice((None, 3, 30)),
        "Caller": f"caller-{n}",
    }


def random_callback(rng: random.Random) -> dict[str, Any]:
    return {
        "ServiceId": SERVICES[0],
        "Target": "+41000000000",
        "ExternalTaskId": f"cb-{rng.randint(0, 5)}",
        "SecondsBetweenRetries": 60,
        "DueDate": rng.choice((None, "2026-01-01T08:00:30Z", "2026-01-01T09:00:00Z")),
    }


Call = tuple[str, tuple[Any, ...]]  # a method of `Lucs` and its arguments


def operations(seed: int) -> list[Call]:
    """A reproducible list of calls."""
    rng = random.Random(seed)
    world = busy_seed(random.Random(seed))
    users, sips = [str(u["Id"]) for u in world.users], [str(u["SipUri"]) for u in world.users]
    searches: tuple[dict[str, str], ...] = ({"State": "Pending"}, {"State": "InQueue"}, {"ExternalTaskId": "cb-1"}, {})
    calls: list[Call] = []
    for n in range(STEPS):
        user, external = rng.choice(users), f"ext-{rng.randint(0, 15)}"
        choices: list[Call] = [
            ("block_user", (user,)),
            ("unblock_user", (user,)),
            ("set_presence", (user, rng.choice(PRESENCES))),
            ("create_task", (random_task(rng, sips, n),)),
            ("create_task", (random_task(rng, sips, n),)),
            ("close_task", (external,)),
            ("get_task", (external,)),
            ("advance", (rng.randint(1, 40),)),
            ("set_faults", (frozenset(rng.sample(SWITCHED, rng.randint(0, 2))),)),
            ("create_callback", (random_callback(rng),)),
            ("cancel_callback", (str(uuid.UUID(int=rng.randint(0, 30))),)),
            ("get_callback", (f"cb-{rng.randint(0, 5)}",)),
            ("search_callbacks", (rng.choice(searches),)),
        ]
        calls.append(rng.choice(choices))
    return calls


def call(lucs: FaultyLucs, name: str, arguments: tuple[Any, ...]) -> Any:
    """The answer to one call, or its refusal."""
    try:
        if name == "set_faults":
            return lucs.faults.set(*arguments)
        return getattr(lucs, name)(*arguments)
    except DomainError as refused:
        return (type(refused).__name__, refused.code, refused.message)


def run(model: type[FaultyLucs], seed: int, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every answer (or refusal) and the whole state after each call."""
    monkeypatch.setattr(domain, "uuid", SimpleNamespace(uuid4=Ids().uuid4))
    lucs = model(busy_seed(random.Random(seed)), faults=Faults())
    seen: list[Any] = []
    for name, arguments in operations(seed):
        answer = call(lucs, name, arguments)
        assert set(lucs._open) == {t.external_id for t in lucs.tasks.values() if t.state != CLOSED}
        users = [lucs.list_users(s) for s in SERVICES]
        seen.append((answer, lucs.snapshot(), users, [lucs.service_tasks(s) for s in SERVICES]))
    return seen


@pytest.mark.parametrize("seed", SEEDS)
def test_the_indexed_mock_answers_as_the_scanning_one(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    indexed, scanned = run(FaultyLucs, seed, monkeypatch), run(FaultyScanning, seed, monkeypatch)
    for step, (mine, theirs) in enumerate(zip(indexed, scanned, strict=True)):
        assert mine == theirs, f"seed {seed}, step {step}"


def test_the_random_operations_reach_every_state_and_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison means something: tasks get offered, accepted, declined, missed and closed."""
    histories = " ".join(
        line
        for seed in SEEDS[:10]
        for task in run(FaultyLucs, seed, monkeypatch)[-1][1]["tasks"]
        for line in task["History"]
    )
    for event in ("offered", "accepted", "declined", "missed", "closed"):
        assert event in histories


def test_queues_and_timelines_hold_nothing_once_tasks_close() -> None:
    """No index keeps what it no longer needs: memory follows the state, not the calls made."""
    lucs = Lucs(load_seed())
    for n in range(50):
        task_id = lucs.create_task({"ExternalTaskId": f"x{n}", "Service": SERVICES[0], "PreferredAgents": []})
        lucs.close_task(task_id)
    assert (lucs._waiting._queues, len(lucs._task_times), lucs._open) == ({}, 0, {})


def test_faults_switched_on_between_calls_count_at_the_next_distribution() -> None:
    """A fault changes who may take a task without any agent changing: the queues are looked at anew."""
    lucs = FaultyLucs(load_seed())
    curt, dd = (str(u["Id"]) for u in BASE.users if u["SipUri"] in ("sip:smoky.cc@dev.local", "sip:smoky.dd@dev.local"))
    lucs.block_user(curt)
    task = {"ExternalTaskId": "x", "Service": SERVICES[0], "PreferredAgents": ["sip:smoky.cc@dev.local"]}
    task_id = lucs.create_task(task | {"ConsiderPreferredAgentsOnly": True})
    lucs.faults.set(frozenset({Fault.DISTRIBUTES_TO_BLOCKED}))
    lucs.set_presence(dd, "Online")
    assert lucs.get_task(task_id)["ReservedUserObject"]["Id"] == curt
