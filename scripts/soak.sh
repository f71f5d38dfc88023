#!/usr/bin/env bash
# Soak: N invocations (default 20000) with mixed outcomes in one runtime
# process, once serving one at a time and once with 8 workers; every answer
# is checked and VmRSS must end within 1 MB of its value after the first 1000.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'
  echo "Usage: scripts/soak.sh [invocations]"
  exit 0
fi
SOAK_INVOCATIONS="${1:-20000}" cargo test --release --quiet --test soak -- --ignored --nocapture --test-threads=1
