"""Configuration layers: defaults < file (profile) < environment (.env) < command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lucs_harness.auth import session_auth
from lucs_harness.config import FIELDS, SEED_SERVICE, SEED_USER, LucsConfig, default_of, load_config
from lucs_harness.errors import ConfigError
from lucs_harness.key_placement import KeyPlacement, key_placement
from tests.support.docs import page


def test_defaults_are_the_seed_and_the_mock(tmp_path: Path) -> None:
    config = load_config(environ={}, root=tmp_path)
    assert (config.base_url, config.service_id, config.user, config.is_mock) == (None, SEED_SERVICE, SEED_USER, True)
    assert config.path("block_user") == "/v1.0/users/{userId}/block"


def test_each_layer_overrides_the_one_below(tmp_path: Path) -> None:
    (tmp_path / "lucs.toml").write_text(
        'base_url = "http://file:1"\nread_timeout = 7\nuser = "sip:file@x"\n'
        '[profiles.staging]\nbase_url = "https://staging.example.com/"\n'
    )
    (tmp_path / ".env").write_text("LUCS_USER=sip:dotenv@x\nLUCS_WAIT_TIMEOUT=3\n")
    config = load_config(
        cli={"wait_timeout": "2", "agents": "sip:a@x, sip:b@x"},
        environ={"LUCS_USER": "sip:env@x", "LUCS_PATHS": "block_user=/v2/block/{userId}"},
        profile="staging",
        root=tmp_path,
    )
    assert config.base_url == "https://staging.example.com"
    assert config.read_timeout == 7
    assert config.user == "sip:env@x"
    assert config.wait_timeout == 2
    assert config.agents == ["sip:a@x", "sip:b@x"]
    assert config.path("block_user") == "/v2/block/{userId}"


def test_pyproject_tool_lucs_table_is_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.lucs]\nservice_id = "abc"\n')
    assert load_config(environ={}, root=tmp_path).service_id == "abc"


@pytest.mark.parametrize(
    ("cli", "message"),
    [
        ({"base_url": "ftp://x"}, "base_url: must start with http"),
        ({"read_timeout": "-1"}, "read_timeout: must be greater than 0"),
        ({"read_timeout": "1O"}, "read_timeout: must be a number, not '1O'"),
        ({"read_timeout": "nan"}, "read_timeout: must be a number, not 'nan'"),
        ({"get_retries": "1.5"}, "get_retries: must be a whole number, not '1.5'"),
        ({"get_retries": "11"}, "get_retries: must be at most 10"),
        ({"verify_tls": "maybe"}, "verify_tls: must be true or false, not 'maybe'"),
        ({"auth": "kerberos"}, "auth: must be one of 'none', 'basic', 'bearer', 'apikey', 'ntlm', not 'kerberos'"),
        ({"paths": "nope=/x"}, "unknown operation"),
        ({"paths": "nope"}, "key=value"),
    ],
)
def test_bad_values_name_the_field(tmp_path: Path, cli: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(cli=cli, environ={}, root=tmp_path)
    assert message in str(refused.value)


def test_every_bad_value_is_named_in_one_line_and_a_misspelt_setting_gets_a_suggestion(tmp_path: Path) -> None:
    (tmp_path / "lucs.toml").write_text('read_timout = 4\nverify_tls = "no"\nagents = [1]\n')
    with pytest.raises(ConfigError) as refused:
        load_config(cli={"lease_wait": "-1"}, environ={"LUCS_GET_RETRIES": "x"}, root=tmp_path)
    assert str(refused.value) == (
        "invalid LUCS configuration: read_timout: not a setting; did you mean read_timeout?; "
        "agents: must be a list of text; lease_wait: must be at least 0; get_retries: must be a whole number, not 'x'"
    )


def test_text_from_the_environment_becomes_what_each_field_takes(tmp_path: Path) -> None:
    environ = {"LUCS_VERIFY_TLS": "off", "LUCS_GET_RETRIES": "4", "LUCS_READ_TIMEOUT": " 2.5 ", "LUCS_AGENTS": "a, b,"}
    config = load_config(environ=environ | {"LUCS_PATHS": "list_users=/u"}, root=tmp_path)
    assert (config.verify_tls, config.get_retries, config.read_timeout) == (False, 4, 2.5)
    assert (config.agents, config.paths) == (["a", "b"], {"list_users": "/u"})
    assert config.given == {"verify_tls", "get_retries", "read_timeout", "agents", "paths"}


def test_an_unknown_profile_lists_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "lucs.toml").write_text("[profiles.staging]\n")
    with pytest.raises(ConfigError, match="no profile 'prod'; profiles: staging"):
        load_config(environ={}, profile="prod", root=tmp_path)


def test_secrets_are_masked_and_listed(tmp_path: Path) -> None:
    config = load_config(environ={"LUCS_AUTH": "apikey", "LUCS_API_KEY": "s3cret"}, root=tmp_path)
    assert config.masked()["api_key"] == "***"
    assert "s3cret" not in str(config.masked())
    assert "s3cret" not in repr(config)
    assert config.secrets() == ["s3cret"]


def test_an_assignment_or_a_copy_is_checked_as_the_constructor_checks() -> None:
    config = LucsConfig(read_timeout=4)
    with pytest.raises(ConfigError, match="read_timeout: must be a number, not 'x'"):
        config.read_timeout = "x"  # type: ignore[assignment]  # text, as the environment gives it
    with pytest.raises(ConfigError, match="read_timout: not a setting; did you mean read_timeout"):
        config.read_timout = 5
    with pytest.raises(ConfigError, match="get_retries: must be at most 10"):
        config.replaced(get_retries=11)
    assert (config.read_timeout, config.get_retries) == (4.0, 2)  # as it was
    config.read_timeout = "2.5"  # type: ignore[assignment]
    copy = config.replaced(agents="a,b")
    assert (config.read_timeout, copy.read_timeout, copy.agents, config.agents) == (2.5, 2.5, ["a", "b"], [])
    assert copy.given == {"read_timeout", "agents"}


def unchecked(**values: str) -> LucsConfig:
    """A default configuration with `values` set around its checks (as a careless caller could)."""
    config = LucsConfig()
    for name, value in values.items():
        object.__setattr__(config, name, value)
    return config


def test_an_auth_mode_without_its_secret_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="auth mode 'bearer' needs token"):
        load_config(cli={"auth": "bearer"}, environ={}, root=tmp_path)
    with pytest.raises(ConfigError, match="auth mode 'bearer' needs token"):  # unvalidated: session_auth still checks
        session_auth(unchecked(auth="bearer"))


def test_the_configuration_page_documents_every_option() -> None:
    """docs/configuration.md's option table has a row per field: its option, variable and default."""
    rows = {
        line.split("|")[1].strip().split()[0]: line
        for line in page("configuration.md").splitlines()
        if line.startswith("| `--lucs-")
    }
    for name in FIELDS:
        row = rows.get(f"`--lucs-{name.replace('_', '-')}`")
        assert row is not None, name
        assert f"`LUCS_{name.upper()}`" in row, name
        default = default_of(name)
        if isinstance(default, bool | int | float | str) and default != "":
            shown = row.split("|")[3].strip()
            assert shown.strip("`") in {str(default), f"{default:g}" if isinstance(default, float) else ""}, name


