"""The cheap attachment of an exchange is as redacted as the thorough record: keys masked in one
walk, secret values found by one search of the JSON text, the record redacted string by string
wherever that search finds something or could miss it; and its file is listed on the step at once
and on disk before Allure writes the test's result."""

from __future__ import annotations

import copy
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import allure_commons
import orjson
import pytest
from allure_commons.lifecycle import AllureLifecycle
from allure_commons.logger import AllureFileLogger

from lucs_harness.client import Exchange
from lucs_harness.contract import default_contract
from lucs_harness.redact import MASK, SECRET_KEYS, Redactor, keys_masked
from lucs_harness.reporting.exchanges import (
    AllureSink,
    GuardedFileLogger,
    allure_listener,
    attachment,
    exchange_record,
    indented_json,
    write_new,
)
from lucs_harness.reporting.faults import ALLURE, ReportFaults
from tests.support.faults import file_size_limit

USERS = default_contract().example("user-list.json")


def exchange(response: Any, request: Any = None, url: str = "http://lucs/v1.0/users", **headers: str) -> Exchange:
    return Exchange(
        "list_users", "GET", url, request_body=request, status=200, response_body=response,
        response_text=json.dumps(response), request_headers=dict(headers),
    )  # fmt: skip


def thorough(item: Exchange, redactor: Redactor) -> Any:
    """What the attachment must hold: the record redacted string by string, as JSON."""
    return json.loads(json.dumps(exchange_record(item, redactor)))


