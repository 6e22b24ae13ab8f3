"""One typed configuration, layered: defaults < config file (or a profile in it) < environment
(and `.env`) < command line. Every fact LUCS does not document (`docs/lucs-api.md`) is a field here.

A field `foo_bar` is `foo_bar` in the file, `LUCS_FOO_BAR` in the environment and
`--lucs-foo-bar` on the command line; lists are comma-separated outside the file, and path
overrides are `operation=/path` pairs.

The model checks everything it can before anything is sent (credentials for the auth mode, URLs,
certificate files), so a bad configuration is one line from `load_config`, not a traceback later.
User info in the base URL (`http://user:pass@host`) becomes basic credentials and leaves the URL,
which would otherwise carry the password into every request URL, message and report.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from difflib import get_close_matches
from pathlib import Path
from types import UnionType
from typing import Any, Literal, get_args, get_origin, get_type_hints
from urllib.parse import unquote, urlsplit, urlunsplit

from lucs_harness.config_values import CONVERTERS, Secret, check_bounds, setting, text
from lucs_harness.errors import ConfigError
from lucs_harness.key_placement import DEFAULT_KEY_PLACEMENT, KeyPlacement, key_placement
from lucs_harness.operations import DEFAULT_PATHS, OPERATIONS
from lucs_harness.option_names import ENV_PREFIX, cli_option, env_name
from lucs_harness.redact import Redactor

SEED_SERVICE = "7830678b-03b1-4e71-af33-a3987142519f"
SEED_USER = "sip:smoky.cc@dev.local"
DEFAULT_CONFIG_FILES = ("lucs.toml", "pyproject.toml")

SECRET_FIELDS = ("password", "token", "api_key", "journal_key")
AUTH_NEEDS: dict[str, tuple[str, ...]] = {
    "basic": ("username", "password"),
    "bearer": ("token",),
    "apikey": ("api_key",),
    "ntlm": ("username", "password"),
}
URL_FIELDS = ("base_url", "proxy", "coordination")
FILE_FIELDS = ("ca_bundle", "client_cert", "client_key")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# a task's states as the configuration names them (`task_states`), in their order; LUCS documents
# no State names, so each installation's are configured (the mock's are its conventions)
TASK_STATE_KEYS = ("pending", "offered", "accepted", "closed")


def split_route(route: str) -> tuple[str, str]:
    """A `paths` value as (method, path): `POST /v1.0/…/close` or a bare `/path` (method "")."""
    method, _, path = route.rpartition(" ")
    return method.strip(), path


def option_dest(name: str) -> str:
    """Where argparse (and pytest) keep field `name`'s option: `lucs_<name>`, clear of other plugins'."""
    return "lucs_" + name


def add_field_options(add: Callable[..., object]) -> None:
    """Every field as a command-line option, through `add` (argparse's `add_argument` or pytest's
    `addoption`, which take the same arguments): the one loop the plugin and the doctor share."""
    for name in FIELDS:
        if is_flag(name):
            add(cli_option(name), action="store_const", const=True, default=None, help=help_of(name))
        else:
            add(cli_option(name), default=None, metavar=name.upper(), help=help_of(name))


def is_flag(name: str) -> bool:
    """A field of a false default is a bare flag on the command line (`--lucs-allow-changes`)."""
    return _TYPES[name] is bool and FIELDS[name].default is False


def _sources(name: str) -> str:
    """Where field `name` may be set, for a message that asks for it."""
    return f"{env_name(name)} or {cli_option(name)}"


def _split_userinfo(url: str) -> tuple[str, str | None]:
    """`url` without its user info, and the raw (still percent-encoded) user info, if any."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url, None
    return urlunsplit(parts._replace(netloc=host)), userinfo


def _userinfo_secret(url: str) -> str:
    """The secret in a URL's user info: the password, else a user alone (a token), else ""."""
    userinfo = _split_userinfo(url)[1] or ""
    user, colon, password = userinfo.partition(":")
    return password if colon and password else user


def mask_userinfo(url: str) -> str:
    """`url` with the secret of its user info (see `_userinfo_secret`) shown as `***`."""
    bare, userinfo = _split_userinfo(url)
    if userinfo is None:
        return url
    user, colon, password = userinfo.partition(":")
    shown = f"{user}:***" if colon and password else "***"
    parts = urlsplit(bare)
    return urlunsplit(parts._replace(netloc=f"{shown}@{parts.netloc}"))


