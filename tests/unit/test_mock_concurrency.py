"""The mock under concurrent load: 16 threads interleave every state change over real HTTP.

The interleaving differs from run to run; the checks are invariants that must hold for *any*
interleaving, so the test cannot flake unless the mock has a race. Each thread draws its calls
from its own seeded `random.Random`, so the mix of calls is the same every run.

Invariants, and why each is checkable from outside:

- one task per user: in every atomic view (a `GET /_mock/state` snapshot, a service's task list)
  the Offered/Accepted tasks name distinct agents, and in a snapshot each such agent's `TaskId`
  names that very task (and no other user holds one);
- a blocked user is never offered a task. Blocking does not take back a task the user already
  holds, so "blocked and holding a task" is legal for a user blocked mid-task and proves nothing;
  what is decidable is an offer *while* blocked. Dana is blocked before the threads start and
  never unblocked, and is a preferred (often the only) agent of many tasks: no task's history may
  say it was offered to her, no task DTO may show her reserved, no snapshot may show her holding
  one, and every user DTO of hers must read blocked and unselectable. The users whose blocking
  races with distribution are covered by the other invariants, in particular the next but one;
- nothing is lost: every created id is retrievable with its ExternalTaskId, the mock holds exactly
  the created tasks, a task is Closed exactly when one close call got 204 (concurrent closes of
  one task: one 204, the rest 409);
- no lost distribution: once the threads are done, no Pending task has an eligible agent who is
  selectable (the engine distributes at every change, so a waiting task with a free eligible
  agent means a wake-up was missed).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from lucs_harness.contract import default_contract
from lucs_harness.mock.seed import load_seed
from lucs_harness.mock.server import MockServer

THREADS = 16
CALLS_PER_THREAD = 30
TIMEOUT = 5.0
PRESENCES = ("Online", "Busy", "DoNotDisturb", "Away", "Online")  # Online twice: agents come back often
HOLDING = ("Offered", "Accepted")
SEED = load_seed()
SERVICE = str(SEED.services[0]["Id"])
USERS = {str(u["Id"]): str(u["SipUri"]) for u in SEED.users if SERVICE in u["Services"]}
DANA = next(str(u["Id"]) for u in SEED.users if u["FirstName"] == "Dana")
TOGGLED = sorted(set(USERS) - {DANA})
WEIGHTS = {
    "block": 3,
    "unblock": 3,
    "create": 4,
    "close": 3,
    "presence": 2,
    "list_users": 1,
    "list_tasks": 1,
    "get_task": 1,
    "state": 1,
}


@dataclass
class Call:
    """One answered request: what was asked and what came back."""

    op: str
    target: str | None
    status: int
    body: Any
    sent: Any = None


@dataclass
class Run:
    """What all threads did; appends are guarded because the checks read it as one history."""

    calls: list[Call] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)
            if call.op == "create" and call.status == 200:
                self.created[call.body] = str(call.target)

    def task_ids(self) -> list[str]:
        with self.lock:
            return sorted(self.created)


def _task_request(rng: random.Random, external_id: str) -> dict[str, Any]:
    """A task that prefers some agents; every third one prefers only the blocked Dana."""
    only_dana = rng.random() < 1 / 3
    return {
        "ExternalTaskId": external_id,
        "Service": SERVICE,
        "PreferredAgents": [USERS[DANA]] if only_dana else rng.sample(sorted(USERS.values()), rng.randint(0, 3)),
        "ConsiderPreferredAgentsOnly": only_dana or rng.random() < 0.5,
    }


def _worker(index: int, base: str, run: Run, start: threading.Barrier) -> None:
    rng = random.Random(index)
    ops = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()), k=CALLS_PER_THREAD)
    with requests.Session() as http:
        start.wait()
        for number, op in enumerate(ops):
            target: str | None = rng.choice(TOGGLED)
            sent: Any = None
            known = run.task_ids()
            if op in ("close", "get_task") and not known:
                op = "create"
            if op == "block":
                response = http.post(f"{base}/v1.0/users/{target}/block", timeout=TIMEOUT)
            elif op == "unblock":
                response = http.post(f"{base}/v1.0/users/{target}/unblock", timeout=TIMEOUT)
            elif op == "presence":
                target = rng.choice(sorted(USERS))
                sent = {"Presence": rng.choice(PRESENCES)}
                response = http.post(f"{base}/v1.0/users/{target}/setpresence", json=sent, timeout=TIMEOUT)
            elif op == "create":
                target = f"t{index}-{number}"
                sent = _task_request(rng, target)
                response = http.post(f"{base}/v1.0/tasks", json=sent, timeout=TIMEOUT)
            elif op == "close":
                target = rng.choice(known)
                response = http.delete(f"{base}/v1.0/tasks/{target}", timeout=TIMEOUT)
            elif op == "get_task":
                target = rng.choice(known)
                response = http.get(f"{base}/v1.0/tasks/{target}", timeout=TIMEOUT)
            elif op == "list_users":
                target, response = None, http.get(f"{base}/v1.0/services/{SERVICE}/users", timeout=TIMEOUT)
            elif op == "list_tasks":
                target, response = None, http.get(f"{base}/v1.0/services/{SERVICE}/tasks", timeout=TIMEOUT)
            else:
                target, response = None, http.get(f"{base}/_mock/state", timeout=TIMEOUT)
            run.record(Call(op, target, response.status_code, response.json() if response.content else None, sent))


@dataclass
class Outcome:
    """The run's history, the state after it and after everyone was unblocked, each task read back."""

    record: Run
    final: dict[str, Any]
    unblocked: dict[str, Any]
    read_back: dict[str, tuple[int, Any]]


