"""`lucs-acceptance init` from the checkout, in this process: the dependency range, the templates,
the GitHub variant, what it refuses, and the profile of `--lucs-base-url` whether or not the doctor
reaches that LUCS. The whole project, from the wheel and green, is tests/plugin/test_init.py."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest

from lucs_harness.config import LucsConfig, file_layer
from lucs_harness.init import TEMPLATES, main, plan, requirement
from tests.support.suite import ROOT
from tests.unit.conftest import MockTarget


@pytest.fixture(autouse=True)
def _no_lucs_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The doctor reads LUCS_* and .env: none of this machine's, and a working folder of the test's own."""
    monkeypatch.chdir(tmp_path)
    for name in [name for name in os.environ if name.startswith("LUCS_")]:
        monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("installed", "wanted"),
    [
        ("0.1.0", "lucs-harness[html]>=0.1.0,<0.2"),
        ("0.12.3.dev1", "lucs-harness[html]>=0.12.3.dev1,<0.13"),
        ("1.4.2", "lucs-harness[html]>=1.4.2,<2"),
        (None, "lucs-harness[html]"),
    ],
)
def test_the_dependency_allows_this_harness_up_to_its_next_breaking_version(installed: str | None, wanted: str) -> None:
    assert requirement(installed) == wanted


def test_the_lucs_toml_template_loads_and_its_example_profile_is_valid() -> None:
    text = (TEMPLATES / "lucs.toml.tmpl").read_text()
    assert tomllib.loads(text) == {}  # comments only: the mock needs nothing
    example = re.sub(r"(?m)^# (\[profiles|\w+ = )", r"\1", text)
    (Path.cwd() / "lucs.toml").write_text(example)
    profile = LucsConfig(**file_layer(Path.cwd() / "lucs.toml", "staging"), api_key="from the environment")
    assert profile.base_url == "https://lucs-staging.example.com"
    assert profile.auth == "apikey"


def test_the_example_step_is_valid_python_that_takes_the_world() -> None:
    source = (TEMPLATES / "conftest.py.tmpl").read_text()
    compile(source, "conftest.py", "exec")
    assert 'pytest_plugins = ["lucs_harness.plugin"]' in source
    assert "def service_lists_at_least(world: World, count: int) -> None:" in source


def test_github_variant_and_a_refusal_that_names_the_files_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ours", "--ci", "github"]) == 0
    workflow = tmp_path / "ours" / ".github" / "workflows" / "lucs-acceptance.yml"
    assert workflow.read_bytes() == (ROOT / "ci" / "github-actions.yml").read_bytes()
    assert not (tmp_path / "ours" / ".gitlab-ci.yml").exists()
    capsys.readouterr()
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "README.md").write_text("theirs\n")
    assert main(["theirs"]) == 4
    assert "theirs has README.md already; nothing was written" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "theirs").iterdir()] == ["README.md"]
    assert main(["theirs/README.md"]) == 4
    assert "theirs/README.md is not a folder; nothing was written" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["ours", "--lucs-service-id=x"],
        ["ours", "extra"],
        ["ours", "--ci", "jenkins"],
        ["ours", "--lucs-base-url=http://127.0.0.1:9", "--lucs-bogus=1"],
        ["ours", "--lucs-base-url=http://127.0.0.1:9", "--write-profile", "our staging"],
    ],
)
def test_usage_errors_write_nothing(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 4
    assert re.search(r"lucs-acceptance (init|doctor): ", capsys.readouterr().err)
    assert not (tmp_path / "ours").exists()


def test_an_unreachable_lucs_gets_a_profile_to_fill_in(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    service = "7830678b-03b1-4e71-af33-a3987142519f"
    assert main(["ours", "--lucs-base-url=http://127.0.0.1:9", f"--lucs-service-id={service}"]) == 0
    said = capsys.readouterr().out
    assert "fail  reach" in said  # the doctor's own lines
    assert "the doctor could not examine the LUCS (exit 10: LUCS could not be reached)" in said
    assert "lucs-acceptance --lucs-profile" not in said  # not ready to run against it
    assert "  lucs-acceptance doctor --lucs-profile staging --write-profile staging   # once filled in" in said
    toml = tmp_path / "ours" / "lucs.toml"
    assert toml.read_text().startswith((TEMPLATES / "lucs.toml.tmpl").read_text())
    assert '\nbase_url = "http://127.0.0.1:9"\n' in toml.read_text()
    assert '\n# user = ""  # fill in: target user: SIP URI or user GUID\n' in toml.read_text()
    assert "apikey, ntlm)" in toml.read_text()  # auth's choices
    profile = file_layer(toml, "staging")
    assert profile == {"base_url": "http://127.0.0.1:9", "service_id": service}


def test_a_reachable_lucs_gets_the_doctors_profile(
    mock_target: MockTarget, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ours", f"--lucs-base-url={mock_target.base_url}", "--write-profile", "mocked"]) == 0
    said = capsys.readouterr().out
    assert "doctor: ready" in said
    assert "lucs.toml: [profiles.mocked] written by the doctor, which found it ready" in said
    assert "  lucs-acceptance --lucs-profile mocked   # the scenario against your LUCS" in said
    profile = LucsConfig(**file_layer(tmp_path / "ours" / "lucs.toml", "mocked"))
    assert profile.base_url == mock_target.base_url


def test_every_planned_file_has_its_source() -> None:
    for ci in ("gitlab", "github"):
        assert all(file.source.is_file() for file in plan(ci))
