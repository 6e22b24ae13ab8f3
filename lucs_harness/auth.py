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


def session_auth(config: LucsConfig) -> AuthBase | None:
    """The auth object for `config.auth`. The model already refuses a mode without its credentials;
    the check here covers a config built without validation (`model_construct`)."""
    missing = config.missing_credentials()
    if missing:
        raise ConfigError("; ".join(missing))
    if config.auth == "basic":
        return HTTPBasicAuth(config.credential("username"), config.credential("password"))
    if config.auth == "bearer":
        return HeaderAuth("Authorization", "Bearer " + config.credential("token"))
    if config.auth == "apikey":
        return HeaderAuth(config.api_key_header, config.credential("api_key"))
    if config.auth == "ntlm":
        from requests_ntlm import HttpNtlmAuth  # imported here: only NTLM installations need it

        return HttpNtlmAuth(config.credential("username"), config.credential("password"))
    return None
