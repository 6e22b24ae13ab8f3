"""The published HTML report, opened in a real headless browser (Debian's Chromium driven by Playwright):
it must make no request beyond its own file, show every scenario with the status of the run, and show
the failing step and the HTTP exchange of a failed scenario. The report comes from the publish runner
run against the embedded mock with one deliberate fault, so both statuses are on the page."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.reports.conftest import scenario_names
from tests.support.suite import ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Page

FEATURES = ROOT / "features"

FAULT = "block-wrong-reason"
FAILING_SCENARIO = "Blocking takes the user out of distribution without touching presence"
FAILING_STEP = "the returned user has:"
# Exchange attachments are titled `POST /v1.0/users/…/block -> 200 (3 ms)`, maybe after a prefix. No `\b`:
# in a header's textContent the title runs into its index and MIME type (`1POST …`, `200application/json`).
BLOCK_EXCHANGE = re.compile(r"POST \S*/block -> 200(?!\d)")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOAD_TIMEOUT_MS = 30_000  # parsing the ~5 MB single file takes 3-4 s
UI_TIMEOUT_MS = 10_000  # each click after that re-renders in well under a second

# Click the arrow of every collapsed tree section; an expanded one is followed by its tree-content.
EXPAND_ONE_LEVEL = """() => {
  let clicked = 0;
  for (const s of document.querySelectorAll('[data-testid="tree-section"]')) {
    const next = s.nextElementSibling;
    if (!(next && next.dataset.testid === 'tree-content')) {
      s.querySelector('[data-testid="tree-arrow"]').click(); clicked++;
    }
  }
  return clicked;
}"""
# [title, status] of every test in the tree, and of every step of the opened test.
READ_LEAVES = """() => [...document.querySelectorAll('[data-testid="tree-leaf"]')].map(leaf => {
  const st = leaf.querySelector('[data-testid^="tree-leaf-status-"]');
  return [leaf.querySelector('[data-testid="tree-leaf-title"]').textContent.trim(),
          st ? st.dataset.testid.replace('tree-leaf-status-', '') : 'unknown'];
})"""
# The report pins a Content-Security-Policy, and Chromium refuses what it forbids before any request
# exists, so Playwright never sees those; the page's own violation events still name them.
RECORD_CSP_VIOLATIONS = """window.__cspBlocked = [];
document.addEventListener('securitypolicyviolation',
  e => window.__cspBlocked.push(`${e.blockedURI} (${e.violatedDirective})`));
"""
READ_STEPS = """() => [...document.querySelectorAll('[data-testid="test-result-step-header"]')].map(h => {
  const st = h.querySelector('[data-testid^="tree-leaf-status-"]');
  return [h.querySelector('[data-testid="test-result-step-title"]').textContent.trim(),
          st ? st.dataset.testid.replace('tree-leaf-status-', '') : 'unknown'];
})"""


@dataclass
class Published:
    """What one run of the publish runner left behind."""

    reports_dir: Path
    returncode: int
    output: str

    @property
    def html(self) -> Path:
        return self.reports_dir / "report.html"


@dataclass
class Rendered:
    """What the browser saw: every request, every test in the tree, and the opened failed test."""

    url: str
    requests: list[str] = field(default_factory=list)
    csp_blocked: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    leaves: list[tuple[str, str]] = field(default_factory=list)
    failed_title: str = ""
    failed_status_shown: bool = False
    failed_steps: list[tuple[str, str]] = field(default_factory=list)
    attachment_titles: list[str] = field(default_factory=list)
    exchange_content: str = ""
    failed_view_problem: str = ""


def chromium_path() -> str | None:
    """Debian's chromium (its /usr/bin wrapper sets the distribution's flags), else any on PATH."""
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else shutil.which("chromium")


pytestmark = pytest.mark.xdist_group("reports")  # one publish run (tests/reports/conftest.py), one browser


@pytest.fixture(scope="session")
def chromium() -> str:
    """The system Chromium; a test installs nothing: without one it skips, saying how to get it."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        pytest.skip(f"Playwright for Python is not installed ({error}); pip install -e '.[dev]'")
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium: install Debian's chromium package (as root: make browser)")
    return path


