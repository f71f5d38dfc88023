#!/usr/bin/env bash
# RustSec advisories for every crate in Cargo.lock (`cargo deny check
# advisories`): against the current database when it can be fetched, else
# offline against the snapshot in ../shared/advisory-db, else a visible SKIP.
# Prints `advisories ok` when no advisory applies; exits 1 when one does.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/advisories.sh [-h|--help]

1. online: cargo-deny clones the RustSec database (github.com/rustsec/advisory-db)
   into ${CARGO_TARGET_DIR:-target}/advisory-db/online and checks against it;
2. offline, when that fetch fails: a copy of the snapshot folder (default
   ../shared/advisory-db, read-only, never modified) made into the git
   repository cargo-deny expects, under ${CARGO_TARGET_DIR:-target}/advisory-db/offline,
   checked with `cargo deny --offline`; the output names the snapshot's date;
3. neither: prints `SKIP advisories: ...` and exits 0.

Needs cargo-deny (scripts/deps.sh installs it).

Environment:
  ADVISORY_SNAPSHOT     the snapshot folder (default: ../shared/advisory-db)
  ADVISORY_NO_FETCH=1   do not try the online database
  CARGO_TARGET_DIR      where target/ is
USAGE
}
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "advisories.sh: error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
target_dir=${CARGO_TARGET_DIR:-target}
case "$target_dir" in /*) ;; *) target_dir=$repo_root/$target_dir ;; esac
base=$target_dir/advisory-db
# cargo-deny's folder name for the default database URL.
readonly DB_DIR_NAME=advisory-db-3157b0e258782691

command -v cargo-deny >/dev/null 2>&1 \
  || { echo "advisories.sh: error: cargo-deny is not installed (scripts/deps.sh installs it)" >&2; exit 1; }

# Runs the check with the database under $1; the report goes to $log.
check() {
  local db=$1; shift
  PSTN_ADVISORY_DB=$db timeout 300 cargo deny --log-level error "$@" check advisories >"$log" 2>&1
}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Prints the report, and the verdict from cargo-deny's exit status.
verdict() {
  local rc=$1 what=$2
  if [ "$rc" -eq 0 ]; then
    echo "advisories ok ($what)"
    exit 0
  fi
  cat "$log" >&2
  echo "advisories FAILED ($what): an advisory applies to a crate in Cargo.lock (see above)" >&2
  exit 1
}
# cargo-deny's own failure to read or fetch the database (not a finding).
db_unusable() { grep -qE 'failed to (fetch|open|load|get)|advisory database' "$log"; }

if [ "${ADVISORY_NO_FETCH:-0}" != 1 ]; then
  mkdir -p "$base/online"
  rc=0; check "$base/online" || rc=$?
  if [ "$rc" -eq 0 ] || ! db_unusable; then
    verdict "$rc" "online RustSec database, fetched $(date -u +%Y-%m-%d)"
  fi
  echo "advisories.sh: the online database could not be fetched ($(grep -oE 'Could not resolve host: [^ ]+|timed out|Connection refused' "$log" | head -n1 || true))"
fi

snapshot=${ADVISORY_SNAPSHOT:-$repo_root/../shared/advisory-db}
if [ ! -d "$snapshot/crates" ]; then
  echo "SKIP advisories: no RustSec database (offline, and no snapshot at $snapshot)"
  exit 0
fi
snapshot=$(cd "$snapshot" && pwd)
# The snapshot's commit date, from SNAPSHOT.md (cargo-deny reads HEAD's date).
stamp=$(grep -m1 -oE 'GIT_COMMITTER_DATE=[0-9T:-]+Z' "$snapshot/SNAPSHOT.md" 2>/dev/null | cut -d= -f2 || true)
if [ -z "$stamp" ]; then
  day=$(grep -m1 -oE '\(20[0-9]{2}-[0-9]{2}-[0-9]{2}\)' "$snapshot/SNAPSHOT.md" 2>/dev/null | tr -d '()' || true)
  stamp=${day:+${day}T00:00:00Z}
fi
[ -n "$stamp" ] || stamp=$(date -u -r "$snapshot" +%Y-%m-%dT%H:%M:%SZ)
db=$base/offline/$DB_DIR_NAME
marker=$base/offline/.snapshot
# Rebuilt when the snapshot (path or date) changes; a copy, so the shared one stays untouched.
if [ "$(cat "$marker" 2>/dev/null)" != "$snapshot $stamp" ] || [ ! -d "$db/.git" ]; then
  rm -rf "$base/offline"
  mkdir -p "$db"
  cp -r "$snapshot/." "$db"
  chmod -R u+w "$db"
  (cd "$db" && git init -q && git add -A \
    && GIT_AUTHOR_DATE=$stamp GIT_COMMITTER_DATE=$stamp \
      git -c user.name=snapshot -c user.email=snapshot@localhost -c commit.gpgsign=false commit -q -m snapshot) \
    || { echo "SKIP advisories: could not make a git repository of the snapshot $snapshot"; exit 0; }
  echo "$snapshot $stamp" > "$marker"
fi
rc=0; check "$base/offline" --offline || rc=$?
if [ "$rc" -ne 0 ] && db_unusable; then
  cat "$log" >&2
  echo "SKIP advisories: cargo-deny could not read the snapshot $snapshot (see above)"
  exit 0
fi
verdict "$rc" "offline snapshot of ${stamp%%T*} from $snapshot"
