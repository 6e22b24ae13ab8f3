"""The coordination tests run every contract against both stores: files, and a real PostgreSQL
server these tests start themselves (one per xdist worker, a fresh database per test)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lucs_harness.config import LucsConfig
from lucs_harness.coordination import Coordination
from lucs_harness.coordination.files import FileCoordination
from lucs_harness.coordination.postgres import PostgresCoordination
from tests.support.postgres import PostgresServer, postgres_server

BASE_URL = "http://lucs.example.test"

Opener = Callable[[], Coordination]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(params=["files", "postgresql"])
def store_config(request: pytest.FixtureRequest, tmp_path: Path) -> LucsConfig:
    """The configuration of one target whose runs meet in the store under test."""
    folders = {"journal_dir": str(tmp_path / "journals"), "lease_dir": str(tmp_path / "leases")}
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres")
        return LucsConfig(base_url=BASE_URL, coordination=server.database(), **folders)
    return LucsConfig(base_url=BASE_URL, **folders)


@pytest.fixture
def open_run(store_config: LucsConfig) -> Iterator[Opener]:
    """Opens the store as one more run (a token of its own), closed after the test."""
    opened: list[Coordination] = []

    def open_one() -> Coordination:
        token = uuid.uuid4().hex[:8]
        kind = PostgresCoordination if store_config.coordination else FileCoordination
        store: Coordination = kind(store_config, token)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()
