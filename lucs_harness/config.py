"""One typed configuration, layered: defaults < config file (or a profile in it) < environment
(and `.env`) < command line. Every fact `../shared/lucs/api.md` marks *assumed* is a field here.

A field `foo_bar` is `foo_bar` in the file, `LUCS_FOO_BAR` in the environment and
`--lucs-foo-bar` on the command line; lists are comma-separated outside the file, and path
overrides are `operation=/path` pairs.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

SEED_SERVICE = "7830678b-03b1-4e71-af33-a3987142519f"
SEED_USER = "sip:smoky.cc@dev.local"
ENV_PREFIX = "LUCS_"
DEFAULT_CONFIG_FILES = ("lucs.toml", "pyproject.toml")

DEFAULT_PATHS: dict[str, str] = {
    "list_services": "/v1.0/services",
    "list_users": "/v1.0/services/{serviceId}/users",
    "service_tasks": "/v1.0/services/{serviceId}/tasks",
    "block_user": "/v1.0/users/{userId}/block",
    "unblock_user": "/v1.0/users/{userId}/unblock",
    "set_presence": "/v1.0/users/{userId}/setpresence",
    "create_task": "/v1.0/tasks",
    "get_task": "/v1.0/tasks/{taskIdentifier}",
    "close_task": "/v1.0/tasks/{taskIdentifier}",
}
MOCK_TASK_STATES = {"pending": "Pending", "offered": "Offered", "accepted": "Accepted"}


class ConfigError(ValueError):
    """A configuration that cannot be used; the message says which source and field."""


class LucsConfig(BaseModel):
    """Everything the harness needs to reach and drive one LUCS installation."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    base_url: str | None = Field(
        None, description="LUCS API root, e.g. https://lucs.example.com; unset = embedded mock"
    )
    service_id: str = Field(SEED_SERVICE, description="GUID of the service whose users the suite drives")
    user: str = Field(SEED_USER, description="target user: SIP URI or user GUID")
    agents: list[str] = Field(default_factory=list, description="agent pool for parallel workers (SIP URIs or GUIDs)")
    lease_dir: str | None = Field(None, description="folder of the agent leases shared by parallel workers and runs")
    paths: dict[str, str] = Field(default_factory=dict, description="endpoint path overrides: operation=/path")
    connect_timeout: float = Field(3.05, gt=0, description="seconds to connect")
    read_timeout: float = Field(10.0, gt=0, description="seconds to wait for a response")
    wait_timeout: float = Field(10.0, gt=0, description="deadline for states reached asynchronously")
    hold_time: float | None = Field(
        None,
        ge=0,
        description="how long a state that must stay (a pending task) is watched; unset = 0 on the mock, 2 s else",
    )
    poll_interval: float = Field(0.05, gt=0, description="seconds between polls while waiting")
    get_retries: int = Field(2, ge=0, le=10, description="retries of idempotent GETs on connection errors")
    verify_tls: bool = Field(True, description="verify the server certificate")
    ca_bundle: str | None = Field(None, description="CA bundle file to verify the server with")
    client_cert: str | None = Field(None, description="client certificate file (PEM)")
    client_key: str | None = Field(None, description="client certificate key file (PEM)")
    proxy: str | None = Field(None, description="HTTP(S) proxy URL")
    auth: Literal["none", "basic", "bearer", "apikey", "ntlm"] = Field("none", description="authentication mode")
    username: str | None = Field(None, description="user for basic or NTLM (DOMAIN\\user)")
    password: SecretStr | None = Field(None, description="password for basic or NTLM")
    token: SecretStr | None = Field(None, description="bearer token")
    api_key: SecretStr | None = Field(None, description="API key (created in the Web Configurator)")
    api_key_header: str = Field("X-API-Key", description="header carrying the API key (undocumented by LUCS)")
    presence_field: str = Field("Presence", description="field of the setpresence body (assumed)")
    task_states: dict[str, str] | None = Field(
        None, description="task State names to check, e.g. pending=Pending; unset = checked on the mock only"
    )
    close_tasks: bool = Field(True, description="close the tasks the suite created (DELETE task)")
    strict_schema: bool = Field(False, description="fail on fields the schemas do not list")
    allow_changes: bool = Field(False, description="run @changes-state scenarios against a real LUCS")
    dry_run: bool = Field(False, description="print the requests each scenario would send, send none")

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else None

    @field_validator("paths")
    @classmethod
    def _known_operations(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(DEFAULT_PATHS))
        if unknown:
            raise ValueError(f"unknown operation(s) {unknown}; known: {', '.join(DEFAULT_PATHS)}")
        return value

    @property
    def is_mock(self) -> bool:
        """True when the suite runs against the embedded mock."""
        return self.base_url is None

    def effective_hold_time(self) -> float:
        """The configured hold time, else none on the mock (it distributes at once) and 2 s on a real LUCS."""
        if self.hold_time is not None:
            return self.hold_time
        return 0.0 if self.is_mock else 2.0

    def agent_pool(self) -> list[str]:
        """The agents parallel workers share out: the configured pool, else the target user alone."""
        return self.agents or [self.user]

    def path(self, operation: str) -> str:
        """The configured path template of an operation."""
        return self.paths.get(operation, DEFAULT_PATHS[operation])

    def effective_task_states(self) -> dict[str, str] | None:
        """State names to assert: configured ones, else the mock's own against the mock."""
        return self.task_states or (MOCK_TASK_STATES if self.is_mock else None)

    def secrets(self) -> list[str]:
        """Every secret value configured, for redaction: passwords in URLs included."""
        values = [s.get_secret_value() for s in (self.password, self.token, self.api_key) if s is not None]
        values += [urlsplit(url).password or "" for url in (self.base_url, self.proxy) if url]
        return [v for v in values if v]

    def masked(self) -> dict[str, Any]:
        """The effective configuration with secrets shown as `***`, for display."""
        shown = self.model_dump(mode="json")
        for key in ("password", "token", "api_key"):
            if shown[key] is not None:
                shown[key] = "***"
        for key in ("base_url", "proxy"):
            if shown[key] and urlsplit(shown[key]).password:
                shown[key] = shown[key].replace(urlsplit(shown[key]).password, "***")
        shown["paths"] = {op: self.path(op) for op in DEFAULT_PATHS}
        return shown


