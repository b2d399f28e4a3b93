#!/usr/bin/env bash
# Make sure Debian's Chromium is installed at /usr/bin/chromium: what tests/gateway/test_console_browser.py
# drives (headless, through Playwright's Python package, never a browser Playwright downloads itself).
#
# Already there and starting -> done. Otherwise install the `chromium` package with apt-get (root, or
# password-less sudo), after `apt-get update`. Idempotent, non-interactive (no stdin needed), every step
# bounded; exit 0 only when `chromium --version` answers.
set -euo pipefail

CHROMIUM=${CSGATE_CHROMIUM:-/usr/bin/chromium}
export DEBIAN_FRONTEND=noninteractive

say() { echo "ensure-chromium: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}
can_be_root() { [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; }

works() { [ -x "$CHROMIUM" ] && timeout 30 "$CHROMIUM" --headless --no-sandbox --version </dev/null >/dev/null 2>&1; }

if works; then
    say "$("$CHROMIUM" --version 2>/dev/null) at $CHROMIUM"
    exit 0
fi
command -v apt-get >/dev/null || die "no Chromium at $CHROMIUM and no apt-get to install it; set CSGATE_CHROMIUM"
can_be_root || die "installing chromium needs root or password-less sudo"
say "installing the chromium package"
as_root timeout 300 apt-get update -qq -o Acquire::Retries=2 </dev/null
# without the recommends (printing, desktop notifications, GL drivers); fonts to lay out text with
as_root timeout 900 apt-get install -y -qq --no-install-recommends chromium fonts-liberation </dev/null
works || die "chromium was installed but $CHROMIUM does not start"
say "$("$CHROMIUM" --version 2>/dev/null) at $CHROMIUM"
