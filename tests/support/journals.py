"""Journals as the tests need them: undos of the mock's seed users, and a dead run's journal planted
in either store, entry by entry, exactly as given (sealed as a run holding the key writes it, or
forged as someone else would)."""

from __future__ import annotations

import glob
import json
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lucs_harness.config import LucsConfig
from lucs_harness.journal import REJECTED, SUFFIX, Lookup, Seal, Undo, record_of, target_digest, target_folder
from lucs_harness.journal_key import journal_seal
from lucs_harness.leftovers import harness_id

INSERT = "INSERT INTO lucs_harness_journal (id, run, target, undo, mac) VALUES (%s, %s, %s, %s, %s)"
BATCH = 100  # rows planted with one statement past this many
# users of the mock's seed (lucs_harness/mock/seed), by GUID
SMOKY_CC = "854822ed-4a2a-4eb1-b07f-637ed3eab729"
SMOKY_DD = "3b2e9c74-5d0a-4f8c-9e43-70a1ac1d2e33"
SEED_USERS = (
    SMOKY_CC,
    "1f0c7a52-3b8e-4d6a-9c21-5e7f8a9b0c11",
    "2a1d8b63-4c9f-4e7b-8d32-6f809b0c1d22",
    SMOKY_DD,
    "4c3fad85-6e1b-4a9d-8f54-81b2bd2e3f44",
    "5d40be96-7f2c-4bae-9a65-92c3ce3f4a55",
    "6e51cfa7-8a3d-4cbf-8b76-a3d4df4a5b66",
)


def unblock(user: str = SMOKY_CC) -> Undo:
    return Undo(f"unblock {user}", "unblock_user", {"userId": user}, sip="sip:smoky.cc@dev.local")


def block_again(user: str = SMOKY_CC) -> Undo:
    return Undo(f"block {user} again", "block_user", {"userId": user})


def presence_back(user: str = SMOKY_CC, presence: str = "Online") -> Undo:
    return Undo(f"set presence of {user} back", "set_presence", {"userId": user}, {"Presence": presence})


def close_task(external: str | None = None) -> Undo:
    external = external or harness_id()
    return Undo(f"close task {external}", "close_task", {"taskIdentifier": external}, gone=(404, 409, 410))


def cancel_callback(external: str | None = None) -> Undo:
    lookup = Lookup("get_callback", {"externalTaskId": external or harness_id()}, "Id", "callbackId")
    return Undo("cancel callback", "cancel_callback", gone=(404,), lookup=lookup)


def line(entry: Any) -> bytes:
    """An entry as a journal file's line."""
    return json.dumps(entry, separators=(",", ":")).encode()


def forged(seal: Seal, journal: str, record: dict[str, Any]) -> dict[str, Any]:
    """An add entry sealed with the right key whatever it holds: what a run holding the key (a bug,
    or a leaked key) could write; the operations table must still refuse what it does not allow."""
    entry = {"add": record}
    return entry | {"mac": seal.mac(journal, entry)}


