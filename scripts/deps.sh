#!/usr/bin/env bash
# For auditors: the crates compiled into the shipped binary (normal
# dependencies, both Lambda targets), their licenses, and their count; then
# the cargo-deny policy check (deny.toml). Advisories are checked too when
# the RustSec database can be fetched (--advisories).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'
  echo "Usage: scripts/deps.sh [--advisories]"
  exit 0
fi

echo "== dependency tree of the bootstrap binary (normal edges only)"
cargo tree -e normal --locked
echo
echo "== crates with licenses (deduplicated)"
list=$(cargo tree -e normal --locked --prefix none --no-dedupe -f '{p} | {l}' \
  | sed 's/ (\*)//; s/ (proc-macro)//' | sort -u | grep -v '^connect-pstn-transfer ')
echo "$list"
echo
echo "crates in the normal dependency tree (excluding this one): $(echo "$list" | wc -l)"
echo
if ! command -v cargo-deny >/dev/null 2>&1; then
  echo "== installing cargo-deny (policy checks)"
  cargo install cargo-deny --locked --quiet
fi
checks=(licenses bans sources)
if [ "${1:-}" = "--advisories" ]; then checks+=(advisories); fi
cargo deny --log-level error check "${checks[@]}"
echo "cargo-deny: ${checks[*]} ok"