def _url_problem(url: str) -> str | None:
    """Why `url` cannot be a root that requests go to, or None. A query or fragment would end up
    before every path appended to it."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:  # its text may quote part of a password: not shown
        return "is not a URL: the port must be a number, and a user or password must percent-encode / ? # @ :"
    if not parts.hostname:
        return f"{mask_userinfo(url)!r} has no host (expected scheme://host[:port])"
    if parts.query or parts.fragment:
        return f"{mask_userinfo(url)!r} must not have a query or fragment"
    return None


def _unreadable(path: str, folder_ok: bool) -> str | None:
    """Why `requests` could not read `path` (a CA folder is fine where `folder_ok`), or None."""
    try:
        if folder_ok and os.path.isdir(path):
            os.listdir(path)
        else:
            with open(path, "rb"):
                pass
    except OSError as error:
        return (error.strerror or str(error)).lower()
    return None


def _plain(value: object) -> str:
    """A credential as text ("" when unset), whether given as `Secret` or as text."""
    if isinstance(value, Secret):
        return value.reveal()
    return "" if value is None else str(value)


def _url_credentials(data: Mapping[str, Any], userinfo: str) -> dict[str, Any]:
    """The basic credentials the user info of the base URL stands for, as fields; a conflict with
    the configured ones is an error that shows neither password."""
    user, _, password = (unquote(part) for part in userinfo.partition(":"))
    if not (user and password):
        raise ValueError(
            "base_url: user info needs a user and a password; "
            f"or set username and password ({env_name('username')}, {env_name('password')})"
        )
    auth = data.get("auth") or "none"
    if auth not in ("none", "basic"):
        raise ValueError(f"base_url: user info in the URL means basic authentication, but auth is {auth!r}")
    if _plain(data.get("username")) not in ("", user) or _plain(data.get("password")) not in ("", password):
        raise ValueError("base_url: the user or password in the URL differs from the configured username or password")
    return {"auth": "basic", "username": user, "password": password}


@dataclass(init=False)
class LucsConfig:
    """Everything the harness needs to reach and drive one LUCS installation.

    Built from keyword arguments (the layers `load_config` merged), each checked and converted from
    text where it came as text; every problem is one `field: why` in one ConfigError. An assignment
    is checked the same way. `given` names the fields set explicitly, not left at their default."""

    base_url: str | None = setting(help="LUCS API root, e.g. https://lucs.example.com; unset = embedded mock")
    service_id: str = setting(SEED_SERVICE, help="GUID of the service whose users the suite drives")
    user: str = setting(SEED_USER, help="target user: SIP URI or user GUID")
    agents: list[str] = setting(factory=list, help="agent pool for parallel workers (SIP URIs or GUIDs)")
    lease_dir: str | None = setting(help="folder of the agent leases shared by parallel workers and runs")
    coordination: str | None = setting(
        help="PostgreSQL URL (postgresql://user@host:port/db) of the store that coordinates runs on several "
        "machines (agent leases, restore journal); unset = files, this machine only",
    )
    lease_wait: float = setting(
        600.0, ge=0, help="seconds to wait for a free agent while live runs lease the whole pool (then exit 13)"
    )
    paths: dict[str, str] = setting(
        factory=dict, help="endpoint path overrides: operation=/path or operation=METHOD /path"
    )
    connect_timeout: float = setting(3.05, gt=0, help="seconds to connect")
    read_timeout: float = setting(10.0, gt=0, help="seconds to wait for a response")
    exchange_timeout: float | None = setting(
        gt=0,
        help="seconds one exchange may take from connect to the last byte of the body, however slowly the "
        "bytes come (a read timeout restarts with every byte); unset = connect_timeout + read_timeout",
    )
    wait_timeout: float = setting(10.0, gt=0, help="deadline for states reached asynchronously")
    hold_time: float | None = setting(
        ge=0, help="how long a state that must stay (a pending task) is watched; unset = 0 on the mock, 2 s else"
    )
    poll_interval: float = setting(0.05, gt=0, help="seconds between polls while waiting")
    get_retries: int = setting(2, ge=0, le=10, help="retries of idempotent GETs on connection errors")
    unreachable_after: int = setting(
        3, ge=1, help="transport errors in a row after which the run stops as unreachable (exit 10)"
    )
    max_response_mb: float = setting(4.0, gt=0, help="largest response body read, in MB; a larger one fails")
    restore_timeout: float = setting(
        30.0,
        gt=0,
        help="seconds a scenario's restore may take (after an interrupt too; a second one cuts it short)",
    )
    journal_dir: str | None = setting(
        help="folder of the restore journal that a later run replays; unset = a per-user cache folder"
    )
    journal_key: Secret | None = setting(
        help="secret that signs the restore journal, with the credentials; needed by a fleet whose "
        "target takes none (unset there: a per-user key file)",
    )
    orphan_task_age: float = setting(
        600.0,
        ge=0,
        help="age in seconds (stamped in the ExternalTaskId) at which a harness task is closed before a run",
    )
    verify_tls: bool = setting(True, help="verify the server certificate")
    ca_bundle: str | None = setting(help="CA bundle file to verify the server with")
    client_cert: str | None = setting(help="client certificate file (PEM)")
    client_key: str | None = setting(help="client certificate key file (PEM)")
    proxy: str | None = setting(help="HTTP(S) proxy URL")
    allow_redirects: Literal["never", "same-origin"] = setting(
        "never",
        help="redirects followed: never (a 3xx fails its step), or same-origin (same scheme, host and port; "
        "at most 5; 301/302/303 for GET and HEAD only); https is never followed to http",
    )
    auth: Literal["none", "basic", "bearer", "apikey", "ntlm"] = setting("none", help="authentication mode")
    username: str | None = setting(help="user for basic or NTLM (DOMAIN\\user)")
    password: Secret | None = setting(help="password for basic or NTLM")
    token: Secret | None = setting(help="bearer token")
    api_key: Secret | None = setting(help="API key (created in the Web Configurator)")
    api_key_header: str = setting(
        str(DEFAULT_KEY_PLACEMENT),
        help="where the API key goes (undocumented by LUCS): a header name, `Authorization: SCHEME` "
        "(e.g. `Authorization: ApiKey`), or `?PARAM` for a query parameter",
    )
    presence_field: str = setting("Presence", help="field of the setpresence body (assumed)")
    task_states: dict[str, str] | None = setting(
        help="task State names to check, e.g. pending=Pending; unset = checked on the mock only"
    )
    close_tasks: bool = setting(True, help="close the tasks the suite created (the close_task operation)")
    close_by: Literal["ExternalTaskId", "TaskId"] = setting(
        "ExternalTaskId", help="the identifier the close call takes (assumed: closing is not documented)"
    )
    strict_schema: bool = setting(False, help="fail on fields the schemas do not list")
    allow_changes: bool = setting(False, help="run @changes-state scenarios against a real LUCS")
    dry_run: bool = setting(False, help="print the requests each scenario would send, send none")
    record: str | None = setting(
        help="folder keeping every exchange (redacted) as examples, with a drift report from the schemas"
    )
    reruns: int = setting(
        0, ge=0, le=5, help="retries of a failed scenario, restored between tries; a pass on a retry is flaky"
    )
    given: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def __init__(self, **values: Any) -> None:
        self._fill(values, frozenset(values))

    def _fill(self, values: Mapping[str, Any], given: frozenset[str], *, assigned: bool = False) -> None:
        problems = [_unknown(name) for name in values if name not in FIELDS]
        values = {name: value for name, value in values.items() if name in FIELDS}
        base_url = values.get("base_url")
        userinfo = _split_userinfo(base_url)[1] if isinstance(base_url, str) else None
        if userinfo is not None and assigned:
            problems.append("base_url: must not hold user info; give it as username and password")
        elif userinfo is not None:
            try:
                moved = _url_credentials(values, userinfo)
            except ValueError as error:
                problems.append(str(error))
            else:
                values |= moved | {"base_url": _split_userinfo(str(base_url))[0]}
                given |= set(moved)
        checked = {}
        for name, spec in FIELDS.items():
            try:
                checked[name] = _checked(name, values[name]) if name in values else _default(spec)
            except ValueError as error:
                problems.append(f"{name}: {error}")
        if problems:
            raise _invalid(problems)
        for name, value in checked.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "given", given)
        problems = self.missing_credentials() + self._file_problems()
        if problems:
            raise _invalid(problems)

    def __setattr__(self, name: str, value: Any) -> None:
        """An assignment is checked as the constructor checks, and leaves the config as it was if refused."""
        checked = self._copy({name: value}, assigned=True)
        for field_name in (*FIELDS, "given"):
            object.__setattr__(self, field_name, getattr(checked, field_name))

    def _values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELDS}

    def replaced(self, **changes: Any) -> LucsConfig:
        """A copy with `changes`, checked as the constructor checks; they count as given."""
        return self._copy(changes)

    def _copy(self, changes: Mapping[str, Any], *, assigned: bool = False) -> LucsConfig:
        copy = object.__new__(LucsConfig)
        copy._fill(self._values() | dict(changes), self.given | set(changes), assigned=assigned)
        return copy

    def _file_problems(self) -> list[str]:
        problems = [
            f"{name}: cannot read {path!r}: {why}"
            for name in FILE_FIELDS
            if (path := getattr(self, name)) and (why := _unreadable(path, folder_ok=name == "ca_bundle"))
        ]
        if self.client_key and not self.client_cert:
            problems.append(f"client_key: given without client_cert ({_sources('client_cert')})")
        return problems

    def credential(self, name: str) -> str:
        """The plain value of credential field `name`, "" when unset."""
        return _plain(getattr(self, name))

    def missing_credentials(self) -> list[str]:
        """One problem for each credential the auth mode needs but does not have."""
        return [
            f"{name}: auth mode {self.auth!r} needs {name} ({_sources(name)})"
            for name in AUTH_NEEDS.get(self.auth, ())
            if not self.credential(name)
        ]

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

    def pool_problem(self, workers: int | None, shard: str | None = None) -> str | None:
        """Why `workers` xdist workers cannot each lease an agent of the pool (of shard `shard`'s
        slice), or None; the embedded mock has one per worker."""
        pool = self.agent_pool()
        if self.is_mock or workers is None or workers <= len(pool):
            return None
        which = f"this shard's slice of the agent pool ({shard})" if shard else "the agent pool"
        return (
            f"{workers} xdist workers need {workers} agents, but {which} has {len(pool)} ({', '.join(pool)}); "
            "list more with --lucs-agents or run fewer workers"
        )

    def path(self, operation: str) -> str:
        """The configured path template of an operation."""
        return split_route(self.paths.get(operation, DEFAULT_PATHS[operation]))[1]

    def method(self, operation: str) -> str:
        """The configured method of an operation: a path override may name one (`POST /v1.0/…/close`)."""
        return split_route(self.paths.get(operation, ""))[0] or OPERATIONS[operation].method

    def close_identifier(self, task_id: object, external_task_id: str) -> str:
        """What the close call takes for a task (`close_by`): its TaskId or its ExternalTaskId."""
        return str(task_id) if self.close_by == "TaskId" else external_task_id

    def secrets(self) -> list[str]:
        """Every secret value configured, for redaction: the proxy's, as written and decoded, included
        (the base URL holds none: its user info became `password`)."""
        values = [self.credential(name) for name in SECRET_FIELDS]
        if self.proxy:
            values += [_userinfo_secret(self.proxy), unquote(_userinfo_secret(self.proxy))]
        password = urlsplit(self.coordination).password if self.coordination else None
        if password:  # the store's user alone is a name, not a secret
            values += [password, unquote(password)]
        return list(dict.fromkeys(v for v in values if v))

    def api_key_placement(self) -> KeyPlacement:
        """Where the API key goes, as `api_key_header` says (checked when the model was built)."""
        return key_placement(self.api_key_header)

    def redactor(self) -> Redactor:
        """What masks this configuration's secrets (and the API-key header) wherever they would show."""
        placement = self.api_key_placement()
        return Redactor(self.secrets(), [placement.name] if placement.where == "header" else [])

    def masked(self) -> dict[str, Any]:
        """The effective configuration with secrets shown as `***`, for display."""
        shown = self._values()
        for key in SECRET_FIELDS:
            if shown[key] is not None:
                shown[key] = "***"
        for name in ("proxy", "coordination"):
            if shown[name]:
                shown[name] = mask_userinfo(shown[name])
        shown["paths"] = {op: self.path(op) for op in DEFAULT_PATHS}
        return shown


