#!/usr/bin/env bash
# schema.sh: src/db/schema.rs must be exactly what `diesel print-schema` makes from
# the migrations (settings in ./diesel.toml). Run by .ci/run after `cargo test`.
#
# Starts a throwaway private PostgreSQL (initdb into a new folder under /tmp; it
# listens only on a Unix socket in that folder, so it never collides with another
# server on the machine), runs `diesel migration run --locked-schema` (which never
# writes src/db/schema.rs) and `diesel print-schema`, and compares the latter with
# src/db/schema.rs. The server is stopped by its PID and its folder removed on exit.
#
# Installs what is missing: Diesel CLI for PostgreSQL only (`cargo install`, into
# ~/.cargo/bin), libpq-dev and the PostgreSQL server binaries (apt-get; sudo when
# not root).
#
# Prints its findings, then as its last line:
#   schema: src/db/schema.rs matches the migrations        (exit 0)
#   schema: DIFFERS from the migrations ...                (exit 1, the diff above)
#   schema: failed to run (...)                            (exit 2)
#
# Env:
#   DIESEL_CLI_VERSION  version of diesel_cli to install when `diesel` is missing
#                       (default 2.3.14)
#   POSTGRES_BIN        folder with initdb and postgres (default: PATH, then the
#                       newest /usr/lib/postgresql/*/bin)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SCHEMA_FILE=src/db/schema.rs
DIESEL_CLI_VERSION=${DIESEL_CLI_VERSION:-2.3.14}
STARTED=$SECONDS

say() { echo "schema: $*" >&2; }
die() { say "$*"; echo "schema: failed to run ($1)"; exit 2; }

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get is not available to install $*"
  say "installing $* (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

[ -f diesel.toml ] || die "no diesel.toml in $ROOT"
# The repository's diesel.toml, whatever the environment says.
unset DIESEL_CONFIG_FILE DATABASE_URL
DIESEL=(diesel --config-file "$ROOT/diesel.toml")
[ -f "$SCHEMA_FILE" ] || die "no $SCHEMA_FILE in $ROOT"

# --- Diesel CLI (it links libpq, hence libpq-dev to build it).
export PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin"
if ! command -v diesel >/dev/null 2>&1; then
  command -v cargo >/dev/null 2>&1 || die "cargo is required to install diesel_cli"
  if command -v dpkg >/dev/null 2>&1 && ! dpkg -s libpq-dev >/dev/null 2>&1; then
    apt_install libpq-dev
  fi
  say "installing diesel_cli $DIESEL_CLI_VERSION (PostgreSQL only; a few minutes)"
  t=$SECONDS
  cargo install diesel_cli --version "$DIESEL_CLI_VERSION" --no-default-features \
    --features postgres --locked >&2 || die "cargo install diesel_cli failed"
  say "diesel_cli installed in $((SECONDS - t))s"
fi
# print-schema formats its output with `rustfmt` when it can run it, and silently
# emits it unformatted when it cannot: that would differ from the committed file.
if ! rustfmt --version >/dev/null 2>&1; then
  if command -v rustup >/dev/null 2>&1; then
    say "installing rustfmt (rustup component add rustfmt)"
    rustup component add rustfmt >&2 || die "rustup component add rustfmt failed"
  fi
  rustfmt --version >/dev/null 2>&1 || die "rustfmt is required (diesel print-schema formats with it)"
fi
DIESEL_VERSION=$(diesel --version 2>&1 | grep -o '[0-9][0-9.]*' | head -n1)
say "using $(command -v diesel), version $DIESEL_VERSION"
if [ "$DIESEL_VERSION" != "$DIESEL_CLI_VERSION" ]; then
  say "note: not diesel_cli $DIESEL_CLI_VERSION, the version this check pins; another"
  say "version may format print-schema's output differently"
fi

# --- PostgreSQL server binaries.
find_pg_bin() {
  if [ -n "${POSTGRES_BIN:-}" ]; then echo "$POSTGRES_BIN"; return; fi
  local initdb
  if initdb=$(command -v initdb 2>/dev/null) && command -v postgres >/dev/null 2>&1; then
    dirname "$(readlink -f "$initdb")"; return
  fi
  compgen -G "/usr/lib/postgresql/*/bin/initdb" | sort -V | tail -n1 | xargs -r dirname
}
PG_BIN=$(find_pg_bin)
if [ -z "$PG_BIN" ]; then
  apt_install postgresql
  PG_BIN=$(find_pg_bin)
fi
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/postgres" ] \
  || die "no PostgreSQL server binaries (initdb, postgres) found"

