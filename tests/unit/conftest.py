"""The unit tests' own mock LUCS: they test the harness's parts, so they do not stand on the
harness's plugin (`make test` runs them with `-p no:lucs_harness.plugin`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lucs_harness.mock.control import MockControl
from lucs_harness.mock.server import MockServer


@dataclass(frozen=True)
class MockTarget:
    """A running mock: where it answers, and its control client."""

    base_url: str
    control: MockControl


@pytest.fixture(scope="session")
def mock_target() -> Iterator[MockTarget]:
    """One embedded mock for this process (xdist worker); tests reset it as they need."""
    with MockServer() as server:
        yield MockTarget(server.base_url, MockControl(server.base_url))


@pytest.fixture(scope="session", autouse=True)
def own_config_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The journal key file of a target without credentials goes to a folder of the tests' own,
    never to the user's configuration folder (child processes inherit it)."""
    folder = tmp_path_factory.mktemp("config-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(folder))
        yield folder