FIELDS: dict[str, Field[Any]] = {spec.name: spec for spec in fields(LucsConfig) if "help" in spec.metadata}
_TYPES = get_type_hints(LucsConfig)


def _default(spec: Field[Any]) -> Any:
    return spec.default_factory() if spec.default_factory is not MISSING else spec.default


def default_of(name: str) -> Any:
    """Field `name`'s default value (a fresh one for a list or a table)."""
    return _default(FIELDS[name])


def help_of(name: str) -> str:
    """Field `name`'s help text, as the command line and the documentation show it."""
    return str(FIELDS[name].metadata["help"])


def choices_of(name: str) -> tuple[str, ...]:
    """The values field `name` takes where it has a fixed set (`auth`), else ()."""
    annotation = _TYPES[name]
    return get_args(annotation) if get_origin(annotation) is Literal else ()


def _invalid(problems: list[str]) -> ConfigError:
    """Every problem of a configuration, in one line."""
    return ConfigError("invalid LUCS configuration: " + "; ".join(problems).replace("\n", " "))


def _unknown(name: str) -> str:
    close = get_close_matches(name, FIELDS, n=1)
    return f"{name}: not a setting" + (f"; did you mean {close[0]}?" if close else "")


def _checked(name: str, value: Any) -> Any:
    """`value` as field `name` takes it (text converted), within its bounds and rules; ValueError says why not."""
    annotation = _TYPES[name]
    options = [a for a in get_args(annotation) if a is not type(None)] if get_origin(annotation) is UnionType else []
    if value is None:
        if type(None) in get_args(annotation):
            return None
        raise ValueError("must be set")
    kind = options[0] if options else annotation
    choices = choices_of(name)
    if choices and value not in choices:
        raise ValueError(f"must be one of {', '.join(map(repr, choices))}, not {value!r}")
    convert: Callable[[Any], Any] = CONVERTERS.get(get_origin(kind) or kind, text)
    converted = convert(value)
    check_bounds(FIELDS[name].metadata, converted)
    rule = _RULES.get(name)
    return rule(converted) if rule else converted