# PostgreSQL refuses to run as root: as root it runs as `postgres` (setpriv execs
# it, so $! is the postmaster's own PID).
AS_PG=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 \
    || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  command -v setpriv >/dev/null 2>&1 || die "setpriv (util-linux) is required as root"
  AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups --reset-env)
fi

# As root, `postgres` must be able to enter every parent of the data folder: a
# folder of mode 755 directly under /tmp.
WORK=$(mktemp -d /tmp/cms-schema-check.XXXXXX)
chmod 755 "$WORK"
DATA="$WORK/data"
PG_LOG="$WORK/postgres.log"
mkdir -m 700 "$DATA"
touch "$PG_LOG"
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$DATA" "$PG_LOG"; fi

PG_PID=""
cleanup() {
  local rc=$?
  if [ -n "$PG_PID" ] && kill -0 "$PG_PID" 2>/dev/null; then
    kill -QUIT "$PG_PID" 2>/dev/null || true # immediate shutdown: the data is thrown away
    for _ in $(seq 1 100); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$PG_PID" 2>/dev/null; then
      say "PostgreSQL (pid $PG_PID) did not stop: its folder $WORK is left behind"
      exit "$rc"
    fi
  fi
  [ -z "$PG_PID" ] || wait "$PG_PID" 2>/dev/null || true
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"${AS_PG[@]}" "$PG_BIN/initdb" --pgdata="$DATA" --username=postgres --auth=trust \
  --encoding=UTF8 --locale=C.UTF-8 >>"$PG_LOG" 2>&1 \
  || { tail -n 20 "$PG_LOG" >&2; die "initdb failed"; }

# Unix socket only, in the data folder; no fsync (throwaway data).
"${AS_PG[@]}" "$PG_BIN/postgres" -D "$DATA" -k "$DATA" -c listen_addresses= -p 5432 -F \
  >>"$PG_LOG" 2>&1 &
PG_PID=$!
ready=0
for _ in $(seq 1 300); do
  kill -0 "$PG_PID" 2>/dev/null || break
  if [ "$(sed -n 8p "$DATA/postmaster.pid" 2>/dev/null | tr -d '[:space:]')" = ready ]; then
    ready=1; break
  fi
  sleep 0.1
done
[ "$ready" -eq 1 ] || { tail -n 20 "$PG_LOG" >&2; die "PostgreSQL did not start"; }
DATABASE_URL="postgresql:///postgres?host=$DATA&port=5432&user=postgres"
say "throwaway PostgreSQL ($("$PG_BIN/postgres" --version)) ready, pid $PG_PID, socket in $DATA"

# --locked-schema: with print_schema.file set, a plain `migration run` would
# rewrite src/db/schema.rs; locked, it only reports (and exits 1 on) a difference,
# after the migrations are applied. The comparison below is the check itself.
set +e
"${DIESEL[@]}" migration run --locked-schema --database-url "$DATABASE_URL" >"$WORK/migrate.out" 2>&1
migrate_rc=$?
set -e
if [ "$migrate_rc" -ne 0 ] && ! grep -q 'Command would result in changes to' "$WORK/migrate.out"; then
  cat "$WORK/migrate.out" >&2
  die "diesel migration run failed (exit $migrate_rc)"
fi
n_migrations=$(grep -c '^Running migration' "$WORK/migrate.out" || true)
[ "$n_migrations" -gt 0 ] || { cat "$WORK/migrate.out" >&2; die "diesel migration run applied no migration"; }
say "$n_migrations migrations applied"

GENERATED="$WORK/schema.rs"
"${DIESEL[@]}" print-schema --database-url "$DATABASE_URL" >"$GENERATED" 2>"$WORK/print.err" \
  || { cat "$WORK/print.err" >&2; die "diesel print-schema failed"; }

if diff -u --label "$SCHEMA_FILE (committed)" --label "diesel print-schema (from migrations/)" \
  "$SCHEMA_FILE" "$GENERATED" >"$WORK/schema.diff"; then
  echo "schema: $SCHEMA_FILE matches the migrations ($((SECONDS - STARTED))s)"
  exit 0
fi
cat "$WORK/schema.diff"
say "$SCHEMA_FILE is not what \`diesel print-schema\` makes from migrations/ (diff above)."
say "Regenerate it: run the migrations on an empty database, then"
say "  diesel print-schema --database-url \$DATABASE_URL > $SCHEMA_FILE"
say "(or \`diesel migration run\`, which writes it per diesel.toml); never edit it by hand."
echo "schema: DIFFERS from the migrations ($(grep -c "^@@" "$WORK/schema.diff") hunks; $((SECONDS - STARTED))s)"
exit 1
