"""Secrets never reach a log or a report: headers that carry credentials and every configured
secret value (also percent-encoded, as it appears in a URL or a form) are replaced before anything
is written.

Every exchange of a run passes through here before it is attached, so the work is kept small: the
pattern of a set of secrets is compiled once per process, the verdict on a key name is remembered,
and `json_safe` tells when a search of a body's JSON text can stand in for one per string value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

MASK = "***"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
SECRET_KEYS = re.compile(r"pass(word)?|secret|token|api[-_]?key|authorization|cookie", re.I)
URL_HEADERS = frozenset({"location", "content-location"})  # a redirect may point at a URL holding credentials
KEYS_REMEMBERED = 4096  # key names judged once: a server inventing names cannot grow the sets further
_plain_names: set[str] = set()
_secret_names: set[str] = set()
_SCALARS = frozenset({str, int, float, bool, type(None)})  # what JSON parses to, besides dicts and lists
# what JSON text writes differently from the string it holds: such a secret is searched per string
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')


def secret_key(key: object) -> bool:
    """Whether a body's key names a secret (its value is masked whole); each name is judged by
    the pattern once per process."""
    if key in _plain_names:
        return False
    if key in _secret_names:
        return True
    verdict = SECRET_KEYS.search(str(key)) is not None
    if isinstance(key, str) and len(_plain_names) + len(_secret_names) < KEYS_REMEMBERED:
        (_secret_names if verdict else _plain_names).add(key)
    return verdict


def _char_pattern(char: str) -> str:
    """`char` as written or percent-encoded, hex digits in either case (and `+` for a space)."""
    encoded = "".join(
        "%" + "".join(f"[{d}{d.lower()}]" if d.isalpha() else d for d in f"{b:02X}") for b in char.encode()
    )
    forms = [re.escape(char), encoded] + ([r"\+"] if char == " " else [])
    return "(?:" + "|".join(forms) + ")"


@lru_cache(maxsize=32)
def _secrets_pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern for `secrets` (longest first, so the longest wins), each also matched
    percent-encoded: a password `p@ss` shows up as `p%40ss` in a URL, a query or a form body.
    Built once per set of secrets: every `LucsConfig.redactor()` call asks for it again."""
    if not secrets:
        return None
    return re.compile("|".join("".join(_char_pattern(c) for c in secret) for secret in secrets))


class Redactor:
    """Masks known secret values anywhere in text, and credential headers and keys by name."""

    def __init__(self, secrets: Iterable[str] = (), headers: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self.pattern = _secrets_pattern(tuple(self.secrets))
        self.headers = SECRET_HEADERS | {h.lower() for h in headers}
        # JSON text holds each secret as written: none needs escaping, none matches across a quote
        self.json_safe = not any(_JSON_ESCAPED.search(secret) for secret in self.secrets)

    def text(self, value: str) -> str:
        """Every configured secret in `value`, as written or percent-encoded, replaced by the mask."""
        return self.pattern.sub(MASK, value) if self.pattern else value

    def url(self, value: str) -> str:
        """A URL with any user info (user:password, or a user alone that may be a token) masked, the
        values of secret-named query parameters (`api_key=`, `token=`) masked, and secrets masked;
        host and port kept as written. A URL a server sent (a Location) may hold credentials that
        are not this configuration's."""
        try:
            parts = urlsplit(value)
        except ValueError:  # e.g. a broken IPv6 host: still mask what is known
            return self.text(value)
        _, at, host = parts.netloc.rpartition("@")
        if at or parts.query:
            netloc = f"{MASK}@{host}" if at else parts.netloc
            value = urlunsplit(parts._replace(netloc=netloc, query=_query_masked(parts.query)))
        return self.text(value)

    def headers_of(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Credential headers masked whole; a URL header as `url` shows it; every other value with
        its secrets masked."""
        return {k: MASK if k.lower() in self.headers else self._header_value(k, v) for k, v in headers.items()}

    def _header_value(self, name: str, value: str) -> str:
        return self.url(value) if name.lower() in URL_HEADERS else self.text(value)

    def body(self, value: Any) -> Any:
        """A JSON value with secret-named keys masked and secret values replaced, recursively."""
        if self.pattern is None:
            return keys_masked(value)
        if isinstance(value, dict):
            return {k: MASK if secret_key(k) else self.body(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.body(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def found_in(self, text: str) -> bool:
        """Whether `text` holds a configured secret, as written or percent-encoded."""
        return self.pattern is not None and self.pattern.search(text) is not None


def _query_masked(query: str) -> str:
    """A query string with the value of each secret-named parameter masked, the rest as written."""
    pairs = (pair.partition("=") for pair in query.split("&"))
    return "&".join(
        f"{name}{equals}{MASK if equals and secret_key(unquote_plus(name)) else value}" for name, equals, value in pairs
    )


def keys_masked(value: Any) -> Any:
    """A JSON value with the values of secret-named keys masked, recursively; strings as they are
    (see `Redactor.body`). Copies only what it changes: a user list is some 500 values, most of
    them scalars under names judged before, each passed over with two set lookups."""
    if isinstance(value, dict):
        masked: dict[Any, Any] | None = None
        for key, item in value.items():
            if key in _plain_names:
                if type(item) in _SCALARS:
                    continue
                shown = keys_masked(item)
            elif secret_key(key):
                shown = MASK
            elif type(item) in _SCALARS:
                continue
            else:
                shown = keys_masked(item)
            if shown is not item:
                masked = dict(value) if masked is None else masked
                masked[key] = shown
        return value if masked is None else masked
    if isinstance(value, (list, tuple)):
        copied: list[Any] | None = None
        for index, item in enumerate(value):
            if type(item) in _SCALARS:
                continue
            shown = keys_masked(item)
            if shown is not item:
                copied = list(value) if copied is None else copied
                copied[index] = shown
        return value if copied is None else copied
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
