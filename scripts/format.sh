#!/usr/bin/env bash
# Format the Rust code in place (the counterpart of the check in lint.sh).
set -euo pipefail

case "${1:-}" in
  -h|--help)
    echo "Usage: scripts/format.sh [-h|--help]"
    echo
    echo "Runs 'cargo fmt --all' from the repository root, rewriting files in place."
    exit 0 ;;
  "") ;;
  *) echo "format.sh: error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo fmt --all
