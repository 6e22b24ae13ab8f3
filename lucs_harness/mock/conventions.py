"""The mock's conventions: how it serves what LUCS leaves undocumented (`docs/lucs-api.md`).

A team meeting its own LUCS has to find out where the API key goes, at which paths users and
presence are, what the setpresence body calls its field, how (and whether) a task is closed, what
the task State names are and how the create-task answer looks. The mock can serve any of these
differently, one server at a time, so a tool that discovers them (`lucs-acceptance doctor`) can be
proven against it. A convention changes only such an undocumented fact: what LUCS documents (status
codes, the error envelope, the DTOs, the transitions) stays as it is.

Given as `NAME=VALUE` strings (`lucs-mock serve --convention close=post-close`) or a TOML or JSON
object of the same names (`--conventions FILE`); the defaults are the mock's own behaviour.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from lucs_harness.config import TASK_STATE_KEYS
from lucs_harness.contract import Contract
from lucs_harness.key_placement import KeyPlacement, key_placement
from lucs_harness.mock.auth import CONTROL_PREFIX, OPENAPI_PATH
from lucs_harness.mock.domain import TASK_STATES
from lucs_harness.operations import OPERATIONS, PARAMETER, Operation, query_parameters

STATE_KEYS = TASK_STATE_KEYS  # the order of `task-states`, as the config names them
DEFAULT_PRESENCE_FIELD = "Presence"  # the documented example's field
PRESENCE_SCHEMA = "presence-request.json"
CLOSE_TASK = "close_task"
PATHS_PREFIX = "paths."
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ROUTE = re.compile(r"(?:/(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|\{\w+\})+)+")  # segments of pchars and {parameters}
_QUERY = re.compile(r"(\w+)=\{(\w+)\}")


class UnknownConvention(ValueError):
    """A convention the mock does not know, or a value it cannot serve; the message is one line
    naming the known names or values."""


class Close(StrEnum):
    """How an open task is closed (LUCS documents no way)."""

    DELETE = "delete"  # DELETE the task by its TaskId or ExternalTaskId
    DELETE_BY_ID = "delete-by-id"  # DELETE by the TaskId GUID only; an ExternalTaskId is a 404
    POST_CLOSE = "post-close"  # POST …/close
    POST_CANCEL = "post-cancel"  # POST …/cancel
    NONE = "none"  # no way: DELETE is a 405


class TaskIdForm(StrEnum):
    """The create-task answer: the harness accepts both forms (`docs/lucs-api.md`)."""

    STRING = "string"  # a bare JSON string
    OBJECT = "object"  # {"TaskId": "<guid>"}


def _close_call(close: Close, delete: Operation) -> Operation | None:
    """The close operation a convention serves, from the table's own (`delete`: DELETE, 204)."""
    if close is Close.DELETE:
        return delete
    if close is Close.DELETE_BY_ID:
        return replace(delete, summary="Close a task by its GUID; an ExternalTaskId is not found (assumed)")
    if close is Close.NONE:
        return None
    action = close.value.removeprefix("post-")
    return replace(delete, method="POST", path=f"{delete.path}/{action}", success=(200, 204))


def presence_schema(schema: dict[str, Any], name: str) -> dict[str, Any]:
    """The setpresence body's schema (or its OpenAPI component) asking for `name` in place of the
    documented example's `Presence`."""
    if name == DEFAULT_PRESENCE_FIELD:
        return schema
    properties = dict(schema["properties"])
    described = properties.pop(DEFAULT_PRESENCE_FIELD)
    return schema | {"required": [name], "properties": {name: described, **properties}}


API_KEY = "api-key"  # read with the conventions, kept by the auth (`MockAuth.place`): the key's place once
NAMES = (API_KEY, "close", "task-states", "presence-field", f"{PATHS_PREFIX}<operation>", "task-id")


def _choices(kind: type[StrEnum]) -> str:
    return ", ".join(member.value for member in kind)


