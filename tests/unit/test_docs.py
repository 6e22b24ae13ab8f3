"""The documentation builds as `make docs` builds it, strictly: a warning, a broken link or anchor,
or a page outside the nav fails here (and so `make test` and `make check`). The generated pages
show what the code says, and the README's links into docs/ lead to a page and an anchor that exist."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lucs_harness.catalogue import catalogue, readable
from lucs_harness.world_api import members
from tests.support.docs import DOCS, MKDOCS_YML, hooks, nav_pages, page
from tests.support.suite import ROOT

pytestmark = [pytest.mark.xdist_group("docs"), pytest.mark.slow]  # one build per make test run; not in make check
README_LINK = re.compile(r"\]\((docs/[^)#\s]+\.md)(?:#([^)\s]+))?\)")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built once for this module, as `make docs` builds it (into a temporary folder)."""
    out = tmp_path_factory.mktemp("docs") / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(MKDOCS_YML), "-d", str(out)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}{done.stderr}"
    warnings = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert warnings == []
    return out


def text_of(built: Path) -> str:
    """A built page's article as text: tags dropped, entities read, whitespace as written."""
    document = built.read_text()
    article = document[document.index("<article") : document.index("</article>")]
    return html.unescape(re.sub(r"<[^>]+>", "", article))


def test_every_page_is_in_the_nav_and_the_nav_names_only_pages() -> None:
    pages = sorted(str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md"))
    listed = nav_pages()
    assert len(listed) == len(set(listed)), "a page is in the nav twice"
    assert sorted(listed) == pages


def test_the_site_builds_strictly_with_every_page(site: Path) -> None:
    for name in nav_pages():
        built = site / ("index.html" if name == "index.md" else name.removesuffix(".md") + "/index.html")
        assert built.is_file(), name
    assert not (site / "hooks.py").exists()  # the hook is build code, not content


def test_the_step_reference_shows_every_step_with_its_doc(site: Path) -> None:
    shown = text_of(site / "reference/steps/index.html")
    for step in catalogue():
        assert f"{step.keyword.capitalize()} {readable(step.pattern)}" in shown, step.pattern
        assert step.doc.replace("`", "") in shown, step.pattern


def test_the_world_api_page_shows_every_member_with_its_doc(site: Path) -> None:
    shown = text_of(site / "reference/world/index.html")
    for member in members():
        assert f"world.{member.shown}" in shown, member.name
        assert member.doc.replace("`", "") in shown, member.name


def test_the_python_api_page_renders_the_docstrings(site: Path) -> None:
    shown = text_of(site / "reference/python/index.html")
    assert "The `world` fixture".replace("`", "") in shown
    assert "POST block_user (200, user schema)" in shown


def test_the_readmes_links_into_docs_lead_to_a_page_and_its_anchor(site: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    links = README_LINK.findall(readme)
    assert len(links) >= 10
    for target, anchor in links:
        assert (ROOT / target).is_file(), target
        name = target.removeprefix("docs/")
        built = site / ("index.html" if name == "index.md" else name.removesuffix(".md") + "/index.html")
        if anchor:
            assert f'id="{anchor}"' in built.read_text(), f"{target}#{anchor}"


def test_nothing_points_at_material_outside_the_repository() -> None:
    """The team's LUCS notes live outside the repository: what users need of them is in
    docs/lucs-api.md, and no page, docstring or README links there."""
    texts = [ROOT / "README.md", MKDOCS_YML, *DOCS.rglob("*.md"), *(ROOT / "lucs_harness").rglob("*.py")]
    leaking = [str(path.relative_to(ROOT)) for path in texts if "shared/lucs" in path.read_text()]
    assert leaking == []


def test_the_hook_leaves_a_page_without_a_marker_as_written() -> None:
    """The step reference and the world API are checked where they are tested (test_cli.py,
    test_steps_command.py); every other page goes through the hook unchanged."""
    module = hooks()
    marked = {"reference/steps.md", "reference/world.md"}
    for name in nav_pages():
        source = page(name)
        assert (module.STEPS in source or module.WORLD in source) == (name in marked), name
        if name not in marked:
            assert module.on_page_markdown(source) == source, name
