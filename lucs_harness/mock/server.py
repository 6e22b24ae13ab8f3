"""Run the mock on a loopback port: in a background thread for the suite, or in the foreground."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from lucs_harness.mock.app import create_app
from lucs_harness.mock.auth import MockAuth
from lucs_harness.mock.domain import Lucs
from lucs_harness.mock.faults import Fault, Faults
from lucs_harness.mock.seed import DEFAULT_SEED, Seed, load_seed

START_TIMEOUT = 10.0


@dataclass
class MockServer:
    """A mock LUCS bound to `host` on an ephemeral (or given) port, running in a daemon thread."""

    host: str = "127.0.0.1"
    port: int = 0
    seed: Path | Seed = DEFAULT_SEED
    faults: frozenset[Fault] = frozenset()
    auth: MockAuth | None = None
    latency: float = 0.0
    certfile: str | None = None
    keyfile: str | None = None
    lucs: Lucs = field(init=False)
    _server: uvicorn.Server | None = field(default=None, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        seed = self.seed if isinstance(self.seed, Seed) else load_seed(self.seed)
        self.lucs = Lucs(seed, faults=Faults(self.faults))

    def config(self, log_level: str = "warning", access_log: bool = False) -> uvicorn.Config:
        """The uvicorn configuration of this mock (h11, no lifespan, as little overhead as possible)."""
        return uvicorn.Config(
            create_app(self.lucs, auth=self.auth, latency=self.latency),
            host=self.host,
            port=self.port,
            log_level=log_level,
            access_log=access_log,
            lifespan="off",
            ssl_certfile=self.certfile,
            ssl_keyfile=self.keyfile,
        )

    @property
    def base_url(self) -> str:
        scheme = "https" if self.certfile else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> MockServer:
        """Start serving in a thread; returns once the port accepts connections."""
        self._server = uvicorn.Server(self.config())
        self._thread = threading.Thread(target=self._server.run, name="lucs-mock", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.002)
        if not self._server.started:
            raise RuntimeError(f"the mock LUCS did not start on {self.host}:{self.port}")
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self, wait: bool = True) -> None:
        """Ask uvicorn to finish; wait for the thread unless the process is about to end anyway
        (uvicorn's shutdown takes 0.2 s of fixed ticks, and the thread is a daemon)."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            if wait:
                self._thread.join(timeout=START_TIMEOUT)

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