@dataclass(frozen=True)
class Conventions:
    """What this mock serves where LUCS documents nothing; the defaults are the mock's own behaviour."""

    close: Close = Close.DELETE
    task_states: tuple[str, ...] = TASK_STATES  # pending, offered, accepted, closed
    presence_field: str = DEFAULT_PRESENCE_FIELD
    paths: tuple[tuple[str, str], ...] = field(default=())  # (operation, path) served elsewhere than the default
    task_id: TaskIdForm = TaskIdForm.STRING

    def __post_init__(self) -> None:
        if len(self.task_states) != len(STATE_KEYS) or len(set(self.task_states)) != len(STATE_KEYS):
            raise UnknownConvention(
                f"task-states: four different names in the order {','.join(STATE_KEYS)}, got {self.task_states!r}"
            )
        if any(not name or name != name.strip() or "," in name for name in self.task_states):
            raise UnknownConvention(f"task-states: a name is empty, padded or holds a comma: {self.task_states!r}")
        if not _IDENTIFIER.fullmatch(self.presence_field):
            raise UnknownConvention(f"presence-field: {self.presence_field!r} is not an identifier (e.g. State)")
        object.__setattr__(self, "paths", self._moved(self.paths))
        self._no_clash()

    def _moved(self, paths: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        """The paths checked and without those equal to their default, in order: one value per meaning."""
        defaults = self._defaults()
        moved = {}
        for name, path in paths:
            if name not in OPERATIONS:
                raise UnknownConvention(f"{PATHS_PREFIX}{name}: unknown operation; known: {', '.join(OPERATIONS)}")
            if name not in defaults:
                raise UnknownConvention(f"{PATHS_PREFIX}{name}: close={self.close.value} serves no close call")
            problem = _path_problem(path, defaults[name].path)
            if problem:
                raise UnknownConvention(f"{PATHS_PREFIX}{name}={path!r}: {problem}")
            if path != defaults[name].path:
                moved[name] = path
        return tuple(sorted(moved.items()))

    def _defaults(self, table: Mapping[str, Operation] = OPERATIONS) -> dict[str, Operation]:
        """`table` with this convention's close call (or none)."""
        served = {name: _close_call(self.close, op) if name == CLOSE_TASK else op for name, op in table.items()}
        return {name: op for name, op in served.items() if op is not None}

    def operations(self, table: Mapping[str, Operation] = OPERATIONS) -> dict[str, Operation]:
        """The operations of `table` as this mock serves them: the close call and the moved paths
        applied (a parameter moved into the query may be missing there: a 400)."""
        served = self._defaults(table)
        return served | {name: _moved_to(served[name], path) for name, path in self.paths}

    def _no_clash(self) -> None:
        """Two operations may not answer the same method at the same path."""
        seen: dict[tuple[str, str], str] = {}
        for name, op in self.operations().items():
            key = (op.method, PARAMETER.sub("{}", op.route))
            if key in seen:
                raise UnknownConvention(f"{name} and {seen[key]} would both answer {op.method} {op.route}")
            seen[key] = name

    @property
    def state_names(self) -> dict[str, str]:
        """The task State names by meaning (pending, offered, accepted, closed), as the config writes them."""
        return dict(zip(STATE_KEYS, self.task_states, strict=True))

    def contract(self, contract: Contract) -> Contract:
        """`contract` with the setpresence body asking for this convention's field."""
        if self.presence_field == DEFAULT_PRESENCE_FIELD:
            return contract
        return contract.with_schema(
            PRESENCE_SCHEMA, presence_schema(contract.schemas[PRESENCE_SCHEMA], self.presence_field)
        )

    def task_id_answer(self, task_id: str) -> Any:
        """The create-task answer carrying `task_id`."""
        return {"TaskId": task_id} if self.task_id is TaskIdForm.OBJECT else task_id

    def as_dict(self) -> dict[str, Any]:
        """The conventions by their names, every path included; `from_settings` reads it back
        (`GET /_mock/conventions` adds `api-key`, the auth's)."""
        return {
            "close": self.close.value,
            "task-states": self.state_names,
            "presence-field": self.presence_field,
            "paths": {name: op.path for name, op in self.operations().items()},
            "task-id": self.task_id.value,
        }

    @classmethod
    def parse(cls, items: Iterable[str], base: Mapping[str, Any] | None = None) -> Conventions:
        """`NAME=VALUE` strings (each name once), over `base` settings (e.g. a file's)."""
        return cls.from_settings(_gathered(items, base))

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Conventions:
        """The conventions of a mapping of names to values (`paths` may be a table of its own)."""
        flat = _flat(settings)
        if API_KEY in flat:
            raise UnknownConvention(f"{API_KEY}: the key's place is the auth's (MockAuth.place); see read_conventions")
        unknown = [name for name in flat if name not in _READERS and not name.startswith(PATHS_PREFIX)]
        if unknown:
            raise UnknownConvention(f"unknown convention {unknown[0]!r}; known names: {', '.join(NAMES)}")
        values: dict[str, Any] = {}
        for name, value in flat.items():
            if name.startswith(PATHS_PREFIX):
                continue
            attribute, read = _READERS[name]
            values[attribute] = read(value)
        paths = [
            (name.removeprefix(PATHS_PREFIX), _text(name, value))
            for name, value in flat.items()
            if name.startswith(PATHS_PREFIX)
        ]
        return cls(**values, paths=tuple(paths))

    @classmethod
    def load(cls, path: Path, items: Iterable[str] = ()) -> Conventions:
        """A TOML (`.toml`) or JSON file's conventions, with `items` (`NAME=VALUE`) over them."""
        return cls.parse(items, read_settings(path))


def _gathered(items: Iterable[str], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`NAME=VALUE` strings (each name once) over `base` settings, as one flat mapping."""
    given: dict[str, str] = {}
    for item in items:
        name, equals, value = item.partition("=")
        name = name.strip()
        if not equals:
            raise UnknownConvention(f"expected NAME=VALUE, got {item!r}; known names: {', '.join(NAMES)}")
        if name in given:
            raise UnknownConvention(f"convention {name!r} given twice")
        given[name] = value.strip()
    return _flat(base or {}) | given


def read_conventions(
    items: Iterable[str], base: Mapping[str, Any] | None = None
) -> tuple[Conventions, KeyPlacement | None]:
    """The conventions of `NAME=VALUE` strings over `base` settings, and the API key's place when
    `api-key` is among them, handed back apart: the auth keeps it (`MockAuth.place`)."""
    settings = _gathered(items, base)
    given = settings.pop(API_KEY, None)
    return Conventions.from_settings(settings), None if given is None else key_place(given)


def key_place(value: Any) -> KeyPlacement:
    """An `api-key` value, in the configuration's syntax (`X-API-Key`, `Authorization: ApiKey`,
    `?api_key`); a one-line `UnknownConvention` when it is none of them."""
    text = _text(API_KEY, value)
    try:
        return key_placement(text)
    except ValueError as error:
        raise UnknownConvention(f"{API_KEY}: {error}") from None


def read_settings(path: Path) -> dict[str, Any]:
    """A conventions file: a TOML (`.toml`) or JSON object of convention names."""
    try:
        text = path.read_text()
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as error:  # tomllib.TOMLDecodeError and json.JSONDecodeError are ValueErrors
        raise UnknownConvention(f"{path}: cannot read conventions: {' '.join(str(error).split())}") from None
    if not isinstance(data, dict):
        raise UnknownConvention(
            f"{path}: conventions are an object of names (api-key, close, …), not {type(data).__name__}"
        )
    return data


def _flat(settings: Mapping[str, Any]) -> dict[str, Any]:
    """`{"paths": {"op": p}}` as `{"paths.op": p}`: a file may write either."""
    flat = {str(name): value for name, value in settings.items() if name != "paths"}
    paths = settings.get("paths", {})
    if not isinstance(paths, Mapping):
        raise UnknownConvention(f"paths: an object of operation names to paths, not {paths!r}")
    return flat | {PATHS_PREFIX + str(name): value for name, value in paths.items()}


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise UnknownConvention(f"{name}: expected a string, got {value!r}")
    return value


def _choice(kind: type[StrEnum], name: str) -> Any:
    def read(value: Any) -> StrEnum:
        text = _text(name, value)
        try:
            return kind(text)
        except ValueError:
            raise UnknownConvention(f"{name}: unknown value {value!r}; known: {_choices(kind)}") from None

    return read


def _task_states(value: Any) -> tuple[str, ...]:
    """Four names: `a,b,c,d`, a list, or an object of pending, offered, accepted and closed."""
    if isinstance(value, Mapping):
        if sorted(value) != sorted(STATE_KEYS):
            raise UnknownConvention(f"task-states: an object of exactly {', '.join(STATE_KEYS)}, got {sorted(value)!r}")
        value = [value[key] for key in STATE_KEYS]
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not all(isinstance(name, str) for name in names):
        raise UnknownConvention(f"task-states: four names like Queued,Ringing,Connected,Terminated, got {value!r}")
    return tuple(name.strip() for name in names)


_READERS: dict[str, tuple[str, Callable[[Any], Any]]] = {  # name: (attribute, reader of its value)
    "close": ("close", _choice(Close, "close")),
    "task-states": ("task_states", _task_states),
    "presence-field": ("presence_field", lambda value: _text("presence-field", value)),
    "task-id": ("task_id", _choice(TaskIdForm, "task-id")),
}


def _moved_to(operation: Operation, path: str) -> Operation:
    errors = set(operation.errors) | ({400} if query_parameters(path) else set())
    return replace(operation, path=path, errors=tuple(sorted(errors)))


def _path_problem(path: str, default: str) -> str | None:
    """Why `path` cannot serve an operation whose default is `default`, or None."""
    route, question, query = path.partition("?")
    if not _ROUTE.fullmatch(route):
        return "a path is /segments of letters, digits, -._~!$&'()*+,;=:@ and {parameters}"
    if route == OPENAPI_PATH or (route + "/").startswith(CONTROL_PREFIX):
        return f"{OPENAPI_PATH} and {CONTROL_PREFIX}* are the mock's own"
    pairs = [_QUERY.fullmatch(part) for part in query.split("&")] if question else []
    if not all(pair is not None and pair[1] == pair[2] for pair in pairs):
        return "a query is name={name} pairs joined by &"
    placeholders = PARAMETER.findall(path)
    expected = PARAMETER.findall(default)
    if sorted(placeholders) != sorted(expected) or len(set(placeholders)) != len(placeholders):
        return f"needs the parameters of {default!r} once each: {', '.join(expected) or 'none'}"
    return None
