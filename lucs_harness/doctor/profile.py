"""`doctor --write-profile NAME`: what the doctor found, written into `lucs.toml` as the profile
`[profiles.NAME]`, each value with a comment saying whether it was given, documented, assumed or
discovered, and the exchange that shows it. Secrets are never written: the profile names the
environment variables that carry them. A profile of the same name is replaced; the rest of the
file is kept as it was. The written file is read back and checked before it replaces the old one.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lucs_harness.config import SECRET_FIELDS, LucsConfig, file_layer
from lucs_harness.doctor.findings import Diagnosis, Value
from lucs_harness.errors import ConfigError, ProfileError
from lucs_harness.option_names import env_name

GIVEN = ("base_url", "service_id", "user", "agents", "username", "verify_tls", "ca_bundle", "client_cert", "client_key")
ALWAYS = ("base_url", "service_id", "user")  # written even when not given: a profile names its target
TABLES = ("paths", "task_states")
PROFILE_NAME = re.compile(r"[A-Za-z0-9_-]+")


def profile_values(config: LucsConfig, diagnosis: Diagnosis) -> dict[str, Value]:
    """The values to write: what was given (the target, the users), then what was found."""
    values: dict[str, Value] = {}
    for name in GIVEN:
        if name in config.given or name in ALWAYS:
            value = getattr(config, name)
            shown = config.redactor().url(value) if name == "base_url" else value
            given = name in config.given
            values[name] = Value(shown, "given") if given else Value(shown, "assumed", "the default")
    for path, configured in config.paths.items():
        values[f"paths.{path}"] = Value(configured, "given")
    values |= diagnosis.values
    if isinstance(values.get("task_states"), Value):
        found = values.pop("task_states")
        for state, name in found.value.items():
            values[f"task_states.{state}"] = Value(name, found.origin, found.evidence)
    return values


def render(name: str, values: dict[str, Value], config: LucsConfig, target: str) -> str:
    """The TOML text of the profile: its own table, then its sub-tables."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    secrets = ", ".join(env_name(field) for field in SECRET_FIELDS if config.credential(field))
    lines = [
        f"[profiles.{name}]",
        f"# written by `lucs-acceptance doctor --write-profile {name}` on {when} against {target}",
        f"# secrets are not written here: {secrets or 'none were used'} (environment or .env)",
    ]
    plain = {key: value for key, value in values.items() if "." not in key}
    lines += [_line(key, value) for key, value in plain.items()]
    for table in TABLES:
        entries = {key.split(".", 1)[1]: value for key, value in values.items() if key.startswith(f"{table}.")}
        if entries:
            lines += ["", f"[profiles.{name}.{table}]", *(_line(key, value) for key, value in entries.items())]
    return "\n".join(lines) + "\n"


def _line(key: str, value: Value) -> str:
    why = value.origin + (f": {value.evidence}" if value.evidence else "")
    return f"{key} = {_toml(value.value)}  # {' '.join(why.split())}"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return json.dumps(str(value))  # a JSON string is a TOML basic string


def without_profile(text: str, name: str) -> str:
    """`text` without the table `[profiles.NAME]` and its sub-tables."""
    kept, skipping = [], False
    for line in text.splitlines():
        header = line.strip()
        if header.startswith("["):
            table = header.strip("[]").strip()
            skipping = table == f"profiles.{name}" or table.startswith(f"profiles.{name}.")
        if not skipping:
            kept.append(line)
    return "\n".join(kept).rstrip() + "\n" if any(line.strip() for line in kept) else ""


def write_profile(path: Path, name: str, config: LucsConfig, diagnosis: Diagnosis) -> Path:
    """Write (or replace) the profile in `path`, checked by reading it back as the suite would."""
    if not PROFILE_NAME.fullmatch(name):
        raise ProfileError(f"profile name {name!r}: letters, digits, - and _ only")
    if path.name == "pyproject.toml":
        raise ProfileError(f"{path}: the doctor writes a lucs.toml, not pyproject.toml; pass --lucs-config lucs.toml")
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    target = config.redactor().url(config.base_url or "")
    block = render(name, profile_values(config, diagnosis), config, target)
    rest = without_profile(old, name)
    text = f"{rest}\n{block}" if rest else block
    scratch = path.with_name(f".{path.name}.doctor")
    try:
        scratch.write_text(text, encoding="utf-8")
        LucsConfig(**file_layer(scratch, name), **_secrets(config))
        os.replace(scratch, path)
    except (ConfigError, ValueError) as error:
        raise ProfileError(f"the profile would not load: {str(error).splitlines()[0]}") from None
    finally:
        scratch.unlink(missing_ok=True)
    return path


def _secrets(config: LucsConfig) -> dict[str, str]:
    """The secrets, for the check only (they come from the environment when the profile is used)."""
    return {field: config.credential(field) for field in SECRET_FIELDS if config.credential(field)}
