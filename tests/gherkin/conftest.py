"""The Gherkin tests run small pytest-bdd projects of their own in this process (pytest's
`pytester`): the harness's plugin in them takes signals and reads LUCS_* settings, so each test
starts from a clean environment and leaves the signal handlers as it found them."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from lucs_harness.interrupts import RELAYED, STOP_SIGNALS


@pytest.fixture(autouse=True)
def _as_found(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in [name for name in os.environ if name.startswith("LUCS_")]:
        monkeypatch.delenv(name)
    handlers = {signum: signal.getsignal(signum) for signum in (*STOP_SIGNALS, *RELAYED)}
    yield
    for signum, handler in handlers.items():
        signal.signal(signum, handler)
