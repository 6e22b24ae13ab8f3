"""Every HTTP exchange, redacted, to the log of the step that made it and (when Allure is on) as a
JSON attachment of that step.

A body is shown whole up to `BODY_DISPLAY_LIMIT`; a larger one as the first that many bytes of its
text and a note of how many were left out, so a server answering megabytes cannot fill the report.

Every exchange of a run is attached, so an attachment is made the cheap way (`attachment`): it
holds what `exchange_record` holds, written by orjson, and redacted string by string only when a
secret shows up in its text; its file is created and written in place (`AllureSink`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from uuid import uuid4

import allure
import allure_commons
import orjson
from allure_commons.lifecycle import AllureLifecycle
from allure_commons.logger import AllureFileLogger
from allure_commons.model2 import ATTACHMENT_PATTERN, Attachment

from lucs_harness.contract import listed
from lucs_harness.redact import Redactor, keys_masked
from lucs_harness.reporting.faults import ALLURE, ReportFaults

if TYPE_CHECKING:
    from lucs_harness.client import Exchange, Listener

log = logging.getLogger("lucs")

BODY_DISPLAY_LIMIT = 64 * 1024  # bytes of a body's text a log record or an attachment shows


def cut(text: str, limit: int = BODY_DISPLAY_LIMIT) -> str:
    """`text` up to `limit` UTF-8 bytes, then a note of how many bytes were left out."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return text
    shown = data[:limit].decode("utf-8", errors="ignore")  # never half a character
    return f"{shown}… [{len(data) - len(shown.encode('utf-8', errors='replace'))} bytes left out]"


def shown_body(
    body: Any, redactor: Redactor, size: int | None = None, masked: Callable[[Any], Any] | None = None
) -> Any:
    """A body as a record shows it: redacted, and whole unless its text is over the limit, then the
    start of its redacted text (redacted first, so no secret across the cut is left half masked).

    `size` is the length of the body as received, if known: below the limit nothing is serialized
    to measure it, which keeps the common exchange as cheap as before. `masked` redacts a body
    shown whole (default `redactor.body`); one that may be cut is always redacted string by string."""
    if body is None:
        return None
    if size is None or size > BODY_DISPLAY_LIMIT:
        redacted = redactor.body(body)
        text = redacted if isinstance(redacted, str) else json.dumps(redacted, ensure_ascii=False)
        return cut(text) if len(text.encode("utf-8", errors="replace")) > BODY_DISPLAY_LIMIT else redacted
    return redactor.body(body) if masked is None else masked(body)


def exchange_record(
    exchange: Exchange, redactor: Redactor, masked: Callable[[Any], Any] | None = None
) -> dict[str, Any]:
    """The exchange as a JSON-able record with credentials masked and large bodies cut; `masked`
    as in `shown_body`."""
    response_body = exchange.response_body if exchange.response_body is not None else exchange.response_text or None
    received = len(exchange.response_text.encode("utf-8", errors="replace"))
    return {
        "method": exchange.method,
        "url": redactor.url(exchange.url),
        "status": exchange.status,
        "elapsed_ms": round(exchange.elapsed_ms, 1),
        "request": {
            "headers": redactor.headers_of(exchange.request_headers),
            "body": shown_body(exchange.request_body, redactor, masked=masked),
        },
        "response": {
            "headers": redactor.headers_of(exchange.response_headers),
            "body": shown_body(response_body, redactor, received, masked),
        },
        "unknown_fields": listed(exchange.extras),
    }


