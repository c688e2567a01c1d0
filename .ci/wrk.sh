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
SUDO=""
[[ "$(id -u)" == 0 ]] || SUDO="sudo"
echo "== installing wrk from Debian's packages"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
wrk --version 2>&1 | head -n 1 || true
