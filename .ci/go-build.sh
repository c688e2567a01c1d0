#!/usr/bin/env bash
# Builds a Go program of .ci from the Go module proxy only (never from VCS):
# the proxy's 'direct' fallback is dropped, the toolchain never switches, and
# go.sum must already list everything (-mod=readonly).
#
#   .ci/go-build.sh SRC_DIR BIN [go build flags...]
set -euo pipefail
src="$1" bin="$2"
shift 2
command -v go >/dev/null || { echo "go-build.sh: go not found in PATH (Go >= 1.24 is needed)" >&2; exit 1; }
proxy="$(go env GOPROXY)"
proxy="${proxy%,direct}"; proxy="${proxy%|direct}"
[[ "$proxy" != "direct" && "$proxy" != "off" ]] || proxy=""
cd "$src"
GOPROXY="$proxy" GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0 \
  go build -buildvcs=false -trimpath "$@" -o "$bin.tmp" .
mv -f "$bin.tmp" "$bin"
