"""The restore journal's entries: every undo is stored before its change is sent, and crossed out
once undone, so a run that dies (SIGKILL, OOM, a runner that vanishes) leaves a list of what it
changed. The next run against the same target (base URL and service) replays it first.

A journal is untrusted input: a CI cache is shared across branches, and another pipeline may
write to the coordination store. So each entry, undo and done mark alike, carries a MAC
(HMAC-SHA256) keyed by a secret of the target (`journal_key`) and bound to the target and to the
journal it is in; an undo must moreover be one of the operations table's undos, with parameters
its patterns allow and the body it takes. What fails is `Rejected`: kept aside, never replayed.
The stores (`coordination.files`, `coordination.postgres`) keep entries; this module says what
one is.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lucs_harness.errors import Rejected
from lucs_harness.operations import (
    OPERATIONS,
    PARAMETER_PATTERNS,
    PRESENCE_FIELD,
    PRESENCE_NAME,
    SIP_URI,
    Operation,
    UndoRule,
)

if TYPE_CHECKING:
    from lucs_harness.config import LucsConfig

SUFFIX = ".jsonl"
REJECTED = ".rejected"  # where a journal's bad lines are kept aside, next to it
MAX_BYTES = 1 << 20  # a journal (one file, or one run's rows) larger than this is not read
FORMAT = b"lucs-harness journal 2"  # in every MAC: an entry of another format never verifies
UNDO_ID = re.compile(r"[0-9a-f]{32}")
MAC = re.compile(r"[0-9a-f]{64}")
RECORD_FIELDS = frozenset({"id", "operation", "params", "body", "gone", "lookup", "sip"})
LOOKUP_FIELDS = frozenset({"operation", "params", "field", "param"})
UNDO_OPERATIONS = tuple(name for name, op in OPERATIONS.items() if op.undo is not None)


@dataclass(frozen=True)
class Lookup:
    """A read made first, for an undo whose target gets its id only from the change itself: a
    callback is cancelled by its GUID, which LUCS answers, so the undo finds it by the ExternalTaskId
    sent with it. The answer's `field` becomes the undo's parameter `param`."""

    operation: str
    params: dict[str, str]
    field: str
    param: str


@dataclass(frozen=True)
class Undo:
    """One registered change, as the API call that reverses it: plain data, so a later run (or
    `lucs-acceptance restore`) can make the call when this process no longer can. `description`
    is this process's; a journal does not store it (a later run derives it: `describe`)."""

    description: str
    operation: str
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    gone: tuple[int, ...] = ()  # statuses that mean nothing is left to undo (a task closed meanwhile)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    lookup: Lookup | None = None  # a read that names what the call acts on; its `gone` statuses count too
    sip: str | None = None  # the SIP URI of the user it acts on, for messages only (never sent)


def target_digest(base_url: str, service_id: str) -> str:
    """A short name for one target (base URL and service), shared by leases and journals."""
    return hashlib.sha256(f"{base_url}|{service_id}".encode()).hexdigest()[:16]