def test_a_profile_can_come_from_the_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / "lucs.toml").write_text('[profiles.staging]\nbase_url = "https://staging"\n')
    (tmp_path / ".env").write_text("LUCS_PROFILE=staging\n")
    assert load_config(environ={}, root=tmp_path).base_url == "https://staging"


def test_each_auth_mode_builds_its_requests_auth() -> None:
    from requests.auth import HTTPBasicAuth
    from requests_ntlm import HttpNtlmAuth

    from lucs_harness.auth import HeaderAuth

    assert session_auth(LucsConfig()) is None
    assert isinstance(session_auth(LucsConfig(auth="basic", username="u", password="p")), HTTPBasicAuth)
    assert isinstance(session_auth(LucsConfig(auth="ntlm", username="CORP\\qa", password="p")), HttpNtlmAuth)
    header = session_auth(LucsConfig(auth="apikey", api_key="k", api_key_header="X-LUCS-Key"))
    assert isinstance(header, HeaderAuth)
    assert (header.name, header.value) == ("X-LUCS-Key", "k")
    with pytest.raises(ConfigError, match="auth mode 'ntlm' needs username"):
        session_auth(unchecked(auth="ntlm"))


@pytest.mark.parametrize(
    ("placement", "url", "header"),
    [
        ("Api-Key", "https://lucs.example.com/v1.0/services", ("Api-Key", "k3y")),
        ("Authorization: ApiKey", "https://lucs.example.com/v1.0/services", ("Authorization", "ApiKey k3y")),
        ("Authorization: Bearer", "https://lucs.example.com/v1.0/services", ("Authorization", "Bearer k3y")),
        ("?api_key", "https://lucs.example.com/v1.0/services?api_key=k3y", None),
    ],
)
def test_the_api_key_goes_where_the_installation_reads_it(
    placement: str, url: str, header: tuple[str, str] | None
) -> None:
    import requests

    config = LucsConfig(auth="apikey", api_key="k3y", api_key_header=placement)
    prepared = requests.Request("GET", "https://lucs.example.com/v1.0/services", auth=session_auth(config)).prepare()
    assert prepared.url == url
    if header is not None:
        assert prepared.headers[header[0]] == header[1]
    assert "k3y" not in config.redactor().text(str(prepared.url))


