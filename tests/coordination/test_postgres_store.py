"""What only the PostgreSQL store has: a store that cannot be used is one line with its exit code,
the tables carry a version, the session drops a vanished runner, and a store that restarts
mid-run loses nothing that was committed."""

from __future__ import annotations

import psycopg
import pytest

from lucs_harness.config import LucsConfig
from lucs_harness.coordination.postgres import SCHEMA_VERSION, TABLES, PostgresCoordination
from lucs_harness.errors import CoordinationError
from lucs_harness.exit_codes import UNREACHABLE, USAGE
from lucs_harness.journal import target_digest
from tests.coordination.conftest import BASE_URL
from tests.realtarget.support import free_port
from tests.support.journals import SMOKY_DD, unblock
from tests.support.postgres import PostgresServer


def store(url: str, token: str = "0000aaaa") -> PostgresCoordination:
    return PostgresCoordination(LucsConfig(base_url=BASE_URL, coordination=url), token)


def test_a_store_nobody_listens_on_is_unreachable() -> None:
    with pytest.raises(CoordinationError, match="cannot be reached") as raised:
        store(f"postgresql://lucs:s3cret@127.0.0.1:{free_port()}/db")
    assert raised.value.code == UNREACHABLE
    assert "s3cret" not in str(raised.value)


def test_a_database_that_is_not_there_is_a_configuration_error(postgres: PostgresServer) -> None:
    with pytest.raises(CoordinationError, match="refused the connection") as raised:
        store(postgres.url("no_such_database"))
    assert raised.value.code == USAGE


def test_a_newer_schema_is_refused_with_what_to_do(postgres: PostgresServer) -> None:
    url = postgres.database()
    store(url).close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE lucs_harness_schema SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(CoordinationError, match="run the same harness version on every runner") as raised:
        store(url)
    assert raised.value.code == USAGE


def test_the_session_drops_a_vanished_runner_within_a_minute(postgres: PostgresServer) -> None:
    opened = store(postgres.database())
    settings = dict(
        opened._execute(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('tcp_keepalives_idle', 'tcp_keepalives_interval', 'tcp_keepalives_count')"
        )
    )
    opened.close()
    idle, interval, count = (int(settings[f"tcp_keepalives_{n}"]) for n in ("idle", "interval", "count"))
    assert idle + interval * count < 60


def test_a_store_restarted_mid_run_ends_it_and_loses_nothing_committed(postgres: PostgresServer) -> None:
    url = postgres.database()
    run = store(url, "1111aaaa")
    journal = run.journal()
    journal.add(unblock())
    postgres.stop()
    postgres.start()
    with pytest.raises(CoordinationError, match="lost") as raised:
        journal.add(unblock(SMOKY_DD))  # not stored: its change is not sent
    assert raised.value.code == UNREACHABLE
    assert run.lost() is not None
    run.close()
    later = store(url, "2222bbbb")
    [left] = list(later.leftovers())  # the restart ended the run's session: it is dead, its undo kept
    assert [u.description for u in left.undos] == [
        "unblock sip:smoky.cc@dev.local (user 854822ed-4a2a-4eb1-b07f-637ed3eab729)"
    ]
    left.release(finished=False)
    later.close()


def test_a_store_of_the_first_version_is_brought_up_to_date_and_its_unsigned_rows_rejected(
    postgres: PostgresServer,
) -> None:
    url = postgres.database()
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in TABLES:
            conn.execute(statement.encode())
        conn.execute("INSERT INTO lucs_harness_schema VALUES (1)")
        conn.execute(
            "INSERT INTO lucs_harness_journal (id, run, target, undo) VALUES (%s, %s, %s, %s)",
            ("1", "0ldrun00", target_digest(BASE_URL, LucsConfig().service_id), '{"operation": "unblock_user"}'),
        )
    later = store(url)
    assert later._value("SELECT version FROM lucs_harness_schema") == SCHEMA_VERSION
    [left] = list(later.leftovers())
    assert left.undos == []
    assert left.rejected == [
        "entry 1: no MAC: written by an older harness, or by hand; marked rejected in lucs_harness_journal"
    ]
    left.release(finished=True)
    assert later._value("SELECT count(*) FROM lucs_harness_journal WHERE rejected IS NOT NULL") == 1  # kept
    later.close()
