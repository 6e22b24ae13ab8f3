"""The CI gate a team tunes: Allure 3's quality gate over the run's results (success rate, most
failures allowed, fewest scenarios), with a known-issues file so that a known LUCS defect does
not block every pipeline. The gate is written into the HTML (its Quality Gates tab) and decides
the exit code: passed -> 0, failed -> `QUALITY_GATE_FAILED`.

A known-issues file (TOML) lists the failures that are known, each by its scenario's name and/or
a regular expression searched in the failure message:

    [[issue]]
    id = "LUCS-1234"                                  # required: the defect's reference
    scenario = "Setting the presence to Do-Not-Disturb"
    message = "setpresence -> 202"
    url = "https://jira.example.com/browse/LUCS-1234"  # optional

A failed scenario that matches is marked known in its Allure result (with a link to the issue);
Allure leaves known failures out of every rule.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lucs_harness.errors import AllureError, GateError

GATE_ENV = "LUCS_ALLURE_QUALITY_GATE"  # read by allurerc.mjs
FAILED = ("failed", "broken")
FRAMING = re.compile(
    r"^Quality Gate failed with|quality gate rules have been failed"
)  # Allure's lines around the rules


@dataclass(frozen=True)
class KnownIssue:
    """A known defect: which failures it explains."""

    id: str
    scenario: str | None
    message: re.Pattern[str] | None
    url: str | None

    def explains(self, result: dict[str, Any]) -> bool:
        details = result.get("statusDetails") or {}
        text = f"{details.get('message') or ''}\n{details.get('trace') or ''}"
        return (self.scenario is None or result.get("name") == self.scenario) and (
            self.message is None or self.message.search(text) is not None
        )


@dataclass(frozen=True)
class QualityGate:
    """The rules; a gate with only a known-issues file allows no failure that is not known."""

    success_rate: float | None = None  # 0..1 of the scenarios that ran
    max_failures: int | None = None
    min_scenarios: int | None = None
    known_issues: Path | None = None

    @property
    def wanted(self) -> bool:
        return any(v is not None for v in (self.success_rate, self.max_failures, self.min_scenarios, self.known_issues))

    def rules(self) -> dict[str, float | int]:
        rules: dict[str, float | int] = {}
        if self.success_rate is not None:
            rules["successRate"] = self.success_rate
        if self.max_failures is not None:
            rules["maxFailures"] = self.max_failures
        if self.min_scenarios is not None:
            rules["minTestsCount"] = self.min_scenarios
        return rules or {"maxFailures": 0}

    def env(self) -> dict[str, str]:
        """What allurerc.mjs reads to put the gate into a report."""
        return {GATE_ENV: json.dumps(self.rules())} if self.wanted else {}


def success_rate(text: str) -> float:
    """`95%` or `0.95` as 0.95."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise GateError(f"success rate {text!r}: expected a fraction like 0.95 or a percentage like 95%") from None
    if not 0 <= value <= 1:
        raise GateError(f"success rate {text!r}: must be between 0 and 1 (0% and 100%)")
    return value


def load_known_issues(path: Path) -> list[KnownIssue]:
    """The issues of a known-issues file, each checked; one line saying what is wrong otherwise."""
    import tomllib  # here: a run without the file does not load it

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise GateError(f"known issues {path}: {error}") from None
    entries = data.get("issue", [])
    if not isinstance(entries, list) or set(data) - {"issue"}:
        raise GateError(f"known issues {path}: expected only [[issue]] tables")
    return [_issue(path, number, entry) for number, entry in enumerate(entries, 1)]


def _issue(path: Path, number: int, entry: Any) -> KnownIssue:
    where = f"known issues {path}, issue {number}"
    if not isinstance(entry, dict) or set(entry) - {"id", "scenario", "message", "url", "comment"}:
        raise GateError(f"{where}: the keys are id, scenario, message, url and comment")
    if not isinstance(entry.get("id"), str) or not entry["id"]:
        raise GateError(f"{where}: needs an id (the defect's reference)")
    if not any(isinstance(entry.get(key), str) for key in ("scenario", "message")):
        raise GateError(f"{where} ({entry['id']}): needs a scenario name, a message pattern, or both")
    try:
        pattern = re.compile(entry["message"]) if isinstance(entry.get("message"), str) else None
    except re.error as error:
        raise GateError(f"{where} ({entry['id']}): message is not a regular expression: {error}") from None
    return KnownIssue(entry["id"], entry.get("scenario"), pattern, entry.get("url"))


def mark_known(results: Path, issues: list[KnownIssue]) -> list[str]:
    """Mark each failed result that a known issue explains; `scenario (ISSUE)` for each marked."""
    from lucs_harness.reporting.allure_results import read_results

    marked = []
    for file, result in read_results(results):
        if result.get("status") not in FAILED:
            continue
        issue = next((issue for issue in issues if issue.explains(result)), None)
        if issue is None:
            continue
        result["statusDetails"] = {**(result.get("statusDetails") or {}), "known": True}
        link = {"type": "issue", "name": issue.id, **({"url": issue.url} if issue.url else {})}
        result["links"] = [*(result.get("links") or []), link]
        file.write_text(json.dumps(result), encoding="utf-8")
        marked.append(f"{result.get('name')} ({issue.id})")
    return marked


def evaluate(results: Path, gate: QualityGate) -> tuple[bool, str]:
    """Allure's verdict on `results`: passed or not, and its words (the failed rules)."""
    from lucs_harness.reporting.allure_cli import run_allure  # only where a gate is asked for

    try:
        done = run_allure("quality-gate", str(results.resolve()), env=gate.env())
    except AllureError as error:
        return False, str(error)
    lines = [line.strip(" \u2a2f") for line in (done.stderr + done.stdout).splitlines()]
    failed_rules = [" ".join(line.split()) for line in lines if line and not FRAMING.search(line)]
    return done.returncode == 0, "; ".join(failed_rules)[:1000]