@dataclass
class DeadRun:
    """A run that died leaving a journal in the store under test (files, or the PostgreSQL table):
    nobody holds its lock, so the next run replays it."""

    config: LucsConfig
    name: str = "deadhost-4242-0badc0de-beef"

    @property
    def seal(self) -> Seal:
        return journal_seal(self.config)

    @property
    def shown(self) -> str:
        """How the repair names this journal."""
        return f"run {self.name}" if self.config.coordination else self.name + SUFFIX

    @property
    def path(self) -> Path:
        return target_folder(self.config) / (self.name + SUFFIX)

    def add(self, undo: Undo) -> bytes:
        return line(self.seal.add(self.name, undo))

    def done(self, undo: Undo) -> bytes:
        return line(self.seal.done(self.name, undo.id))

    def forged(self, undo: Undo, **changes: Any) -> bytes:
        """`undo` sealed, then `changes` applied to its record: the MAC no longer fits."""
        entry = self.seal.add(self.name, undo)
        return line(entry | {"add": entry["add"] | changes})

    def sealed_record(self, undo: Undo, **changes: Any) -> bytes:
        """`undo`'s record with `changes`, sealed with the right key (see `forged`)."""
        return line(forged(self.seal, self.name, record_of(undo) | changes))

    def plant(self, lines: Sequence[bytes], *, tail: bytes = b"") -> None:
        """Write the dead run's journal: `lines` as they are (`tail`: a last line without its newline)."""
        if self.config.coordination:
            self._plant_rows(lines)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(b"".join(entry + b"\n" for entry in lines) + tail)

    def _plant_rows(self, lines: Sequence[bytes]) -> None:
        """Each line as the row it stands for (a line that is no entry: a row holding its text),
        inserted in one batch, then the done marks set."""
        import psycopg

        assert self.config.coordination is not None
        assert self.config.base_url is not None
        target = target_digest(self.config.base_url, self.config.service_id)
        rows, marks = _rows(target, self.name, lines)
        with psycopg.connect(self.config.coordination, autocommit=True) as conn, conn.cursor() as cursor:
            if len(rows) > BATCH:  # many well-formed entries: at once
                cursor.executemany(INSERT, rows)
            for row in rows if len(rows) <= BATCH else ():
                with suppress(psycopg.Error):  # a row PostgreSQL refuses (a NUL in text) nobody can plant either
                    cursor.execute(INSERT, row)
            for mark in marks:
                cursor.execute(
                    "UPDATE lucs_harness_journal SET done = now(), done_mac = %s WHERE run = %s AND id = %s", mark
                )

    def open_entries(self) -> int:
        """Entries the journal still holds for a later run (a file's lines; rows not rejected)."""
        if self.config.coordination:
            return sum(1 for _, why in self.rows() if why is None)
        return len(self.path.read_bytes().splitlines()) if self.path.exists() else 0

    def rejected_entries(self) -> int:
        """Entries kept aside (lines of the `.rejected` files next to the journal; rows marked rejected)."""
        if self.config.coordination:
            return sum(1 for _, why in self.rows() if why is not None)
        aside = self.path.parent.glob(glob.escape(self.path.name) + "*" + REJECTED)
        # each entry ends with b"\n"; a flipped bit may leave a b"\r" inside one, which splitlines() would split
        return sum(file.read_bytes().count(b"\n") for file in aside if file.is_file())

    def rows(self) -> list[tuple[str, str | None]]:
        """The dead run's rows: undo text and why it was rejected (None: not rejected)."""
        import psycopg

        assert self.config.coordination is not None
        assert self.config.base_url is not None
        target = target_digest(self.config.base_url, self.config.service_id)
        with psycopg.connect(self.config.coordination, autocommit=True) as conn:
            found = conn.execute(
                "SELECT undo::text, rejected FROM lucs_harness_journal WHERE run = %s AND target = %s ORDER BY seq",
                (self.name, target),
            ).fetchall()
        return [(str(text), rejected) for text, rejected in found]


def _rows(target: str, run: str, lines: Sequence[bytes]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The rows (id, run, target, undo, mac) and done marks (mac, run, id) that `lines` stand for."""
    rows: list[tuple[Any, ...]] = []
    marks: list[tuple[Any, ...]] = []
    for raw in lines:
        try:
            entry = json.loads(raw)
        except (ValueError, RecursionError):
            entry = None
        add = entry.get("add") if isinstance(entry, dict) else None
        mac = entry.get("mac") if isinstance(entry, dict) else None
        mac = mac if isinstance(mac, str) else None
        if isinstance(entry, dict) and "done" in entry and add is None:
            marks.append((mac, run, str(entry["done"])))
            continue
        undo_id = str(add.get("id")) if isinstance(add, dict) else "?"
        undo = json.dumps(add) if add is not None else json.dumps(raw.decode("utf-8", "replace"))
        rows.append((undo_id, run, target, undo, mac))
    return rows, marks
