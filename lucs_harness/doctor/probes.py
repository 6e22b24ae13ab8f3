"""The doctor's read-only probes: only GET requests, nothing on the target changes.

Reachability and TLS, authentication (with an API key and no placement configured, the usual
places are tried, each with a GET), the service, the target user and the agent pool as they are
now, and each operation's route: a GET on a POST or DELETE route tells "exists" (405, the route
answers another method) from "no such route" where the server makes the difference.

No probe follows a redirect (the client refuses them; the route probes send with a session that
cannot follow one): the credentials go to the configured origin only.
"""

from __future__ import annotations

import os
from typing import Any

import requests

from lucs_harness.client import Exchange, LucsClient
from lucs_harness.config import LucsConfig
from lucs_harness.doctor.findings import Diagnosis, Origin
from lucs_harness.errors import LucsError, RedirectRefused, TransportError
from lucs_harness.exit_codes import FAILED, UNREACHABLE
from lucs_harness.key_placement import key_placement
from lucs_harness.operations import OPERATIONS, PARAMETER
from lucs_harness.world import ANY_STATUS

# where installations put an API key, most usual first; a query parameter last (it lands in logs)
KEY_PLACEMENTS = tuple(
    key_placement(spec)
    for spec in ("X-API-Key", "Api-Key", "ApiKey", "Authorization: ApiKey", "Authorization: Bearer", "?api_key")
)
UNKNOWN_ID = "00000000-0000-4000-8000-00000000d0c7"  # a GUID no installation gives out
UNKNOWN_EXTERNAL_ID = "lucs-harness-doctor-unknown"
PROBE_BYTES = 65536  # of a route probe's answer: enough for an error envelope, bounded whatever comes
# where installations put an operation when not at its default path (probed, read-only, when the default is missing)
ALTERNATIVES: dict[str, tuple[str, ...]] = {
    "list_users": ("/v1.0/services/{serviceId}/agents",),
    "block_user": ("/v1.0/services/{serviceId}/users/{userId}/block",),
    "unblock_user": ("/v1.0/services/{serviceId}/users/{userId}/unblock",),
    "set_presence": (
        "/v1.0/users/{userId}/presence",
        "/v1.0/users/{userId}/setPresence",
        "/v1.0/services/{serviceId}/users/{userId}/setpresence",
    ),
}


def client_for(config: LucsConfig) -> LucsClient:
    assert config.base_url is not None
    return LucsClient(config, config.base_url)


def reach(config: LucsConfig, diagnosis: Diagnosis) -> Exchange | int:
    """The first GET: does it connect, does TLS verify, how long does a round trip take. Else the
    exit code that ends the examination: unreachable, or answered with a redirect (not followed)."""
    exchange = _get_services(config)
    if isinstance(exchange, TransportError):
        diagnosis.add("fail", "reach", f"no answer: {str(exchange).splitlines()[0]}")
        return UNREACHABLE
    if isinstance(exchange, RedirectRefused):
        diagnosis.add("fail", "reach", f"{str(exchange).splitlines()[0]}; is the base URL right?")
        return FAILED
    diagnosis.add("ok", "reach", f"{exchange.what} in {exchange.elapsed_ms:.0f} ms")
    if config.base_url and config.base_url.startswith("https://"):
        diagnosis.add(*_tls(config))
    return exchange


def _get_services(config: LucsConfig) -> Exchange | TransportError | RedirectRefused:
    """GET services with `config`'s credentials, whatever the answer (its form is judged later)
    but a redirect, which tells nothing about the target."""
    client = client_for(config)
    try:
        return client.send("list_services", expect=ANY_STATUS)
    except (TransportError, RedirectRefused) as error:
        return error
    except LucsError:  # answered, but not as documented: the service check says how
        assert client.last_exchange is not None
        return client.last_exchange
    finally:
        client.close()


