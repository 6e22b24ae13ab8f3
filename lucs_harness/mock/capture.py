"""A capture of a real installation as the mock's seed, so the mock mirrors a team's own LUCS.

A capture is what that LUCS answered: `{"services": <the GET /v1.0/services answer>, "users":
{"<serviceId>": <the GET /v1.0/services/{serviceId}/users answer>}}`. Its services and users become
the seed (a user listed in several services is one user in all of them), each user starting as
captured: presence, not-ready reason, blocked, selectable and its reason (`domain.Lucs._as_seeded`).
Fields the harness's schemas do not list are kept; a field they require but the capture lacks comes
from the default seed's template. The mock answers every DTO schema-valid, so a user it could not
(a field of the wrong type) is refused, like any file that is no capture, in one line.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from lucs_harness.contract import default_contract
from lucs_harness.json_bounds import MAX_JSON_DEPTH, value_nests_deeper_than
from lucs_harness.mock.domain import Lucs
from lucs_harness.mock.seed import Seed, SeedError, read_data, seed_of, seed_problems, seed_template

CAPTURE_FORM = (
    'a capture is {"services": <the GET /v1.0/services answer>, '
    '"users": {"<serviceId>": <the GET /v1.0/services/{serviceId}/users answer>}}'
)
SEED_ONLY = ("Services", "Behaviour")  # the seed's own user fields: a capture holds DTOs only


class CaptureError(SeedError):
    """A file that is no capture the mock can serve; the message is one line naming the file and the
    first problem."""


def load_data(path: Path) -> Seed:
    """The seed of a `--data` file: a seed (its `users` a list) or a capture (its `users` by service)."""
    data = read_data(path, "data")
    if isinstance(data, dict) and isinstance(data.get("users"), list):
        return seed_of(data, path)
    return seed_from_capture(data, path)


def seed_from_capture(data: Any, path: Path) -> Seed:
    """The seed mirroring a capture; the first problem found is a `CaptureError`."""
    try:
        services = _services(data)
        origins: dict[str, str] = {}
        users = _users(data["users"], {s["Id"] for s in services}, origins)
        seed = Seed(services=tuple(services), users=tuple(users), template=seed_template())
        _served_as_captured(seed, origins)
    except _Problem as problem:
        message = " ".join(f"{path}: not a capture the mock can serve: {problem}".split())
        raise CaptureError(message) from None
    return seed


class _Problem(Exception):
    """One thing wrong with a capture, said in one line."""


def _services(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        raise _Problem(f"a {type(data).__name__} where an object belongs; {CAPTURE_FORM}")
    if value_nests_deeper_than(data, MAX_JSON_DEPTH):
        raise _Problem(f"nests deeper than {MAX_JSON_DEPTH} levels (a LUCS answer nests a few)")
    missing = [key for key in ("services", "users") if key not in data]
    if missing:
        raise _Problem(f"missing {missing[0]!r}; {CAPTURE_FORM}")
    extra = sorted(set(data) - {"services", "users"})
    if extra:
        raise _Problem(f"unknown key {extra[0]!r}; {CAPTURE_FORM}")
    services = data["services"]
    _valid("service-list.json", services, "services")
    if not services:
        raise _Problem("services: no service listed")
    counted = Counter(s["Id"] for s in services)
    twice = next((i for i, n in counted.items() if n > 1), None)
    if twice is not None:
        raise _Problem(f"services: {twice} is listed twice")
    return [dict(s) for s in services]


def _users(by_service: Any, listed: set[str], origins: dict[str, str]) -> list[dict[str, Any]]:
    """One seed user per captured Id, in the services that listed them; `origins` gets where each
    Id was first captured."""
    if not isinstance(by_service, dict):
        raise _Problem(f"users: an object of service ids to users answers, not a {type(by_service).__name__}")
    users: dict[str, dict[str, Any]] = {}
    for service, answer in by_service.items():
        if service not in listed:
            shown = ", ".join(sorted(listed)[:3]) + (", …" if len(listed) > 3 else "")
            raise _Problem(f"users: {service!r} is not a listed service (listed: {shown})")
        if not isinstance(answer, list):
            raise _Problem(f"users[{service!r}]: a users answer is a list, not a {type(answer).__name__}")
        for index, user in enumerate(answer):
            where = f"users[{service!r}][{index}]"
            _add(users, user, service, where)
            origins.setdefault(user["Id"], where)
    if not users:
        raise _Problem("users: no user in any service (capture at least one service's users)")
    problems = seed_problems([{"Id": s} for s in listed], list(users.values()))
    if problems:
        raise _Problem(problems[0].removeprefix("$."))
    return list(users.values())


def _add(users: dict[str, dict[str, Any]], user: Any, service: str, where: str) -> None:
    if not isinstance(user, dict):
        raise _Problem(f"{where}: a user is an object, not a {type(user).__name__}")
    for key in ("Id", "SipUri"):
        if not isinstance(user.get(key), str) or not user[key]:
            raise _Problem(f"{where}: a user without {key}")
    seed_only = next((key for key in SEED_ONLY if key in user), None)
    if seed_only is not None:
        raise _Problem(f"{where}.{seed_only}: the mock's seed field, not a DTO field (write a seed to use it)")
    known = users.get(user["Id"])
    if known is None:
        users[user["Id"]] = dict(user) | {"Services": [service]}
    elif known["SipUri"] != user["SipUri"]:
        raise _Problem(f"{where}: user {user['Id']} is {user['SipUri']} here but {known['SipUri']} before")
    elif service not in known["Services"]:
        known["Services"].append(service)


def _served_as_captured(seed: Seed, origins: dict[str, str]) -> None:
    """Every user as the mock will answer it must keep the contract the harness checks."""
    lucs = Lucs(seed)
    for user_id, where in origins.items():
        _valid("user.json", lucs.user(user_id), where)


def _valid(schema: str, value: Any, where: str) -> None:
    violations = default_contract().check(schema, value).violations
    if violations:
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        raise _Problem(f"{where}{violations[0].removeprefix('$')}{more}")  # `$.Id: …` -> `users[…][0].Id: …`
