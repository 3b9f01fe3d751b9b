#!/usr/bin/env bash
# bench/run.sh [ARTICLES]: a first cut of the workload in ../shared/bench/WORKLOAD.md.
#
# Builds the release binary, starts it on a fresh private PostgreSQL (or on
# BENCH_DATABASE_URL, a database it may fill), seeds ARTICLES articles (default
# 2000) through the API, then runs each request for 15 s after a 5 s warm-up with
# wrk (32 connections, 2 threads) and prints requests/s, p50, p99, errors, and the
# server's peak RSS. Not yet: (d) text search (no search endpoint yet), (f) PATCH
# with If-Match, bulk loading for the 1 M scale run, and the pgbench ceiling.
set -euo pipefail
cd "$(dirname "$0")/.."
ARTICLES=${1:-2000}
PORT=${BENCH_PORT:-18200}
BASE="http://127.0.0.1:$PORT"

if ! command -v wrk >/dev/null 2>&1; then
  echo "bench: installing wrk (apt-get)" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --quiet

WORK=$(mktemp -d)
chmod 755 "$WORK"   # the private PostgreSQL runs as `postgres` when we are root
export CMS_BIND="127.0.0.1:$PORT" CMS_DATA_DIR="$WORK" CMS_LOG=warn \
  CMS_RATE_LIMIT_ANONYMOUS=0 CMS_RATE_LIMIT_TOKEN=0
if [ -n "${BENCH_DATABASE_URL:-}" ]; then export DATABASE_URL="$BENCH_DATABASE_URL"; else unset DATABASE_URL; fi
./target/release/cms serve >"$WORK/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 120); do
  curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
TOKEN=$(./target/release/cms token create --name bench --scope admin 2>/dev/null)
export TOKEN SLUGS="$WORK/slugs.txt"
python3 bench/seed.py "$BASE" "$TOKEN" "$ARTICLES" "$SLUGS"

run() {
  local name=$1; shift
  wrk -t2 -c32 -d5s "$@" >/dev/null 2>&1
  local out; out=$(wrk -t2 -c32 -d15s --latency "$@" 2>&1)
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' <<<"$out")
  printf '%-34s %10s req/s   p50 %8s   p99 %8s   errors %s\n' "$name" "$rps" "$p50" "$p99" "$errors"
}
echo "articles: $ARTICLES; 32 connections; 15 s each after 5 s warm-up"
run "(a) article by slug" -s bench/article_by_slug.lua "$BASE"
run "(b) 20 latest published" "$BASE/api/v1/articles?status=published&limit=20"
run "(c) 20 published of a tag" -s bench/tag_page.lua "$BASE"
run "(e) create a whole article" -s bench/create_article.lua "$BASE"
echo "peak RSS of the server: $(awk '/VmHWM/ {print $2, $3}' /proc/$PID/status)"
