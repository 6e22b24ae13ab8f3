"""Test support (loaded with `-p tests.realtarget.pause_plugin`): after the step named in
LUCS_TEST_PAUSE_AFTER, write the file LUCS_TEST_PAUSED and hold the run until it is interrupted, or
until the file LUCS_TEST_RESUME appears where that is set; with LUCS_TEST_STOPPED, write that file
too once the hold is interrupted (the stop request arrived)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

HOLD_SECONDS = 60.0


def pytest_bdd_after_step(step: Any, **_: Any) -> None:
    if step.name == os.environ.get("LUCS_TEST_PAUSE_AFTER"):
        Path(os.environ["LUCS_TEST_PAUSED"]).write_text(step.name)
        try:
            _hold(os.environ.get("LUCS_TEST_RESUME"))
        finally:
            stopped = os.environ.get("LUCS_TEST_STOPPED")
            if stopped:
                Path(stopped).write_text(step.name)


def _hold(resume: str | None) -> None:
    deadline = time.monotonic() + HOLD_SECONDS
    while time.monotonic() < deadline and not (resume and Path(resume).exists()):
        time.sleep(0.01)  # the test sends SIGINT or SIGTERM here, or writes the resume file
