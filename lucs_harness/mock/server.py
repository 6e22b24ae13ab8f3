"""Run the mock on a loopback port: in a background thread for the suite, or in the foreground."""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from lucs_harness.mock.app import MAX_BODY, create_app
from lucs_harness.mock.auth import MockAuth
from lucs_harness.mock.capture import load_data
from lucs_harness.mock.conventions import Conventions
from lucs_harness.mock.faults import Fault, Faults
from lucs_harness.mock.faulty import FaultyLucs
from lucs_harness.mock.limits import Limits, Room, guarded_protocol, listen_deeper
from lucs_harness.mock.seed import DEFAULT_SEED, Seed
from lucs_harness.redact import MASK, Redactor, secret_key

START_TIMEOUT = 10.0
PORTS = range(65536)
logger = logging.getLogger("uvicorn.error")
access_logger = logging.getLogger("uvicorn.access")


class StartError(Exception):
    """The mock cannot serve as configured (a port in use, a TLS file unreadable or not matching);
    the message names the problem in one line."""


class _Uvicorn(uvicorn.Server):
    """uvicorn serving a socket bound beforehand; it announces only sockets it binds itself, so this
    does. Its `backlog` is the accept batch of `limits.batch_for`; the kernel's queue is then made
    deeper (`limits.listen_deeper`)."""

    def __init__(self, config: uvicorn.Config, url: str) -> None:
        super().__init__(config)
        self.url = url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        for sock in sockets or ():
            listen_deeper(sock)
        if self.started:
            logger.info("Uvicorn running on %s (Press CTRL+C to quit)", self.url)


class _MaskedAccessLog(logging.Filter):
    """uvicorn's access line (`client - "METHOD PATH HTTP/v" status`) without credentials: the
    mock's own secret, as written or percent-encoded, and the value of every query parameter named
    like one (an API key sent in the query, right or wrong, is still somebody's key)."""

    def __init__(self, auth: MockAuth | None) -> None:
        super().__init__()
        # basic's secret is user:password; the password may show on its own
        secrets = (auth.secret, *auth.secret.split(":", 1)[1:]) if auth and auth.demanding else ()
        self.redactor = Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > 2 and isinstance(args[2], str):
            record.args = (*args[:2], self.path(args[2]), *args[3:])
        return True

    def path(self, path: str) -> str:
        route, question, query = path.partition("?")
        if question:
            pairs = (pair.partition("=") for pair in query.split("&"))
            query = "&".join(name + eq + (MASK if eq and secret_key(name) else value) for name, eq, value in pairs)
        return self.redactor.text(route + question + query)


@dataclass
class MockServer:
    """A mock LUCS bound to `host` on an ephemeral (or given) port, running in a daemon thread.
    `seed` is a `Seed` or a file: a seed or a capture of a real installation (`capture.load_data`);
    `conventions` say how it serves what LUCS does not document (the defaults: the mock's own);
    `limits` what one client may take of it (`limits.Limits`: the request line, the header fields,
    the idle and request timeouts, the connection cap under the descriptor limit)."""

    host: str = "127.0.0.1"
    port: int = 0
    seed: Path | Seed = DEFAULT_SEED
    faults: frozenset[Fault] = frozenset()
    auth: MockAuth | None = None
    latency: float = 0.0
    certfile: str | None = None
    keyfile: str | None = None
    max_body: int = MAX_BODY
    conventions: Conventions = field(default_factory=Conventions)
    limits: Limits = field(default_factory=Limits)
    lucs: FaultyLucs = field(init=False)
    _server: uvicorn.Server | None = field(default=None, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.port not in PORTS:
            raise ValueError(f"port {self.port} is not a TCP port (0-65535; 0 = any free port)")
        if self.max_body < 1:
            raise ValueError(f"the body limit must be at least 1 byte, not {self.max_body}")
        if self.keyfile and not self.certfile:
            raise ValueError("a TLS key needs its certificate (--certfile)")
        seed = self.seed if isinstance(self.seed, Seed) else load_data(self.seed)
        self.lucs = FaultyLucs(seed, faults=Faults(self.faults), state_names=self.conventions.task_states)

    def config(self, log_level: str = "warning", access_log: bool = False, room: Room | None = None) -> uvicorn.Config:
        """The uvicorn configuration of this mock (no lifespan, as little overhead as possible), its
        connections held to `limits` with the cap and the accept batch `room` allows (by default
        what the descriptor limit leaves now); a `ValueError` when the limit leaves too little."""
        room = room or Room.now()
        return uvicorn.Config(
            create_app(
                self.lucs, auth=self.auth, latency=self.latency, max_body=self.max_body, conventions=self.conventions
            ),
            host=self.host,
            port=self.port,
            log_level=log_level,
            access_log=access_log,
            lifespan="off",
            http=guarded_protocol(self.limits, self.limits.cap(room)),
            backlog=room.batch,
            ssl_certfile=self.certfile,
            ssl_keyfile=self.keyfile,
        )

    @property
    def base_url(self) -> str:
        scheme = "https" if self.certfile else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def server(self, log_level: str = "warning", access_log: bool = False) -> tuple[uvicorn.Server, socket.socket]:
        """A uvicorn server to `run(sockets=[sock])` and its bound socket (`port` is then the real one).
        The TLS files are loaded and the port bound here, so a problem is a `StartError` naming it
        rather than a traceback or uvicorn's `sys.exit(1)` from inside the server."""
        try:
            config = self.config(log_level, access_log)
        except ValueError as error:
            raise StartError(str(error)) from None
        for old in [f for f in access_logger.filters if isinstance(f, _MaskedAccessLog)]:
            access_logger.removeFilter(old)
        access_logger.addFilter(_MaskedAccessLog(self.auth))
        self._load(config)
        sock = self._bind()
        self.port = sock.getsockname()[1]
        return _Uvicorn(config, self.base_url), sock

    def _load(self, config: uvicorn.Config) -> None:
        for kind, path in (("certificate", self.certfile), ("key", self.keyfile)):
            if path is not None:
                try:
                    Path(path).read_bytes()
                except OSError as error:
                    raise StartError(f"cannot read the TLS {kind} {path}: {error.strerror or error}") from None
        try:
            config.load()
        except OSError as error:  # ssl.SSLError is one: not PEM, or a key that does not match the certificate
            files = " and ".join(path for path in (self.certfile, self.keyfile) if path)
            raise StartError(
                f"cannot serve TLS with {files}: {error} (PEM files; the key must be the certificate's)"
            ) from None

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets that say so, and without it
        # every answer written in two parts waits 40 ms for a delayed ACK
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
        except OSError as error:
            sock.close()
            raise StartError(f"cannot listen on {self.host}:{self.port}: {error.strerror or error}") from None
        return sock

    def start(self) -> MockServer:
        """Start serving in a thread; returns once the port accepts connections."""
        self._server, sock = self.server()
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="lucs-mock", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.002)
        if not self._server.started:
            raise RuntimeError(f"the mock LUCS did not start on {self.host}:{self.port}")
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