@pytest.fixture(scope="module")
def published(failing_run: tuple[Path, subprocess.CompletedProcess[str]]) -> Published:
    """The shared report of the feature suite against the embedded mock with one deliberate fault."""
    reports_dir, done = failing_run
    output = done.stdout + done.stderr
    assert done.returncode == 1, (
        f"publish runner: expected exit 1 (one scenario fails), got {done.returncode}:\n{output[-3000:]}"
    )
    assert (reports_dir / "report.html").is_file(), f"publish runner wrote no report.html:\n{output[-3000:]}"
    return Published(reports_dir, done.returncode, output)


def expand_tree(page: Page) -> None:
    """Open every collapsed section, level by level, so that every test's leaf is in the DOM."""
    for _ in range(20):
        if page.evaluate(EXPAND_ONE_LEVEL) == 0:
            return
        page.wait_for_timeout(200)


def open_failed_test(page: Page, seen: Rendered) -> None:
    """Click the failed scenario, read its steps, then its attachments with the block exchange opened.
    A view that never appears is noted, not raised: the other tests judge the tree and the requests."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        read_failed_test(page, seen)
    except PlaywrightTimeout as error:
        seen.failed_view_problem += f": {str(error).splitlines()[0]}"


def read_failed_test(page: Page, seen: Rendered) -> None:
    """The part of `open_failed_test` that waits for the page; `failed_view_problem` names the stage."""
    leaf = page.locator('[data-testid="tree-leaf"]').filter(
        has=page.locator('[data-testid="tree-leaf-status-failed"]'), has_text=FAILING_SCENARIO
    )
    if leaf.count() == 0:
        seen.failed_view_problem = "no failed leaf of that name in the tree"
        return
    seen.failed_view_problem = "opening the failed test from its leaf"
    leaf.first.click()
    title = page.locator('[data-testid="test-result-info-title"]')
    title.wait_for()
    seen.failed_title = title.inner_text().strip()
    seen.failed_status_shown = page.locator('[data-testid="test-result-status-failed"]').count() > 0
    seen.failed_view_problem = "waiting for the steps of the failed test"
    page.locator('[data-testid="test-result-step-header"]').first.wait_for()
    seen.failed_steps = [(t, s) for t, s in page.evaluate(READ_STEPS)]

    seen.failed_view_problem = "waiting for an attachment on the Attachments tab"
    page.locator('[data-testid="test-result-tab-attachments"]').click()
    headers = page.locator('[data-testid="test-result-attachment-header"]')
    headers.first.wait_for()
    seen.attachment_titles = [text.strip() for text in headers.all_inner_texts()]
    exchange = page.locator('[data-testid="test-result-attachment"]').filter(
        has=page.locator('[data-testid="test-result-attachment-header"]', has_text=BLOCK_EXCHANGE)
    )
    if exchange.count():
        seen.failed_view_problem = "opening the block exchange attachment"
        exchange.first.locator('[data-testid="test-result-attachment-header"]').click()
        content = exchange.first.locator('[data-testid="code-attachment-content"]')
        content.wait_for()
        seen.exchange_content = content.inner_text()
    seen.failed_view_problem = ""


@pytest.fixture(scope="module")
def rendered(chromium: str, published: Published) -> Rendered:
    """Open report.html in headless Chromium, recording every request the page makes while it is read."""
    from playwright.sync_api import sync_playwright

    seen = Rendered(url=published.html.resolve().as_uri())
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(LOAD_TIMEOUT_MS)
            page.on("request", lambda request: seen.requests.append(request.url))
            page.on("pageerror", lambda error: seen.page_errors.append(str(error)))
            page.on("console", lambda msg: seen.console_errors.append(msg.text) if msg.type == "error" else None)
            page.add_init_script(RECORD_CSP_VIOLATIONS)
            page.goto(seen.url, wait_until="load")
            page.wait_for_selector('[data-testid="tree-section"], [data-testid="tree-leaf"]')
            page.set_default_timeout(UI_TIMEOUT_MS)
            expand_tree(page)
            seen.leaves = [(t, s) for t, s in page.evaluate(READ_LEAVES)]
            open_failed_test(page, seen)
            seen.csp_blocked = list(page.evaluate("window.__cspBlocked"))
        finally:
            browser.close()
    return seen


def failed_names(reports: Path) -> set[str]:
    """The names of the scenarios the run's Allure results hold as failed."""
    results = [json.loads(p.read_text()) for p in (reports / "allure-results").glob("*-result.json")]
    return {r["name"] for r in results if r["status"] == "failed"}