def indented_json(value: Any) -> bytes:
    """`value` as JSON indented by 2, UTF-8: orjson (20 times the stdlib's speed with an indent),
    the stdlib for what orjson refuses (an integer beyond 64 bits, a key that is not a string)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2)
    except TypeError:
        return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8", errors="replace")


def attachment(exchange: Exchange, redactor: Redactor) -> bytes:
    """The exchange's record as an attachment: indented JSON of what `exchange_record` holds.

    Made the cheap way first: keys masked, then one search of the JSON text for a secret instead
    of one per string value, which finds every secret that JSON writes as it is (`json_safe`).
    When one is found, or a secret could hide behind JSON escapes, the record is redacted string
    by string, and its text searched once more (a secret in a key is masked too)."""
    if redactor.json_safe:
        data = indented_json(exchange_record(exchange, redactor, keys_masked))
        if redactor.pattern is None or not redactor.found_in(data.decode("utf-8", errors="replace")):
            return data
    text = indented_json(exchange_record(exchange, redactor)).decode("utf-8", errors="replace")
    return redactor.text(text).encode("utf-8")


def title_of(exchange: Exchange, redactor: Redactor) -> str:
    """`POST /v1.0/users/…/block -> 200 (3 ms)`: what a report reader scans for."""
    status = "no response" if exchange.status is None else exchange.status
    poll = "" if exchange.poll is None else f" [poll {exchange.poll}]"
    path = redactor.text(urlsplit(exchange.url).path)
    return f"{exchange.method} {path} -> {status} ({exchange.elapsed_ms:.0f} ms){poll}"


def logging_listener(redactor: Redactor) -> Listener:
    """Logs one line per exchange, and the fields the schemas do not know as a warning."""

    def listen(exchange: Exchange) -> None:
        if log.isEnabledFor(logging.INFO):  # pytest leaves it off unless --log-level asks for it
            log.info("%s", title_of(exchange, redactor))
        if exchange.extras:
            fields = ", ".join(listed(exchange.extras))
            log.warning("%s: fields not in the schema: %s", title_of(exchange, redactor), fields)

    return listen


class GuardedFileLogger(AllureFileLogger):
    """allure-pytest-bdd's file logger with every write guarded (`take_over`): a write that fails (a
    full disk, a file-size limit) breaks the Allure results (`ReportFaults`: removed, written no
    more, named at the end) instead of ending the run in an INTERNALERROR, and never fails a
    scenario or skips its restore."""

    faults: ReportFaults

    @classmethod
    def take_over(cls, faults: ReportFaults) -> None:
        """Turn the registered file logger into one of these, re-registered under the same name (its
        clean-up unregisters it by name); pluggy binds a plugin's hooks when it is registered."""
        for plugin in allure_commons.plugin_manager.get_plugins():
            if type(plugin) is AllureFileLogger:
                allure_commons.plugin_manager.unregister(plugin)
                plugin.__class__ = cls
                plugin.faults = faults  # type: ignore[attr-defined]
                allure_commons.plugin_manager.register(plugin)

    @property
    def folder(self) -> Path:
        return Path(self._report_dir)

    def guarded(self, write: Callable[[], object]) -> bool:
        """Run `write` into the results unless they are broken already; True when it was written."""
        self.faults.attempt(ALLURE, self.folder, write)
        return not self.faults.broken(ALLURE)

    def _report_item(self, item: Any) -> None:
        write = super()._report_item
        self.guarded(lambda: write(item))  # type: ignore[no-untyped-call]

    @allure_commons.hookimpl
    def report_attached_file(self, source: Any, file_name: str) -> None:
        write = super().report_attached_file
        self.guarded(lambda: write(source, file_name))  # type: ignore[no-untyped-call]

    @allure_commons.hookimpl
    def report_attached_data(self, body: Any, file_name: str) -> None:
        write = super().report_attached_data
        self.guarded(lambda: write(body, file_name))  # type: ignore[no-untyped-call]


class AllureSink:
    """Attaches JSON to the current step (else the test) of the running allure-pytest-bdd, as
    `allure.attach` does, with one file created and written in place (three system calls) where
    allure writes a temporary file and renames it: a run writes a file per exchange. The write is
    made at once, on the scenario's thread: a writer thread would wait on a queue that a stop
    request (an exception raised between any two bytecodes of the main thread) can leave waiting
    for ever, and a file that lands late could outlive the end-of-run scrub. A write that fails
    breaks the Allure results (`GuardedFileLogger`), whose folder goes as a whole, partial file
    included. Used only when exactly one lifecycle and one guarded file logger run (what
    `--alluredir` sets up); otherwise, and outside a test, `allure.attach` does it."""

    def __init__(self, lifecycle: AllureLifecycle, logger: GuardedFileLogger) -> None:
        self.lifecycle, self.logger = lifecycle, logger

    @classmethod
    def running(cls) -> AllureSink | None:
        """The sink of the Allure plugin running in this process, if it is as expected."""
        plugins = allure_commons.plugin_manager.get_plugins()
        lifecycles = {
            id(p.lifecycle): p.lifecycle for p in plugins if isinstance(getattr(p, "lifecycle", None), AllureLifecycle)
        }
        loggers = [p for p in plugins if isinstance(p, AllureFileLogger)]
        if len(lifecycles) != 1 or len(loggers) != 1 or not isinstance(loggers[0], GuardedFileLogger):
            return None
        [lifecycle] = lifecycles.values()
        return cls(lifecycle, loggers[0])

    def attach(self, data: bytes, name: str) -> None:
        with self.lifecycle.update_step() as step, self.lifecycle.update_test_case() as test:
            parent = step or test
        if parent is None:  # outside a test: allure says why
            allure.attach(data, name=name, attachment_type=allure.attachment_type.JSON)
            return
        source = ATTACHMENT_PATTERN.format(prefix=uuid4(), ext="json")
        if self.logger.guarded(lambda: write_new(os.path.join(self.logger.folder, source), data)):
            parent.attachments.append(Attachment(name=name, source=source, type=allure.attachment_type.JSON.mime_type))


def write_new(path: str, data: bytes) -> None:
    """Create the file `path` and write `data` to it: three system calls, no rename. A write that
    fails removes the file: no part of an attachment is left."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        written = os.write(descriptor, data)
        while written < len(data):  # a regular file takes it whole, bar a full disk or a signal
            written += os.write(descriptor, data[written:])
    except BaseException:
        os.close(descriptor)
        os.unlink(path)
        raise
    os.close(descriptor)


def allure_listener(redactor: Redactor, prefix: str = "") -> Listener:
    """Attaches each exchange to the current Allure step."""
    sink = AllureSink.running()

    def listen(exchange: Exchange) -> None:
        data, name = attachment(exchange, redactor), prefix + title_of(exchange, redactor)
        if sink is None:
            allure.attach(data, name=name, attachment_type=allure.attachment_type.JSON)
        else:
            sink.attach(data, name)

    return listen
