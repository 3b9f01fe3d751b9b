#!/usr/bin/env bash
# readme.sh [CMS_BINARY]: runs README.md's command blocks against a fresh server, in
# order, in one bash, as a reader pasting them would.
#
# It never builds: it takes the `cms` binary (default target/debug/cms, or
# $CARGO_TARGET_DIR/debug/cms when that is set) and starts `cms serve` on a throwaway
# private PostgreSQL (DATABASE_URL unset, CMS_DATA_DIR a fresh folder under /tmp) on
# a free port of 127.0.0.1. Then it takes every ```sh block of README.md, in order,
# except a block right after the line
#     <!-- readme-test: skip -->
# (for commands that must not run here: `cargo run --release` serves until stopped,
# `docker compose up`, the benchmark), and runs them in one `bash` with
# `set -euo pipefail`, from a scratch folder holding a copy of examples/. Two
# rewrites make the blocks run on this server:
#   `cargo run --release -- `  becomes the binary given (`TOKEN=$(cargo run --release
#                               -- token create ...)` makes the first token);
#   `http://127.0.0.1:8080`    becomes the address of the server started here.
# A block that still calls cargo is an error. The README's curl calls use -f, so a
# non-2xx answer stops the run; an `If-Match:` header without a value (an ETag that
# was not found) stops it too. The failing README line is named. Afterwards the
# server's log must show no ERROR line, no panic and no 5xx status.
#
# Prints a summary; the last line is the verdict:
#   readme: passed (N blocks, M requests) | readme: FAILED (...)
# Exits 0 when the blocks ran, 1 when they did not, 2 when the server cannot be run.
#
# Needs curl and jq (Debian: apt-get install curl jq), python3 (a free port).
# Env: README (default README.md), READY_TIMEOUT (seconds to wait for /readyz, 180),
#      READMETEST_KEEP=1 keeps the scratch folder (its path is printed).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

say() { echo "readme: $*" >&2; }