def test_the_report_requests_nothing_beyond_its_own_file(rendered: Rendered) -> None:
    """A single file that works offline and leaks nothing: no analytics, fonts or CDN, not even localhost."""
    foreign = [url for url in rendered.requests if url != rendered.url and not url.startswith(("data:", "blob:"))]
    assert rendered.requests, "the browser recorded no request at all, not even the report's own file"
    assert foreign == [], f"the report made {len(foreign)} request(s) beyond its own file: {foreign}"
    assert rendered.csp_blocked == [], (
        f"the report tried to load from other hosts (its CSP refused): {rendered.csp_blocked}"
    )
    assert rendered.page_errors == [], (
        f"the report's scripts failed: {rendered.page_errors}; console errors: {rendered.console_errors}"
    )


def test_every_scenario_is_on_the_page_with_its_status(rendered: Rendered, published: Published) -> None:
    """The reader sees each scenario of the feature files once per test, and what it came to (as the
    Allure results say: the fault fails FAILING_SCENARIO, and any other scenario that checks it)."""
    names = scenario_names()
    assert FAILING_SCENARIO in names, f"{FAILING_SCENARIO!r} is no longer a scenario of {FEATURES}"
    failed = failed_names(published.reports_dir)
    assert FAILING_SCENARIO in failed
    expected = Counter({(name, "failed" if name in failed else "passed"): n for name, n in names.items()})
    shown = Counter(rendered.leaves)
    assert shown == expected, (
        f"missing from the page: {sorted((expected - shown).elements())}; "
        f"on the page but not expected: {sorted((shown - expected).elements())}"
    )


def test_the_failed_scenario_shows_its_failing_step_and_http_exchange(rendered: Rendered) -> None:
    """Opening the failure shows where it broke and what LUCS answered, without reading logs."""
    problem = f" ({rendered.failed_view_problem})" if rendered.failed_view_problem else ""
    assert rendered.failed_title == FAILING_SCENARIO, (
        f"the failed test could not be opened from the tree{problem}: {rendered.leaves}"
    )
    assert rendered.failed_status_shown, "the opened test is not marked Failed"
    failed_steps = [title for title, status in rendered.failed_steps if status == "failed"]
    assert any(title.endswith(FAILING_STEP) for title in failed_steps), (
        f"no failed step {FAILING_STEP!r} on the page; steps: {rendered.failed_steps}"
    )
    assert any(BLOCK_EXCHANGE.search(title) for title in rendered.attachment_titles), (
        f"no attachment of the block exchange (`POST …/block -> 200`){problem}; "
        f"attachments: {rendered.attachment_titles}"
    )
    assert "/block" in rendered.exchange_content, (
        f"the block exchange attachment shows no exchange when opened: {rendered.exchange_content[:500]!r}"
    )
    assert re.search(r"\b200\b", rendered.exchange_content), (
        f"the block exchange attachment does not show the status 200: {rendered.exchange_content[:500]!r}"
    )
