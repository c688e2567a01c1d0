#!/usr/bin/env bash
# Installs Chromium from Debian's packages when it is missing: the browser
# tests (test/browser-pages.test.ts) drive it with playwright-core, which
# never downloads a browser of its own. Needs root (or passwordless sudo).
set -euo pipefail
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [[ -x "$CHROMIUM" ]]; then
  echo "== chromium present: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/debian-package.sh"
install_debian_package chromium
"$CHROMIUM" --version
