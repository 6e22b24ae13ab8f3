"""The Gherkin tests run small pytest-bdd projects of their own in this process (pytest's
`pytester`): the harness's plugin in them takes signals and reads LUCS_* settings, so each test
starts from a clean environment and leaves the signal handlers as it found them.

The step library is imported here, once: pytester drops what a run imported, and a module imported
again registers its steps again in pytest-bdd's registry, which never lets one go (its values hold
their keys), so the step catalogue of a later test in this process would list each step twice."""

from __future__ import annotations

import importlib
import os
import signal
from collections.abc import Iterator

import pytest

from lucs_harness.interrupts import RELAYED, STOP_SIGNALS
from lucs_harness.plugin import STEP_MODULES, STEPS_PACKAGE

for _module in STEP_MODULES:
    importlib.import_module(f"{STEPS_PACKAGE}.{_module}")


@pytest.fixture(autouse=True)
def _as_found(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in [name for name in os.environ if name.startswith("LUCS_")]:
        monkeypatch.delenv(name)
    handlers = {signum: signal.getsignal(signum) for signum in (*STOP_SIGNALS, *RELAYED)}
    yield
    for signum, handler in handlers.items():
        signal.signal(signum, handler)
