#!/usr/bin/env bash
# fuzz_api.sh BASE_URL [TOKEN]
#
# Property-based API fuzzing with Schemathesis against BASE_URL/openapi.json:
# all checks, a bounded number of examples per operation, a fixed seed, and
# `Authorization: Bearer TOKEN` on every request when TOKEN is given.
# Schemathesis is installed from PyPI into a venv in $TOOLS_CACHE
# (default ~/.cache/cms-tools)/schemathesis-<version>.
# Last line:  schemathesis: N operations, M failures
# (N = API operations tested, M = unique failures found). Exits 1 when there
# are failures or errors, 2 when Schemathesis could not run.
# It WRITES data (POST etc. with hostile payloads, the stateful phase chains
# calls): point it at a throwaway database, and run it after the other checks.
# The seed fixes the generated data, but results still depend on server state.
#
# Env:
#   MAX_EXAMPLES          examples per operation and phase (default 50)
#   SEED                  seed for data generation (default 1)
#   SCHEMA_PATH           where the spec is served (default /openapi.json)
#   SCHEMATHESIS_VERSION  PyPI version (default 4.32.5; the flags below are 4.x)
#   SCHEMATHESIS_ARGS     extra flags, e.g. "--exclude-checks positive_data_acceptance"
#   WAIT_FOR_SCHEMA       seconds to wait for the spec to be served (default 30)
#   FUZZ_TIMEOUT          wall-clock limit in seconds (default 1200)
#   REPORT_DIR            keep the JUnit report there (default: a temp folder)
#   SCHEMATHESIS_CONFIG   a schemathesis.toml to use (passed as --config-file;
#                         default: Schemathesis reads ./schemathesis.toml if present)
#   EXTRA_REPORTS         more report formats besides junit,json (e.g. "vcr,ndjson"),
#                         written to REPORT_DIR
#   PYTHON                interpreter for the venv (default python3; needs >= 3.9)
set -euo pipefail

die() { echo "fuzz_api: $*" >&2; echo "schemathesis: failed to run"; exit 2; }
if [ $# -lt 1 ] || [ $# -gt 2 ]; then echo "usage: $0 BASE_URL [TOKEN]" >&2; exit 2; fi
BASE_URL=${1%/}
TOKEN=${2:-}
MAX_EXAMPLES=${MAX_EXAMPLES:-50}
SEED=${SEED:-1}
SCHEMA_PATH=${SCHEMA_PATH:-/openapi.json}
ST_V=${SCHEMATHESIS_VERSION:-4.32.5}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-1200}
PY=${PYTHON:-python3}
CACHE=${TOOLS_CACHE:-$HOME/.cache/cms-tools}
VENV="$CACHE/schemathesis-$ST_V"
ST="$VENV/bin/schemathesis"
mkdir -p "$CACHE"

(
  flock 9
  if [ ! -x "$ST" ] || [ ! -f "$VENV/.installed" ]; then
    SECONDS=0
    echo "fuzz_api: installing schemathesis==$ST_V into $VENV" >&2
    rm -rf "$VENV"
    "$PY" -m venv "$VENV" || die "python venv failed (Debian: apt-get install python3-venv)"
    "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$ST_V" >&2
    touch "$VENV/.installed"
    echo "fuzz_api: installed in ${SECONDS}s" >&2
  fi
) 9>"$CACHE/.schemathesis-$ST_V.lock"

OUTDIR=${REPORT_DIR:-}
if [ -z "$OUTDIR" ]; then
  OUTDIR=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-api.XXXXXX")
  trap 'rm -rf "$OUTDIR"' EXIT
fi
mkdir -p "$OUTDIR"
JSON="$OUTDIR/schemathesis.json"
JUNIT="$OUTDIR/junit.xml"
rm -f "$JSON" "$JUNIT"

pre=()
if [ -n "${SCHEMATHESIS_CONFIG:-}" ]; then
  [ -f "$SCHEMATHESIS_CONFIG" ] || die "no such config file: $SCHEMATHESIS_CONFIG"
  pre+=(--config-file "$SCHEMATHESIS_CONFIG")
fi
reports="junit,json"
[ -n "${EXTRA_REPORTS:-}" ] && reports="$reports,$EXTRA_REPORTS"

args=(run "$BASE_URL$SCHEMA_PATH"
  --checks all
  --max-examples "$MAX_EXAMPLES"
  --seed "$SEED"
  --generation-database none
  --wait-for-schema "${WAIT_FOR_SCHEMA:-30}"
  --request-timeout 10
  --report "$reports" --report-dir "$OUTDIR"
  --report-junit-path "$JUNIT" --report-json-path "$JSON"
  --no-color)
[ -n "$TOKEN" ] && args+=(--header "Authorization: Bearer $TOKEN")
# shellcheck disable=SC2206
[ -n "${SCHEMATHESIS_ARGS:-}" ] && args+=(${SCHEMATHESIS_ARGS})

set +e
timeout --foreground -k 10 "$FUZZ_TIMEOUT" "$ST" ${pre[@]+"${pre[@]}"} "${args[@]}"
rc=$?
set -e
echo "fuzz_api: schemathesis exit $rc; reports in $OUTDIR" >&2

[ -s "$JSON" ] || die "no JSON report (schemathesis exit $rc; timeout is exit 124)"
read -r ops fails errs < <("$VENV/bin/python" - "$JSON" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ops = (r.get("operations") or {}).get("tested")
fails = (r.get("test_cases") or {}).get("unique_failures")
if fails is None:
    fails = sum(f.get("count", 1) for f in r.get("failures") or [])
errors = r.get("errors") or []
for f in r.get("failures") or []:
    ops_ = f.get("operations") or []
    print("fuzz_api: failure: [%s] %s (x%s) in %s" % (
        f.get("code") or f.get("type"), f.get("title"), f.get("count", 1),
        ", ".join(map(str, ops_)) or "?"), file=sys.stderr)
for e in errors:
    print("fuzz_api: error: %s (x%s)" % (e.get("title"), e.get("count", 1)), file=sys.stderr)
print("-" if ops is None else ops, fails, len(errors))
PY
)
[ "$ops" != "-" ] || die "the schema could not be loaded from $BASE_URL$SCHEMA_PATH"
line="schemathesis: $ops operations, $fails failures"
[ "$errs" -gt 0 ] && line="$line, $errs errors"
echo "$line"
if [ "$fails" -gt 0 ] || [ "$errs" -gt 0 ] || [ "$rc" -ne 0 ]; then exit 1; fi