CMS_BIN=${1:-${CARGO_TARGET_DIR:-target}/debug/cms}
case "$CMS_BIN" in /*) ;; *) CMS_BIN="$ROOT/$CMS_BIN" ;; esac
README=${README:-README.md}
case "$README" in /*) ;; *) README="$ROOT/$README" ;; esac
READY_TIMEOUT=${READY_TIMEOUT:-180}

if [ ! -x "$CMS_BIN" ]; then
  say "no server binary at $CMS_BIN: build it first (\`cargo build\` makes target/debug/cms)"
  say "or pass its path. This script never builds."
  echo "readme: FAILED (no server binary)"
  exit 2
fi
for tool in curl jq python3; do
  command -v "$tool" >/dev/null 2>&1 || {
    say "$tool is required (Debian: apt-get install $tool)"
    echo "readme: FAILED (no $tool)"
    exit 2
  }
done
[ -f "$README" ] || { say "no $README"; echo "readme: FAILED (no README)"; exit 2; }

# As root the binary runs PostgreSQL as `postgres`, who must be able to enter every
# parent of the data folder: a folder of mode 755 directly under /tmp.
WORK=$(mktemp -d /tmp/cms-readme.XXXXXX)
chmod 755 "$WORK"
DATA_DIR="$WORK/data"
RUN_DIR="$WORK/run"
SCRIPT="$WORK/readme-blocks.sh"
LINE_MAP="$WORK/line-map"
REQUESTS="$WORK/requests"
SERVER_LOG="$WORK/server.log"
mkdir -p "$RUN_DIR"
cp -R "$ROOT/examples" "$RUN_DIR/examples"
: >"$REQUESTS"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
BASE_URL="http://127.0.0.1:$PORT"

# The server's environment: only what is set here, whatever the machine has.
unset DATABASE_URL CMS_LOG CMS_REDIS_URL CMS_METRICS_BIND CMS_CORS_ORIGINS CMS_TRUST_FORWARDED \
  CMS_POSTGRES_BIN CMS_WORKERS CMS_RATE_LIMIT_ANONYMOUS CMS_RATE_LIMIT_TOKEN 2>/dev/null || true
export CMS_DATA_DIR="$DATA_DIR"
export CMS_BIND="127.0.0.1:$PORT"
export CMS_LOG_FORMAT=text

SERVER_PID=""
server_alive() { [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; }
postmaster_alive() {
  local pidfile="$DATA_DIR/postgres/postmaster.pid" pid
  [ -f "$pidfile" ] || return 1
  pid=$(head -n1 "$pidfile" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}
SERVER_RC=""
stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  if server_alive; then
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
}
cleanup() {
  local rc=$?
  stop_server || true
  if [ "${READMETEST_KEEP:-0}" = 1 ] || postmaster_alive; then
    say "scratch folder kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

STARTED=$SECONDS

# --- The blocks, as one script. The preamble comes first; LINE_MAP maps each line
# of the script to its README line, so that a failure names the README's line.
cat >"$SCRIPT" <<'PREAMBLE'
set -euo pipefail
readme_failed() { # status, script line of the last command started (its last line)
  local first=$2 from to
  # The command's first line: back over the lines that end in a backslash.
  while [ "$first" -gt 1 ] && sed -n "$((first - 1))p" "$READMETEST_SCRIPT" | grep -q '\\$'; do
    first=$((first - 1))
  done
  from=$(awk -v l="$first" '$1 == l { print $2 }' "$READMETEST_LINE_MAP")
  to=$(awk -v l="$2" '$1 == l { print $2 }' "$READMETEST_LINE_MAP")
  [ "$from" = "$to" ] || from="$from-$to"
  echo "readme: README.md line ${from:-?} failed (exit $1): $(sed -n "${first}p" "$READMETEST_SCRIPT")" >&2
}
# The line of each command as it starts (a failure inside a function, such as the
# README's own, ends the run there too), reported when the run stops on an error.
# (Lines of the preamble, the EXIT trap's included, are not README lines.)
trap '[ "$LINENO" -le "$READMETEST_PREAMBLE_LINES" ] || READMETEST_AT=$LINENO' DEBUG
trap 'readme_exit=$?; [ "$readme_exit" -eq 0 ] || readme_failed "$readme_exit" "${READMETEST_AT:-0}"' EXIT
# curl, as the README calls it; counted, and an If-Match without a value (an ETag
# that was not found in the answer before) is an error, not a write without one.
curl() {
  local previous="" argument
  for argument in "$@"; do
    if [ "$previous" = -H ] && [[ "$argument" =~ ^[Ii][Ff]-[Mm][Aa][Tt][Cc][Hh]:[[:space:]]*$ ]]; then
      echo "readme: an If-Match header without a value (no ETag in the answer before?)" >&2
      return 1
    fi
    previous=$argument
  done
  echo request >>"$READMETEST_REQUESTS"
  command curl "$@"
}
PREAMBLE
PREAMBLE_LINES=$(wc -l <"$SCRIPT")

# awk prints "summary" lines on stdout: "run <readme line>" / "skip <readme line>",
# and "error <message>" for a marker or a block it cannot place.
set +e
SUMMARY=$(awk -v script="$SCRIPT" -v map="$LINE_MAP" -v offset="$PREAMBLE_LINES" \
  -v bin="'$CMS_BIN'" -v base="$BASE_URL" '
  function emit(text, readme_line) {
    print text >> script
    offset++
    print offset, readme_line >> map
  }
  BEGIN { fence = 0; skip_next = 0; running = 0; marker_line = 0 }
  /^<!--[[:space:]]*readme-test:[[:space:]]*skip/ && !fence {
    skip_next = 1; marker_line = NR; next
  }
  /^```/ {
    if (!fence) {
      fence = 1
      if ($0 ~ /^```(sh|bash)[[:space:]]*$/) {
        if (skip_next) { print "skip", NR; running = 0 }
        else {
          print "run", NR; running = 1; blocks++
          emit("echo \"readme: --- block " blocks " (README.md line " NR ")\" >&2", NR)
        }
      } else if (skip_next) {
        print "error the skip marker on line " marker_line " is not right before a ```sh block"
      }
      skip_next = 0
    } else {
      fence = 0; running = 0
    }
    next
  }
  fence && running {
    line = $0
    tokens += gsub(/cargo run --release -- /, bin " ", line)
    gsub(/http:\/\/127\.0\.0\.1:8080/, base, line)
    if (line ~ /(^|[^[:alnum:]_-])cargo[[:space:]]/) {
      print "error README.md line " NR " calls cargo in a block that runs: mark the block " \
            "<!-- readme-test: skip --> or use the form `cargo run --release -- ...`"
    }
    emit(line, NR)
    next
  }
  NF && skip_next {
    print "error the skip marker on line " marker_line " is not right before a ```sh block"
    skip_next = 0
  }
  END {
    if (fence) print "error a code block is not closed"
    print "rewrites", tokens + 0
  }
' "$README")
awk_rc=$?
set -e
if [ "$awk_rc" -ne 0 ]; then
  echo "readme: FAILED (cannot read the blocks of $README)"
  exit 1
fi
RUN_LINES=$(awk '$1 == "run" { printf "%s%s", sep, $2; sep = ", " }' <<<"$SUMMARY")
RUN_COUNT=$(grep -c '^run ' <<<"$SUMMARY" || true)
SKIP_COUNT=$(grep -c '^skip ' <<<"$SUMMARY" || true)
REWRITES=$(awk '$1 == "rewrites" { print $2 }' <<<"$SUMMARY")
if grep -q '^error ' <<<"$SUMMARY"; then
  sed -n 's/^error /readme: /p' <<<"$SUMMARY" >&2
  echo "readme: FAILED (the README's blocks cannot run as marked)"
  exit 1
fi
if [ "$RUN_COUNT" -eq 0 ]; then
  echo "readme: FAILED (no runnable \`\`\`sh block in $README)"
  exit 1
fi
if [ "${REWRITES:-0}" -eq 0 ]; then
  say "no block runs \`cargo run --release -- token create ...\`: where does the first token come from?"
  echo "readme: FAILED (no token command in the runnable blocks)"
  exit 1
fi
say "binary $CMS_BIN; server $BASE_URL; README blocks at lines $RUN_LINES ($SKIP_COUNT skipped)"

# --- The server
"$CMS_BIN" serve >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
ready=0
while [ $((SECONDS - STARTED)) -lt "$READY_TIMEOUT" ]; do
  server_alive || break
  if command curl -fsS -o /dev/null "$BASE_URL/readyz" 2>/dev/null; then ready=1; break; fi
  sleep 0.3
done
if [ "$ready" -ne 1 ]; then
  if server_alive; then say "/readyz did not answer 200 within ${READY_TIMEOUT}s"; else say "the server exited"; fi
  say "server log (last 40 lines):"; tail -n 40 "$SERVER_LOG" >&2 || true
  echo "readme: FAILED (the server did not start)"
  exit 2
fi
say "server ready after $((SECONDS - STARTED))s (pid $SERVER_PID)"

# --- The blocks
set +e
(cd "$RUN_DIR" && READMETEST_SCRIPT="$SCRIPT" READMETEST_LINE_MAP="$LINE_MAP" \
  READMETEST_PREAMBLE_LINES="$PREAMBLE_LINES" READMETEST_REQUESTS="$REQUESTS" bash "$SCRIPT")
blocks_rc=$?
set -e
n_requests=$(wc -l <"$REQUESTS")

# --- The server's log
server_was_alive=0
server_alive && server_was_alive=1
stop_server
n_errors=$(grep -c -E '^[^ ]+ +ERROR ' "$SERVER_LOG" || true)
n_5xx=$(grep -c -E '(^|[[:space:]])status=5[0-9][0-9]([[:space:]]|$)' "$SERVER_LOG" || true)
n_panics=$(grep -c 'panicked at' "$SERVER_LOG" || true)
log_ok=1
if [ "$n_errors" -gt 0 ] || [ "$n_5xx" -gt 0 ] || [ "$n_panics" -gt 0 ] || [ "$server_was_alive" -ne 1 ]; then
  log_ok=0
  say "server log problems:"
  grep -n -E '^[^ ]+ +ERROR |(^|[[:space:]])status=5[0-9][0-9]([[:space:]]|$)|panicked at' "$SERVER_LOG" >&2 || true
  [ "$server_was_alive" -eq 1 ] || { say "the server died (log tail):"; tail -n 20 "$SERVER_LOG" >&2; }
fi

echo "=== readme summary"
echo "blocks run:     $RUN_COUNT (README.md lines $RUN_LINES); skipped: $SKIP_COUNT"
echo "requests:       $n_requests (curl)"
echo "blocks:         $([ "$blocks_rc" -eq 0 ] && echo ok || echo "FAILED (exit $blocks_rc)")"
echo "server log:     $n_errors ERROR lines, $n_5xx 5xx statuses, $n_panics panics"
echo "time:           $((SECONDS - STARTED))s"
if [ "$blocks_rc" -ne 0 ] || [ "$log_ok" -ne 1 ]; then
  what=()
  [ "$blocks_rc" -eq 0 ] || what+=("a README block failed, exit $blocks_rc")
  [ "$log_ok" -eq 1 ] || what+=("the server log shows problems")
  echo "readme: FAILED ($(IFS=';'; echo "${what[*]}" | sed 's/;/; /g'))"
  exit 1
fi
echo "readme: passed ($RUN_COUNT blocks, $n_requests requests)"