def reference_keys_masked(value: Any) -> Any:
    """The masking of keys as the redactor always did it, walking every value."""
    if isinstance(value, dict):
        return {k: MASK if SECRET_KEYS.search(str(k)) else reference_keys_masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [reference_keys_masked(v) for v in value]
    return value


def random_body(rng: random.Random, depth: int = 0) -> Any:
    names = ["Id", "Name", "Token", "PresenceToken", "password", "Items", "X-Api-Key", "Cookies", "note", 7]
    kind = rng.randrange(6 if depth < 4 else 3)
    if kind == 0:
        return rng.choice(["a", "s3cret", "", None, True, 12, 1.5])
    if kind in (1, 2):
        return rng.choice(["text", 0, None, False])
    if kind == 3:
        return [random_body(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 4:
        return tuple(random_body(rng, depth + 1) for _ in range(rng.randrange(3)))
    return {rng.choice(names): random_body(rng, depth + 1) for _ in range(rng.randrange(5))}


def test_keys_are_masked_as_before_and_the_body_is_left_as_it_was() -> None:
    rng = random.Random(7)
    for _ in range(500):
        body = random_body(rng)
        kept = copy.deepcopy(body)
        assert json.loads(json.dumps(keys_masked(body))) == json.loads(json.dumps(reference_keys_masked(body)))
        assert body == kept


def test_a_user_list_has_its_tokens_masked_and_nothing_else_changed() -> None:
    masked = keys_masked(USERS)
    assert masked[0]["PresenceToken"] == MASK
    assert {k: v for k, v in masked[0].items() if k != "PresenceToken"} == {
        k: v for k, v in USERS[0].items() if k != "PresenceToken"
    }
    assert USERS[0]["PresenceToken"] != MASK


@pytest.mark.parametrize(
    "secrets",
    [
        [],
        ["0123456789abcdef0123456789abcdef"],  # an API key the bodies do not hold
        ["Day Shift"],  # a value in every user: found in the text, masked string by string
        ['p"ss\\w'],  # written escaped in JSON: searched string by string
        ["tab\there"],
        ["p@ss w"],  # and percent-encoded, a space as + too
    ],
)
def test_the_attachment_holds_what_the_thorough_record_holds(secrets: list[str]) -> None:
    redactor = Redactor(secrets, ["X-LUCS-Key"])
    users = copy.deepcopy(USERS)
    users[0]["Note"] = f"said {secrets[0]} twice: {secrets[0]}" if secrets else "nothing"
    item = exchange(
        users, {"Presence": secrets[0] if secrets else "Online"}, Authorization="Basic x", **{"X-LUCS-Key": "k"}
    )
    shown = json.loads(attachment(item, redactor))
    assert shown == thorough(item, redactor)
    assert shown["request"]["headers"] == {"Authorization": MASK, "X-LUCS-Key": MASK}
    for secret in secrets:
        assert secret not in json.dumps(shown, ensure_ascii=False)


def test_a_secret_the_record_keeps_in_a_key_or_a_url_is_masked_in_the_attachment_too() -> None:
    redactor = Redactor(["hunter2"])
    item = exchange({"hunter2": 1, "Id": "x"}, url="http://qa:hunter2@lucs/v1.0/users?k=hunter%32")
    text = attachment(item, redactor).decode()
    assert "hunter2" not in text
    assert "hunter%32" not in text
    assert f'"{MASK}": 1' in text


def test_large_integers_and_keys_that_are_not_strings_are_written_by_the_stdlib() -> None:
    value = {"big": 2**70, 3: "three"}
    assert json.loads(indented_json(value)) == {"big": 2**70, "3": "three"}
    assert indented_json({"a": [1]}) == orjson.dumps({"a": [1]}, option=orjson.OPT_INDENT_2)


@pytest.fixture
def running_allure(tmp_path: Path) -> Iterator[tuple[AllureLifecycle, Path]]:
    """Allure's lifecycle and file logger as allure-pytest-bdd registers them and the harness guards
    them, one test open."""

    class Api:  # what allure-pytest-bdd registers: a plugin holding the lifecycle
        def __init__(self, lifecycle: AllureLifecycle) -> None:
            self.lifecycle = lifecycle

    lifecycle, folder = AllureLifecycle(), tmp_path / "allure-results"  # type: ignore[no-untyped-call]
    api, logger = Api(lifecycle), AllureFileLogger(str(folder))  # type: ignore[no-untyped-call]
    allure_commons.plugin_manager.register(api)
    allure_commons.plugin_manager.register(logger)
    GuardedFileLogger.take_over(ReportFaults())
    try:
        with lifecycle.schedule_test_case() as test:
            test.name = "a scenario"
        yield lifecycle, folder
    finally:
        allure_commons.plugin_manager.unregister(api)
        allure_commons.plugin_manager.unregister(logger)


def test_every_attachment_is_listed_on_its_step_and_on_disk_before_the_result(
    running_allure: tuple[AllureLifecycle, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    lifecycle, folder = running_allure

    def slow_disk(path: str, data: bytes) -> None:
        time.sleep(0.005)
        write_new(path, data)

    monkeypatch.setattr("lucs_harness.reporting.exchanges.write_new", slow_disk)
    listen = allure_listener(Redactor(["s3cret"]))
    with lifecycle.start_step() as step:
        step.name = "When I list the users"
    for n in range(40):
        listen(exchange([{"Name": "s3cret", "Token": "t"}], url=f"http://lucs/v1.0/users/{n}"))
    lifecycle.stop_step()  # type: ignore[no-untyped-call]
    lifecycle.write_test_case()  # type: ignore[no-untyped-call]
    assert len(list(folder.glob("*-attachment.json"))) == 40
    result = json.loads(next(folder.glob("*-result.json")).read_text())
    attached = result["steps"][0]["attachments"]
    assert [a["name"] for a in attached] == [f"GET /v1.0/users/{n} -> 200 (0 ms)" for n in range(40)]
    for entry in attached:
        record = json.loads((folder / entry["source"]).read_text())
        assert record["response"]["body"] == [{"Name": MASK, "Token": MASK}]


def test_an_attachment_past_a_file_size_limit_breaks_the_allure_results_not_the_scenario(
    running_allure: tuple[AllureLifecycle, Path],
) -> None:
    """EFBIG (Python ignores SIGXFSZ): no exception reaches the step, the cut attachment and the
    results folder go, and nothing more is written into it (not the test's result either)."""
    lifecycle, folder = running_allure
    sink = AllureSink.running()
    assert sink is not None
    listen = allure_listener(Redactor())
    with lifecycle.start_step() as step:
        step.name = "When I list the users"
    listen(exchange([{"Name": "small"}]))
    with file_size_limit(200):
        listen(exchange(USERS))  # several kilobytes: cut at 200 bytes
        listen(exchange([{"Name": "small"}]))
        lifecycle.stop_step()  # type: ignore[no-untyped-call]
        lifecycle.write_test_case()  # type: ignore[no-untyped-call]
    assert not folder.exists()
    assert sink.logger.faults.failed[ALLURE] == f"{folder}: [Errno 27] File too large"
    assert len(step.attachments) == 1  # only the one written whole is listed


def test_without_a_running_allure_the_listener_uses_allure_attach(monkeypatch: pytest.MonkeyPatch) -> None:
    attached: list[bytes] = []
    monkeypatch.setattr("allure.attach", lambda body, **_: attached.append(body))
    allure_listener(Redactor())(exchange(USERS))
    assert json.loads(attached[0])["response"]["body"][0]["PresenceToken"] == MASK