def _tls(config: LucsConfig) -> tuple[Any, str, str]:
    if not config.verify_tls:
        return "warn", "tls", "the certificate is not verified (verify_tls false)"
    if config.ca_bundle:
        return "ok", "tls", f"the certificate verified with the CA bundle {config.ca_bundle}"
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    source = f"the CA bundle of REQUESTS_CA_BUNDLE ({bundle})" if bundle else "the CAs of certifi (requests' default)"
    return "ok", "tls", f"the certificate verified with {source}"


def authenticate(config: LucsConfig, first: Exchange, diagnosis: Diagnosis) -> LucsConfig | None:
    """The configuration whose credentials the target takes (an API key's placement found, if it
    was not configured), or None when it takes none of them."""
    if first.status not in (401, 403):
        how = "no credentials" if config.auth == "none" else f"{config.auth}" + _placement(config)
        diagnosis.add("ok", "auth", f"{how}: {first.what}")
        diagnosis.value("auth", config.auth, "given", first)
        if config.auth == "apikey":
            origin: Origin = "given" if "api_key_header" in config.given else "assumed"
            diagnosis.value("api_key_header", config.api_key_header, origin, first)
        return config
    if config.auth != "apikey" or "api_key_header" in config.given:
        hint = "set --lucs-auth and its credentials" if config.auth == "none" else "check the credentials and roles"
        diagnosis.add("fail", "auth", f"refused: {first.what} ({hint})")
        return None
    configured, tried = config.api_key_placement(), [f"{config.api_key_header} -> {first.status}"]
    for placement in KEY_PLACEMENTS:
        if placement == configured:
            continue
        candidate = config.replaced(api_key_header=str(placement))
        exchange = _get_services(candidate)
        if not isinstance(exchange, Exchange):
            continue
        if exchange.status not in (401, 403):
            diagnosis.add("ok", "auth", f"discovered: the API key goes in {str(placement)!r}: {exchange.what}")
            diagnosis.value("auth", "apikey", "given", exchange)
            evidence = f"{exchange.what}; refused elsewhere: {', '.join(tried)}"
            diagnosis.value("api_key_header", str(placement), "discovered", evidence)
            return candidate
        tried.append(f"{placement} -> {exchange.status}")
    diagnosis.add("fail", "auth", f"the API key was refused in every usual place ({'; '.join(tried)})")
    return None


def _placement(config: LucsConfig) -> str:
    return f" in {config.api_key_header!r}" if config.auth == "apikey" else ""


def service_and_users(config: LucsConfig, diagnosis: Diagnosis) -> list[dict[str, Any]]:
    """The configured service listed, its users, the target user and the agent pool among them."""
    client = client_for(config)
    try:
        services = client.send("list_services").response_body
        listed = next((s for s in services if str(s.get("Id", "")).lower() == config.service_id.lower()), None)
        if listed is None:
            shown = ", ".join(f"{s.get('Id')} ({s.get('Name')})" for s in services[:5])
            diagnosis.add("fail", "service", f"{config.service_id} is not listed; listed: {shown or 'none'}")
            return []
        diagnosis.add("ok", "service", f"{config.service_id} ({listed.get('Name')}) is listed")
        exchange = client.send("list_users", {"serviceId": config.service_id})
    except LucsError as error:
        diagnosis.add("fail", "service", str(error).splitlines()[0])
        return []
    finally:
        client.close()
    users: list[dict[str, Any]] = exchange.response_body
    diagnosis.add("ok", "users", f"{len(users)} users in the service: {exchange.what}")
    for role, ref in [("user", config.user), *(("agent", agent) for agent in config.agents if agent != config.user)]:
        _one_user(diagnosis, role, ref, users)
    return users


def find_user(users: list[dict[str, Any]], ref: str) -> dict[str, Any] | None:
    """A user by GUID or SIP URI (case-insensitive, as LUCS compares them)."""
    wanted = ref.lower()
    return next((u for u in users if wanted in (str(u.get("Id", "")).lower(), str(u.get("SipUri", "")).lower())), None)