def journal_folder(base_url: str, service_id: str, configured: str | None = None) -> Path:
    """The target's journal folder: under the configured folder, else the user's cache folder
    (which outlives temporary folders and reboots; point it at a CI cache to outlive a container)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lucs-harness" / "journal"
    root = Path(configured) if configured else cache
    return root / target_digest(base_url, service_id)


def target_folder(config: LucsConfig) -> Path:
    """The journal folder of the configured real target."""
    assert config.base_url is not None
    return journal_folder(config.base_url, config.service_id, config.journal_dir)


def printable(text: str, limit: int = 160) -> str:
    """`text` on one line, every control or invisible character escaped (`\\x1b`, `\\n`,
    `\\u202e`) and cut at `limit` characters: what a journal says forges no output line and
    sends no terminal escape."""
    shown = "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text[:limit])
    return shown + (f"... ({len(text)} characters)" if len(text) > limit else "")


# ---- what an undo may be: the operations table's undos, checked ------------------------------


def check(undo: Undo) -> None:
    """`Rejected` unless `undo` is an undo of the operations table with parameters, lookup, body
    and `gone` statuses as its row allows. Checked before an undo is journaled (so no run journals
    what the next one would refuse) and again when it is read back."""
    op = OPERATIONS.get(undo.operation)
    rule = op.undo if op is not None else None
    if op is None or rule is None:
        raise Rejected(f"{printable(undo.operation, 40)!r} is no undo (replayed: {', '.join(UNDO_OPERATIONS)})")
    _check_params(op, undo.params)
    given = set(undo.params)
    if undo.lookup is not None:
        _check_lookup(rule, undo.lookup)
        given.add(undo.lookup.param)
    if given != set(op.parameters):
        raise Rejected(f"{op.name} takes {', '.join(op.parameters) or 'no parameter'}, not {', '.join(sorted(given))}")
    _check_body(op, rule, undo.body)
    if not set(undo.gone) <= set(rule.gone):
        raise Rejected(f"{op.name}: {undo.gone} are not statuses that mean nothing is left to undo")
    if undo.sip is not None and ("userId" not in op.parameters or not SIP_URI.fullmatch(undo.sip)):
        raise Rejected(f"{op.name}: {printable(undo.sip, 60)!r} names no user it acts on")


def _check_params(op: Operation, params: Mapping[str, str]) -> None:
    for name, value in params.items():
        pattern = PARAMETER_PATTERNS.get(name)
        if name not in op.parameters or pattern is None:
            raise Rejected(f"{op.name} takes no parameter {printable(name, 40)!r}")
        if not pattern.fullmatch(value):
            raise Rejected(f"{op.name}: {name} {printable(value, 60)!r} is not an id it takes")


def _check_lookup(rule: UndoRule, lookup: Lookup) -> None:
    if not any((r.operation, r.field, r.param) == (lookup.operation, lookup.field, lookup.param) for r in rule.lookups):
        what = f"{printable(lookup.operation, 40)!r} reading {printable(lookup.field, 40)!r}"
        raise Rejected(f"{what} is no lookup of it")
    read = OPERATIONS[lookup.operation]
    _check_params(read, lookup.params)
    if set(lookup.params) != set(read.parameters):
        raise Rejected(f"the lookup {read.name} takes {', '.join(read.parameters)}")


def _check_body(op: Operation, rule: UndoRule, body: Any) -> None:
    if rule.body is None:
        if body is not None:
            raise Rejected(f"{op.name} takes no body")
        return
    if not isinstance(body, dict) or len(body) != 1:
        raise Rejected(f"{op.name} takes one presence field and its value")
    [(name, value)] = body.items()
    if not PRESENCE_FIELD.fullmatch(name) or not isinstance(value, str) or not PRESENCE_NAME.fullmatch(value):
        raise Rejected(f"{op.name}: {printable(json.dumps(body), 80)} is no presence it sets")


def describe(undo: Undo) -> str:
    """What an undo does, from its operation and parameters alone (never from a journal's words)."""
    rule = OPERATIONS[undo.operation].undo
    assert rule is not None
    user = undo.params.get("userId", "")
    values = {
        **undo.params,
        **(undo.lookup.params if undo.lookup else {}),
        "user": f"{undo.sip} (user {user})" if undo.sip else f"user {user}",
        "presence": next(iter(undo.body.values()), "") if isinstance(undo.body, dict) else "",
    }
    return rule.describe.format_map(values)


# ---- entries: an undo as a record, sealed ------------------------------------------------------


def record_of(undo: Undo) -> dict[str, Any]:
    """What a journal stores of an undo: the call, not the words."""
    lookup = undo.lookup
    return {
        "id": undo.id,
        "operation": undo.operation,
        "params": dict(undo.params),
        "body": undo.body,
        "gone": list(undo.gone),
        "lookup": None if lookup is None else {**vars(lookup), "params": dict(lookup.params)},
        "sip": undo.sip,
    }


def undo_of(record: Any) -> Undo:
    """The undo a journal record stores, checked against the operations table; `Rejected` else."""
    if not isinstance(record, dict) or set(record) != RECORD_FIELDS:
        raise Rejected("not an undo record")
    lookup = record["lookup"]
    if lookup is not None and (not isinstance(lookup, dict) or set(lookup) != LOOKUP_FIELDS):
        raise Rejected("a lookup that is not one")
    undo = Undo(
        "",
        _text(record["operation"]),
        _texts(record["params"]),
        record["body"],
        _statuses(record["gone"]),
        _text(record["id"]),
        None if lookup is None else _lookup(lookup),
        None if record["sip"] is None else _text(record["sip"]),
    )
    if not UNDO_ID.fullmatch(undo.id):
        raise Rejected(f"id {printable(undo.id, 40)!r} is not one the harness makes")
    check(undo)
    return replace(undo, description=describe(undo))


def _lookup(lookup: dict[str, Any]) -> Lookup:
    return Lookup(_text(lookup["operation"]), _texts(lookup["params"]), _text(lookup["field"]), _text(lookup["param"]))


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise Rejected(f"{type(value).__name__} where text belongs")
    return value


def _texts(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise Rejected("parameters that are no object")
    return {_text(name): _text(text) for name, text in value.items()}


def _statuses(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(type(status) is int for status in value):
        raise Rejected("statuses that are not a list of numbers")
    return tuple(value)


def canonical(entry: Any) -> bytes:
    """The bytes a MAC covers: one JSON text per value, whatever the store did to its spacing or
    key order (PostgreSQL's jsonb keeps neither)."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


@dataclass(frozen=True)
class Seal:
    """A target's journal key (`journal_key.target_key`) and the target's digest: a MAC binds an
    entry to both and to the journal it is in (a file's name, a run's token), so an entry copied
    to another target or another journal does not verify."""

    key: bytes = field(repr=False)
    target: str

    def mac(self, journal: str, entry: Mapping[str, Any]) -> str:
        message = b"\0".join((FORMAT, self.target.encode(), journal.encode(), canonical(entry)))
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def add(self, journal: str, undo: Undo) -> dict[str, Any]:
        """The sealed entry that stores `undo`; `Rejected` for one a later run would refuse."""
        check(undo)
        entry = {"add": record_of(undo)}
        return entry | {"mac": self.mac(journal, entry)}

    def done(self, journal: str, undo_id: str) -> dict[str, Any]:
        """The sealed entry that crosses out the undo `undo_id`."""
        entry = {"done": undo_id}
        return entry | {"mac": self.mac(journal, entry)}

    def open(self, journal: str, sealed: Any) -> Undo | str:
        """The undo a sealed entry adds, or the id of the undo it crosses out; `Rejected` unless its
        MAC verifies and it is an undo of the operations table (or a done mark)."""
        if not isinstance(sealed, dict):
            raise Rejected("not a JSON object")
        mac, entry = sealed.get("mac"), {name: value for name, value in sealed.items() if name != "mac"}
        if not isinstance(mac, str) or not MAC.fullmatch(mac):
            raise Rejected("no MAC: written by an older harness, or by hand")
        try:
            expected = self.mac(journal, entry)
        except (ValueError, RecursionError):
            raise Rejected("holds a value JSON cannot carry") from None
        if not hmac.compare_digest(mac, expected):
            raise Rejected("MAC does not verify: written by no run holding this target's journal key, or changed since")
        if set(entry) == {"add"}:
            return undo_of(entry["add"])
        if set(entry) == {"done"} and isinstance(entry["done"], str) and UNDO_ID.fullmatch(entry["done"]):
            return entry["done"]
        raise Rejected("neither an undo nor a done mark")
