"""The coordination store on PostgreSQL (`--lucs-coordination postgresql://…`): runs on several
machines against one LUCS share their agent leases and restore journals.

- A lease is a session-level advisory lock keyed by target and agent; so is each run's own lock.
  The server frees them when the holder's session ends; the session's TCP keepalives make a lost
  runner's session end within about 25 s (10 s idle, then 3 probes 5 s apart).
- The journal is a table: each undo is committed before its change is sent, sealed like a file's
  entry (`mac`, bound to the target and the run), and deleted by its run once undone. A run whose
  lock is free is dead: its open undos are replayed by the next run, from any machine, which marks
  each one it did (`done`, sealed too: `done_mac`) until the run is finished. Rows are as untrusted
  as files (whoever can write to the database can write them): a row that does not verify gets the
  reason in `rejected` and is never replayed, nor deleted.
- The tables are created on first use, under a lock, and carry a schema version; an older version
  is brought up to date there.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lucs_harness.config import mask_userinfo
from lucs_harness.coordination.base import RUN_TOKEN, store_seal
from lucs_harness.errors import CoordinationError, Rejected
from lucs_harness.exit_codes import UNREACHABLE, USAGE
from lucs_harness.journal import Undo, printable, target_digest

if TYPE_CHECKING:
    import psycopg

    from lucs_harness.config import LucsConfig

SCHEMA_VERSION = 2
MAX_ROWS = 10_000  # rows of one dead run read at a time (a live run deletes the rows it undid)
MAX_ROW = 4096  # characters of one row's undo read; a longer one is rejected unread
MAX_RUNS = 200  # dead runs looked at in one repair
# advisory lock namespaces (the first key of the two-key form): "LU" then a kind
LEASES, RUNS, SCHEMA = 0x4C550001, 0x4C550002, 0x4C550003
SESSION_SETTINGS = (  # the server's side: it drops a vanished runner's session, and with it the locks
    "SET tcp_keepalives_idle = 10",
    "SET tcp_keepalives_interval = 5",
    "SET tcp_keepalives_count = 3",
    "SET client_connection_check_interval = '5s'",
)
TABLES = (
    "CREATE TABLE lucs_harness_schema (version integer NOT NULL)",
    """CREATE TABLE lucs_harness_runs (
        run text PRIMARY KEY, target text NOT NULL, host text NOT NULL, pid integer NOT NULL,
        started timestamptz NOT NULL DEFAULT now(), ended timestamptz)""",
    """CREATE TABLE lucs_harness_journal (
        seq bigserial PRIMARY KEY, id text NOT NULL, run text NOT NULL, target text NOT NULL,
        undo jsonb NOT NULL, added timestamptz NOT NULL DEFAULT now(), done timestamptz)""",
    "CREATE INDEX lucs_harness_journal_open ON lucs_harness_journal (target, run) WHERE done IS NULL",
    """CREATE TABLE lucs_harness_lease_log (
        target text NOT NULL, agent text NOT NULL, holder text NOT NULL, run text NOT NULL,
        event text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())""",
)
MIGRATIONS = {  # version -> the statements that bring it to the next one
    1: (
        "ALTER TABLE lucs_harness_journal ADD COLUMN mac text, ADD COLUMN done_mac text, ADD COLUMN rejected text",
        "CREATE INDEX lucs_harness_journal_kept ON lucs_harness_journal (target, run) WHERE rejected IS NULL",
    ),
}
FORGET_RUNS_AFTER = "30 days"  # ended runs with nothing left open are deleted after this long


def lock_key(text: str) -> int:
    """A signed 32-bit advisory lock key for a name."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big", signed=True)


