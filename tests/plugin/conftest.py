"""The wheel built from this checkout, for the tests that use the harness as a team installs it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.suite import ROOT


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout, installed (unpacked) into a folder of its own."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(ROOT)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    [wheel] = dist.glob("lucs_harness-*.whl")
    site = dist.parent / "project" / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site
