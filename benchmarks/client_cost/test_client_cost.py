"""The scenario `benchmarks/suite_speed.py` runs to measure the client as a scenario pays for it:
the step gets the session's `lucs_client` from the plugin's fixture, with whatever listeners the
fixture attached (log, transport watch, Allure when `--alluredir` is given), so the benchmark never
rebuilds them and cannot drift from them. Raw `requests` takes the client's proxy settings; the
figures go, as JSON, to the file `CLIENT_COST_ENV` names. Not part of `make test`."""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import requests
from pytest_bdd import scenarios, when

from benchmarks.support import CLIENT_COST_ENV
from lucs_harness.client import LucsClient
from lucs_harness.config import SEED_SERVICE, LucsConfig

SEED_USER_ID = "854822ed-4a2a-4eb1-b07f-637ed3eab729"  # Curt, the seed's target user
ROUNDS, LOOPS = 9, 50  # a loop is 4 calls: list users (19 KB), block, unblock, set presence

scenarios("client_cost.feature", features_base_dir=str(Path(__file__).parent))


def per_call_ms(loop: Callable[[], None]) -> float:
    """Mean time of one call over `LOOPS` loops."""
    started = time.perf_counter()
    for _ in range(LOOPS):
        loop()
    return (time.perf_counter() - started) * 1000 / (LOOPS * 4)


def client_loop(client: LucsClient) -> Callable[[], None]:
    def loop() -> None:
        client.list_users(SEED_SERVICE)
        client.block(SEED_USER_ID)
        client.unblock(SEED_USER_ID)
        client.set_presence(SEED_USER_ID, "Online")

    return loop


def raw_loop(client: LucsClient) -> Callable[[], None]:
    """The same four calls with a bare `requests.Session`, with the client's proxy settings
    (environment lookup or not, explicit proxies), TLS verification and timeouts."""
    raw = requests.Session()
    raw.trust_env = client.session.trust_env
    raw.proxies = dict(client.session.proxies)
    raw.headers.update({"Accept": "application/json"})
    timeout = (client.config.connect_timeout, client.config.read_timeout)
    base, verify = client.base_url, client.verify

    def loop() -> None:
        raw.get(f"{base}/v1.0/services/{SEED_SERVICE}/users", timeout=timeout, verify=verify).json()
        raw.post(f"{base}/v1.0/users/{SEED_USER_ID}/block", timeout=timeout, verify=verify).json()
        raw.post(f"{base}/v1.0/users/{SEED_USER_ID}/unblock", timeout=timeout, verify=verify).json()
        raw.post(
            f"{base}/v1.0/users/{SEED_USER_ID}/setpresence", json={"Presence": "Online"}, timeout=timeout, verify=verify
        )

    return loop


@when("the client and raw requests send the same calls in interleaved rounds")
def interleaved(lucs_client: LucsClient, lucs_config: LucsConfig) -> None:
    """Rounds alternate, so all three see the same machine; the median of each is kept."""
    bare = LucsClient(lucs_config, lucs_client.base_url)  # the same client without any listener
    loops = {"client": client_loop(lucs_client), "raw": raw_loop(lucs_client), "bare": client_loop(bare)}
    samples: dict[str, list[float]] = {name: [] for name in loops}
    for loop in loops.values():
        loop()  # warm up: connections, caches
    for _ in range(ROUNDS):
        for name, loop in loops.items():
            samples[name].append(per_call_ms(loop))
    bare.close()
    figures = {
        "median_ms": {name: statistics.median(values) for name, values in samples.items()},
        "rounds_ms": samples,
        "listeners": [getattr(listener, "__qualname__", repr(listener)) for listener in lucs_client.listeners],
        "trust_env": lucs_client.session.trust_env,
        "proxies": bool(lucs_client.session.proxies),
    }
    Path(os.environ[CLIENT_COST_ENV]).write_text(json.dumps(figures), encoding="utf-8")
