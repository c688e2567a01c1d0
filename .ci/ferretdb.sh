#!/usr/bin/env bash
# FerretDB v1 (SQLite backend) as the MongoDB-wire-compatible test database.
# Built from the Go module proxy; see .ci/ferretdb/main.go for why.
#
#   .ci/ferretdb.sh build               build .ci/ferretdb/bin/ferretdb (skipped if up to date)
#   .ci/ferretdb.sh start PORT DATADIR  start on 127.0.0.1:PORT, wait until it accepts connections,
#                                       print the mongodb URI (pid, log and SQLite files go in DATADIR)
#   .ci/ferretdb.sh stop DATADIR        SIGTERM, wait, then SIGKILL
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/ferretdb"
BIN="$SRC/bin/ferretdb"
START_TIMEOUT="${FERRETDB_START_TIMEOUT:-60}"
STOP_TIMEOUT="${FERRETDB_STOP_TIMEOUT:-20}"

die() { echo "ferretdb.sh: $*" >&2; exit 1; }

usage() {
  sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

up_to_date() {
  [[ -x "$BIN" ]] || return 1
  local f
  for f in "$SRC/main.go" "$SRC/go.mod" "$SRC/go.sum" "${BASH_SOURCE[0]}" "$HERE/go-build.sh"; do
    [[ "$BIN" -nt "$f" ]] || return 1
  done
}

cmd_build() {
  if up_to_date; then
    echo "ferretdb.sh: $BIN is up to date" >&2
    return 0
  fi
  echo "ferretdb.sh: building $BIN ..." >&2
  local t0=$SECONDS
  bash "$HERE/go-build.sh" "$SRC" "$BIN" -tags ferretdb_no_postgresql
  echo "ferretdb.sh: built in $((SECONDS - t0)) s" >&2
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# alive and not a zombie
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z ]]
}

# pid from DATADIR/ferretdb.pid if that process is alive and is our binary
running_pid() {
  local pidfile="$1/ferretdb.pid" pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(cat "$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q ferretdb || return 1
  echo "$pid"
}

cmd_start() {
  [[ $# -eq 2 ]] || usage
  local port="$1" datadir="$2" pid
  [[ "$port" =~ ^[0-9]+$ ]] || die "bad port: $port"
  cmd_build
  mkdir -p "$datadir"
  datadir="$(cd "$datadir" && pwd)"
  if pid="$(running_pid "$datadir")"; then
    die "already running (pid $pid) for $datadir"
  fi
  if port_open "$port"; then
    die "127.0.0.1:$port is already in use"
  fi
  local log="$datadir/ferretdb.log"
  mkdir -p "$datadir/db"
  nohup "$BIN" -listen "127.0.0.1:$port" -data "$datadir/db" </dev/null >>"$log" 2>&1 &
  pid=$!
  echo "$pid" >"$datadir/ferretdb.pid"

  local deadline=$((SECONDS + START_TIMEOUT + 1))
  until port_open "$port"; do
    if ! alive "$pid"; then
      echo "ferretdb.sh: ferretdb (pid $pid) exited during start; log tail:" >&2
      tail -n 40 "$log" >&2 || true
      rm -f "$datadir/ferretdb.pid"
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      echo "ferretdb.sh: 127.0.0.1:$port not accepting connections after ${START_TIMEOUT}s; log tail:" >&2
      tail -n 40 "$log" >&2 || true
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$datadir/ferretdb.pid"
      exit 1
    fi
    sleep 0.2
  done
  echo "ferretdb.sh: started pid $pid, log $log" >&2
  echo "mongodb://127.0.0.1:$port/"
}

cmd_stop() {
  [[ $# -eq 1 ]] || usage
  local datadir="$1" pid
  if ! pid="$(running_pid "$datadir")"; then
    echo "ferretdb.sh: not running for $datadir" >&2
    rm -f "$datadir/ferretdb.pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT + 1))
  while alive "$pid"; do
    if ((SECONDS >= deadline)); then
      echo "ferretdb.sh: pid $pid still alive after ${STOP_TIMEOUT}s, sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 10))
      while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
      break
    fi
    sleep 0.1
  done
  rm -f "$datadir/ferretdb.pid"
  echo "ferretdb.sh: stopped pid $pid" >&2
}

case "${1:-}" in
  build) shift; [[ $# -eq 0 ]] || usage; cmd_build ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  *) usage ;;
esac
