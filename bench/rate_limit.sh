#!/usr/bin/env bash
# bench/rate_limit.sh [BINARY]: what the rate limiter costs as the number of
# callers grows. Starts the server (default target/release/cms) on a throwaway
# private PostgreSQL with CMS_TRUST_FORWARDED=true and a limit no caller reaches,
# then for 1, 1,000 and 30,000 distinct client addresses (X-Forwarded-For) sends
# 10 s of requests to an API path that needs no database (404), 8 connections, and
# prints requests/s and the server's CPU time per request. The ratio between the
# rows is the figure: absolute numbers vary with the machine's load.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/cms}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/cms-ratelimit.XXXXXX); chmod 755 "$WORK"
PORT=${PORT:-18095}
CMS_DATA_DIR="$WORK/data" CMS_BIND="127.0.0.1:$PORT" CMS_TRUST_FORWARDED=true \
  CMS_RATE_LIMIT_ANONYMOUS=4000000000 "$BIN" serve >"$WORK/server.log" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 120); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }   # utime + stime, clock ticks
TICK=$(getconf CLK_TCK)
printf '%8s %10s %14s\n' callers 'req/s' 'cpu µs/req'
for callers in 1 1000 30000; do
  before=$(cpu)
  out=$(CALLERS=$callers wrk -t2 -c8 -d10s -s bench/rate_limit_callers.lua "http://127.0.0.1:$PORT" 2>&1)
  after=$(cpu)
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  awk -v c="$callers" -v r="$rps" -v n="$requests" -v t=$((after - before)) -v k="$TICK" \
    'BEGIN { printf "%8d %10.0f %14.1f\n", c, r, t / k * 1e6 / n }'
done
