"""A client for the mock-only control endpoint (`/_mock/...`): reset, faults, clock, state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

TIMEOUT = 5.0


class MockControl:
    """Drives the mock's world from the harness; never used against a real LUCS. A mock served with
    `--auth` demands its credentials on `/_mock/*` too: pass them as `headers` (`MockAuth.headers()`),
    or as `params` for an API key read from the query (`MockAuth.params()`)."""

    def __init__(
        self,
        base_url: str,
        session: requests.Session | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.session.trust_env = False  # the mock is on loopback: no environment proxy applies
        self.session.headers.update(headers or {})
        self.session.params = dict(params or {})
        self._task_states: dict[str, str] | None = None

    @property
    def task_states(self) -> dict[str, str]:
        """The mock's task State names by meaning (pending, offered, accepted, closed), as it was
        started with them (`--convention task-states=…`); asked once, on first use."""
        if self._task_states is None:
            self._task_states = dict(self.conventions()["task-states"])
        return self._task_states

    @task_states.setter
    def task_states(self, names: dict[str, str]) -> None:
        self._task_states = dict(names)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.session.request(method, f"{self.base_url}/_mock/{path}", json=body, timeout=TIMEOUT)
        if response.status_code != 200:
            raise AssertionError(f"{method} /_mock/{path} -> {response.status_code}: {response.text}")
        return response.json()

    def reset(self) -> dict[str, Any]:
        """Back to the seed, clock at its start; the active faults stay (they are the run's)."""
        state: dict[str, Any] = self._call("POST", "reset")
        return state

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self._call("GET", "state")
        return state

    def conventions(self) -> dict[str, Any]:
        """How the mock serves what LUCS does not document (`Conventions.as_dict()`)."""
        conventions: dict[str, Any] = self._call("GET", "conventions")
        return conventions

    def set_faults(self, names: list[str]) -> list[str]:
        active: list[str] = self._call("PUT", "faults", names)
        return active

    def advance(self, seconds: float) -> str:
        """Move the simulated clock; due answers and RONA timeouts fire on the way."""
        now: str = self._call("POST", "clock", {"advance": seconds})["now"]
        return now
