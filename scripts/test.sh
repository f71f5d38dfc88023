#!/usr/bin/env bash
# The project's test command (what CI runs). On a fresh Debian machine with
# rustup it installs what it needs, then runs: format check, clippy with
# -D warnings, every test (unit, end to end, runtime, secrets, faults),
# the 20 000-invocation soak, the supply-chain policy (cargo-deny), the
# CloudFormation checks (cfn-lint, deploy.sh --dry-run), the arm64 build
# run under qemu, and a short fuzz pass of every target when nightly exists.
#
#   SKIP_ARM64=1   skip the arm64 cross build and qemu smoke tests
#   SKIP_FUZZ=1    skip the fuzz smoke pass
#   FUZZ_SECONDS   seconds per fuzz target (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi

started=$SECONDS
step() { printf '\n==> %s (%ss)\n' "$*" "$((SECONDS - started))"; }

step "toolchain components"
if command -v rustup >/dev/null 2>&1; then
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
fi

step "format check"
cargo fmt --all -- --check

step "clippy -D warnings"
cargo clippy --locked --all-targets -- -D warnings

step "tests"
cargo test --locked --release

step "soak: 20 000 invocations in one process, one worker then eight"
./scripts/soak.sh 20000

step "supply chain: dependency count and cargo-deny"
./scripts/deps.sh | tail -n 3

step "CloudFormation: cfn-lint and deploy.sh --dry-run"
./infra/test-infra.sh

if [ "${SKIP_ARM64:-0}" != "1" ]; then
  step "arm64: cross build, artifact checks, smoke tests under qemu"
  ./scripts/build.sh arm64 --no-sbom
  BOOTSTRAP_BIN="$(cat dist/bootstrap-arm64.path)" \
  BOOTSTRAP_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu" \
    cargo test --locked --release --test arm64 -- --ignored
fi

if [ "${SKIP_FUZZ:-0}" != "1" ]; then
  if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    step "fuzz smoke: every target for ${FUZZ_SECONDS:-15}s"
    ./scripts/fuzz.sh "${FUZZ_SECONDS:-15}"
  else
    step "fuzz smoke skipped: no nightly toolchain (rustup toolchain install nightly)"
  fi
fi

step "all checks passed"
