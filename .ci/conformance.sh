#!/usr/bin/env bash
# .ci/conformance.sh: spec conformance checks, run by .ci/run after `cargo test --release`.
#
# Uses the server binary the tests built (.ci/run passes target/release/cms; it never builds)
# and starts it on a throwaway private PostgreSQL (DATABASE_URL unset, CMS_DATA_DIR a
# fresh folder under /tmp), on a free port of 127.0.0.1, rate limits off. Then:
#   1. spectral      .ci/checks/spec_lint.sh   Spectral's OpenAPI ruleset over
#                    openapi/openapi.json: 0 errors (warnings are allowed);
#   2. ts-client     .ci/checks/ts_client.sh   a TypeScript client generated from the
#                    spec type-checks strictly and makes one real call (GET_PATH);
#   3. ts-package    .ci/checks/ts_package.sh  the client package clients/typescript:
#                    npm ci, its src/schema.ts matches the spec, it builds (tsc
#                    strict), and its README example creates and reads an article;
#   4. schemathesis  .ci/checks/fuzz_api.sh    all checks against the served
#                    /openapi.json with an admin token, ./schemathesis.toml applied;
#   5. server-log    no ERROR line, no panic and no 5xx status in the server's log.
# The server is stopped with SIGTERM (by its PID) on exit in every case, which stops
# its PostgreSQL too. Each check prints a verdict line; they are repeated at the end
# with their times. Exits 1 when any check fails, 2 when the server cannot be run.
#
# Tools are installed on first use into $TOOLS_CACHE (default ~/.cache/cms-tools)
# from npm and PyPI; later runs reuse them. The client package's dependencies go
# into clients/typescript/node_modules (npm ci, from its package-lock.json).
#
# Env:
#   CONFORMANCE_CMS_BIN  the server binary (default target/debug/cms, or
#                        $CARGO_TARGET_DIR/debug/cms when that is set)
#   CONFORMANCE_OUT      folder for logs and reports (default: a new folder under /tmp,
#                        kept after the run; its path is printed)
#   GET_PATH             path the TypeScript client calls (default /api/v1/articles)
#   MAX_EXAMPLES         Schemathesis examples per operation and phase (default 100:
#                        about 4-5 minutes on 2 cores, 6,000 requests)
#   SEED                 Schemathesis seed (default 1)
#   FUZZ_TIMEOUT         wall-clock limit of the Schemathesis run, seconds (default 900)
#   READY_TIMEOUT        seconds to wait for /readyz (default 180)
#   SCHEMATHESIS_ARGS, EXTRA_REPORTS, TOOLS_CACHE, ...: passed on to the scripts
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CHECKS="$ROOT/.ci/checks"

