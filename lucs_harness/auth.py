"""The authentication modes a LUCS installation may demand, as `requests` auth objects."""

from __future__ import annotations

from requests import PreparedRequest
from requests.auth import AuthBase, HTTPBasicAuth

from lucs_harness.config import LucsConfig
from lucs_harness.errors import ConfigError


class QueryAuth(AuthBase):
    """Adds one query parameter to every request (an API key some installations read from the URL;
    the redactor masks its value wherever the URL is shown)."""

    def __init__(self, name: str, value: str) -> None:
        self.name, self.value = name, value

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.prepare_url(request.url, {self.name: self.value})
        return request


class HeaderAuth(AuthBase):
    """Sets one header on every request (bearer token or API key)."""

    def __init__(self, name: str, value: str) -> None:
        self.name, self.value = name, value

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers[self.name] = self.value
        return request


def session_auth(config: LucsConfig) -> AuthBase | None:
    """The auth object for `config.auth`. The model already refuses a mode without its credentials;
    the check here covers a config whose fields were set around its checks."""
    missing = config.missing_credentials()
    if missing:
        raise ConfigError("; ".join(missing))
    if config.auth == "basic":
        return HTTPBasicAuth(config.credential("username"), config.credential("password"))
    if config.auth == "bearer":
        return HeaderAuth("Authorization", "Bearer " + config.credential("token"))
    if config.auth == "apikey":
        placement, key = config.api_key_placement(), config.credential("api_key")
        if placement.where == "query":
            return QueryAuth(placement.name, key)
        return HeaderAuth(placement.name, placement.header_value(key))
    if config.auth == "ntlm":
        from requests_ntlm import HttpNtlmAuth  # imported here: only NTLM installations need it

        return HttpNtlmAuth(config.credential("username"), config.credential("password"))
    return None