@pytest.mark.parametrize("placement", ["X API Key", "Authorization: Api Key", "?", "?a b", "?a&b", ""])
def test_an_api_key_placement_that_is_none_of_the_forms_is_refused(placement: str) -> None:
    with pytest.raises(ValueError, match="is not a header name"):
        LucsConfig(api_key_header=placement)


@pytest.mark.parametrize(
    ("spec", "placement", "canonical"),
    [
        ("X-API-Key", KeyPlacement("header", "X-API-Key"), "X-API-Key"),
        (" Authorization :  ApiKey ", KeyPlacement("header", "Authorization", "ApiKey"), "Authorization: ApiKey"),
        ("?api_key", KeyPlacement("query", "api_key"), "?api_key"),
    ],
)
def test_a_key_placement_reads_as_one_typed_value_and_writes_back_canonically(
    spec: str, placement: KeyPlacement, canonical: str
) -> None:
    assert key_placement(spec) == placement
    assert str(placement) == canonical
    assert key_placement(canonical) == placement


@pytest.mark.parametrize(
    ("old", "new"),
    [("header:X-Key", "X-Key"), ("authorization:ApiKey", "Authorization: ApiKey"), ("query:api_key", "?api_key")],
)
def test_the_mocks_former_placement_syntax_is_refused_naming_the_new_form(old: str, new: str) -> None:
    with pytest.raises(ValueError, match=f"^'{re.escape(old)}' is the old form; write '{re.escape(new)}'$"):
        key_placement(old)
    assert key_placement(new)


def test_a_path_override_may_name_the_method() -> None:
    config = LucsConfig(paths={"close_task": "POST /v1.0/tasks/{taskIdentifier}/close"})
    assert (config.method("close_task"), config.path("close_task")) == ("POST", "/v1.0/tasks/{taskIdentifier}/close")
    assert (config.method("block_user"), config.path("block_user")) == ("POST", "/v1.0/users/{userId}/block")
    with pytest.raises(ValueError, match="is not `/path` or `METHOD /path`"):
        LucsConfig(paths={"close_task": "FETCH /v1.0/tasks/{taskIdentifier}"})


def test_a_task_state_the_harness_does_not_know_is_refused_naming_the_known() -> None:
    with pytest.raises(ConfigError, match=r"unknown task state\(s\) \['pendin'\]; known: pending, offered"):
        load_config(cli={"task_states": "pendin=Waiting"}, environ={}, root=Path("/nonexistent"))