def _concurrently(count: int, work: Callable[[int, threading.Barrier], None]) -> None:
    start = threading.Barrier(count)
    threads = [threading.Thread(target=work, args=(i, start), name=f"load-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a load thread hung"


@pytest.fixture(scope="module")
def outcome() -> Iterator[Outcome]:
    """The whole concurrent run; then every toggled user unblocked at once, which must hand the
    waiting tasks out; then every created task read back."""
    with MockServer() as mock, requests.Session() as http:
        base = mock.base_url
        assert http.post(f"{base}/v1.0/users/{DANA}/block", timeout=TIMEOUT).status_code == 200
        record = Run()
        _concurrently(THREADS, lambda i, start: _worker(i, base, record, start))
        assert len(record.calls) == THREADS * CALLS_PER_THREAD, "a load thread died; see its traceback above"
        final = http.get(f"{base}/_mock/state", timeout=TIMEOUT).json()

        statuses: list[int] = []

        def unblock(i: int, start: threading.Barrier) -> None:
            start.wait()
            statuses.append(requests.post(f"{base}/v1.0/users/{TOGGLED[i]}/unblock", timeout=TIMEOUT).status_code)

        _concurrently(len(TOGGLED), unblock)
        assert statuses == [200] * len(TOGGLED)
        unblocked = http.get(f"{base}/_mock/state", timeout=TIMEOUT).json()
        read_back = {task_id: http.get(f"{base}/v1.0/tasks/{task_id}", timeout=TIMEOUT) for task_id in record.created}
        yield Outcome(record, final, unblocked, {i: (r.status_code, r.json()) for i, r in read_back.items()})


def _check_snapshot(state: dict[str, Any]) -> None:
    users = {u["Id"]: u for u in state["users"]}
    holding = [t for t in state["tasks"] if t["State"] in HOLDING]
    agents = [t["AgentId"] for t in holding]
    assert None not in agents, holding
    assert len(agents) == len(set(agents)), f"a user holds two tasks: {holding}"
    for task in holding:
        assert users[task["AgentId"]]["TaskId"] == task["Id"], task
    for task in state["tasks"]:
        if task["State"] not in HOLDING:
            assert task["AgentId"] is None, task
    assert {u["Id"] for u in state["users"] if u["TaskId"] is not None} == set(agents)
    assert users[DANA]["Blocked"] is True, users[DANA]
    assert users[DANA]["TaskId"] is None, users[DANA]


def _check_task_list(tasks: list[dict[str, Any]]) -> None:
    reserved = [t["ReservedUserObject"]["Id"] for t in tasks if t["State"] in HOLDING]
    assert len(reserved) == len(set(reserved)), f"a user holds two tasks: {tasks}"
    for task in tasks:
        _check_task(task)


def _check_task(task: dict[str, Any]) -> None:
    holder = task["ReservedUserObject"]
    assert (holder is not None) == (task["State"] in HOLDING), task
    assert holder is None or holder["Id"] != DANA, f"the blocked Dana was given a task: {task}"


def _check_user(user: dict[str, Any]) -> None:
    if user["IsBlockedByLuwareApi"]:
        assert user["IsSelectable"] is False, user
        assert user["NotSelectableReason"] == "InAServiceTask", user
    if user["Id"] == DANA:
        assert user["IsBlockedByLuwareApi"] is True, user


def test_every_call_was_answered_as_documented(outcome: Outcome) -> None:
    record = outcome.record
    expected = {"close": {204, 409}}
    contract = default_contract()
    schemas = {"block": "user.json", "unblock": "user.json", "list_users": "user-list.json"}
    schemas |= {"create": "task-id.json", "list_tasks": "task-list.json", "get_task": "task.json"}
    for call in record.calls:
        assert call.status in expected.get(call.op, {200}), call
        if call.op in schemas:
            contract.validate(schemas[call.op], call.body, what=f"{call.op} {call.target}")
    assert Counter(call.op for call in record.calls)["create"] == len(record.created)


def test_every_view_during_the_run_holds_the_invariants(outcome: Outcome) -> None:
    record = outcome.record
    views = Counter[str]()
    for call in record.calls:
        if call.op == "state":
            _check_snapshot(call.body)
        elif call.op == "list_tasks":
            _check_task_list(call.body)
        elif call.op == "get_task":
            _check_task(call.body)
        elif call.op in ("block", "unblock"):
            _check_user(call.body)
        elif call.op == "list_users":
            for user in call.body:
                _check_user(user)
        else:
            continue
        views[call.op] += 1
    assert views["state"] > 0, f"too few views to judge: {views}"
    assert views["list_tasks"] > 0, f"too few views to judge: {views}"


def test_the_final_state_holds_the_invariants(outcome: Outcome) -> None:
    for state in (outcome.final, outcome.unblocked):
        _check_snapshot(state)
        offered = [t for t in state["tasks"] if any(f"offered to {USERS[DANA]}" in h for h in t["History"])]
        assert not offered, f"tasks offered to the blocked Dana: {offered}"
    assert not any(u["Blocked"] for u in outcome.unblocked["users"] if u["Id"] != DANA)


def test_nothing_is_lost(outcome: Outcome) -> None:
    record, state, read_back = outcome.record, outcome.unblocked, outcome.read_back
    assert {t["Id"]: t["ExternalTaskId"] for t in state["tasks"]} == record.created
    for task_id, (status, task) in read_back.items():
        assert status == 200, (status, task)
        assert task["Id"] == task_id, task
        assert task["ExternalTaskId"] == record.created[task_id]
        _check_task(task)
    closes = Counter(call.target for call in record.calls if call.op == "close" and call.status == 204)
    assert max(closes.values(), default=1) == 1, f"a task was closed twice: {closes}"
    closed = {t["Id"] for t in state["tasks"] if t["State"] == "Closed"}
    assert closed == set(closes)
    assert all(read_back[task_id][1]["State"] == "Closed" for task_id in closed)
    assert 0 < len(closed) < len(record.created), "the mix exercised too little"


@pytest.mark.parametrize("moment", ["final", "unblocked"])
def test_no_pending_task_waits_for_a_free_eligible_agent(outcome: Outcome, moment: str) -> None:
    state: dict[str, Any] = getattr(outcome, moment)
    sent = {c.target: c.sent for c in outcome.record.calls if c.op == "create"}
    free = {u["SipUri"] for u in state["users"] if u["Selectable"]}
    waiting = [t for t in state["tasks"] if t["State"] == "Pending"]
    for task in waiting:
        body = sent[task["ExternalTaskId"]]
        preferred = body["PreferredAgents"]
        eligible = set(preferred) if preferred and body["ConsiderPreferredAgentsOnly"] else set(USERS.values())
        assert not eligible & free, f"{task} waits although {sorted(eligible & free)} are free"
    assert waiting, "no task waited: the run did not exercise the queue"
