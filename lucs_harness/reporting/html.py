"""The published HTML: Allure 3's single-file report, made safe to open on an air-gapped machine.

Allure 3.18's awesome plugin always embeds Google Analytics (no setting turns it off), so the
loader and its inline script are stripped, a Content-Security-Policy that allows no other host
is added, and the file is refused if any external `src`/`href` is left.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lucs_harness.errors import AllureError, ReportError
from lucs_harness.reporting.allure_cli import run_allure
from lucs_harness.reporting.faults import partial_name, write_whole
from lucs_harness.reporting.quality_gate import QualityGate

HISTORY_ENV = "LUCS_ALLURE_HISTORY"  # read by allurerc.mjs
GTAG_LOADER = re.compile(r'<script\b[^>]*\bsrc="https://www\.googletagmanager\.com/[^"]*"[^>]*>\s*</script>\s*', re.I)
GTAG_INLINE = re.compile(r"<script>(?:(?!</script>).)*?\bgtag\((?:(?!</script>).)*?</script>\s*", re.S)
EXTERNAL_ATTR = re.compile(r"""\b(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//""", re.I)
NODE_ERROR = re.compile(r"Error: (E[A-Z]+: [^\n]*)")  # `Error: EFBIG: file too large, write`
CSP = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "script-src 'unsafe-inline' 'unsafe-eval' data: blob:; style-src 'unsafe-inline' data: blob:; "
    "img-src data: blob:; font-src data: blob:; connect-src data: blob:; media-src data: blob:; "
    'frame-src data: blob:; worker-src data: blob:">'
)


def make_offline(html: str) -> str:
    """Strip the analytics, pin a CSP allowing no other host, and refuse what still points outside."""
    html = GTAG_INLINE.sub("", GTAG_LOADER.sub("", html))
    if "Content-Security-Policy" not in html:
        html = re.sub(r"<head>", "<head>" + CSP, html, count=1, flags=re.I)
    left = sorted({m.group(0) for m in EXTERNAL_ATTR.finditer(html)})
    if left or "googletagmanager" in html:
        raise ReportError(f"the report still refers to other hosts: {left or ['googletagmanager']}")
    return html


def generate(results: Path, target: Path, *, history: Path | None = None, gate: QualityGate | None = None) -> Path:
    """Render `results` with Allure 3 into one self-contained HTML file at `target`; with `history`
    (a file kept across runs) the report shows the trend of the last runs and adds this one to it;
    with `gate`, its Quality Gates tab. Written whole or not at all: a full disk or a file-size
    limit raises OSError (from here) or ReportError (from Node, which ignores SIGXFSZ too) and
    leaves neither a cut `target` nor a cut history."""
    with tempfile.TemporaryDirectory() as folder, staged_history(history) as staged:
        env = {HISTORY_ENV: str(staged.resolve())} if staged is not None else {}
        try:
            done = run_allure("generate", str(results), "-o", folder, env={**env, **(gate.env() if gate else {})})
        except AllureError as error:
            raise ReportError(str(error)) from None
        page = Path(folder) / "index.html"
        if done.returncode != 0 or not page.is_file():
            raise ReportError(f"allure generate failed ({done.returncode}): {(done.stdout + done.stderr)[-2000:]}")
        write_whole(target, make_offline(whole_page(page, done.stdout + done.stderr)).encode("utf-8"))
        for extra in ("summary.json",):
            if (Path(folder) / extra).is_file():
                write_whole(target.parent / f"allure-{extra}", (Path(folder) / extra).read_bytes())
        if history is not None and staged is not None and staged.is_file():
            staged.replace(history)
    return target


def whole_page(page: Path, said: str) -> str:
    """The page Allure wrote, refused when cut short: Allure 3 reports a failed write (EFBIG past a
    file-size limit, ENOSPC) and still exits 0, leaving a part of the page."""
    html = page.read_text(encoding="utf-8", errors="replace")
    if not html.rstrip().lower().endswith("</html>"):
        failed = NODE_ERROR.search(said)
        cause = failed.group(1) if failed else "no closing </html>"
        raise ReportError(f"Allure wrote only {len(html.encode())} bytes of the page: {cause}")
    return html


@contextmanager
def staged_history(history: Path | None) -> Iterator[Path | None]:
    """A copy of the history for Allure to add this run to, put in place only once the report is
    whole: a write cut short by a full disk leaves the history as it was, not a cut line in it."""
    if history is None:
        yield None
        return
    history.parent.mkdir(parents=True, exist_ok=True)
    staged = partial_name(history)
    try:
        if history.is_file():
            shutil.copyfile(history, staged)
        yield staged
    finally:
        staged.unlink(missing_ok=True)