def _one_user(diagnosis: Diagnosis, role: str, ref: str, users: list[dict[str, Any]]) -> None:
    user = find_user(users, ref)
    if user is None:
        diagnosis.add("fail", role, f"{ref} is not among the service's users")
        return
    now = (
        f"selectable {user.get('IsSelectable')}, blocked {user.get('IsBlockedByLuwareApi')}, "
        f"presence {user.get('PresenceState')}, not selectable because {user.get('NotSelectableReason')}"
    )
    ready = user.get("IsSelectable") is True and user.get("IsBlockedByLuwareApi") is False
    diagnosis.add("ok" if ready else "warn", role, f"{ref}: {now}" + ("" if ready else " (the suite needs it ready)"))


def routes(config: LucsConfig, diagnosis: Diagnosis) -> tuple[LucsConfig, dict[str, str]]:
    """Each operation's route: `exists`, `missing` or `unknown` (until a change is allowed); where
    the configured one is missing, the usual alternatives (a route found becomes the configuration's)."""
    client = client_for(config)
    found: dict[str, str] = {}
    try:
        for name in OPERATIONS:
            verdict, text = _route(client, config, name)
            if verdict != "exists":
                config, verdict, text = _alternative(client, config, name, diagnosis) or (config, verdict, text)
            found[name] = verdict
            diagnosis.add("ok" if verdict == "exists" else "info" if verdict == "unknown" else "warn", "route", text)
    finally:
        client.close()
    return config, found


def _alternative(
    client: LucsClient, config: LucsConfig, name: str, diagnosis: Diagnosis
) -> tuple[LucsConfig, str, str] | None:
    method = config.method(name)
    for path in ALTERNATIVES.get(name, ()):
        route = path if method == OPERATIONS[name].method else f"{method} {path}"
        candidate = config.replaced(paths={**config.paths, name: route})
        verdict, text = _route(client, candidate, name)
        if verdict == "exists":
            diagnosis.value(f"paths.{name}", route, "discovered", f"{text}; not at {config.path(name)}")
            return candidate, verdict, f"{text} (discovered: not at {config.path(name)})"
    return None


def _route(client: LucsClient, config: LucsConfig, name: str) -> tuple[str, str]:
    method, template = config.method(name), config.path(name)
    ids = {"serviceId": config.service_id, "externalTaskId": UNKNOWN_EXTERNAL_ID}
    path = PARAMETER.sub(lambda m: ids.get(m.group(1), UNKNOWN_ID), template)
    shown = f"{name} ({method} {template})"
    try:
        response = client.session.get(
            client.base_url + path,
            timeout=(config.connect_timeout, config.read_timeout),
            verify=client.verify,
            stream=True,
            allow_redirects=False,
        )
        body = response.raw.read(PROBE_BYTES, decode_content=True)
        response.close()
    except (requests.RequestException, OSError) as error:
        return "unknown", f"{shown}: no answer to GET ({type(error).__name__})"
    status, allow = response.status_code, response.headers.get("Allow", "")
    if 300 <= status < 400 and "Location" in response.headers:
        where = client.redactor.url(response.headers["Location"])
        return "unknown", f"{shown}: GET -> {status}, a redirect to {where} (not followed)"
    envelope = b'"Error"' in body
    if method == "GET":
        if status < 400 or (status == 404 and envelope):
            return "exists", f"{shown}: exists (GET -> {status}{' in the error envelope' if envelope else ''})"
        return "missing", f"{shown}: GET -> {status}{'' if envelope else ' without the error envelope'}: no such route?"
    if status == 405:
        methods = {m.strip().upper() for m in allow.split(",") if m.strip()}
        if methods and method not in methods:
            return "missing", f"{shown}: the route answers {allow}, not {method}"
        return "exists", f"{shown}: exists (GET -> 405{f', Allow: {allow}' if allow else ''})"
    return "unknown", f"{shown}: unknown until a change is allowed (GET -> {status})"
