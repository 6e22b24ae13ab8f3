"""The authentication modes a LUCS installation may demand, as `requests` auth objects."""

from __future__ import annotations

from requests import PreparedRequest
from requests.auth import AuthBase, HTTPBasicAuth

from lucs_harness.config import ConfigError, LucsConfig


class HeaderAuth(AuthBase):
    """Sets one header on every request (bearer token or API key)."""

    def __init__(self, name: str, value: str) -> None:
        self.name, self.value = name, value

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers[self.name] = self.value
        return request


def _need(config: LucsConfig, *fields: str) -> list[str]:
    values = []
    for name in fields:
        value = getattr(config, name)
        raw = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        if not raw:
            raise ConfigError(
                f"auth mode {config.auth!r} needs {name} (LUCS_{name.upper()} or --lucs-{name.replace('_', '-')})"
            )
        values.append(raw)
    return values


def session_auth(config: LucsConfig) -> AuthBase | None:
    """The auth object for `config.auth`; a missing credential is a `ConfigError` before any call."""
    if config.auth == "basic":
        return HTTPBasicAuth(*_need(config, "username", "password"))
    if config.auth == "bearer":
        return HeaderAuth("Authorization", "Bearer " + _need(config, "token")[0])
    if config.auth == "apikey":
        return HeaderAuth(config.api_key_header, _need(config, "api_key")[0])
    if config.auth == "ntlm":
        from requests_ntlm import HttpNtlmAuth  # imported here: only NTLM installations need it

        username, password = _need(config, "username", "password")
        return HttpNtlmAuth(username, password)
    return None
