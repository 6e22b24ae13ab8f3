"""A real PostgreSQL server for the coordination tests, started by the tests themselves: its own
data folder and port on loopback, trust authentication, no fsync. Run as the `postgres` user when
the tests run as root (the server refuses root). Skipped, with the reason, where no PostgreSQL
server binaries are installed (`LUCS_TEST_PG_BIN` names their folder; else the newest
/usr/lib/postgresql/*/bin, else `pg_ctl` on PATH)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.realtarget.support import free_port

USER = "lucs"


def server_binaries() -> Path | None:
    configured = os.environ.get("LUCS_TEST_PG_BIN")
    if configured:
        return Path(configured)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    if found:
        return Path(found[-1])
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def _owner() -> dict[str, Any]:
    """Run the server as `postgres` when we are root: it refuses to run as root."""
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no postgres user to start PostgreSQL as")
    return {"user": entry.pw_uid, "group": entry.pw_gid}


@dataclass
class PostgresServer:
    """One server; `database()` makes a fresh database for a test (advisory locks are per database)."""

    binaries: Path
    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    durable: bool = False  # fsync on, as a real server (the benchmark); tests need no durability

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def init(self) -> None:
        owner = _owner()
        self.folder.mkdir(parents=True, exist_ok=True)
        if owner:
            os.chown(self.folder, owner["user"], owner["group"])
        subprocess.run(
            [str(self.binaries / "initdb"), "-D", str(self.data), "-U", USER, "-A", "trust", "--no-sync", "-E", "UTF8"],
            check=True,
            capture_output=True,
            cwd=self.folder,
            **owner,
        )

    def start(self) -> None:
        """Start (or start again) and wait until it takes connections."""
        self.process = subprocess.Popen(
            [str(self.binaries / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.folder),
             "-c", "listen_addresses=127.0.0.1", "-c", f"fsync={'on' if self.durable else 'off'}",
             "-c", "max_connections=200"],
            stdout=subprocess.DEVNULL,
            stderr=open(self.folder / "server.log", "ab"),  # noqa: SIM115 - the server keeps it
            cwd=self.folder,
            **_owner(),
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {(self.folder / 'server.log').read_text()[-2000:]}")
            time.sleep(0.05)

    def _ready(self) -> bool:
        import psycopg

        try:
            psycopg.connect(self.url("postgres"), connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True

    def stop(self) -> None:
        """A fast shutdown: sessions are ended, their locks freed, committed data kept."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=30)

    def url(self, database: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """The URL of a new, empty database."""
        import psycopg

        name = "t" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}".encode())
        return self.url(name)


@contextlib.contextmanager
def postgres_server(*, durable: bool = False) -> Iterator[PostgresServer]:
    binaries = server_binaries()
    if binaries is None or not (binaries / "initdb").exists():
        pytest.skip("no PostgreSQL server binaries (set LUCS_TEST_PG_BIN to their folder)")
    folder = Path(tempfile.mkdtemp(prefix="lucs-pg-"))  # not under pytest's 0700 root folder: postgres must enter it
    server = PostgresServer(binaries, folder, durable=durable)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
