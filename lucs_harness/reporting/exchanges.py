"""Every HTTP exchange, redacted, to the log of the step that made it and (when Allure is on) as a
JSON attachment of that step."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

import allure

from lucs_harness.client import Exchange, Listener
from lucs_harness.redact import Redactor

log = logging.getLogger("lucs")


def exchange_record(exchange: Exchange, redactor: Redactor) -> dict[str, Any]:
    """The exchange as a JSON-able record with credentials masked."""
    response_body = exchange.response_body if exchange.response_body is not None else exchange.response_text or None
    return {
        "method": exchange.method,
        "url": redactor.url(exchange.url),
        "status": exchange.status,
        "elapsed_ms": round(exchange.elapsed_ms, 1),
        "request": {
            "headers": redactor.headers_of(exchange.request_headers),
            "body": redactor.body(exchange.request_body),
        },
        "response": {"headers": redactor.headers_of(exchange.response_headers), "body": redactor.body(response_body)},
        "unknown_fields": list(exchange.extras),
    }


def title_of(exchange: Exchange, redactor: Redactor) -> str:
    """`POST /v1.0/users/…/block -> 200 (3 ms)`: what a report reader scans for."""
    status = "no response" if exchange.status is None else exchange.status
    poll = "" if exchange.poll is None else f" [poll {exchange.poll}]"
    path = redactor.text(urlsplit(exchange.url).path)
    return f"{exchange.method} {path} -> {status} ({exchange.elapsed_ms:.0f} ms){poll}"


def logging_listener(redactor: Redactor) -> Listener:
    """Logs one line per exchange, and the fields the schemas do not know as a warning."""

    def listen(exchange: Exchange) -> None:
        log.info("%s", title_of(exchange, redactor))
        if exchange.extras:
            log.warning("%s: fields not in the schema: %s", title_of(exchange, redactor), ", ".join(exchange.extras))

    return listen


def allure_listener(redactor: Redactor, prefix: str = "") -> Listener:
    """Attaches each exchange to the current Allure step."""

    def listen(exchange: Exchange) -> None:
        allure.attach(
            json.dumps(exchange_record(exchange, redactor), indent=2, ensure_ascii=False),
            name=prefix + title_of(exchange, redactor),
            attachment_type=allure.attachment_type.JSON,
        )

    return listen
