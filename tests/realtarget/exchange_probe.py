"""Test support (loaded with `-p tests.realtarget.exchange_probe`): notes every exchange the
scenarios' client hands its listeners (method, path, status: what its Allure attachment must
show), and which modules of the mock the run imported, into the JSON file LUCS_TEST_PROBE names."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from lucs_harness.client import Exchange, LucsClient

MOCK_MODULES = ("uvicorn", "starlette", "httptools", "lucs_harness.mock")
seen: list[tuple[str, str, int | None]] = []
watched: set[int] = set()


def note(exchange: Exchange) -> None:
    seen.append((exchange.method, urlsplit(exchange.url).path, exchange.status))


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, **_: Any) -> None:
    """The session's client, as the fixture built it, gets one more listener: the last one, so it
    sees what the Allure listener before it sees."""
    client: LucsClient = request.getfixturevalue("lucs_client")
    if id(client) not in watched:
        watched.add(id(client))
        client.listeners.append(note)


def pytest_unconfigure(config: pytest.Config) -> None:
    mock = sorted(name for name in sys.modules if name.startswith(MOCK_MODULES))
    Path(os.environ["LUCS_TEST_PROBE"]).write_text(json.dumps({"exchanges": seen, "mock_modules": mock}))
