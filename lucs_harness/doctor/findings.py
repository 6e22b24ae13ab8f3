"""What the doctor found: one line per finding, and the values a profile is written from, each
with where it came from (documented, assumed, discovered, given) and the exchange that shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from lucs_harness.client import Exchange

Level = Literal["ok", "info", "warn", "fail"]
Origin = Literal["given", "documented", "assumed", "discovered"]


@dataclass(frozen=True)
class Finding:
    level: Level
    topic: str
    text: str

    def line(self) -> str:
        return f"{self.level:<4}  {self.topic:<12} {self.text}"


@dataclass(frozen=True)
class Value:
    """A configuration value for the profile: its origin and its evidence (an exchange, in words)."""

    value: Any
    origin: Origin
    evidence: str = ""


@dataclass
class Diagnosis:
    """The doctor's findings and the profile values they support."""

    findings: list[Finding] = field(default_factory=list)
    values: dict[str, Value] = field(default_factory=dict)

    def add(self, level: Level, topic: str, text: str) -> Finding:
        finding = Finding(level, topic, text)
        self.findings.append(finding)
        print(finding.line(), flush=True)
        return finding

    def value(self, key: str, value: Any, origin: Origin, evidence: str | Exchange = "") -> None:
        said = evidence.what if isinstance(evidence, Exchange) else evidence
        self.values[key] = Value(value, origin, said)

    @property
    def problems(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.level == "fail"]
