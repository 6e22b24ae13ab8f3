"""Where a request carries the API key, in the configuration's syntax (`api_key_header`), parsed in
this one place for the harness, the mock and the doctor alike: LUCS documents the key but not where
it goes, so an installation may read it from any header, a header under a scheme, or the query.

    X-API-Key               the key as the header's value
    Authorization: ApiKey   the header's value is `ApiKey <key>`
    ?api_key                a query parameter

Kept apart from `config`: the mock reads it and has no configuration of the harness's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"  # an HTTP header name or auth scheme (RFC 9110 token)
QUERY_NAME = r"[A-Za-z0-9._~-]+"  # a query parameter name that needs no percent-encoding
PLACEMENT_PATTERN = rf"\?{QUERY_NAME}|{TOKEN}(?: *: *{TOKEN})?"  # what `key_placement` takes, spaces trimmed
_TOKEN = re.compile(TOKEN)
_QUERY_NAME = re.compile(QUERY_NAME)
_OLD_FORM = re.compile(r"(header|authorization|query):(?=\S)(.*)")  # the mock's former syntax
_NEW_FORM = {"header": "{}", "authorization": "Authorization: {}", "query": "?{}"}


@dataclass(frozen=True)
class KeyPlacement:
    """Where the key travels: the header `name` (its value `<scheme> <key>` when a scheme is set),
    or the query parameter `name`. `str()` gives it back as the configuration writes it."""

    where: Literal["header", "query"]
    name: str
    scheme: str = ""

    def __post_init__(self) -> None:
        if not self._valid():
            raise ValueError(f"{str(self)!r} is not a header name, `Header: Scheme`, or `?parameter`")

    def _valid(self) -> bool:
        if self.where == "query":
            return not self.scheme and _QUERY_NAME.fullmatch(self.name) is not None
        tokens = (self.name, self.scheme) if self.scheme else (self.name,)
        return all(_TOKEN.fullmatch(token) for token in tokens)

    def __str__(self) -> str:
        if self.where == "query":
            return f"?{self.name}"
        return f"{self.name}: {self.scheme}" if self.scheme else self.name

    def header_value(self, key: str) -> str:
        """What the header carries for `key`: the key, after the scheme if there is one."""
        return f"{self.scheme} {key}" if self.scheme else key

    def headers(self, key: str) -> dict[str, str]:
        """The headers a client sends `key` in (none for a query parameter)."""
        return {self.name: self.header_value(key)} if self.where == "header" else {}

    def params(self, key: str) -> dict[str, str]:
        """The query parameters a client sends `key` in (none for a header)."""
        return {self.name: key} if self.where == "query" else {}


DEFAULT_KEY_PLACEMENT = KeyPlacement("header", "X-API-Key")


def key_placement(spec: str) -> KeyPlacement:
    """`spec` read: `X-API-Key`, `Authorization: ApiKey` or `?api_key`; a `ValueError` in one line
    otherwise, naming the new form for the mock's former `header:`, `authorization:`, `query:`."""
    spec = spec.strip()
    old = _OLD_FORM.fullmatch(spec)
    if old:
        raise ValueError(f"{spec!r} is the old form; write {_NEW_FORM[old[1]].format(old[2])!r}")
    if spec.startswith("?"):
        return KeyPlacement("query", spec[1:])
    name, _, scheme = (part.strip() for part in spec.partition(":"))
    return KeyPlacement("header", name, scheme)