def _from_text(name: str, value: str) -> Any:
    """Turn an environment or command-line string into what the field takes."""
    kinds = {get_origin(a) for a in get_args(LucsConfig.model_fields[name].annotation)}
    kinds.add(get_origin(LucsConfig.model_fields[name].annotation))
    if list in kinds:
        return [item.strip() for item in value.split(",") if item.strip()]
    if dict in kinds:
        pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ConfigError(f"{name}: expected key=value pairs separated by commas, got {value!r}")
        return {key.strip(): val.strip() for key, val in pairs}
    return value


def file_layer(path: Path, profile: str | None = None) -> dict[str, Any]:
    """The `[tool.lucs]` table of a pyproject.toml, or a lucs.toml's top level, with `profile` applied."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from error
    table = data.get("tool", {}).get("lucs", {}) if path.name == "pyproject.toml" else data
    profiles = table.pop("profiles", {})
    if profile is not None:
        if profile not in profiles:
            raise ConfigError(f"{path}: no profile {profile!r}; profiles: {', '.join(profiles) or 'none'}")
        table = table | profiles[profile]
    return dict(table)


def environment(environ: Mapping[str, str], dotenv: Path | None = None) -> dict[str, str]:
    """The process environment over the `.env` file's values (the real environment wins)."""
    values = {k: v for k, v in dotenv_values(dotenv).items() if v is not None} if dotenv and dotenv.is_file() else {}
    return values | dict(environ)


def env_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    """The `LUCS_*` variables that name a configuration field."""
    layer = {}
    for name in LucsConfig.model_fields:
        value = environ.get(ENV_PREFIX + name.upper())
        if value is not None and value != "":
            layer[name] = _from_text(name, value)
    return layer


def cli_layer(options: Mapping[str, str | bool | None]) -> dict[str, Any]:
    """Command-line values given (None means not given)."""
    return {
        name: value if isinstance(value, bool) else _from_text(name, value)
        for name, value in options.items()
        if value is not None
    }


def load_config(
    *,
    cli: Mapping[str, str | bool | None] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    profile: str | None = None,
    root: Path | None = None,
) -> LucsConfig:
    """Merge the layers; without an explicit file, `lucs.toml` then `pyproject.toml` in `root`."""
    root = root or Path.cwd()
    env = environment(os.environ if environ is None else environ, root / ".env")
    profile = profile or env.get(ENV_PREFIX + "PROFILE") or None
    if config_file is None:
        config_file = next((root / n for n in DEFAULT_CONFIG_FILES if (root / n).is_file()), None)
    merged: dict[str, Any] = {}
    if config_file is not None:
        merged |= file_layer(config_file, profile)
    elif profile is not None:
        raise ConfigError(f"profile {profile!r} asked for, but no lucs.toml or pyproject.toml in {root}")
    merged |= env_layer(env)
    merged |= cli_layer(cli or {})
    try:
        return LucsConfig(**merged)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise ConfigError(f"invalid LUCS configuration: {problems}") from None
