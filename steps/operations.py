"""Operation steps, as Karate users write them: any operation of the operations table called by
its name (`When I call "block_user" for the target user`), its answer judged field by field, so
one more field of a documented call is checked without Python. Each call is checked against its
schemas as the client always checks. A change is guarded like the use-case steps' changes: its
scenario must be tagged @changes-state (so a run against a real LUCS skips it unless changes are
allowed), and the undo the operations table gives it is journaled before it is sent; a change the
table cannot undo is never sent."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from pytest_bdd import parsers, then, when

from lucs_harness.config import LucsConfig
from lucs_harness.errors import ExpectationFailed, Rejected, UnexpectedStatus
from lucs_harness.expectations import cell_value
from lucs_harness.journal import Lookup, Undo, check, describe
from lucs_harness.leftovers import harness_id
from lucs_harness.operations import OPERATIONS, LookupRule, Operation, UndoRule
from lucs_harness.readiness import find_listed
from lucs_harness.world import World

from . import USER
from .responses import status_is

if TYPE_CHECKING:
    from lucs_harness.client import Exchange
    from lucs_harness.contract import Contract

# each call step reads two ways: `I call` expects the success status, `I try to call` takes any status
# (and sends the body unchecked) for the next step to judge
CALL = r'I (?P<verb>call) "(?P<operation>[^"]*)"'
TRY = r'I (?P<verb>try to call) "(?P<operation>[^"]*)"'
ANY_STATUS = range(100, 600)  # a tried call's answer is judged by the next step
CHANGES_TAG = "changes-state"
Table = list[list[str]] | None  # a step's data table, when it has one
Text = str | None  # a step's doc string, when it has one
TOKEN = re.compile(r"{{\s*([^{}]*?)\s*}}")
PATH_PART = re.compile(r"\[(\d+)\]|(?:^|\.)([^.\[\]]+)")


# ---- what a step names: operations, users, values ------------------------------------------------


def did_you_mean(word: str, known: list[str]) -> str:
    """` (did you mean "x"?)` for the known names closest to a misspelt one, else nothing."""
    close = difflib.get_close_matches(word, known, n=3, cutoff=0.7)
    quoted = " or ".join(f'"{name}"' for name in close)
    return f" (did you mean {quoted}?)" if close else ""


def operation_named(name: str) -> Operation:
    """The operation of the table by its name; a name it lacks fails naming the closest and all."""
    if name in OPERATIONS:
        return OPERATIONS[name]
    known = list(OPERATIONS)
    raise ExpectationFailed(
        f'unknown operation "{name}"{did_you_mean(name, known)}; the operations table has: {", ".join(known)}'
    )


def user_of(world: World, user: str | None) -> tuple[str, str]:
    """A step's user as (GUID, SIP URI), by the world's user lookup: the one place that names it."""
    return world.users.fetch_id(user), world.users.fetch_sip(user)


def token_value(world: World, token: str) -> Any:
    """What a `{{…}}` in a value stands for: the target user (its SIP URI or GUID), the configured
    service, or a field of the last response (`{{response Id}}`, any JSON value)."""
    if token in ("target user", "target user id"):
        guid, sip = user_of(world, None)
        return guid if token.endswith(" id") else sip
    if token == "configured service":
        return world.config.service_id
    if token.startswith("response "):
        return field_at(last_answer(world), token.removeprefix("response ").strip())
    known = "{{target user}}, {{target user id}}, {{configured service}}, {{response <field>}}"
    raise ExpectationFailed(f"unknown value {{{{{token}}}}}; known: {known}")


def filled(world: World, value: Any) -> Any:
    """A JSON value with each `{{…}}` in its strings filled in: a string that is one `{{…}}` alone
    takes its value as it is (a number stays a number), one in other text takes its text."""
    if isinstance(value, dict):
        return {name: filled(world, item) for name, item in value.items()}
    if isinstance(value, list):
        return [filled(world, item) for item in value]
    if not isinstance(value, str):
        return value
    whole = TOKEN.fullmatch(value)
    if whole is not None:
        return token_value(world, whole.group(1))
    return TOKEN.sub(lambda found: text_of(token_value(world, found.group(1))), value)


def text_of(value: Any) -> str:
    """A value as text: a string as it is, any other JSON value as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def table_rows(datatable: list[list[str]], header: tuple[str, str]) -> list[tuple[str, str]]:
    """A two-column table's rows under its header (`| field | value |`), cells stripped."""
    if not datatable or tuple(cell.strip().lower() for cell in datatable[0]) != header:
        raise ExpectationFailed(f"the table needs a header row '| {header[0]} | {header[1]} |'")
    if len(datatable) < 2 or any(len(row) != 2 for row in datatable):
        raise ExpectationFailed(f"the table needs rows of two cells under '| {header[0]} | {header[1]} |'")
    return [(row[0].strip(), row[1].strip()) for row in datatable[1:]]


