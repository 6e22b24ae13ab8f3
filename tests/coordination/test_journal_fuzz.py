"""Fuzzing the restore journal, on both stores: a valid journal, mutated at random (bits flipped,
lines duplicated, cut, reordered, dropped, fields replaced), replayed against the mock. Whatever
the mutation, the replay ends normally, says everything on printable lines, sends nothing but the
calls of the undos the valid journal held (each at most once), keeps every rejected entry, and
leaves a later run nothing to reject again. Deterministic (derandomized) and bounded."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lucs_harness.client import LucsClient
from lucs_harness.config import LucsConfig
from lucs_harness.coordination import Coordination
from lucs_harness.journal import Undo
from lucs_harness.leftovers import Findings, replay_journals
from tests.coordination.conftest import opener
from tests.support.journals import (
    SMOKY_CC,
    SMOKY_DD,
    DeadRun,
    block_again,
    cancel_callback,
    close_task,
    line,
    presence_back,
    unblock,
)
from tests.unit.conftest import MockTarget

Call = tuple[str, str, str]  # operation, URL, body as JSON
FOUND = "LOOKEDUP"  # in an expected URL: whatever the lookup found

MAKERS: list[Callable[[], Undo]] = [
    lambda: unblock(SMOKY_CC),
    lambda: block_again(SMOKY_DD),
    lambda: presence_back(SMOKY_DD, "DoNotDisturb"),
    close_task,
    cancel_callback,
]
UNDOS = st.sampled_from(MAKERS)
REPLACEMENTS: list[Any] = [
    "block_user",
    "create_task",
    "set_presence",
    {"userId": ".."},
    {"userId": SMOKY_DD},
    {"taskIdentifier": "../users"},
    {"Presence": "DoNotDisturb"},
    [404],
    None,
    1,
    "",
    "0" * 64,
    uuid.uuid4().hex,
]
FIELDS = [("add", "operation"), ("add", "params"), ("add", "body"), ("add", "id"), ("add", "gone"), ("mac",), ("done",)]
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def calls(config: LucsConfig, undo: Undo) -> list[Call]:
    """The calls replaying `undo` may make: its lookup, and the undo itself (with what the lookup found)."""
    client = LucsClient(config, "http://lucs")
    made = []
    if undo.lookup is not None:
        made.append((undo.lookup.operation, client.url(undo.lookup.operation, **undo.lookup.params), "null"))
    params = undo.params if undo.lookup is None else undo.params | {undo.lookup.param: FOUND}
    made.append((undo.operation, client.url(undo.operation, **params), json.dumps(undo.body)))
    client.close()
    return made


def mutate(data: st.DataObject, lines: list[bytes]) -> tuple[list[bytes], bytes]:
    """`lines` mutated a few times at random; and a last line without its newline (b"": none)."""
    tail = b""
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "duplicate", "cut", "swap", "drop", "replace", "tail"]))
        if not lines:
            break
        at = data.draw(st.integers(0, len(lines) - 1))
        if kind in ("flip", "cut") and not lines[at]:
            continue
        if kind == "flip":
            byte = data.draw(st.integers(0, len(lines[at]) - 1))
            flipped = bytearray(lines[at])
            flipped[byte] ^= 1 << data.draw(st.integers(0, 7))
            lines[at] = bytes(flipped).replace(b"\n", b" ")
        elif kind == "duplicate":
            lines.insert(data.draw(st.integers(0, len(lines))), lines[at])
        elif kind == "cut":
            lines[at] = lines[at][: data.draw(st.integers(0, len(lines[at]) - 1))]
        elif kind == "swap":
            other = data.draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif kind == "drop":
            del lines[at]
        elif kind == "tail":
            tail = lines.pop(at)[: data.draw(st.integers(1, 40))]
        else:
            lines[at] = replaced(
                lines[at], data.draw(st.sampled_from(FIELDS)), data.draw(st.sampled_from(REPLACEMENTS))
            )
    return lines, tail


def replaced(raw: bytes, path: tuple[str, ...], value: Any) -> bytes:
    """The entry with the field at `path` set to `value` (a line that is no object stays as it is)."""
    try:
        entry = json.loads(raw)
    except ValueError:
        return raw
    target = entry
    for name in path[:-1]:
        target = target.get(name) if isinstance(target, dict) else None
    if isinstance(target, dict):
        target[path[-1]] = value
    return line(entry)


def replay(config: LucsConfig, store: Coordination) -> tuple[Findings, list[Call]]:
    assert config.base_url is not None
    client = LucsClient(config, config.base_url)
    sent: list[Call] = []
    client.listeners.append(lambda e: sent.append((e.operation, e.url, json.dumps(e.request_body))))
    found = Findings()
    try:
        replay_journals(config, client, store, found, lambda: False, lambda said: None)
    finally:
        client.close()
    return found, sent


def allowed(sent: list[Call], expected: list[Call], base_url: str) -> bool:
    """Each call sent is one a valid undo makes, no more often than the valid journal holds it."""
    wanted = Counter((op, url.replace("http://lucs", base_url), body) for op, url, body in expected)
    made = Counter(
        next(((op, url, body) for op, url, body in wanted if _same(call, (op, url, body))), call) for call in sent
    )
    return all(count <= wanted.get(call, 0) for call, count in made.items())


def _same(call: Call, wanted: Call) -> bool:
    """`wanted`'s URL may hold `FOUND`: a parameter a lookup found on the mock."""
    head, star, tail = wanted[1].partition(FOUND)
    url_fits = call[1].startswith(head) and call[1].endswith(tail) if star else call[1] == wanted[1]
    return call[0] == wanted[0] and call[2] == wanted[2] and url_fits


@SETTINGS
@given(data=st.data())
def test_no_mutation_of_a_valid_journal_sends_more_than_it_held_or_crashes(
    data: st.DataObject, mock_config: LucsConfig, mock_target: MockTarget
) -> None:
    config = mock_config.replaced(service_id=str(uuid.uuid4()))  # a target of its own per example
    with opener(config) as open_run:
        check_one_mutation(data, config, open_run())


def check_one_mutation(data: st.DataObject, config: LucsConfig, store: Coordination) -> None:
    dead = DeadRun(config)
    undos = [make() for make in data.draw(st.lists(UNDOS, min_size=1, max_size=5))]
    crossed = data.draw(st.sets(st.integers(0, len(undos) - 1), max_size=len(undos)))
    valid = [dead.add(undo) for undo in undos] + [dead.done(undos[n]) for n in sorted(crossed)]
    lines, tail = mutate(data, list(valid))
    dead.plant(lines, tail=tail)
    found, sent = replay(config, store)
    assert config.base_url is not None
    assert allowed(sent, [call for undo in undos for call in calls(config, undo)], config.base_url), sent
    assert all(shown.isprintable() for shown in found.lines)
    forged_marks = sum("done mark" in shown for shown in found.lines)  # the table keeps the row: its undo is real
    cut = sum("cut short by a kill" in shown for shown in found.lines)  # kept aside too, but no attack
    assert dead.rejected_entries() == found.rejected - forged_marks + cut
    assert (found.refusal() is not None) == (found.rejected > 0)
    later, sent = replay(config, store)
    assert (later.rejected, sent) == (0, [])
