#!/usr/bin/env bash
# The project's test command (what CI runs). On a fresh Debian 12 with rustup
# and a C compiler it installs what it needs, saying what before each install
# (rustfmt/clippy components, cargo-deny, the Python venv under target/,
# the arm64 cross toolchain and qemu from apt, cargo-fuzz), then runs: format
# check, clippy -D warnings, every test, the 20 000-invocation soak, the
# supply chain (cargo-deny policy and RustSec advisories), the CloudFormation
# checks (cfn-lint, deploy.sh dry runs, deploy.sh against moto), the function
# under cargo-lambda's emulator, the arm64 build under qemu, and a short fuzz
# pass when nightly exists. Honours CARGO_TARGET_DIR.
#
#   SKIP_SOAK=1          skip the soak (about 1 minute)
#   SKIP_CARGO_LAMBDA=1  skip the cargo-lambda end-to-end run
#   SKIP_MOTO=1          skip deploy.sh against moto (infra/test-infra.sh)
#   SKIP_ARM64=1         skip the arm64 cross build and qemu smoke tests
#   SKIP_FUZZ=1          skip the fuzz smoke pass
#   FUZZ_SECONDS         seconds per fuzz target (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi

started=$SECONDS
step() { printf '\n==> %s (%ss)\n' "$*" "$((SECONDS - started))"; }
skipped() { printf '\n==> SKIP %s (%s)\n' "$1" "$2"; }

step "toolchain components"
if command -v rustup >/dev/null 2>&1; then
  missing=()
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || missing+=("$c")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing rustup components: ${missing[*]} (rustup component add)"
    rustup component add "${missing[@]}"
  fi
fi

step "format check"
cargo fmt --all -- --check

step "clippy -D warnings"
cargo clippy --locked --all-targets -- -D warnings

step "tests"
cargo test --locked --release

if [ "${SKIP_SOAK:-0}" != "1" ]; then
  step "soak: 20 000 invocations in one process, one worker then eight"
  ./scripts/soak.sh 20000
else
  skipped soak SKIP_SOAK=1
fi

step "supply chain: dependency count, cargo-deny policy, RustSec advisories"
./scripts/deps.sh --brief

step "Python tools (cfn-lint, awscli, moto, cargo-lambda) in one venv under target/"
./scripts/venv.sh

step "CloudFormation: cfn-lint, deploy.sh checks, deploy.sh against moto (unless SKIP_MOTO=1)"
./infra/test-infra.sh

if [ "${SKIP_CARGO_LAMBDA:-0}" != "1" ]; then
  step "the function under cargo lambda watch (both actions through cargo lambda invoke)"
  ./scripts/cargo-lambda-e2e.sh
else
  skipped "cargo-lambda end to end" SKIP_CARGO_LAMBDA=1
fi

if [ "${SKIP_ARM64:-0}" != "1" ]; then
  step "arm64: cross build and artifact checks, then smoke tests under qemu on a static build"
  ./scripts/build.sh arm64 --no-sbom
  ./scripts/arm64-smoke.sh
else
  skipped arm64 SKIP_ARM64=1
fi

if [ "${SKIP_FUZZ:-0}" != "1" ]; then
  if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    step "fuzz smoke: every target for ${FUZZ_SECONDS:-15}s"
    ./scripts/fuzz.sh "${FUZZ_SECONDS:-15}"
  else
    skipped "fuzz smoke" "no nightly toolchain: rustup toolchain install nightly"
  fi
else
  skipped "fuzz smoke" SKIP_FUZZ=1
fi

step "all checks passed"
