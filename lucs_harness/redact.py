"""Secrets never reach a log or a report: headers that carry credentials and every configured
secret value (also percent-encoded, as it appears in a URL or a form) are replaced before anything
is written."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
SECRET_KEYS = re.compile(r"pass(word)?|secret|token|api[-_]?key|authorization|cookie", re.I)


def _char_pattern(char: str) -> str:
    """`char` as written or percent-encoded, hex digits in either case (and `+` for a space)."""
    encoded = "".join(
        "%" + "".join(f"[{d}{d.lower()}]" if d.isalpha() else d for d in f"{b:02X}") for b in char.encode()
    )
    forms = [re.escape(char), encoded] + ([r"\+"] if char == " " else [])
    return "(?:" + "|".join(forms) + ")"


def _secrets_pattern(secrets: list[str]) -> re.Pattern[str] | None:
    """One pattern for `secrets` (longest first, so the longest wins), each also matched
    percent-encoded: a password `p@ss` shows up as `p%40ss` in a URL, a query or a form body."""
    if not secrets:
        return None
    return re.compile("|".join("".join(_char_pattern(c) for c in secret) for secret in secrets))


class Redactor:
    """Masks known secret values anywhere in text, and credential headers and keys by name."""

    def __init__(self, secrets: Iterable[str] = (), headers: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self.pattern = _secrets_pattern(self.secrets)
        self.headers = SECRET_HEADERS | {h.lower() for h in headers}

    def text(self, value: str) -> str:
        """Every configured secret in `value`, as written or percent-encoded, replaced by the mask."""
        return self.pattern.sub(MASK, value) if self.pattern else value

    def url(self, value: str) -> str:
        """A URL with any user info (user:password, or a user alone that may be a token) masked, and
        secrets masked; host and port kept as written."""
        try:
            parts = urlsplit(value)
        except ValueError:  # e.g. a broken IPv6 host: still mask what is known
            return self.text(value)
        _, at, host = parts.netloc.rpartition("@")
        if at:
            value = urlunsplit(parts._replace(netloc=f"{MASK}@{host}"))
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
            text = file.read_bytes().decode("utf-8", errors="surrogateescape")
            masked = redactor.text(text)
            if masked != text:
                file.write_bytes(masked.encode("utf-8", errors="surrogateescape"))
                changed.append(file)
    return changed
