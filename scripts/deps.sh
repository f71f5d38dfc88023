#!/usr/bin/env bash
# For auditors: the crates compiled into the shipped binary (normal
# dependencies, both Lambda targets), their licenses, and their count; then
# the cargo-deny policy check (deny.toml) and the RustSec advisories
# (scripts/advisories.sh: online, else the offline snapshot, else SKIP).
set -euo pipefail
cd "$(dirname "$0")/.."
usage() {
  sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'
  echo
  echo "Usage: scripts/deps.sh [--brief]"
  echo "  --brief   only the crate count and the check results (what scripts/test.sh shows)"
  echo "Installs cargo-deny $CARGO_DENY_VERSION (cargo install --locked) when it is missing."
}
readonly CARGO_DENY_VERSION=0.20.2
brief=0
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    --brief) brief=1 ;;
    --advisories) ;; # accepted for compatibility: advisories are always checked now
    *) echo "deps.sh: error: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

list=$(cargo tree -e normal --locked --prefix none --no-dedupe -f '{p} | {l}' \
  | sed 's/ (\*)//; s/ (proc-macro)//' | sort -u | grep -v '^connect-pstn-transfer ')
if [ "$brief" -eq 0 ]; then
  echo "== dependency tree of the bootstrap binary (normal edges only)"
  cargo tree -e normal --locked
  echo
  echo "== crates with licenses (deduplicated)"
  echo "$list"
  echo
fi
echo "crates in the normal dependency tree (excluding this one): $(echo "$list" | wc -l)"

if ! command -v cargo-deny >/dev/null 2>&1; then
  echo "deps.sh: installing cargo-deny $CARGO_DENY_VERSION (cargo install cargo-deny --locked; compiles for 3 to 5 minutes)"
  cargo install cargo-deny --version "$CARGO_DENY_VERSION" --locked --quiet
fi
checks=(licenses bans sources)
cargo deny --log-level error check "${checks[@]}"
echo "cargo-deny: ${checks[*]} ok"
./scripts/advisories.sh