def _a_root_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    problem = _url_problem(value)
    if problem:
        raise ValueError(problem)
    return value.rstrip("/")


def _a_proxy_url(value: str) -> str:
    problem = _url_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _a_postgres_url(value: str) -> str:
    if not value.startswith(("postgresql://", "postgres://")):
        raise ValueError(f"{mask_userinfo(value)!r} is not a postgresql://user@host:port/db URL")
    return value


def _only_known(value: dict[str, str], known: Collection[str], what: str) -> None:
    """ValueError naming the keys of table `value` that are not among `known` (a table's keys are names)."""
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ValueError(f"unknown {what}(s) {unknown}; known: {', '.join(known)}")


def _known_operations(value: dict[str, str]) -> dict[str, str]:
    _only_known(value, DEFAULT_PATHS, "operation")
    for operation, route in value.items():
        method, path = split_route(route)
        if method not in ("", *METHODS) or not path.startswith("/"):
            raise ValueError(f"{operation}: {route!r} is not `/path` or `METHOD /path` (METHOD one of {METHODS})")
    return value


def _known_task_states(value: dict[str, str]) -> dict[str, str]:
    _only_known(value, TASK_STATE_KEYS, "task state")
    return value


def _a_key_placement(value: str) -> str:
    key_placement(value)
    return value


