#!/usr/bin/env bash
# Lint everything: rustfmt check, clippy with warnings as errors, shellcheck on
# the shell scripts (skipped with a note when shellcheck is not installed).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/lint.sh [-h|--help]

Runs, from the repository root:
  cargo fmt --all -- --check
  cargo clippy --all-targets -- -D warnings
  shellcheck scripts/*.sh infra/*.sh infra/cloudformation/*.sh   (if installed)
Exits non-zero on the first failing check.
USAGE
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "lint.sh: error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "==> cargo fmt --check"
cargo fmt --all -- --check || { echo "lint.sh: error: formatting differs; run scripts/format.sh" >&2; exit 1; }

echo "==> cargo clippy"
cargo clippy --all-targets -- -D warnings

if command -v shellcheck >/dev/null 2>&1; then
  echo "==> shellcheck"
  shopt -s nullglob
  scripts=(scripts/*.sh infra/*.sh infra/cloudformation/*.sh)
  if [ ${#scripts[@]} -gt 0 ]; then
    shellcheck "${scripts[@]}"
  fi
else
  echo "==> shellcheck not installed; skipped (apt-get install shellcheck)"
fi
echo "lint.sh: all checks passed"
