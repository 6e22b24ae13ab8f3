"""The coordination store on PostgreSQL (`--lucs-coordination postgresql://…`): runs on several
machines against one LUCS share their agent leases and restore journals.

- A lease is a session-level advisory lock keyed by target and agent; so is each run's own lock.
  The server frees them when the holder's session ends; the session's TCP keepalives make a lost
  runner's session end within about 25 s (10 s idle, then 3 probes 5 s apart).
- The journal is a table: each undo is committed before its change is sent and crossed out
  (`done`) once undone, with the run that wrote it. A run whose lock is free is dead: its open
  undos are replayed by the next run, from any machine.
- The tables are created on first use, under a lock, and carry a schema version.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from lucs_harness.coordination.base import RUN_TOKEN, CoordinationError
from lucs_harness.exit_codes import UNREACHABLE, USAGE
from lucs_harness.journal import Undo, target_digest

if TYPE_CHECKING:
    import psycopg

    from lucs_harness.config import LucsConfig

SCHEMA_VERSION = 1
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
FORGET_RUNS_AFTER = "30 days"  # ended runs with nothing left open are deleted after this long


def lock_key(text: str) -> int:
    """A signed 32-bit advisory lock key for a name."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big", signed=True)


def shown(url: str) -> str:
    """The store's URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = (f"{parts.username}@" if parts.username else "") + host + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresCoordination:
    """One session to the store for this process's whole run: its leases and run lock live in it."""

    def __init__(self, config: LucsConfig, token: str = RUN_TOKEN) -> None:
        assert config.base_url is not None
        assert config.coordination is not None
        self.where = shown(config.coordination)
        self.target = target_digest(config.base_url, config.service_id)
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
                    self._conn.execute("INSERT INTO lucs_harness_schema VALUES (%s)", (SCHEMA_VERSION,))
                version = self._conn.execute("SELECT max(version) FROM lucs_harness_schema").fetchone()
        except psycopg.errors.InsufficientPrivilege as error:
            raise CoordinationError(
                f"coordination store {self.where}: may not create the harness's tables ({error.diag.message_primary}); "
                "let its user CREATE in the schema, or create them once as the owner",
                USAGE,
            ) from None
        except psycopg.Error as error:
            raise CoordinationError(f"coordination store {self.where}: {' '.join(str(error).split())}", USAGE) from None
        if version is None or version[0] != SCHEMA_VERSION:
            raise CoordinationError(
                f"coordination store {self.where} holds schema version {version and version[0]}, this harness "
                f"knows {SCHEMA_VERSION}: run the same harness version on every runner",
                USAGE,
            )

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
            "WHERE target = %s AND done IS NULL AND run <> %s ORDER BY run",
            (self.target, self.token),
        )
        for (run,) in runs:
            if not self._try_lock(RUNS, run):
                continue  # alive, on whichever machine
            rows = self._execute(
                "SELECT undo FROM lucs_harness_journal WHERE run = %s AND target = %s AND done IS NULL ORDER BY seq",
                (run, self.target),
            )
            undos, unreadable = [], 0
            for (record,) in rows:
                try:
                    undos.append(Undo.from_record(record))
                except (TypeError, ValueError):
                    unreadable += 1
            yield PostgresLeftover(self, run, undos, unreadable)

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

    def _cross_out(self, undo_id: str, run: str) -> None:
        self._execute(
            "UPDATE lucs_harness_journal SET done = now() WHERE id = %s AND run = %s AND target = %s AND done IS NULL",
            (undo_id, run, self.target),
        )

    def _finish(self, run: str) -> None:
        """A run with nothing left to undo: its entries go, its row says it ended."""
        self._execute("DELETE FROM lucs_harness_journal WHERE run = %s AND target = %s", (run, self.target))
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
        self.store._execute(
            "INSERT INTO lucs_harness_journal (id, run, target, undo) VALUES (%s, %s, %s, %s)",
            (undo.id, self.store.token, self.store.target, json.dumps(asdict(undo))),
        )
        self._open.add(undo.id)

    def cross_out(self, undo: Undo) -> None:
        if undo.id in self._open:
            self.store._cross_out(undo.id, self.store.token)
            self._open.discard(undo.id)

    def close(self) -> None:
        if not self._open and self.store.lost() is None:
            self.store._finish(self.store.token)


@dataclass
class PostgresLeftover:
    """A dead run's open undos, claimed through its run lock while they are replayed."""

    store: PostgresCoordination
    run: str
    undos: list[Undo]
    unreadable: int = 0

    @property
    def name(self) -> str:
        return f"run {self.run}"

    def cross_out(self, undo: Undo) -> None:
        self.store._cross_out(undo.id, self.run)

    def release(self, *, finished: bool) -> None:
        if finished:
            self.store._finish(self.run)
        self.store._unlock(RUNS, self.run)
