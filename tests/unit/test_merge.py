"""`lucs-acceptance merge`: the shards' reports folders become one, as if one runner had run them
all; the exit code is the run's, and shards that do not add up are said to."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from lucs_harness.reporting.merge import main, merge
from lucs_harness.reporting.options import Publishing
from lucs_harness.reporting.verdict import RUN_CLASS

CLASS = "tests.acceptance.test_features"


def case(name: str, outcome: str = "passed") -> str:
    inner = {"passed": "", "failed": '<failure message="boom"/>', "skipped": '<skipped message="s"/>'}[outcome]
    return f'<testcase classname="{CLASS}" name="{name}" time="0.5">{inner}</testcase>'


def scenario(name: str, line: int) -> dict[str, Any]:
    return {"id": name, "keyword": "Scenario", "name": name, "line": line, "type": "scenario", "steps": []}


def shard_folder(
    root: Path,
    label: str | None,
    cases: list[str],
    *,
    properties: dict[str, str] | None = None,
    features: list[dict[str, Any]] | None = None,
    environment: str = "target=embedded mock LUCS\nlucs.not_restored=nothing: every change was undone\n",
) -> Path:
    """A reports folder as one shard's `lucs-acceptance --lucs-shard` run leaves it."""
    folder = root / (label or "run").replace("/", "-of-")
    results = folder / "allure-results"
    results.mkdir(parents=True)
    props = ({"lucs.shard": label} if label else {}) | (properties or {})
    listed = "".join(f'<property name="{k}" value="{v}"/>' for k, v in props.items())
    (folder / "junit.xml").write_text(
        f'<testsuites name="pytest tests"><testsuite name="pytest" tests="{len(cases)}" time="2.0" '
        f'timestamp="2026-01-0{len(cases) % 9 + 1}T00:00:00"><properties>{listed}</properties>'
        f"{''.join(cases)}</testsuite></testsuites>"
    )
    (folder / "cucumber.json").write_text(json.dumps(features or []))
    (results / f"{folder.name}-result.json").write_text(json.dumps({"name": folder.name}))
    (results / "categories.json").write_text("[]")
    (results / "environment.properties").write_text(environment)
    return folder


def feature(uri: str, *elements: dict[str, Any]) -> dict[str, Any]:
    return {"uri": uri, "id": uri, "keyword": "Feature", "name": uri, "line": 1, "elements": list(elements)}


def merged_cases(out: Path) -> list[str]:
    return [c.get("name", "") for c in ET.parse(out / "junit.xml").getroot().iter("testcase")]


def test_two_shards_become_one_report_of_every_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = shard_folder(
        tmp_path,
        "1/2",
        [case("a"), case("c", "skipped")],
        features=[feature("f.feature", scenario("a", 10)), feature("g.feature", scenario("c", 3))],
    )
    two = shard_folder(
        tmp_path,
        "2/2",
        [case("b")],
        properties={"lucs.not_restored": "sip:x blocked"},
        features=[feature("f.feature", scenario("b", 5))],
        environment="target=embedded mock LUCS\nlucs.not_restored=sip:x blocked\n",
    )
    out = tmp_path / "merged"
    assert merge([one, two], Publishing(out, html=False)) == 0
    root = ET.parse(out / "junit.xml").getroot()
    [suite] = root.findall("testsuite")
    counts = [suite.get(name) for name in ("tests", "skipped", "failures", "time")]
    assert counts == ["3", "1", "0", "4.000"]
    assert merged_cases(out) == ["a", "c", "b"]
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties == {"lucs.shards": "1/2 | 2/2", "lucs.not_restored": "sip:x blocked"}
    features = json.loads((out / "cucumber.json").read_text())
    assert [(f["uri"], [e["name"] for e in f["elements"]]) for f in features] == [
        ("f.feature", ["b", "a"]),  # one feature, its scenarios in the file's order
        ("g.feature", ["c"]),
    ]
    results = sorted(p.name for p in (out / "allure-results").iterdir())
    assert results == ["1-of-2-result.json", "2-of-2-result.json", "categories.json", "environment.properties"]
    environment = (out / "allure-results" / "environment.properties").read_text()
    assert environment == "target=embedded mock LUCS\nlucs.not_restored=sip:x blocked\nlucs.shards=1/2 | 2/2\n"
    assert (out / ".lucs-acceptance-manifest.json").is_file()  # the next run or merge may clean it up
    summary = capsys.readouterr().out
    assert "LUCS acceptance: 2 passed, 0 failed, 1 not run: s -> exit 0 (the scenarios that ran passed)" in summary
    assert "LUCS STATE NOT RESTORED\n  sip:x blocked\n" in summary  # what the summary line points to


