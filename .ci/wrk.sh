#!/usr/bin/env bash
# Installs wrk from Debian's packages when it is missing: the benchmark sends
# its scenarios with it (test/bench/wrk.ts), and the smoke run then covers
# that path. Without it the benchmark uses autocannon. Needs root (or
# passwordless sudo).
set -euo pipefail
if command -v wrk >/dev/null; then
  echo "== wrk present: $(wrk --version 2>&1 | head -n 1 || true)"
  exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/debian-package.sh"
install_debian_package wrk
wrk --version 2>&1 | head -n 1 || true
