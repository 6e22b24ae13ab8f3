"""`lucs-acceptance steps` in a team's project: the harness's steps and the project's own (from its
conftest, a step module its pytest_plugins names, a test module), each with its file:line and the
first paragraph of its docstring; `--grep`, `--help`, and `--world`, the API a step of its own calls."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import pytest

from lucs_harness.world import World
from lucs_harness.world_api import attribute_docs, described, members, parts
from tests.support.docs import hooks, page
from tests.support.suite import run_wrapper

pytestmark = pytest.mark.slow  # waits out deadlines or runs child processes: make test, not make check

CONFTEST = '''\
"""The team's configuration."""

from pytest_bdd import parsers, then

pytest_plugins = ["lucs_harness.plugin", "our_steps"]


@then(parsers.parse("the service lists at least {count:d} users"))
def at_least(world, count: int) -> None:
    """At least `count` users in the service.

    A second paragraph that the catalogue leaves out.
    """
    assert len(world.users.listed) >= count
'''

STEP_MODULE = '''\
from pytest_bdd import given


@given("our morning routine is done")
def routine() -> None:
    """Nothing to do on the mock."""
'''

TEST_MODULE = """\
from pytest_bdd import scenarios, when

scenarios("../features")


@when("we wave")
def wave() -> None:
    pass
"""

FEATURE = """\
Feature: Ours
  Scenario: Waving
    Given our morning routine is done
    When we wave
"""


def project(folder: Path) -> Path:
    (folder / "features").mkdir()
    (folder / "features" / "ours.feature").write_text(FEATURE)
    (folder / "tests").mkdir()
    (folder / "tests" / "test_ours.py").write_text(TEST_MODULE)
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "our_steps.py").write_text(STEP_MODULE)
    return folder


def line_of(file: Path, text: str) -> int:
    return next(number for number, line in enumerate(file.read_text().splitlines(), 1) if text in line)


def test_the_projects_own_steps_are_listed_with_file_line_and_docstring_after_the_harness_steps(
    tmp_path: Path,
) -> None:
    folder = project(tmp_path)
    done = run_wrapper("steps", cwd=folder)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    shipped, own = done.stdout.split(f"This project's steps ({folder.resolve()}):\n\n")
    assert shipped.startswith("The harness's steps:\n\nusers:\n")
    assert "  When  I block the target user\n" in shipped
    decorator = line_of(folder / "conftest.py", "@then(")
    assert own.startswith("conftest.py:\n")
    assert f"  Then  the service lists at least <count> users  (conftest.py:{decorator})\n" in own
    assert "        At least `count` users in the service.\n" in own
    assert "second paragraph" not in own
    assert f"  Given our morning routine is done  (our_steps.py:{line_of(folder / 'our_steps.py', '@given')})" in own
    assert "        Nothing to do on the mock." in own
    assert f"  When  we wave  (tests/test_ours.py:{line_of(folder / 'tests' / 'test_ours.py', '@when')})" in own
    assert not (folder / ".pytest_cache").exists()  # collected, nothing run, nothing written
    assert not (folder / "reports").exists()


def test_grep_narrows_both_lists_and_a_broken_project_is_said_so(tmp_path: Path) -> None:
    folder = project(tmp_path)
    done = run_wrapper("steps", "--grep", "MORNING", cwd=folder)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "The harness's steps:\n\n  none match\n" in done.stdout
    assert "our morning routine is done" in done.stdout
    assert "we wave" not in done.stdout
    (folder / "conftest.py").write_text(CONFTEST + "\ndef broken(:\n")
    broken = run_wrapper("steps", cwd=folder)
    assert broken.returncode == 1
    assert "  When  I block the target user\n" in broken.stdout  # the harness's steps all the same
    assert "not listed: the project could not be collected" in broken.stdout
    assert "SyntaxError" in broken.stderr


def test_steps_help_is_usage_and_world_lists_the_world_api(tmp_path: Path) -> None:
    helped = run_wrapper("steps", "--help", cwd=tmp_path)
    assert helped.returncode == 0
    assert helped.stdout.startswith("usage: lucs-acceptance steps [-h] [--grep TEXT] [--world]")
    assert "users:" not in helped.stdout
    world = run_wrapper("steps", "--world", cwd=tmp_path)
    assert world.returncode == 0, world.stderr
    assert world.stdout == described()
    assert (
        "  world.users.list_all() -> list[dict[str, Any]]\n        GET the configured service's users" in world.stdout
    )
    assert (
        "  world.users.set_presence(user: str | None, presence: str, *, expect_error: bool = False) -> Exchange\n"
        in world.stdout
    )
    assert "  world.last: Exchange | None\n" in world.stdout
    assert "  world.users: Users\n" in world.stdout
    assert "\nworld.callbacks (lucs_harness.world.callbacks.Callbacks):\n" in world.stdout
    assert "_user_call" not in world.stdout
    assert "_core" not in world.stdout


def test_every_public_member_of_world_and_its_facets_is_documented() -> None:
    """The `--world` text is read from the code: a new method or field of `World` or of a facet
    without its docstring (or its line in the class docstring's Attributes) fails here, and a stale
    attribute line too."""
    assert [owner for owner, _ in parts()] == [
        "world",
        "world.users",
        "world.tasks",
        "world.callbacks",
        "world.services",
    ]
    for owner, cls in parts():
        declared = (
            {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set(cls.__annotations__)
        )
        fields = {name for name in declared if not name.startswith("_")}
        public = {name for name in vars(cls) if not name.startswith("_")}
        documented = {name for name, value in vars(cls).items() if isinstance(value, property)} | fields
        assert set(attribute_docs(cls)) <= documented, owner  # no stale line
        assert fields <= set(attribute_docs(cls)), owner  # every field has its line
        assert {member.name for member in members(cls, owner)} == public | fields, owner
        assert [member.name for member in members(cls, owner) if not member.doc] == [], owner
    assert "Attributes:" not in described()
    assert inspect.cleandoc(World.__doc__ or "").startswith("The `world` fixture")
    grep = described("callback")
    assert "world.callbacks.request(" in grep
    assert "world.users.list_all(" not in grep


def test_the_docs_world_example_is_what_steps_world_prints() -> None:
    """docs/writing.md quotes two members as `steps --world` prints them."""
    writing = page("writing.md")
    example = writing.split("sends and asserts, e.g.\n\n```text\n", 1)[1].split("```\n", 1)[0]
    quoted = ["  world." + chunk for chunk in example.split("  world.")[1:]]
    assert len(quoted) == 2
    assert all(member in described() for member in quoted)


def test_the_world_api_page_lists_what_steps_world_prints() -> None:
    """docs/reference/world.md holds a marker the docs' hook fills from `world_api`: the rules every
    call follows, then every attribute and method, in the order `steps --world` prints them."""
    module = hooks()
    source = page("reference/world.md")
    assert source.count(module.WORLD) == 1
    shown = module.on_page_markdown(source)
    assert inspect.cleandoc(World.__doc__ or "").split("\n\n", 1)[0] in shown
    listed = re.findall(r"^- `world\.(.+)`", shown, flags=re.M)
    everyone = members()
    in_order = [m.shown for m in everyone if m.kind == "attribute"] + [m.shown for m in everyone if m.kind == "method"]
    assert listed == in_order
    assert all(member.doc in shown for member in everyone if not set("<>*") & set(member.doc))
