"""The configuration is checked before anything is sent, credentials never stay in the base URL,
secrets on the command line are named for a warning, and redaction covers any user info and
percent-encoded secrets."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lucs_harness.config import LucsConfig, load_config, secrets_on_command_line
from lucs_harness.errors import ConfigError
from lucs_harness.redact import MASK, Redactor, scrub_files
from tests.support.suite import ROOT, child_env, suite_command


def config_error(tmp_path: Path, **cli: str) -> str:
    """The message `load_config` refuses `cli` with; it is always a single line."""
    with pytest.raises(ConfigError) as refused:
        load_config(cli=cli, environ={}, root=tmp_path)
    message = str(refused.value)
    assert "\n" not in message
    return message


# 1. checked before anything is sent


def test_an_auth_mode_without_its_secret_is_one_line_naming_the_field_and_where_to_set_it(tmp_path: Path) -> None:
    message = config_error(tmp_path, auth="apikey")
    assert message == (
        "invalid LUCS configuration: api_key: auth mode 'apikey' needs api_key (LUCS_API_KEY or --lucs-api-key)"
    )


@pytest.mark.parametrize(
    ("cli", "missing"),
    [
        ({"auth": "bearer"}, ["token"]),
        ({"auth": "basic", "username": "qa"}, ["password"]),
        ({"auth": "ntlm"}, ["username", "password"]),
    ],
)
def test_every_missing_credential_is_named(tmp_path: Path, cli: dict[str, str], missing: list[str]) -> None:
    message = config_error(tmp_path, **cli)
    for name in missing:
        assert f"{name}: auth mode {cli['auth']!r} needs {name} (LUCS_{name.upper()} or --lucs-{name})" in message


def test_a_model_built_without_its_secret_is_refused_at_once() -> None:
    with pytest.raises(ConfigError, match="auth mode 'bearer' needs token"):
        LucsConfig(auth="bearer")


@pytest.mark.parametrize("url", ["http://", "https://:443", "http:///x"])
def test_a_base_url_without_a_host_is_refused(tmp_path: Path, url: str) -> None:
    assert f"base_url: {url!r} has no host" in config_error(tmp_path, base_url=url)


@pytest.mark.parametrize("url", ["http://lucs/?tenant=1", "http://lucs#top"])
def test_a_base_url_with_a_query_or_fragment_is_refused(tmp_path: Path, url: str) -> None:
    assert f"base_url: {url!r} must not have a query or fragment" in config_error(tmp_path, base_url=url)


@pytest.mark.parametrize("url", ["http://", "http://qa:pr0xy@:3128", "http://proxy:3128/?x=1", "proxy:3128"])
def test_a_bad_proxy_url_is_refused_without_showing_its_password(tmp_path: Path, url: str) -> None:
    message = config_error(tmp_path, proxy=url)
    assert message.startswith("invalid LUCS configuration: proxy: ")
    assert "pr0xy" not in message


def test_a_missing_ca_bundle_names_the_file_and_the_reason(tmp_path: Path) -> None:
    missing = tmp_path / "corp-ca.pem"
    message = config_error(tmp_path, ca_bundle=str(missing))
    assert f"ca_bundle: cannot read {str(missing)!r}: no such file" in message


def test_a_client_certificate_must_be_a_readable_file_and_a_key_needs_a_certificate(tmp_path: Path) -> None:
    message = config_error(tmp_path, client_cert=str(tmp_path), client_key=str(tmp_path / "key.pem"))
    assert f"client_cert: cannot read {str(tmp_path)!r}: is a directory" in message
    assert f"client_key: cannot read {str(tmp_path / 'key.pem')!r}: no such file" in message
    key = tmp_path / "key.pem"
    key.write_text("key")
    assert "client_key: given without client_cert (LUCS_CLIENT_CERT or --lucs-client-cert)" in config_error(
        tmp_path, client_key=str(key)
    )


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("ca")
    bundle.chmod(0)
    assert f"ca_bundle: cannot read {str(bundle)!r}: permission denied" in config_error(tmp_path, ca_bundle=str(bundle))


def test_readable_files_and_a_ca_folder_pass(tmp_path: Path) -> None:
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_text("cert")
    key.write_text("key")
    config = load_config(
        cli={"ca_bundle": str(tmp_path), "client_cert": str(cert), "client_key": str(key)}, environ={}, root=tmp_path
    )
    assert (config.ca_bundle, config.client_cert, config.client_key) == (str(tmp_path), str(cert), str(key))


def test_the_plugin_stops_with_one_line_and_exit_4_before_any_scenario(tmp_path: Path) -> None:
    missing = str(tmp_path / "ca.pem")
    done = subprocess.run(
        suite_command("--lucs-auth", "apikey", "--lucs-ca-bundle", missing, "-p", "no:cacheprovider"),
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 4, done.stdout + done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "api_key: auth mode 'apikey' needs api_key" in lines[0]
    assert f"ca_bundle: cannot read {missing!r}: no such file" in lines[0]


# 2. credentials in the base URL's user info become basic credentials


def test_user_info_leaves_the_base_url_and_becomes_basic_credentials() -> None:
    config = LucsConfig(base_url="http://qa:s3cret@h")
    assert config.base_url == "http://h"
    assert (config.auth, config.username, config.credential("password")) == ("basic", "qa", "s3cret")
    for shown in (repr(config), str(config), str(vars(config)), str(config.masked())):
        assert "s3cret" not in shown
    assert config.secrets() == ["s3cret"]


def test_user_info_is_percent_decoded_as_requests_would(tmp_path: Path) -> None:
    config = load_config(cli={"base_url": "https://CORP%5Cqa:p%40ss%3Aw@lucs:8443/"}, environ={}, root=tmp_path)
    assert config.base_url == "https://lucs:8443"
    assert (config.username, config.credential("password")) == ("CORP\\qa", "p@ss:w")


def test_user_info_fills_basic_credentials_not_configured_and_agrees_with_matching_ones(tmp_path: Path) -> None:
    environ = {"LUCS_AUTH": "basic", "LUCS_USERNAME": "qa"}
    config = load_config(cli={"base_url": "http://qa:s3cret@h"}, environ=environ, root=tmp_path)
    assert (config.auth, config.username, config.credential("password")) == ("basic", "qa", "s3cret")


@pytest.mark.parametrize(
    ("url", "environ", "problem"),
    [
        ("http://qa:s3cret@h", {"LUCS_AUTH": "apikey", "LUCS_API_KEY": "k"}, "means basic authentication, but auth is"),
        ("http://qa:s3cret@h", {"LUCS_USERNAME": "other"}, "differs from the configured username or password"),
        ("http://qa:s3cret@h", {"LUCS_PASSWORD": "0ther"}, "differs from the configured username or password"),
        ("http://s3cret@h", {}, "user info needs a user and a password"),
        ("http://:s3cret@h", {}, "user info needs a user and a password"),
    ],
)
def test_user_info_that_conflicts_or_is_half_is_an_error_that_shows_no_secret(
    tmp_path: Path, url: str, environ: dict[str, str], problem: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(cli={"base_url": url}, environ=environ, root=tmp_path)
    message = str(refused.value)
    assert message.startswith("invalid LUCS configuration: base_url: ")
    assert problem in message
    assert "s3cret" not in message
    assert "0ther" not in message


def test_the_base_url_cannot_take_user_info_by_assignment_either() -> None:
    config = LucsConfig(base_url="http://h")
    with pytest.raises(ConfigError) as refused:
        config.base_url = "http://qa:s3cret@h"
    assert "s3cret" not in str(refused.value)
    assert config.base_url == "http://h"


def test_the_proxy_keeps_its_user_info_but_masked_and_secrets_cover_it() -> None:
    config = LucsConfig(base_url="http://qa:s3cret@lucs:8080", proxy="http://pu:pr%40xy@proxy:3128")
    assert config.proxy == "http://pu:pr%40xy@proxy:3128"  # requests needs it in the proxy URL
    assert config.secrets() == ["s3cret", "pr%40xy", "pr@xy"]
    shown = config.masked()
    assert "s3cret" not in str(shown)
    assert "pr%40xy" not in str(shown)
    assert shown["proxy"] == "http://pu:***@proxy:3128"
    assert (shown["base_url"], shown["auth"], shown["username"], shown["password"]) == (
        "http://lucs:8080",
        "basic",
        "qa",
        "***",
    )
    assert shown["service_id"] == LucsConfig().service_id
    assert shown["paths"]["block_user"] == "/v1.0/users/{userId}/block"


def test_a_proxy_user_alone_is_treated_as_a_token() -> None:
    config = LucsConfig(proxy="http://t0ken@proxy:3128")
    assert config.secrets() == ["t0ken"]
    assert config.masked()["proxy"] == "http://***@proxy:3128"


# 3. secrets on the command line


def test_secrets_on_the_command_line_are_named_by_their_option() -> None:
    cli: dict[str, str | bool | None] = {
        "password": "pw",
        "token": None,
        "api_key": "",
        "base_url": "http://qa:pw@lucs",
        "proxy": "http://proxy:3128",
        "user": "sip:qa@corp",
        "dry_run": True,
    }
    assert secrets_on_command_line(cli) == ["--lucs-password", "--lucs-base-url (password in the URL)"]
    assert secrets_on_command_line({"proxy": "http://pu:pp@proxy", "token": "t"}) == [
        "--lucs-token",
        "--lucs-proxy (password in the URL)",
    ]
    assert secrets_on_command_line({}) == []


# 4. redaction: any user info, and secrets also percent-encoded


def test_a_url_loses_any_user_info_a_token_alone_included() -> None:
    redactor = Redactor()
    assert redactor.url("http://t0ken@Lucs:8080/v1.0") == f"http://{MASK}@Lucs:8080/v1.0"
    assert redactor.url("http://qa:pw@[::1]:8080/v1.0") == f"http://{MASK}@[::1]:8080/v1.0"
    assert redactor.url("http://lucs/v1.0/users/a@b") == "http://lucs/v1.0/users/a@b"


def test_a_secret_is_masked_as_written_and_percent_encoded() -> None:
    redactor = Redactor(["p@ss/w rd"])
    assert redactor.text("a p@ss/w rd b") == f"a {MASK} b"
    assert redactor.text("a p%40ss%2Fw%20rd b") == f"a {MASK} b"
    assert redactor.text("a p%40ss%2fw+rd b") == f"a {MASK} b"
    assert redactor.text("a p%40ss b") == "a p%40ss b"
    assert redactor.url("http://lucs/?k=p%40ss%2Fw%20rd") == f"http://lucs/?k={MASK}"


def test_files_with_only_the_encoded_secret_are_scrubbed_too(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text('{"url": "http://lucs/?k=p%40ss"}')
    assert scrub_files([tmp_path], ["p@ss"]) == [tmp_path / "report.json"]
    assert (tmp_path / "report.json").read_text() == '{"url": "http://lucs/?k=***"}'