def body_from(world: World, datatable: list[list[str]] | None, docstring: str | None) -> Any:
    """The request body a step gives: a `| field | value |` table of JSON values (a bare word is
    text) or a doc string of JSON, with its `{{…}}` filled in."""
    if datatable is not None:
        return {name: filled(world, cell_value(text)) for name, text in table_rows(datatable, ("field", "value"))}
    if docstring is None:
        raise ExpectationFailed("give the body as a '| field | value |' table or as a doc string of JSON")
    try:
        return filled(world, json.loads(docstring))
    except ValueError as error:
        hint = " (a {{…}} goes inside a JSON string)" if TOKEN.search(docstring) else ""
        raise ExpectationFailed(f"the doc string is not JSON{hint}: {error}") from None


def parameters_from(world: World, datatable: list[list[str]]) -> dict[str, str]:
    """A `| parameter | value |` table as path and query parameters (a JSON string is unquoted)."""
    rows = table_rows(datatable, ("parameter", "value"))
    return {name: text_of(filled(world, cell_value(text))) for name, text in rows}


# ---- calling one operation -------------------------------------------------------------------------


@dataclass(frozen=True)
class Parts:
    """What a step gives its call: path and query parameters, a body, and the SIP URI of the user
    it acts on (the undo's words)."""

    params: dict[str, str]
    body: Any = None
    sip: str | None = None


def for_user(world: World, user: str | None, body: Any = None) -> Parts:
    """A call for a user: its userId is the user's GUID."""
    guid, sip = user_of(world, user)
    return Parts({"userId": guid}, body, sip)


def check_call(op: Operation, parts: Parts) -> None:
    """The parameters and body the operation's row takes, before anything is sent."""
    unknown = [name for name in parts.params if name not in op.parameters]
    if unknown:
        takes = ", ".join(op.parameters) or "none"
        raise ExpectationFailed(f"{op.name} takes no parameter {', '.join(unknown)} (its parameters: {takes})")
    missing = [name for name in op.parameters if name not in parts.params]
    if missing:
        raise ExpectationFailed(f"{op.name} needs {', '.join(missing)}: give it in a '| parameter | value |' table")
    if op.request is None and parts.body is not None:
        raise ExpectationFailed(f"{op.name} takes no body")
    if op.request is not None and parts.body is None:
        raise ExpectationFailed(f"{op.name} takes a body ({op.request}): give it with a table or a doc string")


def call(
    world: World, request: pytest.FixtureRequest, name: str, given: Callable[[], Parts], *, any_status: bool = False
) -> Exchange:
    """Send one operation, checked as the client checks every call (`any_status`: whatever the
    status, for the next step to judge); kept as `world.last`. A call that would be refused is
    refused before `given` reads what its values need, so it sends nothing at all."""
    op = operation_named(name)
    reversal = refuse_unguarded(world, request, op) if op.changes_state else None
    parts = given()
    check_call(op, parts)
    undo = None if reversal is None else register_undo(world, op, reversal, parts)
    expect = ANY_STATUS if any_status else None
    try:
        answered = world.send(op.name, parts.params, parts.body, expect=expect, check_request=not any_status)
    except UnexpectedStatus:
        if undo is not None:
            world.forget_if_refused(undo, world.client.last_exchange)
        raise
    if undo is not None:
        world.forget_if_refused(undo, answered)
    return answered


# ---- a change: tagged, and its undo journaled before it is sent --------------------------------------


