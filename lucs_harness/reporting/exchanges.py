"""Every HTTP exchange, redacted, to the log of the step that made it and (when Allure is on) as a
JSON attachment of that step.

A body is shown whole up to `BODY_DISPLAY_LIMIT`; a larger one as the first that many bytes of its
text and a note of how many were left out, so a server answering megabytes cannot fill the report.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

import allure

from lucs_harness.client import Exchange, Listener
from lucs_harness.contract import listed
from lucs_harness.redact import Redactor

log = logging.getLogger("lucs")

BODY_DISPLAY_LIMIT = 64 * 1024  # bytes of a body's text a log record or an attachment shows


def cut(text: str, limit: int = BODY_DISPLAY_LIMIT) -> str:
    """`text` up to `limit` UTF-8 bytes, then a note of how many bytes were left out."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return text
    shown = data[:limit].decode("utf-8", errors="ignore")  # never half a character
    return f"{shown}… [{len(data) - len(shown.encode('utf-8', errors='replace'))} bytes left out]"


def shown_body(body: Any, redactor: Redactor, size: int | None = None) -> Any:
    """A body as a record shows it: redacted, and whole unless its text is over the limit, then the
    start of its redacted text (redacted first, so no secret across the cut is left half masked).

    `size` is the length of the body as received, if known: below the limit nothing is serialized
    to measure it, which keeps the common exchange as cheap as before."""
    redacted = redactor.body(body)
    if size is None or size > BODY_DISPLAY_LIMIT:
        text = redacted if isinstance(redacted, str) else json.dumps(redacted, ensure_ascii=False)
        if len(text.encode("utf-8", errors="replace")) > BODY_DISPLAY_LIMIT:
            return cut(text)
    return redacted


def exchange_record(exchange: Exchange, redactor: Redactor) -> dict[str, Any]:
    """The exchange as a JSON-able record with credentials masked and large bodies cut."""
    response_body = exchange.response_body if exchange.response_body is not None else exchange.response_text or None
    received = len(exchange.response_text.encode("utf-8", errors="replace"))
    return {
        "method": exchange.method,
        "url": redactor.url(exchange.url),
        "status": exchange.status,
        "elapsed_ms": round(exchange.elapsed_ms, 1),
        "request": {
            "headers": redactor.headers_of(exchange.request_headers),
            "body": shown_body(exchange.request_body, redactor),
        },
        "response": {
            "headers": redactor.headers_of(exchange.response_headers),
            "body": shown_body(response_body, redactor, received),
        },
        "unknown_fields": listed(exchange.extras),
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
            fields = ", ".join(listed(exchange.extras))
            log.warning("%s: fields not in the schema: %s", title_of(exchange, redactor), fields)

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