CMS_BIN=${CONFORMANCE_CMS_BIN:-${CARGO_TARGET_DIR:-target}/debug/cms}
case "$CMS_BIN" in /*) ;; *) CMS_BIN="$ROOT/$CMS_BIN" ;; esac
GET_PATH=${GET_PATH:-/api/v1/articles}
export MAX_EXAMPLES=${MAX_EXAMPLES:-100}
export SEED=${SEED:-1}
export FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-900}
READY_TIMEOUT=${READY_TIMEOUT:-180}
export TOOLS_CACHE=${TOOLS_CACHE:-${HOME:-/root}/.cache/cms-tools}

say() { echo "conformance: $*" >&2; }

if [ ! -x "$CMS_BIN" ]; then
  say "no server binary at $CMS_BIN: build it first (\`cargo test\` or \`cargo build\` makes"
  say "target/debug/cms), or point CONFORMANCE_CMS_BIN at one. This script never builds."
  echo "conformance: FAILED (no server binary)"
  exit 2
fi
for tool in python3 node npm flock timeout; do
  command -v "$tool" >/dev/null 2>&1 || { say "$tool is required"; echo "conformance: FAILED (no $tool)"; exit 2; }
done

# Logs and reports: kept after the run (small). The PostgreSQL data is removed.
OUT=${CONFORMANCE_OUT:-}
if [ -z "$OUT" ]; then OUT=$(mktemp -d /tmp/cms-conformance-out.XXXXXX); fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SERVER_LOG="$OUT/server.log"

# As root the binary runs PostgreSQL as `postgres`, who must be able to enter every
# parent of the data folder: a folder of mode 755 directly under /tmp.
WORK=$(mktemp -d /tmp/cms-conformance.XXXXXX)
chmod 755 "$WORK"
DATA_DIR="$WORK/data"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
BASE_URL="http://127.0.0.1:$PORT"

# The server's environment: only what is set here, whatever the machine has.
# CMS_LOG stays unset: the server's own default filter is what is checked.
unset DATABASE_URL CMS_LOG CMS_REDIS_URL CMS_METRICS_BIND CMS_CORS_ORIGINS CMS_TRUST_FORWARDED \
  CMS_POSTGRES_BIN CMS_WORKERS 2>/dev/null || true
export CMS_DATA_DIR="$DATA_DIR"
export CMS_BIND="127.0.0.1:$PORT"
export CMS_RATE_LIMIT_ANONYMOUS=0
export CMS_RATE_LIMIT_TOKEN=0
export CMS_LOG_FORMAT=text

SERVER_PID=""
TOKEN=""
SERVER_RC=""
server_alive() { [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; }

# The private PostgreSQL's postmaster, if its pid file names a live process.
postmaster_alive() {
  local pidfile="$DATA_DIR/postgres/postmaster.pid" pid
  [ -f "$pidfile" ] || return 1
  pid=$(head -n1 "$pidfile" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# SIGTERM to the server (by PID), wait for it and for its PostgreSQL to stop.
stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  if server_alive; then
    say "stopping the server (SIGTERM to pid $SERVER_PID)"
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 600); do server_alive || break; sleep 0.1; done
    if server_alive; then
      say "the server did not stop within 60 s of SIGTERM: SIGKILL to pid $SERVER_PID"
      kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
  fi
  set +e
  wait "$SERVER_PID" 2>/dev/null
  SERVER_RC=$?
  set -e
  SERVER_PID=""
  for _ in $(seq 1 300); do postmaster_alive || break; sleep 0.1; done
  if postmaster_alive; then
    local pgpid
    pgpid=$(head -n1 "$DATA_DIR/postgres/postmaster.pid")
    say "the private PostgreSQL (pid $pgpid) outlived the server: SIGTERM to it"
    kill -TERM "$pgpid" 2>/dev/null || true
    for _ in $(seq 1 300); do postmaster_alive || break; sleep 0.1; done
  fi
}

cleanup() {
  local rc=$?
  stop_server || true
  if [ -f "$DATA_DIR/postgres.log" ]; then cp "$DATA_DIR/postgres.log" "$OUT/postgres.log" 2>/dev/null || true; fi
  if postmaster_alive; then
    say "PostgreSQL still runs in $DATA_DIR: its data is left there"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# verdicts: "name<TAB>seconds<TAB>ok|FAIL<TAB>verdict line"
VERDICTS=()
FAILED=0
PASSED_COUNT=0
FAILED_COUNT=0
record() { # name seconds rc verdict
  local state=ok
  if [ "$3" -ne 0 ]; then state=FAIL; FAILED=1; FAILED_COUNT=$((FAILED_COUNT + 1)); else PASSED_COUNT=$((PASSED_COUNT + 1)); fi
  VERDICTS+=("$(printf '%-13s %5ss  %-4s  %s' "$1" "$2" "$state" "$4")")
}

# run_check NAME CMD...: streams the check's output; its verdict is the last line
# it prints on stdout.
run_check() {
  local name=$1; shift
  local started=$SECONDS rc verdict
  local shown="$*"
  [ -z "${TOKEN:-}" ] || shown=${shown//"$TOKEN"/<admin token>}
  say "--- $name: $shown"
  set +e
  { "$@" 2>&3 | tee "$OUT/$name.out"; } 3>&2
  rc=${PIPESTATUS[0]}
  set -e
  verdict=$(tail -n1 "$OUT/$name.out" 2>/dev/null || true)
  [ -n "$verdict" ] || verdict="$name: no verdict (exit $rc)"
  record "$name" "$((SECONDS - started))" "$rc" "$verdict"
  say "$name: exit $rc after $((SECONDS - started))s"
}

http_status() { # URL -> status code, or 000 when nothing answers
  python3 - "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print("000")
PY
}

TOTAL_STARTED=$SECONDS
say "binary $CMS_BIN; server $BASE_URL; data $DATA_DIR; logs and reports in $OUT"

# --- the server
started=$SECONDS
"$CMS_BIN" serve >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
say "server started (pid $SERVER_PID), log $SERVER_LOG"

# 1. Spectral needs no server: it runs while the server starts.
run_check spectral bash "$CHECKS/spec_lint.sh" openapi/openapi.json

ready=0
while [ $((SECONDS - started)) -lt "$READY_TIMEOUT" ]; do
  server_alive || break
  if [ "$(http_status "$BASE_URL/readyz")" = 200 ]; then ready=1; break; fi
  sleep 0.5
done
if [ "$ready" -ne 1 ]; then
  if server_alive; then say "/readyz did not answer 200 within ${READY_TIMEOUT}s"; else say "the server exited"; fi
  say "server log (last 40 lines):"; tail -n 40 "$SERVER_LOG" >&2 || true
  record server "$((SECONDS - started))" 1 "server: FAILED to start (see $SERVER_LOG)"
  printf '%s\n' "${VERDICTS[@]}"
  echo "conformance: FAILED (the server did not start)"
  exit 2
fi
say "server ready at $BASE_URL after $((SECONDS - started))s (from its start)"

# An admin token, so that the fuzzer reaches the writes. `cms token` attaches to
# the running server's PostgreSQL (same CMS_DATA_DIR).
set +e
"$CMS_BIN" token create --name ci --scope admin >"$WORK/token" 2>"$OUT/token.log"
token_rc=$?
set -e
TOKEN=$(tail -n1 "$WORK/token" | tr -d '[:space:]')
rm -f "$WORK/token"
if [ "$token_rc" -ne 0 ] || [ -z "$TOKEN" ]; then
  say "cms token create failed (exit $token_rc):"; cat "$OUT/token.log" >&2
  record token 0 1 "token: FAILED (cms token create, exit $token_rc)"
  printf '%s\n' "${VERDICTS[@]}"
  echo "conformance: FAILED (no admin token)"
  exit 2
fi
say "admin token created ($(grep -o 'Created token [^ ]*' "$OUT/token.log" || echo 'prefix unknown'))"

# 2. TypeScript client
run_check ts-client bash "$CHECKS/ts_client.sh" openapi/openapi.json "$BASE_URL" "$GET_PATH"

# 3. The TypeScript client package: its example creates an article with the admin
# token and reads it back.
run_check ts-package bash "$CHECKS/ts_package.sh" "$BASE_URL" "$TOKEN"

# 4. Schemathesis, from the repository root with its schemathesis.toml.
export SCHEMATHESIS_CONFIG="$ROOT/schemathesis.toml" REPORT_DIR="$OUT/schemathesis"
run_check schemathesis bash "$CHECKS/fuzz_api.sh" "$BASE_URL" "$TOKEN"

# 5. Stop the server, then read its whole log.
server_was_alive=0
server_alive && server_was_alive=1
stop_server
started=$SECONDS
problems="$OUT/server-log-problems.txt"
# Text log lines: "<timestamp>  ERROR ...", access lines "... status=NNN ...".
grep -n -E '^[^ ]+ +ERROR |(^|[[:space:]])status=5[0-9][0-9]([[:space:]]|$)|panicked at' "$SERVER_LOG" >"$problems" || true
n_problems=$(wc -l <"$problems")
n_errors=$(grep -c -E '^[0-9]+:[^ ]+ +ERROR ' "$problems" || true)
n_5xx=$(grep -c -E '(^|[[:space:]])status=5[0-9][0-9]([[:space:]]|$)' "$problems" || true)
n_panics=$(grep -c 'panicked at' "$problems" || true)
n_requests=$(grep -c -E '(^|[[:space:]])status=[0-9]{3}([[:space:]]|$)' "$SERVER_LOG" || true)
log_rc=0
log_verdict="server-log: $n_requests requests, $n_errors ERROR lines, $n_5xx 5xx statuses, $n_panics panics"
if [ "$n_problems" -gt 0 ]; then
  log_rc=1
  say "server log problems ($n_problems lines, all in $problems; first 60):"
  head -n 60 "$problems" >&2
fi
if [ "$server_was_alive" -ne 1 ]; then
  log_rc=1
  log_verdict="$log_verdict; the server DIED during the checks (exit ${SERVER_RC:-?})"
  say "server log (last 40 lines):"; tail -n 40 "$SERVER_LOG" >&2 || true
elif [ "${SERVER_RC:-1}" -ne 0 ]; then
  log_rc=1
  log_verdict="$log_verdict; the server exited with ${SERVER_RC:-?} on SIGTERM"
fi
if postmaster_alive; then
  log_rc=1
  log_verdict="$log_verdict; its PostgreSQL did not stop"
fi
echo "$log_verdict"
record server-log "$((SECONDS - started))" "$log_rc" "$log_verdict"

cp "$DATA_DIR/postgres.log" "$OUT/postgres.log" 2>/dev/null || true
pg_errors=$(grep -c -E '(ERROR|FATAL|PANIC):' "$OUT/postgres.log" 2>/dev/null || true)
say "(information only) the private PostgreSQL logged ${pg_errors:-0} ERROR/FATAL/PANIC lines (kept as $OUT/postgres.log)"

echo "=== conformance verdicts (check, seconds, result, verdict)"
printf '%s\n' "${VERDICTS[@]}"
if [ "$FAILED" -ne 0 ]; then
  echo "conformance: FAILED in $((SECONDS - TOTAL_STARTED))s (logs and reports: $OUT)"
  echo "conformance: $PASSED_COUNT passed, $FAILED_COUNT failed"
  exit 1
fi
echo "conformance: all checks passed in $((SECONDS - TOTAL_STARTED))s"
echo "conformance: $PASSED_COUNT passed, $FAILED_COUNT failed"