def refuse_unguarded(world: World, request: pytest.FixtureRequest, op: Operation) -> tuple[str, UndoRule]:
    """A change in a scenario not tagged @changes-state is refused (the guard against a real LUCS
    would not skip it), and so is one the table cannot undo; else the operation that undoes it."""
    if request.node.get_closest_marker(CHANGES_TAG) is None:
        raise ExpectationFailed(
            f"{op.name} changes the target: tag the scenario @{CHANGES_TAG} (a run against a real LUCS then skips it "
            "unless --lucs-allow-changes is given); not sent"
        )
    return reversal_of(op, world.config)


def register_undo(world: World, op: Operation, reversal: tuple[str, UndoRule], parts: Parts) -> Undo | None:
    """Register (and journal) the change's undo, before it is sent. None: the user already shows
    what the change sets (`Operation.reaches`), so there is nothing to undo."""
    name, rule = reversal
    fill_keys(rule, parts.body)
    before = user_before(world, parts.params) if op.reaches or rule.body else None
    if op.reaches is not None and before is not None and same(before.get(op.reaches[0]), op.reaches[1]):
        return None
    known = parts.params | keys_of(rule, parts.body)
    undo = undo_for(name, rule, known, presence_body(world.config, before, rule), parts.sip, world.config)
    return world.restore.register(
        undo.description, undo.operation, undo.params, undo.body, undo.gone, undo.lookup, undo.sip
    )


def reversal_of(op: Operation, config: LucsConfig) -> tuple[str, UndoRule]:
    """The operation that undoes `op` by the table (the one whose undo rule reverses it), and its
    rule; a change with none is refused, as is a task where the target has no close call."""
    found = [(name, row.undo) for name, row in OPERATIONS.items() if row.undo and row.undo.reverses == op.name]
    if not found:
        raise ExpectationFailed(
            f"{op.name} has no undo in the operations table: a call that cannot be undone is not sent"
        )
    name, rule = found[0]
    assert rule is not None
    if name == "close_task" and not config.close_tasks:
        raise ExpectationFailed(
            f"{op.name} is undone by close_task, which this target lacks (close_tasks is off): not sent"
        )
    return name, rule


def fill_keys(rule: UndoRule, body: Any) -> None:
    """A body field the undo finds its change by (the ExternalTaskId) that the step left out gets a
    fresh harness id: the undo can then find it, and a later run tells it as the harness's."""
    if isinstance(body, dict):
        for _, field in rule.keys:
            body.setdefault(field, harness_id())


def keys_of(rule: UndoRule, body: Any) -> dict[str, str]:
    """The undo's parameters that the change's body carries (`UndoRule.keys`)."""
    fields = body if isinstance(body, dict) else {}
    return {param: fields[field] for param, field in rule.keys if isinstance(fields.get(field), str)}


def user_before(world: World, params: dict[str, str]) -> dict[str, Any]:
    """The user a change acts on as the service lists them now: what its undo sets back. A user the
    configured service does not list is refused, as the use-case steps refuse them: what to set
    back is unknown."""
    user = params.get("userId", "")
    listed = world.client.send("list_users", {"serviceId": world.config.service_id}).response_body
    found = find_listed(listed, user)
    if found is None:
        raise ExpectationFailed(
            f"user {user} is not among the users of service {world.config.service_id}: "
            "what their undo would set back is unknown; not sent"
        )
    return found


def presence_body(config: LucsConfig, before: dict[str, Any] | None, rule: UndoRule) -> dict[str, str] | None:
    """The body of an undo that sets the presence back: the presence the user had before."""
    if rule.body is None or before is None:
        return None
    return {config.presence_field: str(before["PresenceState"])}


def undo_for(name: str, rule: UndoRule, known: dict[str, str], body: Any, sip: str | None, config: LucsConfig) -> Undo:
    """The undo call, its parameters taken from what the change names (`known`), through a lookup
    where the table gives one that is needed; refused unless a later run would replay it."""
    wanted = next((read for read in rule.lookups if needs_lookup(read, name, known, config)), None)
    lookup = None if wanted is None else lookup_for(wanted, known)
    params = {
        param: known.get(param, "") for param in OPERATIONS[name].parameters if param != getattr(wanted, "param", None)
    }
    undo = Undo("", name, params, body, rule.gone, lookup=lookup, sip=sip)
    try:
        check(undo)
    except Rejected as why:
        raise ExpectationFailed(f"its undo {name} could not be journaled ({why}); not sent") from None
    return Undo(describe(undo), name, params, body, rule.gone, lookup=lookup, sip=sip)


