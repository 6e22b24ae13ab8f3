"""The schemas accept the documented examples and reject what breaks them, formats included."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from lucs_harness.contract import SCHEMAS_DIR, Contract, default_contract
from lucs_harness.errors import SchemaViolation

DOCUMENTED = sorted(name for name, schema in default_contract().schemas.items() if "examples" in schema)


def example(name: str) -> Any:
    return default_contract().example(name)


@pytest.fixture
def contract() -> Contract:
    return default_contract()


def test_the_documented_examples_are_in_their_schemas() -> None:
    """A schema's documented example is its JSON Schema `examples`: the requests', the error's, the users'."""
    requests = ["callback-request.json", "presence-request.json", "task-request.json"]
    assert sorted([*requests, "error.json", "user-list.json"]) == DOCUMENTED
    assert not (SCHEMAS_DIR / "examples").exists()


@pytest.mark.parametrize("name", DOCUMENTED)
def test_every_documented_example_validates(contract: Contract, name: str) -> None:
    for documented in contract.schemas[name]["examples"]:
        assert contract.check(name, documented).violations == ()


def test_every_schema_is_2020_12_and_has_a_title(contract: Contract) -> None:
    for name, schema in contract.schemas.items():
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", name
        assert schema["title"], name


def test_every_field_of_the_documented_user_is_required(contract: Contract) -> None:
    documented = set(example("user-list.json")[0])
    assert set(contract.schemas["user.json"]["required"]) == documented


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda u: u.update(IsSelectable="true"), "$[0].IsSelectable"),
        (lambda u: u.pop("PresenceState"), "$[0]"),
        (lambda u: u.update(Id="not-a-guid"), "$[0].Id"),
        (lambda u: u.update(NumberOfSimultaneousIm=2.5), "$[0].NumberOfSimultaneousIm"),
        (lambda u: u["Capabilities"].update(Im=None), "$[0].Capabilities.Im"),
        (lambda u: u.update(SipUri="smoky.cc@dev.local"), "$[0].SipUri"),
    ],
)
def test_a_broken_user_is_a_violation_named_by_json_path(contract: Contract, mutate: Any, path: str) -> None:
    users = example("user-list.json")
    mutate(users[0])
    violations = contract.check("user-list.json", users).violations
    assert violations
    assert any(v.startswith(path + ":") for v in violations), violations


def test_a_malformed_date_time_in_a_task_is_a_violation(contract: Contract) -> None:
    task: dict[str, Any] = {
        "Id": "854822ed-4a2a-4eb1-b07f-637ed3eab729",
        "ExternalTaskId": "x",
        "Type": None,
        "State": "Pending",
        "CustomerIdentifier": None,
        "Created": "yesterday",
        "QueueStarted": None,
        "Connected": None,
        "InitialModalityType": None,
        "OriginType": None,
        "OriginTypeCustom": None,
        "ContextParameters": [],
        "ReservedUserObject": None,
    }
    assert contract.check("task.json", task).violations == ('$.Created: "yesterday" is not a "date-time"',)
    assert contract.check("task.json", task | {"Created": "2026-01-01T08:00:00Z"}).violations == ()


@pytest.mark.parametrize(
    "body", ["854822ed-4a2a-4eb1-b07f-637ed3eab729", {"TaskId": "854822ed-4a2a-4eb1-b07f-637ed3eab729"}]
)
def test_a_task_id_is_a_bare_guid_or_wrapped(contract: Contract, body: Any) -> None:
    assert contract.check("task-id.json", body).violations == ()


@pytest.mark.parametrize("body", ["42", 42, {"TaskId": "x"}, {"Id": "854822ed-4a2a-4eb1-b07f-637ed3eab729"}])
def test_anything_else_is_not_a_task_id(contract: Contract, body: Any) -> None:
    assert contract.check("task-id.json", body).violations


def test_unknown_fields_are_allowed_but_listed_and_fail_in_strict_mode(contract: Contract) -> None:
    users = copy.deepcopy(example("user-list.json"))
    users[0]["Department"] = "Support"
    users[0]["Capabilities"]["Hologram"] = True
    verdict = contract.check("user-list.json", users)
    assert verdict.violations == ()
    assert verdict.extras == ("$[0].Capabilities.Hologram", "$[0].Department")
    assert contract.validate("user-list.json", users, what="test") == verdict.extras
    with pytest.raises(SchemaViolation, match=r"\$\[0\]\.Department: unexpected field"):
        contract.validate("user-list.json", users, what="test", strict=True)


def test_a_violation_message_names_what_was_checked(contract: Contract) -> None:
    with pytest.raises(
        SchemaViolation, match=r"schema violation \(error.json\) in response of GET /x:\n  \$: \"Error\""
    ):
        contract.validate("error.json", {}, what="response of GET /x")


def test_an_unknown_schema_name_says_which_exist(contract: Contract) -> None:
    with pytest.raises(KeyError, match=r"known: .*user\.json"):
        contract.check("nope.json", {})


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Contract.from_folder(tmp_path)
