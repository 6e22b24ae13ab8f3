"""The published HTML: Allure 3's single-file report, made safe to open on an air-gapped machine.

Allure 3.18's awesome plugin always embeds Google Analytics (no setting turns it off), so the
loader and its inline script are stripped, a Content-Security-Policy that allows no other host
is added, and the file is refused if any external `src`/`href` is left.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
ALLURE = ROOT / "node_modules" / ".bin" / "allure"
GTAG_LOADER = re.compile(r'<script\b[^>]*\bsrc="https://www\.googletagmanager\.com/[^"]*"[^>]*>\s*</script>\s*', re.I)
GTAG_INLINE = re.compile(r"<script>(?:(?!</script>).)*?\bgtag\((?:(?!</script>).)*?</script>\s*", re.S)
EXTERNAL_ATTR = re.compile(r"""\b(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//""", re.I)
CSP = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "script-src 'unsafe-inline' 'unsafe-eval' data: blob:; style-src 'unsafe-inline' data: blob:; "
    "img-src data: blob:; font-src data: blob:; connect-src data: blob:; media-src data: blob:; "
    'frame-src data: blob:; worker-src data: blob:">'
)


class ReportError(RuntimeError):
    """The HTML report could not be generated or is not self-contained."""


def make_offline(html: str) -> str:
    """Strip the analytics, pin a CSP allowing no other host, and refuse what still points outside."""
    html = GTAG_INLINE.sub("", GTAG_LOADER.sub("", html))
    if "Content-Security-Policy" not in html:
        html = re.sub(r"<head>", "<head>" + CSP, html, count=1, flags=re.I)
    left = sorted({m.group(0) for m in EXTERNAL_ATTR.finditer(html)})
    if left or "googletagmanager" in html:
        raise ReportError(f"the report still refers to other hosts: {left or ['googletagmanager']}")
    return html


def generate(results: Path, target: Path, config: Path = ROOT / "allurerc.mjs") -> Path:
    """Render `results` with Allure 3 into one self-contained HTML file at `target`."""
    if not ALLURE.is_file():
        raise ReportError(f"Allure 3 is not installed ({ALLURE} missing): run `npm ci` in {ROOT}")
    with tempfile.TemporaryDirectory() as folder:
        command = [str(ALLURE), "generate", str(results), "-o", folder, "-c", str(config)]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
        page = Path(folder) / "index.html"
        if done.returncode != 0 or not page.is_file():
            raise ReportError(f"allure generate failed ({done.returncode}): {(done.stdout + done.stderr)[-2000:]}")
        target.write_text(make_offline(page.read_text(encoding="utf-8")), encoding="utf-8")
        for extra in ("summary.json",):
            if (Path(folder) / extra).is_file():
                shutil.copy(Path(folder) / extra, target.parent / f"allure-{extra}")
    return target