class PostgresCoordination:
    """One session to the store for this process's whole run: its leases and run lock live in it."""

    def __init__(self, config: LucsConfig, token: str = RUN_TOKEN) -> None:
        assert config.base_url is not None
        assert config.coordination is not None
        self.where = mask_userinfo(config.coordination)
        self.target = target_digest(config.base_url, config.service_id)
        self.seal = store_seal(config)
        self.token = token
        self._held: set[str] = set()
        self._lost: str | None = None
        self._conn = self._connect(config.coordination, config.connect_timeout)
        try:
            self._create_tables()
            self._register()
        except BaseException:
            self._conn.close()
            raise

    def _connect(self, url: str, timeout: float) -> psycopg.Connection[Any]:
        try:
            import psycopg
        except ImportError:
            raise CoordinationError(
                "--lucs-coordination needs psycopg: install lucs-harness[coordination]", USAGE
            ) from None
        try:
            conn = psycopg.connect(
                url,
                autocommit=True,
                connect_timeout=max(2, round(timeout)),
                application_name=f"lucs-harness {self.token}",
                keepalives=1,  # this side: a store that vanished fails the next call within about 25 s
                keepalives_idle=10,
                keepalives_interval=5,
                keepalives_count=3,
            )
        except psycopg.Error as error:
            refused = "FATAL:" in str(error)  # the server answered (credentials, database): libpq's words for it
            what = "refused the connection" if refused else "cannot be reached"
            raise CoordinationError(
                f"coordination store {self.where} {what}: {' '.join(str(error).split())}",
                USAGE if refused else UNREACHABLE,
            ) from None
        for setting in SESSION_SETTINGS:
            try:
                conn.execute(setting)
            except psycopg.errors.UndefinedObject:  # client_connection_check_interval is PostgreSQL 14+
                continue
        return conn

    def _create_tables(self) -> None:
        """The tables, once per database, under a lock so two first runs do not race."""
        import psycopg

        try:
            with self._conn.transaction():
                self._conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (SCHEMA,))
                exists = self._conn.execute("SELECT to_regclass('lucs_harness_schema')").fetchone()
                if exists is None or exists[0] is None:
                    for statement in TABLES:
                        self._conn.execute(statement)
                    self._conn.execute("INSERT INTO lucs_harness_schema VALUES (1)")
                version = self._migrate()
        except psycopg.errors.InsufficientPrivilege as error:
            raise CoordinationError(
                f"coordination store {self.where}: may not create the harness's tables ({error.diag.message_primary}); "
                "let its user CREATE in the schema, or create them once as the owner",
                USAGE,
            ) from None
        except psycopg.Error as error:
            raise CoordinationError(f"coordination store {self.where}: {' '.join(str(error).split())}", USAGE) from None
        if version != SCHEMA_VERSION:
            raise CoordinationError(
                f"coordination store {self.where} holds schema version {version}, this harness "
                f"knows {SCHEMA_VERSION}: run the same harness version on every runner",
                USAGE,
            )

    def _migrate(self) -> int | None:
        """The schema's version once brought up to this harness's (within the caller's transaction)."""
        row = self._conn.execute("SELECT max(version) FROM lucs_harness_schema").fetchone()
        version = row[0] if row else None
        while version in MIGRATIONS:
            for statement in MIGRATIONS[version]:
                self._conn.execute(statement)
            version += 1
            self._conn.execute("UPDATE lucs_harness_schema SET version = %s", (version,))
        return version

    def _register(self) -> None:
        """This run's row, and its lock: held as long as this process's session lives."""
        self._execute(
            "INSERT INTO lucs_harness_runs (run, target, host, pid) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (run) DO UPDATE SET started = now(), ended = NULL",
            (self.token, self.target, socket.gethostname(), os.getpid()),
        )
        if not self._try_lock(RUNS, self.token):
            raise CoordinationError(f"coordination store {self.where}: run {self.token} is held by a live run", USAGE)
        self._execute(
            f"DELETE FROM lucs_harness_runs r WHERE ended < now() - interval '{FORGET_RUNS_AFTER}' AND NOT EXISTS "
            "(SELECT 1 FROM lucs_harness_journal j WHERE j.run = r.run AND j.done IS NULL)"
        )

    # ---- plumbing: every failure of the session is the store lost ----------------------------

    def _execute(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        if self._lost is not None:
            raise CoordinationError(self._lost, UNREACHABLE)
        try:
            cursor = self._conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:
            self._lost = f"coordination store {self.where} lost: {' '.join(str(error).split())}"
            raise CoordinationError(self._lost, UNREACHABLE) from None

    def _value(self, query: str, params: Sequence[Any] = ()) -> Any:
        rows = self._execute(query, params)
        return rows[0][0] if rows else None

    def _try_lock(self, namespace: int, name: str) -> bool:
        return bool(self._value("SELECT pg_try_advisory_lock(%s, %s)", (namespace, lock_key(name))))

    def _unlock(self, namespace: int, name: str) -> None:
        self._value("SELECT pg_advisory_unlock(%s, %s)", (namespace, lock_key(name)))

    # ---- the interface ------------------------------------------------------------------------

    def try_lease(self, agent: str, holder: str) -> PostgresLease | None:
        if agent in self._held or not self._try_lock(LEASES, f"{self.target}|{agent}"):
            return None  # advisory locks stack within a session: this process's own lease counts as taken
        self._held.add(agent)
        self._log(agent, holder, "acquire")
        return PostgresLease(self, agent, holder)

    def is_leased(self, agent: str) -> bool:
        if agent in self._held:
            return True
        if not self._try_lock(LEASES, f"{self.target}|{agent}"):
            return True
        self._unlock(LEASES, f"{self.target}|{agent}")
        return False

    def _release(self, lease: PostgresLease) -> None:
        if lease.agent in self._held and self._lost is None:
            self._log(lease.agent, lease.holder, "release")
            self._unlock(LEASES, f"{self.target}|{lease.agent}")
        self._held.discard(lease.agent)

    def _log(self, agent: str, holder: str, event: str) -> None:
        self._execute(
            "INSERT INTO lucs_harness_lease_log (target, agent, holder, run, event) VALUES (%s, %s, %s, %s, %s)",
            (self.target, agent, holder, self.token, event),
        )

    def lease_log(self) -> list[tuple[str, str, str, str, float]]:
        """(agent, holder, run, event, epoch seconds) of this target, oldest first: for tests and benchmarks."""
        return [
            (agent, holder, run, event, float(at))
            for agent, holder, run, event, at in self._execute(
                "SELECT agent, holder, run, event, extract(epoch FROM at) FROM lucs_harness_lease_log "
                "WHERE target = %s ORDER BY at",
                (self.target,),
            )
        ]

    def journal(self) -> PostgresJournal:
        return PostgresJournal(self)

    def leftovers(self) -> Iterator[PostgresLeftover]:
        runs = self._execute(
            "SELECT DISTINCT run FROM lucs_harness_journal "
            "WHERE target = %s AND rejected IS NULL AND run <> %s ORDER BY run LIMIT %s",
            (self.target, self.token, MAX_RUNS),
        )
        for (run,) in runs:
            if not self._try_lock(RUNS, run):
                continue  # alive, on whichever machine
            yield self._leftover(run)

    def _leftover(self, run: str) -> PostgresLeftover:
        """A dead run's rows read, checked and sorted: its open undos, and what was rejected (its
        rows marked, so no later run reads them again)."""
        rows = self._execute(
            "SELECT seq, id, left(undo::text, %s), mac, done IS NOT NULL, done_mac FROM lucs_harness_journal "
            "WHERE run = %s AND target = %s AND rejected IS NULL ORDER BY seq LIMIT %s",
            (MAX_ROW + 1, run, self.target, MAX_ROWS),
        )
        leftover = PostgresLeftover(self, run, [], more=len(rows) >= MAX_ROWS)
        undos: dict[str, Undo] = {}
        bad: list[tuple[int, str]] = []
        for seq, row_id, text, mac, done, done_mac in rows:
            try:
                undo = self._opened(run, row_id, text, mac)
            except Rejected as why:
                bad.append((seq, f"entry {seq}: {why}"))
                continue
            if done and self._done(run, row_id, done_mac, seq, leftover):
                leftover.settled.add(undo.id)
            undos.setdefault(undo.id, undo)
        leftover.undos = [undo for undo in undos.values() if undo.id not in leftover.settled]
        if leftover.more:
            leftover.notes.append(f"more than {MAX_ROWS} entries: those not read yet wait for the next run")
        self._reject(bad)
        leftover.rejected += [f"{why}; marked rejected in lucs_harness_journal" for _, why in bad]
        return leftover

    def _opened(self, run: str, row_id: Any, text: str, mac: Any) -> Undo:
        """The undo a row stores; `Rejected` unless it verifies and names its own id."""
        if len(text) > MAX_ROW:
            raise Rejected(f"larger than {MAX_ROW} characters: not read")
        try:
            record = json.loads(text)
        except (ValueError, RecursionError):
            raise Rejected("not JSON") from None
        undo = self.seal.open(run, {"add": record, "mac": mac})
        if not isinstance(undo, Undo) or undo.id != row_id:
            raise Rejected(f"its id {printable(str(row_id), 40)!r} is not its undo's")
        return undo

    def _done(self, run: str, row_id: str, done_mac: Any, seq: int, leftover: PostgresLeftover) -> bool:
        """True for a row a run holding the key marked done; a mark that does not verify is
        reported, and its undo is replayed (it was registered for real; the mark may be forged)."""
        try:
            self.seal.open(run, {"done": row_id, "mac": done_mac})
        except Rejected as why:
            leftover.rejected.append(f"entry {seq}: done mark {why}; its undo is replayed")
            return False
        return True

    def _reject(self, bad: list[tuple[int, str]]) -> None:
        if bad:
            self._execute(
                "UPDATE lucs_harness_journal j SET rejected = v.why "
                "FROM unnest(%s::bigint[], %s::text[]) AS v(seq, why) WHERE j.seq = v.seq",
                ([seq for seq, _ in bad], [why for _, why in bad]),
            )

    def run_alive(self, token: str) -> bool | None:
        if token == self.token:
            return True
        if not self._execute("SELECT 1 FROM lucs_harness_runs WHERE run = %s", (token,)):
            return None  # a run that never used this store (files, another store)
        if not self._try_lock(RUNS, token):
            return True
        self._unlock(RUNS, token)
        return False

    def lost(self) -> str | None:
        return self._lost

    def close(self) -> None:
        """End the session: the server frees this run's leases and lock."""
        self._held.clear()
        self._conn.close()

    def _forget(self, undo_id: str) -> None:
        """This run's undo is done: its row goes (so a long run's rows stay few)."""
        self._execute(
            "DELETE FROM lucs_harness_journal WHERE id = %s AND run = %s AND target = %s AND rejected IS NULL",
            (undo_id, self.token, self.target),
        )

    def _mark_done(self, undo_id: str, run: str) -> None:
        """A dead run's undo is done: its row is marked, sealed, until the run is finished."""
        self._execute(
            "UPDATE lucs_harness_journal SET done = now(), done_mac = %s "
            "WHERE id = %s AND run = %s AND target = %s AND rejected IS NULL",
            (self.seal.done(run, undo_id)["mac"], undo_id, run, self.target),
        )

    def _forget_done(self, run: str, undo_ids: set[str]) -> None:
        """A dead run's undos that are done go before all of them are, so the next read moves on."""
        self._execute(
            "DELETE FROM lucs_harness_journal WHERE run = %s AND target = %s AND rejected IS NULL AND id = ANY(%s)",
            (run, self.target, sorted(undo_ids)),
        )

    def _finish(self, run: str) -> None:
        """A run with nothing left to undo: its entries go (rejected ones stay, for a person to
        look at), its row says it ended."""
        self._execute(
            "DELETE FROM lucs_harness_journal WHERE run = %s AND target = %s AND rejected IS NULL", (run, self.target)
        )
        self._execute("UPDATE lucs_harness_runs SET ended = now() WHERE run = %s", (run,))


@dataclass
class PostgresLease:
    store: PostgresCoordination
    agent: str
    holder: str

    def release(self) -> None:
        self.store._release(self)


@dataclass
class PostgresJournal:
    """This run's journal rows: each committed before its change is sent."""

    store: PostgresCoordination
    _open: set[str] = field(default_factory=set)

    def add(self, undo: Undo) -> None:
        """Commit an undo before its change is sent; `Rejected` (nothing stored, so its change must
        not be sent) for one a later run would refuse."""
        entry = self.store.seal.add(self.store.token, undo)
        self.store._execute(
            "INSERT INTO lucs_harness_journal (id, run, target, undo, mac) VALUES (%s, %s, %s, %s, %s)",
            (undo.id, self.store.token, self.store.target, json.dumps(entry["add"]), entry["mac"]),
        )
        self._open.add(undo.id)

    def cross_out(self, undo: Undo) -> None:
        if undo.id in self._open:
            self.store._forget(undo.id)
            self._open.discard(undo.id)

    def close(self) -> None:
        if not self._open and self.store.lost() is None:
            self.store._finish(self.store.token)


@dataclass
class PostgresLeftover:
    """A dead run's open undos, claimed through its run lock while they are replayed, and what of
    its rows was rejected."""

    store: PostgresCoordination
    run: str
    undos: list[Undo]
    rejected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    more: bool = False  # rows past `MAX_ROWS` wait unread: the run is not finished with these
    settled: set[str] = field(default_factory=set)  # undos done: marked so when read, or by this process

    @property
    def name(self) -> str:
        return f"run {printable(self.run, 40)}"

    def cross_out(self, undo: Undo) -> None:
        self.store._mark_done(undo.id, self.run)
        self.settled.add(undo.id)

    def release(self, *, finished: bool) -> None:
        if finished and not self.more:
            self.store._finish(self.run)
        elif self.more and self.settled:
            self.store._forget_done(self.run, self.settled)
        self.store._unlock(RUNS, self.run)
