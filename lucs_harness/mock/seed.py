"""The mock's seed data: a JSON or YAML file checked against `seed.schema.json` before use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

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


def load_seed(path: Path = DEFAULT_SEED) -> Seed:
    """Read and validate a seed file; every user's services must exist and ids must be unique."""
    try:
        text = path.read_text()
        data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise SeedError(f"{path}: cannot read seed: {error}") from error
    verdict = _seed_contract().check("seed.schema.json", data)
    if verdict.violations:
        raise SeedError(f"{path}: invalid seed:\n  " + "\n  ".join(verdict.violations))
    services = {s["Id"] for s in data["services"]}
    problems = []
    for index, user in enumerate(data["users"]):
        problems += [f"$.users[{index}].Services: unknown service {s}" for s in user["Services"] if s not in services]
    for key in ("Id", "SipUri"):
        values = [u[key] for u in data["users"]]
        problems += [f"$.users: duplicate {key} {v}" for v in sorted(set(values)) if values.count(v) > 1]
    if problems:
        raise SeedError(f"{path}: invalid seed:\n  " + "\n  ".join(problems))
    template = data.get("template") or json.loads(DEFAULT_SEED.read_text())["template"]
    template.setdefault("Capabilities", dict.fromkeys(capability_names(), True))
    return Seed(services=tuple(data["services"]), users=tuple(data["users"]), template=template)


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
