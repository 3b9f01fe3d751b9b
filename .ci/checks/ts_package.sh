#!/usr/bin/env bash
# ts_package.sh BASE_URL TOKEN
#
# Proves the TypeScript client package in clients/typescript builds and works:
#  1. `npm ci` installs its locked dependencies (package-lock.json);
#  2. src/schema.ts is what `npm run generate` makes from the committed
#     openapi/openapi.json (generated into a temporary file and compared): a spec
#     change without a regenerated client fails here;
#  3. `npm run build`: tsc, strict, over the package and its example;
#  4. the README's example (examples/create-and-read.ts, compiled) runs against
#     BASE_URL with TOKEN (content:write and content:read): it creates an article
#     and reads it back by slug.
# Last line on success:  ts-package: build ok, example ok
# Exits non-zero on any failure, with a verdict line saying which step failed.
# Writes only clients/typescript/{node_modules,dist,dist-examples} (git-ignored)
# and npm's cache.
set -euo pipefail

fail() { echo "ts_package: $2" >&2; echo "ts-package: $1"; exit 1; }
if [ $# -ne 2 ]; then echo "usage: $0 BASE_URL TOKEN" >&2; exit 2; fi
BASE_URL=${1%/}
TOKEN=$2
command -v node >/dev/null || fail "FAILED (no node)" "node is required"
command -v npm >/dev/null || fail "FAILED (no npm)" "npm is required"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PKG="$ROOT/clients/typescript"
[ -f "$PKG/package-lock.json" ] || fail "FAILED (no package)" "no $PKG/package-lock.json"
cd "$PKG"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# 1. dependencies, exactly as locked
SECONDS=0
if ! npm ci --no-audit --no-fund --loglevel=error >"$TMP/ci.log" 2>&1; then
  cat "$TMP/ci.log" >&2
  fail "npm ci FAILED" "npm ci failed in $PKG"
fi
echo "ts_package: npm ci in ${SECONDS}s" >&2

# 2. drift between the committed spec and the committed generated types
if ! node scripts/generate.mjs "$TMP/schema.ts" >"$TMP/gen.log" 2>&1; then
  cat "$TMP/gen.log" >&2
  fail "generate FAILED" "openapi-typescript failed on openapi/openapi.json"
fi
if ! cmp -s "$TMP/schema.ts" src/schema.ts; then
  echo "ts_package: clients/typescript/src/schema.ts is not what openapi/openapi.json generates" >&2
  echo "ts_package: (diff, committed -> generated; first 40 lines):" >&2
  diff -u src/schema.ts "$TMP/schema.ts" | head -n 40 >&2 || true
  fail "schema.ts is out of date: run npm run generate in clients/typescript and commit src/schema.ts" \
    "the generated types drifted from the spec"
fi
echo "ts_package: src/schema.ts matches openapi/openapi.json" >&2

# 3. build (tsc --strict; the example is compiled against the built package)
if ! npm run --silent build >"$TMP/build.log" 2>&1; then
  cat "$TMP/build.log" >&2
  fail "build FAILED (tsc)" "npm run build reported errors"
fi
echo "ts_package: build ok" >&2

# 4. the example, against the server
set +e
CMS_URL="$BASE_URL" CMS_TOKEN="$TOKEN" node dist-examples/create-and-read.js >"$TMP/example.log" 2>&1
rc=$?
set -e
sed 's/^/ts_package: example: /' "$TMP/example.log" >&2
[ "$rc" -eq 0 ] || fail "build ok, example FAILED (exit $rc)" "the example failed against $BASE_URL"
echo "ts-package: build ok, example ok"