def lookup_for(read: LookupRule, known: dict[str, str]) -> Lookup:
    """The read an undo makes first, its parameters taken from what the change names."""
    params = {param: known.get(param, "") for param in OPERATIONS[read.operation].parameters}
    return Lookup(read.operation, params, read.field, read.param)


def needs_lookup(rule: LookupRule, name: str, known: dict[str, str], config: LucsConfig) -> bool:
    """A lookup is made when the change does not name what the undo acts on (a callback's GUID), or
    where the target closes tasks by the TaskId LUCS answered (`close_by`)."""
    return rule.param not in known or (name == "close_task" and config.close_by == "TaskId")


# ---- the answer --------------------------------------------------------------------------------------


def last_answer(world: World) -> Any:
    """The body of the scenario's last call."""
    if world.last is None:
        raise ExpectationFailed("no request was sent in this scenario")
    return world.last.response_body


def path_parts(path: str) -> list[str | int]:
    """`Items[2].Name`, `[0].Id` or `$.State` as its names and indexes."""
    text = path.removeprefix("$").removeprefix(".") if path.startswith("$") else path
    parts: list[str | int] = []
    at = 0
    while at < len(text):
        part = PATH_PART.match(text, at)
        if part is None or part.end() == at:
            raise ExpectationFailed(f'field path "{path}": expected a name, ".name" or "[index]" at "{text[at:]}"')
        parts.append(int(part[1]) if part[1] is not None else part[2])
        at = part.end()
    if not parts:
        raise ExpectationFailed(f'field path "{path}" names no field')
    return parts


def field_at(body: Any, path: str) -> Any:
    """The value at a field path of a body; a path that leads nowhere fails saying where it stopped."""
    value, walked = body, "$"
    for part in path_parts(path):
        if isinstance(part, int):
            if not isinstance(value, list) or part >= len(value):
                held = f"a list of {len(value)} items" if isinstance(value, list) else json_kind(value)
                raise ExpectationFailed(f'field "{path}": {walked} is {held}, no [{part}]')
            value, walked = value[part], f"{walked}[{part}]"
        else:
            if not isinstance(value, dict) or part not in value:
                held = (
                    f"an object of {', '.join(value) or 'no fields'}" if isinstance(value, dict) else json_kind(value)
                )
                raise ExpectationFailed(f'field "{path}": {walked} is {held}, no field {part}')
            value, walked = value[part], f"{walked}.{part}"
    return value


def json_kind(value: Any) -> str:
    """How a JSON value reads in a message: `a string "x"`, `null`."""
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    kind = kinds.get(type(value), "a number")
    return kind if value is None or isinstance(value, dict | list) else f"{kind} {json.dumps(value)}"


def same(actual: Any, expected: Any) -> bool:
    """Equal as JSON values, types included at every level: `true` is not `1`, nor `"true"`."""
    if type(actual) is not type(expected):
        return False
    if isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(same(actual[k], expected[k]) for k in actual)
    if isinstance(actual, list):
        return len(actual) == len(expected) and all(map(same, actual, expected))
    return bool(actual == expected)


def schema_named(contract: Contract, name: str) -> str:
    """A schema's file by its title (`User`, `CallbackDto`) or file name (`user-list`), in any case."""
    names: dict[str, str] = {}
    for file, schema in contract.schemas.items():
        stem = file.removesuffix(".json")
        for alias in (str(schema.get("title", stem)), stem, stem.replace("-", "")):
            names.setdefault(alias.lower(), file)
    wanted = name.removesuffix(".json").lower()
    if wanted in names:
        return names[wanted]
    titles = sorted(str(schema.get("title", file)) for file, schema in contract.schemas.items())
    close = did_you_mean(name, titles)
    raise ExpectationFailed(f'unknown schema "{name}"{close}; the schemas: {", ".join(titles)}')


# ---- the steps ---------------------------------------------------------------------------------------


def send_as(
    world: World, request: pytest.FixtureRequest, verb: str, operation: str, given: Callable[[], Parts]
) -> None:
    """`I call` or `I try to call` the operation with what `given` reads."""
    call(world, request, operation, given, any_status=verb != "call")


