#!/usr/bin/env bash
# The project's test command: installs what it needs, then format check, clippy and all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test --release
