#!/usr/bin/env bash
# Builds .ci/faultfs/bin/faultfs, the loopback FUSE file system whose fsync
# fails on demand, for the test of a failed sync of the embedded store's log
# (test/reliability/sync-failure.test.ts; skipped, saying so, without it).
# From the Go module proxy only (go-build.sh). Mounting needs /dev/fuse and root.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/faultfs"
BIN="$SRC/bin/faultfs"
if [[ -x "$BIN" && "$BIN" -nt "$SRC/main.go" && "$BIN" -nt "$SRC/go.sum" ]]; then
  echo "faultfs.sh: $BIN is up to date" >&2
  exit 0
fi
echo "faultfs.sh: building $BIN ..." >&2
bash "$HERE/go-build.sh" "$SRC" "$BIN"
