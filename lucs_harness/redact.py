"""Secrets never reach a log or a report: headers that carry credentials and every configured
secret value are replaced before anything is written."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
SECRET_KEYS = re.compile(r"pass(word)?|secret|token|api[-_]?key|authorization|cookie", re.I)


class Redactor:
    """Masks known secret values anywhere in text, and credential headers and keys by name."""

    def __init__(self, secrets: Iterable[str] = (), headers: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self.headers = SECRET_HEADERS | {h.lower() for h in headers}

    def text(self, value: str) -> str:
        """Every configured secret in `value` replaced by the mask."""
        for secret in self.secrets:
            value = value.replace(secret, MASK)
        return value

    def url(self, value: str) -> str:
        """A URL without user:password and with secrets masked."""
        parts = urlsplit(value)
        if parts.username or parts.password:
            host = parts.hostname or ""
            netloc = f"{MASK}@{host}" + (f":{parts.port}" if parts.port else "")
            value = urlunsplit(parts._replace(netloc=netloc))
        return self.text(value)

    def headers_of(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {k: MASK if k.lower() in self.headers else self.text(v) for k, v in headers.items()}

    def body(self, value: Any) -> Any:
        """A JSON value with secret-named keys masked and secret values replaced, recursively."""
        if isinstance(value, dict):
            return {k: MASK if SECRET_KEYS.search(str(k)) else self.body(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.body(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value


def scrub_files(paths: Iterable[Path], secrets: Iterable[str]) -> list[Path]:
    """Last line of defence: mask secrets in every file under `paths`; return the files changed."""
    redactor = Redactor(secrets)
    if not redactor.secrets:
        return []
    changed = []
    for root in paths:
        for file in [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()):
            data = file.read_bytes()
            if any(secret.encode() in data for secret in redactor.secrets):
                file.write_bytes(
                    redactor.text(data.decode("utf-8", errors="surrogateescape")).encode(
                        "utf-8", errors="surrogateescape"
                    )
                )
                changed.append(file)
    return changed
