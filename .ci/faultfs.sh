#!/usr/bin/env bash
# Builds .ci/faultfs/bin/faultfs, the loopback FUSE file system whose fsync
# fails on demand, for the test of a failed sync of the embedded store's log
# (test/reliability/sync-failure.test.ts; skipped, saying so, without it).
# From the Go module proxy only, like ferretdb.sh. Mounting needs /dev/fuse and root.
set -euo pipefail
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/faultfs"
BIN="$SRC/bin/faultfs"
if [[ -x "$BIN" && "$BIN" -nt "$SRC/main.go" && "$BIN" -nt "$SRC/go.sum" ]]; then
  echo "faultfs.sh: $BIN is up to date" >&2
  exit 0
fi
proxy="$(go env GOPROXY)"
proxy="${proxy%,direct}"
echo "faultfs.sh: building $BIN ..." >&2
cd "$SRC"
GOPROXY="$proxy" GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -buildvcs=false -trimpath -o "$BIN.tmp" .
mv -f "$BIN.tmp" "$BIN"
