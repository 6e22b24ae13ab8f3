"""How deep JSON may nest, for the harness and the mock alike: LUCS bodies nest six levels at most,
and what walks a body recursively (the schema validator, the redactor, the reports) must never
meet a depth that costs a RecursionError. One bound, checked on the text before it is parsed (the
client) or on the parsed value (the mock's request bodies, a capture file)."""

from __future__ import annotations

from typing import Any

MAX_JSON_DEPTH = 32  # nesting levels: LUCS bodies nest 6 at most
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')


def text_nests_deeper_than(data: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a valid JSON text nests containers deeper than `limit`, found on the text with
    byte operations (a quarter of a parse, no recursion): escapes and strings are dropped, then
    each pass removes the innermost `[]` pairs, one level at a time."""
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = data.translate(_BRACKETS, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in skeleton:  # strings that hold brackets
        skeleton = b"".join(skeleton.split(b'"')[::2])
    for _ in range(limit):
        if not skeleton:
            return False
        skeleton = skeleton.replace(b"[]", b"")
    return bool(skeleton)


def value_nests_deeper_than(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when arrays and objects nest more than `limit` levels; iterative, so depth costs no stack."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = node.values()
        elif not isinstance(node, list):
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in node)
    return False
