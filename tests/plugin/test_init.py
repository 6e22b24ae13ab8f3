"""`lucs-acceptance init` as a team meets it: the harness installed from its wheel, a project written
into an empty folder, and that project's suite green against the embedded mock at once, its
reports in its own reports/ and nothing of a run left for git to pick up. A second `init` into the
same folder changes nothing."""

from __future__ import annotations

import json
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lucs_harness.init import requirement
from tests.plugin.test_installed_plugin import run_in
from tests.support.suite import ROOT

WRITTEN = {
    ".gitignore", ".gitlab-ci.yml", "Makefile", "README.md", "ci/known-issues.toml", "conftest.py",
    "features/agents.feature", "lucs.toml", "pyproject.toml", "tests/test_features.py",
}  # fmt: skip


def allure_cache(folder: Path) -> Path:
    """A user cache where `install-allure` would have put Allure: this checkout's, linked in, so
    the project's plain `lucs-acceptance` writes its HTML report without the npm registry."""
    version = json.loads((ROOT / "package.json").read_text())["devDependencies"]["allure"]
    if not (ROOT / "node_modules" / "allure" / "cli.js").is_file():
        pytest.skip("Allure 3 is not installed in this checkout: run `make install`")
    home = folder / "lucs-harness" / f"allure-{version}"
    home.mkdir(parents=True)
    (home / "node_modules").symlink_to(ROOT / "node_modules")
    return folder


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_init_writes_a_project_that_is_green_against_the_mock_and_refuses_a_second_time(
    installed: Path, tmp_path: Path
) -> None:
    env = {"PYTHONPATH": str(installed), "XDG_CACHE_HOME": str(allure_cache(tmp_path / "cache"))}
    done = run_in(tmp_path, "-m", "lucs_harness.cli", "init", "ours", **env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    project = tmp_path / "ours"
    assert set(files_of(project)) == WRITTEN
    assert all(f"  {name}" in done.stdout for name in WRITTEN)
    assert "Next:\n  cd ours\n" in done.stdout
    assert "install-allure" not in done.stdout  # Allure is there already
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    declared = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert declared["name"] == "ours"
    assert declared["dependencies"] == [requirement(version)]  # the installed harness's version and up
    assert (project / ".gitlab-ci.yml").read_bytes() == (ROOT / "ci" / "gitlab-ci.yml").read_bytes()

    run = run_in(project, "-m", "lucs_harness.cli", **env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "LUCS acceptance: 1 passed, 0 failed -> exit 0" in run.stdout
    suite = ET.parse(project / "reports" / "junit.xml").getroot()
    assert [case.get("name") for case in suite.iter("testcase")] == ["test_our_target_user_is_ready_for_the_day"]
    [feature] = json.loads((project / "reports" / "cucumber.json").read_text())
    steps = feature["elements"][0]["steps"]
    assert [step["result"]["status"] for step in steps] == ["passed"] * 4  # the project's own step included
    assert steps[-1]["name"] == "the service lists at least 2 users"
    assert (project / "reports" / "report.html").is_file()
    assert (project / ".lucs-history").is_dir()

    listed = run_in(project, "-m", "lucs_harness.cli", "steps", "--grep", "at least", **env)
    assert listed.returncode == 0, listed.stdout[-3000:] + listed.stderr[-3000:]
    line = (project / "conftest.py").read_text().splitlines().index(
        '@then(parsers.parse("the service lists at least {count:d} users"))'
    ) + 1
    assert f"  Then  the service lists at least <count> users  (conftest.py:{line})\n" in listed.stdout

    subprocess.run(["git", "init", "-q", str(project)], check=True, timeout=30)
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=project, capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    assert {line[3:] for line in status.stdout.splitlines()} == WRITTEN  # reports, history, caches: ignored

    before = files_of(project)
    again = run_in(tmp_path, "-m", "lucs_harness.cli", "init", "ours", "--ci", "github", **env)
    assert again.returncode == 4, again.stdout + again.stderr
    assert "pyproject.toml, conftest.py" in again.stderr
    assert "nothing was written" in again.stderr
    assert files_of(project) == before
