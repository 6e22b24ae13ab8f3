"""`--lucs-dry-run`: walk each selected scenario against a shadow mock named after the real
target, and print the requests it would send there. Nothing reaches the real LUCS."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from lucs_harness.client import Exchange
from lucs_harness.config import LucsConfig


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
