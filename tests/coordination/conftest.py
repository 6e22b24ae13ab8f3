"""The coordination tests run every contract against both stores: files, and a real PostgreSQL
server these tests start themselves (one per xdist worker, a fresh database per test)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lucs_harness.config import LucsConfig
from lucs_harness.coordination import Coordination
from lucs_harness.coordination.files import FileCoordination
from lucs_harness.coordination.postgres import PostgresCoordination
from tests.support.postgres import PostgresServer, postgres_server

# the unit tests' embedded mock and their configuration folder serve these tests as well
from tests.unit.conftest import MockTarget, mock_target, own_config_home  # noqa: F401

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


@contextmanager
def opener(config: LucsConfig) -> Iterator[Opener]:
    """Opens the store of `config` as one more run (a token of its own) each call; all closed at the end."""
    opened: list[Coordination] = []

    def open_one() -> Coordination:
        token = uuid.uuid4().hex[:8]
        kind = PostgresCoordination if config.coordination else FileCoordination
        store: Coordination = kind(config, token)
        opened.append(store)
        return store

    try:
        yield open_one
    finally:
        for store in opened:
            store.close()


@pytest.fixture
def open_run(store_config: LucsConfig) -> Iterator[Opener]:
    """Opens the store as one more run (a token of its own), closed after the test."""
    with opener(store_config) as open_one:
        yield open_one


@pytest.fixture
def mock_config(store_config: LucsConfig, mock_target: MockTarget) -> LucsConfig:  # noqa: F811 (the fixture)
    """The store under test for a target that is the mock, reset to its seed."""
    mock_target.control.reset()
    return store_config.replaced(base_url=mock_target.base_url)


@pytest.fixture
def open_mock_run(mock_config: LucsConfig) -> Iterator[Opener]:
    """Opens the store of the mock's target as one more run, closed after the test."""
    with opener(mock_config) as open_one:
        yield open_one