@when(parsers.re(TRY))
@when(parsers.re(CALL))
def call_operation(world: World, request: pytest.FixtureRequest, verb: str, operation: str) -> None:
    """Any operation of the operations table by its name: `I call` expects its success status, `I
    try to call` takes any status and sends a body unchecked, for the next step to judge. A change
    needs the scenario tagged @changes-state and is undone after it, as the table says."""
    send_as(world, request, verb, operation, lambda: Parts({}))


@when(parsers.re(f"{TRY} for the configured service"))
@when(parsers.re(f"{CALL} for the configured service"))
def call_for_service(world: World, request: pytest.FixtureRequest, verb: str, operation: str) -> None:
    """Its serviceId is the configured service (`--lucs-service-id`)."""
    send_as(world, request, verb, operation, lambda: Parts({"serviceId": world.config.service_id}))


@when(parsers.re(f"{TRY} for {USER}"))
@when(parsers.re(f"{CALL} for {USER}"))
def call_for_user(
    world: World, request: pytest.FixtureRequest, verb: str, operation: str, user: str | None = None
) -> None:
    """Its userId is the user's GUID."""
    send_as(world, request, verb, operation, lambda: for_user(world, user))


@when(parsers.re(f"{TRY} with:"))
@when(parsers.re(f"{CALL} with:"))
def call_with_body(
    world: World,
    request: pytest.FixtureRequest,
    verb: str,
    operation: str,
    datatable: Table = None,
    docstring: Text = None,
) -> None:
    """The body: a `| field | value |` table of JSON values, or a doc string of JSON."""
    send_as(world, request, verb, operation, lambda: Parts({}, body_from(world, datatable, docstring)))


@when(parsers.re(f"{TRY} for {USER} with:"))
@when(parsers.re(f"{CALL} for {USER} with:"))
def call_for_user_with_body(
    world: World,
    request: pytest.FixtureRequest,
    verb: str,
    operation: str,
    user: str | None = None,
    datatable: Table = None,
    docstring: Text = None,
) -> None:
    """Its userId is the user's GUID; the body a table or a doc string."""
    send_as(world, request, verb, operation, lambda: for_user(world, user, body_from(world, datatable, docstring)))


@when(parsers.re(f"{TRY} with the parameters:"))
@when(parsers.re(f"{CALL} with the parameters:"))
def call_with_parameters(
    world: World, request: pytest.FixtureRequest, verb: str, operation: str, datatable: list[list[str]]
) -> None:
    """A `| parameter | value |` table of its path and query parameters."""
    send_as(world, request, verb, operation, lambda: Parts(parameters_from(world, datatable)))


@then(parsers.parse("the status is {status:d}"))
def the_status_is(world: World, status: int) -> None:
    """`LUCS answers <status>` as Karate writes it."""
    status_is(world, status)


@then(parsers.parse('the response matches the schema "{schema}"'))
def response_matches_schema(world: World, schema: str) -> None:
    """By the schema's title (`User`, `CallbackDto`) or file name (`user-list`); unknown fields are
    listed, and fail with `--lucs-strict-schema`."""
    contract = world.client.contract
    file = schema_named(contract, schema)
    body = last_answer(world)
    assert world.last is not None
    contract.validate(file, body, what=f"response of {world.last.what}", strict=world.config.strict_schema)


@then(parsers.parse('the response field "{path}" is {value}'))
def response_field_is(world: World, path: str, value: str) -> None:
    """A JSON value (`true`, `3`, `null`, `"Pending"`; a bare word is text), compared with its type;
    dotted paths and `[index]` reach nested fields (`ReservedUserObject.SipUri`, `[0].Id`)."""
    expected = filled(world, cell_value(value))
    actual = field_at(last_answer(world), path)
    if not same(actual, expected):
        assert world.last is not None
        raise ExpectationFailed(
            f'{world.last.what}: response field "{path}": expected {json.dumps(expected)}, got {json.dumps(actual)}'
        )


@then(parsers.re(r"the response is a list of at least (?P<count>\d+) items?"))
def response_is_list(world: World, count: str) -> None:
    body = last_answer(world)
    assert world.last is not None
    if not isinstance(body, list):
        raise ExpectationFailed(f"{world.last.what}: expected a list, got {json_kind(body)}")
    if len(body) < int(count):
        raise ExpectationFailed(f"{world.last.what}: expected a list of at least {count} items, got {len(body)}")
