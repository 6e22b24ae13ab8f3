"""The JSON Schema contract: load `schemas/`, validate bodies, explain violations.

`schemas/` is the one source of truth: the client checks every body against it, the mock checks
incoming bodies with it and builds its OpenAPI document from it. Validation uses a 2020-12
validator *with* a format checker, so a malformed GUID or date-time is a violation too.

The validator is jsonschema-rs (Rust): the Python `jsonschema` package took 9 ms for one user
list, six times the HTTP call itself; this one takes microseconds.

Unknown extra fields are allowed (a real LUCS may add some) but reported: each schema also has a
"closed" twin in which every object with `properties` forbids others; what the twin rejects as
`additionalProperties` is the list of extra fields, and strict mode turns that list into a failure.

A schema's validators are built when a body is first checked against it, once per contract: a
run pays for the schemas its scenarios use, and a run without scenarios loads no validator.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lucs_harness.errors import SchemaViolation

if TYPE_CHECKING:
    from jsonschema_rs import Draft202012Validator, Registry

# the repository's schemas/ in a checkout; a wheel carries them inside the package
_PACKAGED = Path(__file__).resolve().parent / "schemas"
SCHEMAS_DIR = _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parent.parent / "schemas"
BASE_URI = "https://lucs-harness.local/schemas/"
EXCERPT_CHARS = 300  # how much of a body, or of a value in it, one failure message quotes
LISTED_AT_MOST = 20  # violations one failure message lists; the rest are counted


@dataclass(frozen=True)
class Verdict:
    """What one validation found: violations fail, extras are only reported (unless strict)."""

    violations: tuple[str, ...]
    extras: tuple[str, ...]


def _close(node: Any) -> Any:
    """Copy a schema with every object that lists `properties` closed to other keys."""
    if isinstance(node, dict):
        closed = {key: _close(value) for key, value in node.items()}
        if "properties" in closed and "additionalProperties" not in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(node, list):
        return [_close(item) for item in node]
    return node


def shortened(text: str, limit: int = EXCERPT_CHARS) -> str:
    """`text` cut in its middle: a violation starts with its path and ends with its reason, and
    between them quotes the offending value, which a server can make megabytes long."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}…{text[-half:]}"


def listed(items: Sequence[str], limit: int = LISTED_AT_MOST) -> list[str]:
    """The first `limit` items, each shortened, and a count of the rest: a body with a thousand
    broken elements still makes a message a person reads."""
    shown = [shortened(item) for item in items[:limit]]
    rest = len(items) - limit
    return [*shown, f"… and {rest} more"] if rest > 0 else shown


def json_path(path: Iterator[str | int] | list[str | int]) -> str:
    """`$[0].Id`-style path of a validation error's instance path."""
    return "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)


class Contract:
    """The schemas of one folder, with open and closed validators for each."""

    def __init__(self, schemas: dict[str, dict[str, Any]]) -> None:
        self.schemas = schemas
        self._registries: dict[bool, tuple[dict[str, dict[str, Any]], Registry]] = {}  # by closed or not
        self._validators: dict[tuple[str, bool], Draft202012Validator] = {}

    @classmethod
    def from_folder(cls, folder: Path = SCHEMAS_DIR) -> Contract:
        """Every `*.json` file of `folder`, named by file name."""
        schemas = {path.name: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}
        if not schemas:
            raise FileNotFoundError(f"no JSON schemas in {folder}")
        return cls(schemas)

    def with_schema(self, name: str, schema: dict[str, Any]) -> Contract:
        """A contract with one more schema, which may `$ref` the others."""
        return Contract(self.schemas | {name: schema})

    def _validator(self, name: str, closed: bool) -> Draft202012Validator:
        """Schema `name`'s validator, open or closed (its `$ref`s reach the closed twins too)."""
        found = self._validators.get((name, closed))
        if found is None:
            from jsonschema_rs import Draft202012Validator

            schemas, registry = self._registry(closed)
            found = Draft202012Validator(
                schemas[name], validate_formats=True, registry=registry, base_uri=BASE_URI + name
            )
            self._validators[(name, closed)] = found
        return found

    def _registry(self, closed: bool) -> tuple[dict[str, dict[str, Any]], Registry]:
        """Every schema, open or closed, and the registry their `$ref`s resolve in: made once each."""
        if closed not in self._registries:
            from jsonschema_rs import Registry

            schemas = {n: _close(copy.deepcopy(s)) for n, s in self.schemas.items()} if closed else self.schemas
            self._registries[closed] = (schemas, Registry([(BASE_URI + n, s) for n, s in schemas.items()]))
        return self._registries[closed]

    def example(self, name: str) -> Any:
        """The documented example of schema `name`, the first of its `examples` (a copy: callers change it)."""
        examples = self.schemas[name].get("examples")
        if not examples:
            raise KeyError(f"schema {name!r} has no documented example (its `examples`)")
        return copy.deepcopy(examples[0])

    def names(self) -> list[str]:
        """The schema names, e.g. `user.json`."""
        return list(self.schemas)

    def check(self, name: str, body: Any) -> Verdict:
        """Validate `body` against schema `name`; never raises for a bad body."""
        if name not in self.schemas:
            raise KeyError(f"unknown schema {name!r}; known: {', '.join(self.names())}")
        if self._validator(name, closed=True).is_valid(body):
            return Verdict((), ())
        from jsonschema_rs import ValidationErrorKind

        violations = tuple(
            sorted(
                f"{json_path(error.instance_path)}: {error.message}"
                for error in self._validator(name, closed=False).iter_errors(body)
            )
        )
        extras: tuple[str, ...] = ()
        if not violations:
            extras = tuple(
                sorted(
                    f"{json_path(error.instance_path)}.{key}"
                    for error in self._validator(name, closed=True).iter_errors(body)
                    if isinstance(error.kind, ValidationErrorKind.AdditionalProperties)
                    for key in error.kind.unexpected
                )
            )
        return Verdict(violations, extras)

    def validate(self, name: str, body: Any, *, what: str, strict: bool = False) -> tuple[str, ...]:
        """Raise `SchemaViolation` naming `what` if `body` breaks `name`; return the extra fields."""
        verdict = self.check(name, body)
        problems = list(verdict.violations)
        if strict and verdict.extras:
            problems += [f"{path}: unexpected field (strict schema mode)" for path in verdict.extras]
        if problems:
            lines = "\n  ".join(listed(problems))
            raise SchemaViolation(f"schema violation ({name}) in {what}:\n  {lines}")
        return verdict.extras


def capability_names(contract: Contract | None = None) -> tuple[str, ...]:
    """The modalities of `capabilities.json` (Im, Audio, ...): agents have them, tasks require them."""
    return tuple((contract or default_contract()).schemas["capabilities.json"]["required"])


@cache
def default_contract() -> Contract:
    """The contract of the repository's `schemas/` folder, loaded once per process."""
    return Contract.from_folder()
