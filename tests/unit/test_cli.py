"""`lucs-acceptance` as people type it: harness and pytest options without `--`, grouped help,
and the subcommands."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys

import pytest

from lucs_harness.catalogue import catalogue, render
from lucs_harness.cli import GROUPS, joined, parser, split
from lucs_harness.config import FIELDS, is_flag
from lucs_harness.option_names import FLAG_FIELDS
from tests.support.docs import hooks, page
from tests.support.suite import ROOT, child_env


@pytest.mark.parametrize(
    ("argv", "command", "ours", "theirs"),
    [
        (["-k", "blocking", "--no-html", "--lucs-user", "u"], "run", ["-k", "blocking", "--lucs-user", "u"], []),
        (["--no-html", "--", "-k", "x", "--no-html"], "run", [], ["-k", "x", "--no-html"]),
        (["restore", "--lucs-base-url", "h"], "restore", ["--lucs-base-url", "h"], []),
        (["-m", "smoke and not negative", "--lf"], "run", ["-m", "smoke and not negative", "--lf"], []),
    ],
)  # fmt: skip
def test_harness_and_pytest_options_need_no_double_dash(
    argv: list[str], command: str, ours: list[str], theirs: list[str]
) -> None:
    got, before, after = split(argv)
    _, passed_on = parser().parse_known_args(before)
    assert (got, passed_on, after) == (command, ours, theirs)


def test_every_option_of_the_configuration_is_in_exactly_one_help_group() -> None:
    grouped = [name for names in GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(FIELDS)


def test_the_wrappers_flags_are_the_models_bare_flags() -> None:
    """The wrapper names them without loading the configuration, so that start-up stays cheap."""
    assert sorted(FLAG_FIELDS) == sorted(name for name in FIELDS if is_flag(name))


@pytest.mark.slow  # a child process: make test, not make check
def test_the_wrapper_loads_no_configuration_before_it_starts_a_run() -> None:
    """The run's pytest reads the configuration; the wrapper would read it a second time for nothing."""
    code = "import sys, lucs_harness.cli; sys.exit('lucs_harness.config' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=child_env(), timeout=60, check=False)
    assert done.returncode == 0


def test_help_lists_the_harness_options_by_group_with_defaults() -> None:
    shown = parser().format_help()
    for group in (*GROUPS, "reports"):
        assert f"{group}:" in shown
    assert "--lucs-read-timeout" in shown
    assert "(default: 10.0) [LUCS_READ_TIMEOUT]" in shown


def test_show_config_works_without_double_dash_and_shows_a_shards_own_slice_of_the_pool() -> None:
    target = ["--lucs-base-url", "http://127.0.0.1:9", "--lucs-agents", "a@x,b@x,c@x,d@x", "--lucs-shard", "2/2"]
    done = subprocess.run(
        [sys.executable, "-m", "lucs_harness.cli", "show-config", "--lucs-read-timeout", "4", *target],
        cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)  # the JSON alone: a script pipes it into jq
    assert shown["read_timeout"] == 4.0
    assert shown["agents"] == ["b@x", "d@x"]


def test_the_step_catalogue_lists_every_step_with_its_subject() -> None:
    entries = catalogue()
    text = render(entries)
    assert {e.subject for e in entries} >= {"users", "tasks", "presence", "responses", "clock"}
    assert "users:\n" in text
    assert "  When  I block the target user" in text
    assert "Polls the list up to the wait deadline" in text
    assert "(?" not in text
    assert "?)" not in text  # no regular expression shows through
    assert "  When  <seconds> [more ]second[s] pass[es] on the mock clock" in text


def test_option_values_are_joined_so_pytest_takes_none_for_a_path() -> None:
    """pytest settles its root folder before it loads the plugin, and reads `@x` as a file."""
    assert joined(["--tags", "@smoke and not @negative", "-q"]) == ["--lucs-tags=@smoke and not @negative", "-q"]
    assert joined(["--lucs-lease-dir", "/tmp/x", "--lucs-allow-changes", "-k", "b"]) == [
        "--lucs-lease-dir=/tmp/x", "--lucs-allow-changes", "-k", "b",
    ]  # fmt: skip


def test_the_step_reference_shows_the_step_catalogue_as_the_code_has_it() -> None:
    """docs/reference/steps.md holds a marker that the docs' hook fills with the step catalogue, a
    section per subject and an item per step: read back, it is what `lucs-acceptance steps` prints."""
    source = page("reference/steps.md")
    module = hooks()
    assert source.count(module.STEPS) == 1
    printed: list[str] = []
    for line in module.on_page_markdown(source).splitlines():
        if subject := re.fullmatch(r"## (\w+)", line):
            printed += [*([""] if printed else []), f"{subject[1]}:"]
        elif step := re.fullmatch(r"- `(\S+) (.+)`(?:<br>)?", line):
            printed.append(f"  {step[1]:5} {step[2]}")
        elif line.startswith("  ") and printed:
            printed.append("        " + html.unescape(line.strip()).replace("\\*", "*"))
    assert "\n".join(printed) + "\n" == render(catalogue())
