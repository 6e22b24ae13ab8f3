#!/usr/bin/env bash
# Makes Debian's Chromium available for the browser test of the HTML report
# (tests/reports/test_report_in_browser.py), which drives it with Playwright for Python.
# Idempotent: exits 0 at once when a chromium is already there; otherwise installs the distribution
# package with apt-get (root only) and exits with apt-get's status. It never downloads a browser any
# other way (no `playwright install`). Exit 3: no chromium and no way to install one here.
set -u

have_chromium() {
    [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1
}

if have_chromium; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "ensure_chromium: no chromium, and not root, so apt-get cannot install it;" \
        "install Debian's 'chromium' package (sudo apt-get install chromium)" >&2
    exit 3
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: no chromium, and no apt-get to install Debian's 'chromium' package with" >&2
    exit 3
fi

echo "ensure_chromium: installing Debian's chromium with apt-get" >&2
apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
status=$?
if [ "$status" -ne 0 ]; then
    echo "ensure_chromium: apt-get failed with exit status $status" >&2
    exit "$status"
fi
if ! have_chromium; then
    echo "ensure_chromium: apt-get installed 'chromium' but there is no chromium executable" >&2
    exit 3
fi
exit 0