def test_a_failure_in_any_shard_fails_the_merge(tmp_path: Path) -> None:
    one = shard_folder(tmp_path, "1/2", [case("a")])
    two = shard_folder(tmp_path, "2/2", [case("b", "failed")])
    assert merge([one, two], Publishing(tmp_path / "out", html=False)) == 1


def test_shards_that_only_skipped_merge_to_no_scenario_ran(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = shard_folder(tmp_path, "1/2", [case("a", "skipped")])
    two = shard_folder(tmp_path, "2/2", [])
    assert merge([one, two], Publishing(tmp_path / "out", html=False)) == 5
    assert "0 passed, 0 failed, 1 not run: s -> exit 5 (no scenario ran)" in capsys.readouterr().out


def test_a_shard_that_ended_early_keeps_its_entry_and_its_code(tmp_path: Path) -> None:
    verdict = (
        f'<testcase classname="{RUN_CLASS}" name="run" time="0"><error message="exit 13: no agent free"/></testcase>'
    )
    one = shard_folder(tmp_path, "1/3", [case("a", "failed")])
    two = shard_folder(tmp_path, "2/3", [case("b"), verdict])
    three = shard_folder(tmp_path, "3/3", [verdict.replace("exit 13", "exit 2")])
    out = tmp_path / "out"
    assert merge([one, two, three], Publishing(out, html=False)) == 13
    assert merged_cases(out).count("run") == 2


@pytest.mark.parametrize(
    ("labels", "names", "message"),
    [
        (["1/2", "2/2"], [["a", "b"], ["b"]], f"{CLASS}::b is in"),
        (["1/3", "2/3"], [["a"], ["b"]], "no report of shard 3/3"),
        (["1/2", "2/3"], [["a"], ["b"]], "the shards come from different splits: 1/2, 2/3"),
    ],
)
def test_shards_that_do_not_add_up_are_named_and_exit_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], labels: list[str], names: list[list[str]], message: str
) -> None:
    folders = [
        shard_folder(tmp_path, label, [case(n) for n in cases]) for label, cases in zip(labels, names, strict=True)
    ]
    assert merge(folders, Publishing(tmp_path / "out", html=False)) == 4
    assert message in capsys.readouterr().err
    assert (tmp_path / "out" / "junit.xml").is_file()  # written all the same: the gate reads it


def test_a_missing_or_empty_shard_folder_is_one_line_and_exit_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = shard_folder(tmp_path, "1/2", [case("a")])
    (tmp_path / "empty").mkdir()
    for missing in (tmp_path / "nowhere", tmp_path / "empty"):
        assert main([str(good), str(missing), "--reports-dir", str(tmp_path / "out"), "--no-html"]) == 4
        error = capsys.readouterr().err
        assert error.count("\n") == 1
        assert str(missing) in error
    assert not (tmp_path / "out").exists()


def test_the_output_folder_is_none_of_the_shards_and_no_shard_counts_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = shard_folder(tmp_path, "1/2", [case("a")])
    assert main([str(one), "--reports-dir", str(one), "--no-html"]) == 4
    assert "is one of the shard folders" in capsys.readouterr().err
    assert main([str(one), str(one / "."), "--reports-dir", str(tmp_path / "out"), "--no-html"]) == 4
    assert "given more than once" in capsys.readouterr().err


def test_a_file_in_the_output_folder_that_is_not_ours_is_left_alone(tmp_path: Path) -> None:
    one = shard_folder(tmp_path, None, [case("a")])
    out = tmp_path / "out"
    out.mkdir()
    (out / "junit.xml").write_text("someone else's")
    assert merge([one], Publishing(out, html=False)) == 4
    assert (out / "junit.xml").read_text() == "someone else's"


@pytest.mark.parametrize("argv", [[], ["--no-such-option", "x"]])
def test_usage_errors_exit_4(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 4
    assert "lucs-acceptance merge:" in capsys.readouterr().err