# the rules of single fields, past their type and bounds
_RULES: dict[str, Callable[[Any], Any]] = {
    "base_url": _a_root_url,
    "proxy": _a_proxy_url,
    "coordination": _a_postgres_url,
    "paths": _known_operations,
    "task_states": _known_task_states,
    "api_key_header": _a_key_placement,
}


def secrets_on_command_line(cli: Mapping[str, str | bool | None]) -> list[str]:
    """The options through which a secret came on the command line (`--lucs-password`, or
    `--lucs-base-url (password in the URL)`), given the same `cli` mapping as `load_config`.
    A secret there is seen by anyone who lists the processes and stays in the shell history: the
    caller warns, naming these options, and points to the environment or `.env` instead."""
    given = [cli_option(name) for name in SECRET_FIELDS if cli.get(name)]
    for name in URL_FIELDS:
        url = cli.get(name)
        if isinstance(url, str) and _userinfo_secret(url):
            given.append(f"{cli_option(name)} (password in the URL)")
    return given


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
    if not (dotenv and dotenv.is_file()):
        return dict(environ)
    from dotenv import dotenv_values  # only with a .env file: the import costs every start 20 ms

    return {k: v for k, v in dotenv_values(dotenv).items() if v is not None} | dict(environ)


def env_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    """The `LUCS_*` variables that name a configuration field."""
    layer = {}
    for name in FIELDS:
        value = environ.get(env_name(name))
        if value is not None and value != "":
            layer[name] = value
    return layer


def cli_layer(options: Mapping[str, str | bool | None]) -> dict[str, Any]:
    """Command-line values given (None means not given)."""
    return {name: value for name, value in options.items() if value is not None}


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
    return LucsConfig(**merged)
