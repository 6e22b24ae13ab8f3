"""`--lucs-dry-run`: walk each selected scenario against a shadow mock named after the real
target, and print the requests it would send there. Nothing reaches the real LUCS. Every undefined
step of the selection is listed first, once each: one dry run shows all a new feature still needs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lucs_harness.config import LucsConfig
from lucs_harness.undefined import IMPORTS, UndefinedStep

if TYPE_CHECKING:
    from lucs_harness.client import Exchange


@dataclass
class DryRunPlan:
    """The requests of one scenario as they would go to the configured base URL."""

    config: LucsConfig
    sip_of: dict[str, str]
    lines: list[str] = field(default_factory=list)

    def record(self, exchange: Exchange) -> None:
        """A listener: one line per request, ids learned at run time shown as placeholders."""
        shown = {}
        for name, value in exchange.params.items():
            if name == "serviceId":
                shown[name] = value
            elif name == "userId":
                shown[name] = f"{{id of {self.sip_of[value]}}}" if value in self.sip_of else value
            else:
                shown[name] = f"{{{name}}}"
        base = self.config.redactor().url(self.config.base_url or "")
        url = f"{base}{self.config.path(exchange.operation).format(**shown)}"
        line = f"{exchange.method} {url}"
        if exchange.request_body is not None:
            body = self.config.redactor().body(exchange.request_body)
            line += " " + (body if isinstance(body, str) else json.dumps(body, separators=(",", ":")))
        self.lines.append(line)


def undefined_section(steps: list[UndefinedStep]) -> list[str]:
    """A title, then each distinct undefined step once (with the other places that use it), its
    closest defined steps and a definition to paste."""
    places: dict[tuple[str, str], list[UndefinedStep]] = {}
    for step in steps:
        places.setdefault(step.key, []).append(step)
    count = f"{len(places)} undefined step{'s' * (len(places) != 1)}"
    lines = [
        f"LUCS DRY RUN: {count}; the scenarios that use one will not start",
        f"paste into conftest.py (or a module its pytest_plugins names), with: {IMPORTS}",
    ]
    for first, *others in places.values():
        step_lines = first.lines()
        also = dict.fromkeys(_short(other.where, first.where) for other in others if other.where != first.where)
        lines.append(step_lines[0] + (f" (also at {', '.join(also)})" if also else ""))
        lines.extend(step_lines[1:])
    return lines


def _short(where: str, beside: str) -> str:
    """`features/x.feature:51` beside a place in the same file is `line 51`."""
    file, _, line = where.rpartition(":")
    return f"line {line}" if beside.rpartition(":")[0] == file else where
