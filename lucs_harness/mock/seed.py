"""The mock's seed data: a JSON or YAML file checked against `seed.schema.json` before use."""

from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lucs_harness.contract import Contract, capability_names, default_contract

DEFAULT_SEED = Path(__file__).with_name("seed.json")
SEED_SCHEMA = Path(__file__).with_name("seed.schema.json")


class SeedError(ValueError):
    """A seed file that cannot be used; the message names the file, the JSON path and the reason."""


@dataclass(frozen=True)
class Seed:
    """Services, users and the DTO template the mock starts from."""

    services: tuple[dict[str, Any], ...]
    users: tuple[dict[str, Any], ...]
    template: dict[str, Any]


def _seed_contract() -> Contract:
    contract = default_contract()
    return contract.with_schema("seed.schema.json", json.loads(SEED_SCHEMA.read_text()))


def read_data(path: Path, what: str = "seed") -> Any:
    """A JSON or YAML (`.yaml`, `.yml`) file's data; a file that cannot be read is one line naming it."""
    try:
        return _parsed(path, path.read_text())
    except (OSError, ValueError, RecursionError) as error:
        raise SeedError(f"{path}: cannot read {what}: {' '.join(str(error).split())}") from None


def _parsed(path: Path, text: str) -> Any:
    if path.suffix not in (".yaml", ".yml"):
        return json.loads(text)
    import yaml  # only for a YAML file: the import would cost every mock's start 25 ms

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(str(error)) from None


def load_seed(path: Path = DEFAULT_SEED) -> Seed:
    """Read and validate a seed file; every user's services must exist and ids must be unique."""
    return seed_of(read_data(path), path)


def seed_of(data: Any, path: Path) -> Seed:
    """Validate a seed file's data (`path` names it in a refusal)."""
    verdict = _seed_contract().check("seed.schema.json", data)
    if verdict.violations:
        raise SeedError(f"{path}: invalid seed:\n  " + "\n  ".join(verdict.violations))
    problems = seed_problems(data["services"], data["users"])
    if problems:
        raise SeedError(f"{path}: invalid seed:\n  " + "\n  ".join(problems))
    return Seed(
        services=tuple(data["services"]), users=tuple(data["users"]), template=seed_template(data.get("template"))
    )


def seed_problems(services: list[dict[str, Any]], users: list[dict[str, Any]]) -> list[str]:
    """What makes services and users no world: a user's unknown service, an Id or SipUri twice."""
    known = {s["Id"] for s in services}
    problems = []
    for index, user in enumerate(users):
        problems += [f"$.users[{index}].Services: unknown service {s}" for s in user["Services"] if s not in known]
    for key in ("Id", "SipUri"):
        counted = Counter(u[key] for u in users)  # a capture of a real installation may hold thousands
        problems += [f"$.users: duplicate {key} {v}" for v in sorted(counted) if counted[v] > 1]
    return problems


def seed_template(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The DTO fields every user starts from: `template`, else the default seed's."""
    chosen = template or json.loads(DEFAULT_SEED.read_text())["template"]
    chosen.setdefault("Capabilities", dict.fromkeys(capability_names(), True))
    return chosen


def starting_dto(template: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """A seed user's DTO as the mock starts it: the template, the user's own fields over it (the
    seed's `Services` and `Behaviour` are no DTO fields), and names derived from the SIP address."""
    dto = copy.deepcopy(template) | {
        k: v for k, v in user.items() if k not in ("Services", "Behaviour", "PresenceState")
    }
    local = str(dto["SipUri"]).removeprefix("sip:")
    for key, value in (("Sam", local.split("@")[0]), ("Upn", local), ("Email", local), ("Sid", None)):
        dto.setdefault(key, value)
    return dto


def shadow_seed(seed: Seed, service_id: str, agents: list[str]) -> Seed:
    """The seed renamed after a real installation (its service id, its agents' SIP URIs or ids), so a
    dry run can walk the scenarios against the mock while naming the real target's resources."""
    old_service = seed.services[0]["Id"]
    services = tuple({**s, "Id": service_id} if s["Id"] == old_service else s for s in seed.services)
    ready = [u["Id"] for u in seed.users if u.get("PresenceState", "Online") == "Online" and "Behaviour" not in u]
    renamed = dict(zip(ready, agents, strict=False))
    users = []
    for original in seed.users:
        user = {**original, "Services": [service_id if s == old_service else s for s in original["Services"]]}
        agent = renamed.get(original["Id"])
        if agent is not None:
            user["SipUri" if agent.startswith("sip:") else "Id"] = agent
        users.append(user)
    return Seed(services=services, users=tuple(users), template=seed.template)
