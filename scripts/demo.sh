#!/usr/bin/env bash
# Builds the release binary and runs both Connect actions end to end through
# the real Lambda runtime loop, against local stand-ins for the Lambda
# Runtime API, Cresta and Secrets Manager (all on 127.0.0.1). No AWS account
# or Cresta credentials needed.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--help" ]; then
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
target_dir=${CARGO_TARGET_DIR:-target}
case "$target_dir" in /*) ;; *) target_dir=$PWD/$target_dir ;; esac
cargo build --release --quiet --bin bootstrap
cargo build --release --quiet --example demo
BOOTSTRAP_BIN="$target_dir/release/bootstrap" exec "$target_dir/release/examples/demo"
