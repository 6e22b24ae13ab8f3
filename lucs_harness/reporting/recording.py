"""`--lucs-record DIR`: every exchange of a run kept, redacted, as an example of what the target
really sends (`DIR/exchanges/<operation>/…json`), and a drift report over everything recorded in
DIR so far (`DIR/drift.md`, `DIR/drift.json`): per response schema, the fields the server sent that
the schema does not list, the fields the schema lists that it never sent, and the values seen in
the fields whose values LUCS does not document (State, PresenceState, NotSelectableReason, …).
Record a few runs against a real LUCS, read the drift, adjust `schemas/` or the profile.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lucs_harness.operations import OPERATIONS
from lucs_harness.redact import Redactor
from lucs_harness.reporting.exchanges import indented_json

if TYPE_CHECKING:
    from lucs_harness.client import Exchange, Listener
    from lucs_harness.contract import Contract

# fields whose values LUCS leaves open (docs/lucs-api.md) (the drift report lists every value seen)
OPEN_VALUES = frozenset(
    {
        "State", "PresenceState", "NotSelectableReason", "NotReadyReason", "RetargetType",
        "RecordingType", "SelectionAlgorithm", "Type", "InitialModalityType", "OriginType", "RetryType",
    }
)  # fmt: skip
INDEX = re.compile(r"\[\d+\]")
EXCHANGES = "exchanges"


def recorder(folder: Path, redactor: Redactor, worker: str = "main") -> Listener:
    """A client listener writing each exchange, redacted, as one JSON file under `folder`."""
    numbers = count(1)
    run = f"{worker}-{os.getpid()}"
    made: set[str] = set()

    def record(exchange: Exchange) -> None:
        place = folder / EXCHANGES / exchange.operation
        if exchange.operation not in made:
            place.mkdir(parents=True, exist_ok=True)
            made.add(exchange.operation)
        body = exchange.response_body if exchange.response_body is not None else exchange.response_text or None
        entry = {
            "operation": exchange.operation,
            "method": exchange.method,
            "url": redactor.url(exchange.url),
            "status": exchange.status,
            "request_body": redactor.body(exchange.request_body),
            "response_body": redactor.body(body),
        }
        name = f"{run}-{next(numbers):05d}-{exchange.status or 'none'}.json"
        (place / name).write_text(redactor.text(indented_json(entry).decode("utf-8")), encoding="utf-8")

    return record


def recorded(folder: Path) -> Iterator[dict[str, Any]]:
    for file in sorted((folder / EXCHANGES).glob("*/*.json")):
        try:
            entry = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(entry, dict) and entry.get("operation") in OPERATIONS:
            yield entry


def schema_paths(contract: Contract, name: str) -> set[str]:
    """Every field path a schema lists (`$[].PresenceState`), through its references."""
    paths: set[str] = set()

    def walk(node: Any, path: str, seen: frozenset[str]) -> None:
        if not isinstance(node, dict):
            return
        reference = node.get("$ref")
        if isinstance(reference, str) and reference in contract.schemas and reference not in seen:
            walk(contract.schemas[reference], path, seen | {reference})
        for key, value in (node.get("properties") or {}).items():
            paths.add(f"{path}.{key}")
            walk(value, f"{path}.{key}", seen)
        walk(node.get("items"), f"{path}[]", seen)
        for variant in (*node.get("oneOf", ()), *node.get("anyOf", ()), *node.get("allOf", ())):
            walk(variant, path, seen)

    walk(contract.schemas[name], "$", frozenset({name}))
    return paths


def body_paths(body: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    """Every field path in a body with its value (array indices as `[]`)."""
    if isinstance(body, dict):
        for key, value in body.items():
            yield f"{path}.{key}", value
            yield from body_paths(value, f"{path}.{key}")
    elif isinstance(body, list):
        for item in body:
            yield from body_paths(item, f"{path}[]")


def drift(folder: Path, contract: Contract) -> dict[str, Any]:
    """The drift of what was recorded in `folder` from the schemas, per response schema."""
    seen: dict[str, set[str]] = defaultdict(set)
    unlisted: dict[str, set[str]] = defaultdict(set)
    values: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    exchanges = 0
    for entry in recorded(folder):
        op, status, body = OPERATIONS[entry["operation"]], entry.get("status") or 0, entry.get("response_body")
        if op.response is None or not 200 <= status < 300 or not isinstance(body, dict | list):
            continue
        exchanges += 1
        schema = f"{op.response}.json"
        for path, value in body_paths(body):
            seen[schema].add(path)
            if path.rsplit(".", 1)[-1] in OPEN_VALUES and isinstance(value, str):
                values[schema][path].add(value)
        unlisted[schema] |= {INDEX.sub("[]", extra) for extra in contract.check(schema, body).extras}
    report: dict[str, Any] = {"exchanges": exchanges, "schemas": {}}
    for schema in sorted(seen):
        listed = schema_paths(contract, schema)
        report["schemas"][schema] = {
            "sent_not_listed": sorted(unlisted[schema]),
            "listed_never_sent": sorted(path for path in listed - seen[schema] if not _under(path, unlisted[schema])),
            "values_seen": {path: sorted(found) for path, found in sorted(values[schema].items())},
        }
    return report


def _under(path: str, prefixes: set[str]) -> bool:
    return any(path.startswith(f"{prefix}.") or path.startswith(f"{prefix}[]") for prefix in prefixes)


def write_drift(folder: Path, contract: Contract) -> str:
    """Write drift.json and drift.md into `folder`; one line saying what they hold."""
    report = drift(folder, contract)
    (folder / "drift.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    lines = [f"# Drift of {report['exchanges']} recorded answers from the schemas", ""]
    for schema, found in report["schemas"].items():
        lines += [f"## {schema}", ""]
        lines += [f"- sent, not in the schema: `{path}`" for path in found["sent_not_listed"]]
        lines += [f"- in the schema, never sent: `{path}`" for path in found["listed_never_sent"]]
        lines += [f"- values of `{path}`: {', '.join(map(repr, seen))}" for path, seen in found["values_seen"].items()]
        lines.append("")
    (folder / "drift.md").write_text("\n".join(lines), encoding="utf-8")
    unlisted = sum(len(found["sent_not_listed"]) for found in report["schemas"].values())
    never = sum(len(found["listed_never_sent"]) for found in report["schemas"].values())
    return (
        f"{report['exchanges']} answers recorded in {folder}: {unlisted} field(s) sent that the schemas do not list, "
        f"{never} listed but never sent; see {folder / 'drift.md'}"
    )
