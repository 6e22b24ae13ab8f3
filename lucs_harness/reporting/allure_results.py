"""What an Allure results folder needs besides the results: the run's environment and the failure
categories (Allure 2 reads `categories.json`; Allure 3 reads the same list from `allurerc.mjs`)."""

from __future__ import annotations

import json
import platform
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lucs_harness.reporting.faults import write_whole
from lucs_harness.reporting.verdict import DRY_RUN, LIST_SEPARATOR, NOT_RESTORED

if TYPE_CHECKING:
    from lucs_harness.config import LucsConfig

CATEGORIES_FILE = Path(__file__).with_name("categories.json")
ENVIRONMENT = "environment.properties"  # the run-level facts of a results folder (merged by `merge`)


def environment(
    config: LucsConfig, profile: str | None, not_restored: list[str] | None = None, repaired: list[str] | None = None
) -> dict[str, str]:
    """The facts a report reader needs to know which system and harness produced the run."""
    from importlib.metadata import version  # here: the wrapper reads results without it

    target = "embedded mock LUCS" if config.is_mock else config.redactor().url(str(config.base_url))
    return {
        "target": target,
        "lucs.profile": profile or "default",
        "lucs.service_id": config.service_id,
        "lucs.auth": config.auth,
        "harness.version": version("lucs-harness"),
        "python.version": platform.python_version(),
        NOT_RESTORED: LIST_SEPARATOR.join(not_restored or []) or "nothing: every change was undone",
        "lucs.repaired_before_run": LIST_SEPARATOR.join(repaired or []) or "nothing: no earlier run left anything",
    } | ({DRY_RUN: "true: nothing was sent to the target"} if config.dry_run else {})


def write_run_files(
    results: Path, config: LucsConfig, profile: str | None, not_restored: list[str], repaired: list[str]
) -> None:
    """environment.properties (with what could not be restored) and categories.json, each whole or
    not at all."""
    results.mkdir(parents=True, exist_ok=True)
    facts = environment(config, profile, not_restored, repaired)
    lines = "".join(f"{key}={value}\n" for key, value in facts.items())
    write_whole(results / ENVIRONMENT, lines.encode("utf-8"))
    write_whole(results / "categories.json", CATEGORIES_FILE.read_bytes())


def read_results(results: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Each test result of a results folder with its file (in name order); an unreadable one is skipped."""
    for file in sorted(results.glob("*-result.json")):
        try:
            result = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(result, dict):
            yield file, result
