"""Finding Node.js, npm and Allure, and installing Allure where no checkout has it: a missing piece
is one line that says what to install."""

from __future__ import annotations

from pathlib import Path

import pytest

from lucs_harness.errors import AllureError
from lucs_harness.reporting import allure_cli
from lucs_harness.reporting.allure_cli import install_allure, npm, run_allure


def test_a_node_that_is_not_there_is_named_with_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(allure_cli, "allure_cli", lambda: tmp_path / "cli.js")
    monkeypatch.setenv("LUCS_NODE", "/nonexistent/node")
    with pytest.raises(AllureError, match=r"no Node.js to run Allure \(/nonexistent/node\): install the harness"):
        run_allure("generate", "results")


def test_without_the_html_extra_or_npm_on_path_npm_is_missing_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allure_cli, "_wheel_dir", lambda: None)
    monkeypatch.setenv("PATH", "")
    with pytest.raises(AllureError, match=r"no npm: install the harness with its html extra"):
        npm()


def test_a_failed_install_says_why_and_leaves_nothing_behind(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(allure_cli, "npm", lambda: ["sh", "-c", "echo 'ENOTCACHED offline' >&2; exit 1"])
    with pytest.raises(AllureError, match=r"npm ci failed \(1\): ENOTCACHED offline"):
        install_allure()
    assert list((tmp_path / "lucs-harness").iterdir()) == []


def test_an_installed_allure_is_found_and_not_installed_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(allure_cli, "ROOT", tmp_path / "no-checkout")
    cli = allure_cli.cached_home() / allure_cli.CLI
    cli.parent.mkdir(parents=True)
    cli.write_text("// allure")
    monkeypatch.setattr(allure_cli, "npm", lambda: pytest.fail("installed again"))
    assert install_allure() == cli
    assert allure_cli.allure_cli() == cli
